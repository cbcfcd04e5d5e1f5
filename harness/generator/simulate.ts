/**
 * A small, pure interpreter for generators, for tests: it plays the runner's part against imaginary
 * clients. Every op takes a seeded random duration and completes ok, fail or info (an `info` moves
 * its thread to a new process, old + concurrency, as the runner does); nemesis ops complete `info`.
 * It follows the interpretation contract the runner follows:
 *
 * - ask the generator with the current context; an op whose `timeNs` has come is invoked now (the
 *   generator becomes its `next`, then is told of the invocation);
 * - an op timed later is a proposal: advance to that time or to the next completion, whichever is
 *   first, and ask the *same* generator again;
 * - "pending": advance to the next completion, or to `wakeAtNs` if sooner; with neither, the run is
 *   stalled (a generator waiting for something that cannot happen), and the simulation says so;
 * - exhausted: let the ops in flight complete, and stop.
 *
 * Every run is bounded by `maxOps` invocations and `maxSteps` turns; the result says why it ended.
 * `fakeContext` builds a one-off context for hand-written tests of a single `op` call.
 */
import { SeededRandom } from "../runtime/random.ts";
import type { Op, OpType, Process } from "../history/op.ts";
import type { Random } from "../runtime/random.ts";
import { GeneratorError } from "./context.ts";
import type { GenContext, Generator, PlannedOp, Thread } from "./types.ts";

export interface SimulateOptions {
  readonly seed: number;
  /** Client threads, 0 … clientThreads−1. */
  readonly clientThreads: number;
  /** Adds the "nemesis" thread. */
  readonly nemesis?: boolean;
  /** Shortest and longest op duration, ns (uniform, integer). Default 1 ms … 10 ms. */
  readonly minOpDurationNs?: number;
  readonly maxOpDurationNs?: number;
  /** Chances of a client op completing fail and info; the rest complete ok. Default 0.1 each. */
  readonly failChance?: number;
  readonly infoChance?: number;
  /** Bound on invocations. Default 100 000. */
  readonly maxOps?: number;
  /** Bound on interpreter turns (asks, completions, clock moves). Default 20 × maxOps + 1000. */
  readonly maxSteps?: number;
  /** Stop asking for ops once time passes this. Default: no limit. */
  readonly maxTimeNs?: number;
}

export type SimulationEnd = "exhausted" | "stalled" | "op-limit" | "step-limit" | "time-limit";

export interface SimulationResult {
  /** Invocations and completions in order, indexed, as the runner would record them. */
  readonly history: readonly Op[];
  readonly end: SimulationEnd;
  readonly endTimeNs: number;
}

interface InFlight {
  readonly thread: Thread;
  readonly invoke: Op;
  readonly completeAtNs: number;
}

class World {
  timeNs = 0;
  readonly threads: readonly Thread[];
  readonly processes = new Map<Thread, Process>();
  readonly busy = new Map<Thread, InFlight>();
  /** Where the next context's list of free client threads starts. */
  nextClientThread = 0;

  constructor(
    readonly clientThreads: number,
    nemesis: boolean,
    readonly random: Random,
  ) {
    const threads: Thread[] = Array.from({ length: clientThreads }, (_, i) => i);
    if (nemesis) threads.push("nemesis");
    this.threads = threads;
    for (const thread of threads) this.processes.set(thread, thread);
  }

  context(): GenContext {
    const processes = new Map(this.processes);
    // As the runner does: free client threads listed from the one after the last given an op.
    const free: Thread[] = [];
    for (let i = 0; i < this.clientThreads; i++) {
      const thread = (this.nextClientThread + i) % this.clientThreads;
      if (!this.busy.has(thread)) free.push(thread);
    }
    if (this.threads.includes("nemesis") && !this.busy.has("nemesis")) free.push("nemesis");
    return {
      timeNs: this.timeNs,
      random: this.random,
      allThreads: this.threads,
      freeThreads: free,
      processOf: (thread) => {
        const process = processes.get(thread);
        if (process === undefined) throw new GeneratorError(`no thread ${String(thread)}`);
        return process;
      },
      threadOf: (process) => {
        for (const [thread, p] of processes) if (p === process) return thread;
        return undefined;
      },
    };
  }

  nextCompletion(): InFlight | undefined {
    let first: InFlight | undefined;
    for (const thread of this.threads) {
      const flight = this.busy.get(thread);
      if (flight !== undefined && (first === undefined || flight.completeAtNs < first.completeAtNs)) {
        first = flight;
      }
    }
    return first;
  }
}

/** Drives `generator` against simulated clients; see the module header. */
export function simulate(generator: Generator, options: SimulateOptions): SimulationResult {
  const minNs = options.minOpDurationNs ?? 1_000_000;
  const maxNs = options.maxOpDurationNs ?? 10_000_000;
  if (!(Number.isInteger(options.clientThreads) && options.clientThreads >= 0)) {
    throw new GeneratorError(`clientThreads must be a whole number >= 0, got ${options.clientThreads}`);
  }
  if (!(minNs >= 0 && maxNs >= minNs)) {
    throw new GeneratorError(`op durations need 0 <= min <= max, got ${minNs} … ${maxNs}`);
  }
  const failChance = options.failChance ?? 0.1;
  const infoChance = options.infoChance ?? 0.1;
  const maxOps = options.maxOps ?? 100_000;
  const maxSteps = options.maxSteps ?? 20 * maxOps + 1000;
  const root = new SeededRandom(options.seed);
  const world = new World(options.clientThreads, options.nemesis ?? false, root.fork("generator"));
  const clientsRandom = root.fork("simulated-clients");
  const history: Op[] = [];
  let gen = generator;
  let invocations = 0;

  const record = (op: { time: number; process: Process; type: OpType; f: string; value: unknown }): Op => {
    const recorded: Op = { index: history.length, ...op };
    history.push(recorded);
    return recorded;
  };

  const complete = (flight: InFlight): void => {
    world.timeNs = Math.max(world.timeNs, flight.completeAtNs);
    let type: OpType = "info";
    if (flight.thread !== "nemesis") {
      const draw = clientsRandom.float();
      type = draw < failChance ? "fail" : draw < failChance + infoChance ? "info" : "ok";
    }
    const event = record({
      time: world.timeNs,
      process: flight.invoke.process,
      type,
      f: flight.invoke.f,
      value: flight.invoke.value,
    });
    world.busy.delete(flight.thread);
    // The update sees the thread free but still running the old process (Jepsen's convention).
    gen = gen.update(world.context(), event);
    if (type === "info" && typeof flight.invoke.process === "number") {
      world.processes.set(flight.thread, flight.invoke.process + world.clientThreads);
    }
  };

  const invoke = (op: PlannedOp, context: GenContext): void => {
    const thread = context.threadOf(op.process);
    if (thread === undefined || world.busy.has(thread)) {
      throw new GeneratorError(
        `generator emitted ${op.f} for process ${String(op.process)}, which is not a free process`,
      );
    }
    const event = record({
      time: world.timeNs,
      process: op.process,
      type: "invoke",
      f: op.f,
      value: op.value,
    });
    const durationNs = minNs + Math.floor(clientsRandom.float() * (maxNs - minNs + 1));
    world.busy.set(thread, { thread, invoke: event, completeAtNs: world.timeNs + durationNs });
    if (typeof thread === "number") world.nextClientThread = (thread + 1) % world.clientThreads;
    invocations += 1;
    gen = gen.update(world.context(), event);
  };

  const drain = (end: SimulationEnd): SimulationResult => {
    for (let flight = world.nextCompletion(); flight !== undefined; flight = world.nextCompletion()) {
      complete(flight);
    }
    return { history, end, endTimeNs: world.timeNs };
  };

  for (let steps = 0; steps < maxSteps; steps++) {
    if (invocations >= maxOps) return drain("op-limit");
    if (options.maxTimeNs !== undefined && world.timeNs > options.maxTimeNs) return drain("time-limit");
    const context = world.context();
    const step = gen.op(context);
    const flight = world.nextCompletion();
    if (step.kind === "exhausted") return drain("exhausted");
    if (step.kind === "op") {
      if (step.op.timeNs <= world.timeNs) {
        gen = step.next;
        invoke(step.op, context);
      } else if (flight !== undefined && flight.completeAtNs <= step.op.timeNs) {
        complete(flight);
      } else {
        world.timeNs = step.op.timeNs;
      }
      continue;
    }
    gen = step.next;
    const wakeAtNs = step.wakeAtNs;
    if (flight !== undefined && (wakeAtNs === undefined || flight.completeAtNs <= wakeAtNs)) {
      complete(flight);
    } else if (wakeAtNs !== undefined && wakeAtNs > world.timeNs) {
      world.timeNs = wakeAtNs;
    } else if (wakeAtNs !== undefined) {
      throw new GeneratorError(
        `generator said pending until ${wakeAtNs} ns, which is not after the current time ${world.timeNs} ns`,
      );
    } else {
      return drain("stalled");
    }
  }
  return drain("step-limit");
}

export interface FakeContextOptions {
  readonly timeNs?: number;
  readonly clientThreads: number;
  readonly nemesis?: boolean;
  /** Busy threads; every other thread is free. */
  readonly busy?: readonly Thread[];
  /** Process per thread where it differs from the thread's number. */
  readonly processes?: ReadonlyMap<Thread, Process>;
  readonly seed?: number;
}

/** A context for one-off `op` calls in tests. */
export function fakeContext(options: FakeContextOptions): GenContext {
  const threads: Thread[] = Array.from({ length: options.clientThreads }, (_, i) => i);
  if (options.nemesis) threads.push("nemesis");
  const busy = new Set(options.busy ?? []);
  const processOf = (thread: Thread): Process => options.processes?.get(thread) ?? thread;
  return {
    timeNs: options.timeNs ?? 0,
    random: new SeededRandom(options.seed ?? 1),
    allThreads: threads,
    freeThreads: threads.filter((thread) => !busy.has(thread)),
    processOf,
    threadOf: (process) => threads.find((thread) => processOf(thread) === process),
  };
}
