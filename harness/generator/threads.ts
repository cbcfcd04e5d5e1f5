/**
 * Which threads run which generator. Each routing combinator hands its sub-generators a context
 * narrowed to their threads (Jepsen's `on-threads`): a sub-generator sees only its own threads as
 * free or busy, and is told only of events of processes running on them.
 *
 * - `onThreads(allows, g)`: g on the threads `allows` accepts; `clients(g)` on every client thread,
 *   `nemesis(g)` on the nemesis thread, `clientsAndNemesis(c, n)` both at once.
 * - `eachThread(g)`: an independent copy of g per thread, each seeing only its thread; exhausted when
 *   every thread's copy is.
 * - `reserve(n1, g1, n2, g2, …, rest)`: the first n1 client threads of the context (in order) run g1,
 *   the next n2 run g2, and every other thread (the nemesis too, if the context has it) runs `rest`.
 *   Ranges are positions within the context, so a reserve nested in another still works.
 */
import {
  GeneratorError,
  chooseSoonest,
  exhaustedStep,
  pendingStep,
  restrictContext,
  threadOfEvent,
  wrapStep,
} from "./context.ts";
import { toGenerator } from "./sources.ts";
import type { GenSource } from "./sources.ts";
import type { Op } from "../history/op.ts";
import type { GenContext, GenStep, Generator, Thread } from "./types.ts";
import { any } from "./control.ts";

class OnThreads implements Generator {
  constructor(
    private readonly allows: (thread: Thread) => boolean,
    private readonly inner: Generator,
  ) {}
  op(context: GenContext): GenStep {
    const step = this.inner.op(restrictContext(context, this.allows));
    return wrapStep(step, (next) => new OnThreads(this.allows, next));
  }
  update(context: GenContext, event: Op): Generator {
    const thread = threadOfEvent(context, event);
    if (thread === undefined || !this.allows(thread)) return this;
    return new OnThreads(this.allows, this.inner.update(restrictContext(context, this.allows), event));
  }
}

export function onThreads(allows: (thread: Thread) => boolean, source: GenSource): Generator {
  return new OnThreads(allows, toGenerator(source));
}

const isClientThread = (thread: Thread): boolean => thread !== "nemesis";
const isNemesisThread = (thread: Thread): boolean => thread === "nemesis";

/** `source` on client threads only. */
export function clients(source: GenSource): Generator {
  return onThreads(isClientThread, source);
}

/** `source` on the nemesis thread only. */
export function nemesis(source: GenSource): Generator {
  return onThreads(isNemesisThread, source);
}

/** Client ops from `clientSource` and nemesis ops from `nemesisSource`, side by side. */
export function clientsAndNemesis(clientSource: GenSource, nemesisSource: GenSource): Generator {
  return any(clients(clientSource), nemesis(nemesisSource));
}

class EachThread implements Generator {
  constructor(
    private readonly fresh: Generator,
    private readonly perThread: ReadonlyMap<Thread, Generator>,
    private readonly exhausted: ReadonlySet<Thread>,
  ) {}
  op(context: GenContext): GenStep {
    const threads = context.freeThreads.filter((thread) => !this.exhausted.has(thread));
    const steps = threads.map((thread) =>
      (this.perThread.get(thread) ?? this.fresh).op(restrictContext(context, (t) => t === thread)),
    );
    const choice = chooseSoonest(
      steps.map((step) => ({ step, weight: 1 })),
      undefined,
    );
    // Keep what each free thread learned: pending answers' state, and which copies are exhausted.
    const perThread = new Map(this.perThread);
    const exhausted = new Set(this.exhausted);
    steps.forEach((step, i) => {
      const thread = threads[i]!;
      if (step.kind === "exhausted") exhausted.add(thread);
      else if (step.kind === "pending") perThread.set(thread, step.next);
    });
    if (choice.index !== undefined) {
      const step = steps[choice.index]!;
      if (step.kind === "op") {
        perThread.set(threads[choice.index]!, step.next);
        return { kind: "op", op: step.op, next: new EachThread(this.fresh, perThread, exhausted) };
      }
    }
    if (context.allThreads.every((thread) => exhausted.has(thread))) return exhaustedStep;
    return pendingStep(new EachThread(this.fresh, perThread, exhausted), choice.wakeAtNs);
  }
  update(context: GenContext, event: Op): Generator {
    const thread = threadOfEvent(context, event);
    if (thread === undefined || this.exhausted.has(thread) || !context.allThreads.includes(thread)) {
      return this;
    }
    const gen = this.perThread.get(thread) ?? this.fresh;
    const perThread = new Map(this.perThread);
    perThread.set(
      thread,
      gen.update(
        restrictContext(context, (t) => t === thread),
        event,
      ),
    );
    return new EachThread(this.fresh, perThread, this.exhausted);
  }
}

/** An independent copy of `source` for each thread. */
export function eachThread(source: GenSource): Generator {
  return new EachThread(toGenerator(source), new Map(), new Set());
}

class Reserve implements Generator {
  constructor(
    private readonly counts: readonly number[],
    /** One per range, then the rest; undefined once exhausted. */
    private readonly gens: readonly (Generator | undefined)[],
  ) {}

  /** The index of the generator each thread of the context runs. */
  private assign(context: GenContext): Map<Thread, number> {
    const clientThreads = context.allThreads.filter(isClientThread);
    const needed = this.counts.reduce((a, b) => a + b, 0);
    if (needed > clientThreads.length) {
      throw new GeneratorError(
        `reserve asks for ${needed} client threads but its context has only ${clientThreads.length}`,
      );
    }
    const assignment = new Map<Thread, number>();
    let position = 0;
    this.counts.forEach((count, range) => {
      for (let i = 0; i < count; i++) assignment.set(clientThreads[position++]!, range);
    });
    for (const thread of context.allThreads) {
      if (!assignment.has(thread)) assignment.set(thread, this.counts.length);
    }
    return assignment;
  }

  op(context: GenContext): GenStep {
    const assignment = this.assign(context);
    const steps = this.gens.map((gen, range) =>
      gen === undefined
        ? exhaustedStep
        : gen.op(restrictContext(context, (t) => assignment.get(t) === range)),
    );
    const sizes = this.gens.map((_, range) => [...assignment.values()].filter((r) => r === range).length);
    const choice = chooseSoonest(
      steps.map((step, range) => ({ step, weight: Math.max(1, sizes[range]!) })),
      context.random,
    );
    const gens = steps.map((step, range) => {
      if (step.kind === "exhausted") return undefined;
      // An op not chosen was not performed: keep the generator that proposed it.
      if (step.kind === "op" && range !== choice.index) return this.gens[range];
      return step.next;
    });
    if (choice.index !== undefined) {
      const step = steps[choice.index]!;
      if (step.kind === "op") return { kind: "op", op: step.op, next: new Reserve(this.counts, gens) };
    }
    if (choice.allExhausted) return exhaustedStep;
    return pendingStep(new Reserve(this.counts, gens), choice.wakeAtNs);
  }

  update(context: GenContext, event: Op): Generator {
    const thread = threadOfEvent(context, event);
    if (thread === undefined || !context.allThreads.includes(thread)) return this;
    const assignment = this.assign(context);
    const range = assignment.get(thread)!;
    const gen = this.gens[range];
    if (gen === undefined) return this;
    const gens = this.gens.slice();
    gens[range] = gen.update(
      restrictContext(context, (t) => assignment.get(t) === range),
      event,
    );
    return new Reserve(this.counts, gens);
  }
}

/**
 * `reserve(5, writes, 10, cas, reads)`: the first 5 client threads write, the next 10 cas, the rest
 * read. Arguments alternate thread counts and sources, ending with the source for every other thread.
 */
export function reserve(...args: readonly (number | GenSource)[]): Generator {
  if (args.length % 2 !== 1) {
    throw new GeneratorError(
      "reserve takes pairs of (thread count, source) and then one source for the rest",
    );
  }
  const counts: number[] = [];
  const gens: Generator[] = [];
  for (let i = 0; i + 1 < args.length; i += 2) {
    const count = args[i];
    if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
      throw new GeneratorError(
        `reserve: argument ${i + 1} must be a whole number of threads >= 0, got ${String(count)}`,
      );
    }
    counts.push(count);
    gens.push(toGenerator(args[i + 1] as GenSource));
  }
  const rest = args[args.length - 1];
  if (typeof rest === "number") throw new GeneratorError("reserve: the last argument must be a source");
  gens.push(toGenerator(rest!));
  return new Reserve(counts, gens);
}
