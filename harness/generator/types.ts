/**
 * Generators, with Jepsen's semantics: a generator is a persistent (immutable) value. Asked for an
 * operation in a context, it answers with an operation and the generator that follows it, says
 * "pending" (nothing now, but maybe later: ask again after the next event or at a later time), or
 * is exhausted. It is told of every invocation and completion through `update`, which returns the
 * generator to use from then on. Randomness comes only from `context.random`, a seeded stream, so
 * the same seed gives the same sequence of operations.
 */
import type { Op, Process } from "../history/op.ts";
import type { Random } from "../runtime/random.ts";

/** A worker slot: client workers are 0 … concurrency−1; the nemesis has its own thread. */
export type Thread = number | "nemesis";

export interface GenContext {
  /** Current true time, ns since the test started. */
  readonly timeNs: number;
  readonly random: Random;
  /** Every thread, client threads in order, then "nemesis" when the test has one. */
  readonly allThreads: readonly Thread[];
  /**
   * Threads not running an operation now. Client threads come in turn from the one after the last
   * client thread given an op (wrapping round, as Jepsen's context does), so a generator that takes
   * the first free thread spreads its ops over every worker; "nemesis" last.
   */
  readonly freeThreads: readonly Thread[];
  /** The process a thread currently runs as (it changes after an `info`). */
  processOf(thread: Thread): Process;
  /** The thread that runs a process, if that process is current. */
  threadOf(process: Process): Thread | undefined;
}

/** An operation a generator wants invoked: by `process`, not before `timeNs`. */
export interface PlannedOp {
  readonly f: string;
  readonly value: unknown;
  readonly process: Process;
  readonly timeNs: number;
}

export type GenStep =
  | { readonly kind: "op"; readonly op: PlannedOp; readonly next: Generator }
  | {
      readonly kind: "pending";
      readonly next: Generator;
      /**
       * Optional: a time at which this answer may change even if no event arrives (a `sleep` ends,
       * a `timeLimit` runs out). A runner with nothing in flight advances its clock to it and asks
       * again; without it, only an event (an invocation or completion) can change the answer.
       */
      readonly wakeAtNs?: number;
    }
  | { readonly kind: "exhausted" };

export interface Generator {
  op(context: GenContext): GenStep;
  /** Told of an event (an invocation or a completion that the runner recorded). */
  update(context: GenContext, event: Op): Generator;
}
