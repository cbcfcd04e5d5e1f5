/**
 * Reading and narrowing a generator's context. Routing combinators (clients, nemesis, reserve,
 * eachThread) hand a sub-generator a *restricted* context that lists only its share of the threads,
 * exactly as Jepsen's `on-threads` does; a sub-generator therefore never needs to know where it
 * sits. The small step helpers here keep every combinator's bookkeeping (rewrapping `next`,
 * carrying a pending answer's wake-up time, choosing the soonest of several answers) in one place.
 */
import type { Op, Process } from "../history/op.ts";
import type { Random } from "../runtime/random.ts";
import type { GenContext, GenStep, Generator, PlannedOp, Thread } from "./types.ts";

/** A generator used wrongly (bad arguments, a filter that rejects everything): says what and why. */
export class GeneratorError extends Error {
  override name = "GeneratorError";
}

/** A context narrowed by `restrictContext` remembers how many client threads the whole test has. */
interface RestrictedContext extends GenContext {
  readonly rootClientThreadCount: number;
}

/** The number of client threads of the whole test (the root context lists them all, 0 … n−1). */
function rootClientThreadCount(context: GenContext): number {
  return (
    (context as Partial<RestrictedContext>).rootClientThreadCount ??
    context.allThreads.filter((thread) => thread !== "nemesis").length
  );
}

/** The same context with only the threads `allows` accepts, free or busy. */
export function restrictContext(context: GenContext, allows: (thread: Thread) => boolean): GenContext {
  const restricted: RestrictedContext = {
    rootClientThreadCount: rootClientThreadCount(context),
    timeNs: context.timeNs,
    random: context.random,
    allThreads: context.allThreads.filter(allows),
    freeThreads: context.freeThreads.filter(allows),
    processOf: (thread) => context.processOf(thread),
    threadOf: (process) => context.threadOf(process),
  };
  return restricted;
}

/** The process of the first free thread, or undefined when every thread is busy. */
export function firstFreeProcess(context: GenContext): Process | undefined {
  const thread = context.freeThreads[0];
  return thread === undefined ? undefined : context.processOf(thread);
}

/** True when no thread of the context is running an operation: the barrier of `synchronize`. */
export function everyThreadFree(context: GenContext): boolean {
  return context.freeThreads.length === context.allThreads.length;
}

/**
 * The thread that ran an event's process. When the context no longer knows the process (an `info`
 * completion after which the runner already moved the thread to process old + concurrency), the
 * thread is the process modulo the number of client threads, as the numbering rule implies.
 */
export function threadOfEvent(context: GenContext, event: Op): Thread | undefined {
  const thread = context.threadOf(event.process);
  if (thread !== undefined) return thread;
  if (event.process === "nemesis") return "nemesis";
  const clientThreadCount = rootClientThreadCount(context);
  return clientThreadCount > 0 ? event.process % clientThreadCount : undefined;
}

export const exhaustedStep: GenStep = { kind: "exhausted" };

/** A pending step, carrying a wake-up time only when there is one. */
export function pendingStep(next: Generator, wakeAtNs?: number): GenStep {
  return wakeAtNs === undefined ? { kind: "pending", next } : { kind: "pending", next, wakeAtNs };
}

/** The earlier of two optional times. */
export function earlierNs(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** The step with its `next` generator wrapped (ops and pending answers); exhaustion passes through. */
export function wrapStep(step: GenStep, wrap: (next: Generator) => Generator): GenStep {
  switch (step.kind) {
    case "op":
      return { kind: "op", op: step.op, next: wrap(step.next) };
    case "pending":
      return pendingStep(wrap(step.next), step.wakeAtNs);
    case "exhausted":
      return step;
  }
}

/** One answer among several competing ones (`any`, `reserve`, `eachThread`). */
export interface Candidate {
  readonly step: GenStep;
  /** Share of ties this candidate wins (Jepsen weighs a thread range by its size). */
  readonly weight: number;
}

export interface SoonestChoice {
  /** Index of the chosen op candidate, or undefined when no candidate has an op. */
  readonly index: number | undefined;
  /** The earliest wake-up time among pending candidates. */
  readonly wakeAtNs: number | undefined;
  /** True when every candidate is exhausted. */
  readonly allExhausted: boolean;
}

/**
 * Chooses the candidate whose op comes soonest. Ties go by weighted draw from `random` (so that no
 * generator starves another, as in Jepsen), or to the first when `random` is undefined.
 */
export function chooseSoonest(candidates: readonly Candidate[], random: Random | undefined): SoonestChoice {
  let best: number[] = [];
  let bestTimeNs = Infinity;
  let wakeAtNs: number | undefined;
  let allExhausted = true;
  candidates.forEach((candidate, index) => {
    const step = candidate.step;
    if (step.kind !== "exhausted") allExhausted = false;
    if (step.kind === "pending") wakeAtNs = earlierNs(wakeAtNs, step.wakeAtNs);
    if (step.kind !== "op") return;
    if (step.op.timeNs < bestTimeNs) {
      bestTimeNs = step.op.timeNs;
      best = [index];
    } else if (step.op.timeNs === bestTimeNs) {
      best.push(index);
    }
  });
  if (best.length <= 1 || random === undefined) return { index: best[0], wakeAtNs, allExhausted };
  const total = best.reduce((sum, i) => sum + candidates[i]!.weight, 0);
  let draw = random.float() * total;
  for (const i of best) {
    draw -= candidates[i]!.weight;
    if (draw < 0) return { index: i, wakeAtNs, allExhausted };
  }
  return { index: best[best.length - 1], wakeAtNs, allExhausted };
}

/** The op of a step known to be an op. */
export function opOf(step: GenStep): PlannedOp | undefined {
  return step.kind === "op" ? step.op : undefined;
}
