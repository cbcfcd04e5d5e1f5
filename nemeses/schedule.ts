/**
 * The pace of a nemesis package: fault windows, one after another, on the nemesis thread. Each
 * window opens with a `start-X` op, may hold a few ops inside it (a strobing clock's ticks), and
 * closes with `stop-X`; a quiet gap follows before the next window. Window and gap lengths are drawn
 * uniformly from [interval/2, 3·interval/2), so the mean pace is `--nemesis-interval` and several
 * packages composed with `any` drift out of step instead of striking together.
 *
 * Every op is proposed at an absolute time (its `timeNs`), never by a `sleep` that starts when it
 * is first asked: the runner re-asks a generator whose op it did not take, and a fresh ask of a
 * sleep would restart it. An absolute proposal is the same however often it is asked. Lengths and
 * targets are drawn from `context.random` at the ask that is taken, so the same seed gives the same
 * schedule. The first window opens at a time fixed when the schedule is built (from the seed).
 */
import type { Op } from "../harness/history/op.ts";
import { GeneratorError, type GenContext, type GenStep, type Generator } from "../harness/generator/index.ts";
import type { OpSpec } from "../harness/generator/index.ts";
import { SeededRandom } from "../harness/runtime/random.ts";

/** What a window does besides opening and closing. */
export interface WindowPlan {
  /** The op that opens the window (`start-X`). */
  readonly start: OpSpec;
  /** Ops inside the window, each `afterNs` after it opens (0 < afterNs < the window's length). */
  readonly during?: readonly { readonly afterNs: number; readonly spec: OpSpec }[];
}

export interface FaultScheduleOptions {
  /** Mean length of a window and of the gap after it, ns. */
  readonly intervalNs: number;
  /** Absolute test time at which the first window opens, ns. */
  readonly firstStartNs: number;
  /** Plans one window of the given length (drawing its targets from `context.random`). */
  readonly plan: (context: GenContext, windowNs: number) => WindowPlan;
  /** The op that closes every window (`stop-X`). */
  readonly stop: OpSpec;
  /** Windows in all; default unbounded (the runner drops the nemesis generator at the main phase's end). */
  readonly maxWindows?: number;
}

interface Planned {
  readonly atNs: number;
  readonly spec: OpSpec;
}

/** A window or gap length: uniform in [interval/2, 3·interval/2), whole ns, at least 1. */
export function jitteredNs(intervalNs: number, context: GenContext): number {
  return Math.max(1, Math.floor(intervalNs * (0.5 + context.random.float())));
}

class FaultSchedule implements Generator {
  constructor(
    private readonly options: FaultScheduleOptions,
    /** When the next window opens (used when `queue` is empty). */
    private readonly nextStartNs: number,
    /** The rest of the open window: its inner ops and its stop, in time order. */
    private readonly queue: readonly Planned[],
    private readonly windowsLeft: number,
  ) {}

  op(context: GenContext): GenStep {
    const thread = context.freeThreads[0];
    if (this.queue.length === 0 && this.windowsLeft <= 0) return { kind: "exhausted" };
    if (thread === undefined) return { kind: "pending", next: this };
    const process = context.processOf(thread);
    const { options } = this;

    if (this.queue.length > 0) {
      const head = this.queue[0]!;
      const rest = this.queue.slice(1);
      const timeNs = Math.max(head.atNs, context.timeNs);
      const nextStartNs =
        rest.length === 0 ? timeNs + jitteredNs(options.intervalNs, context) : this.nextStartNs;
      return {
        kind: "op",
        op: { f: head.spec.f, value: head.spec.value ?? null, process, timeNs },
        next: new FaultSchedule(options, nextStartNs, rest, this.windowsLeft),
      };
    }

    const startNs = Math.max(this.nextStartNs, context.timeNs);
    const windowNs = jitteredNs(options.intervalNs, context);
    const plan = options.plan(context, windowNs);
    const during = (plan.during ?? [])
      .filter((d) => d.afterNs > 0 && d.afterNs < windowNs)
      .map((d) => ({ atNs: startNs + d.afterNs, spec: d.spec }))
      .sort((a, b) => a.atNs - b.atNs);
    const queue = [...during, { atNs: startNs + windowNs, spec: options.stop }];
    return {
      kind: "op",
      op: { f: plan.start.f, value: plan.start.value ?? null, process, timeNs: startNs },
      next: new FaultSchedule(options, this.nextStartNs, queue, this.windowsLeft - 1),
    };
  }

  update(_context: GenContext, _event: Op): Generator {
    return this;
  }
}

export function faultSchedule(options: FaultScheduleOptions): Generator {
  if (!(Number.isFinite(options.intervalNs) && options.intervalNs > 0)) {
    throw new GeneratorError(`a nemesis interval must be a positive number of ns, got ${options.intervalNs}`);
  }
  if (!(Number.isFinite(options.firstStartNs) && options.firstStartNs >= 0)) {
    throw new GeneratorError(`a nemesis schedule must start at a time >= 0 ns, got ${options.firstStartNs}`);
  }
  const maxWindows = options.maxWindows ?? Infinity;
  if (!(maxWindows >= 0)) throw new GeneratorError(`maxWindows must be >= 0, got ${maxWindows}`);
  return new FaultSchedule(options, options.firstStartNs, [], maxWindows);
}

/**
 * When a package's first window opens: uniform in [interval/2, 3·interval/2) after the start,
 * drawn from the seed and the package's name, so packages composed together start apart.
 */
export function firstStartNs(seed: number, packageName: string, intervalNs: number): number {
  const random = new SeededRandom(seed, `nemesis/${packageName}/first-start`);
  return Math.max(1, Math.floor(intervalNs * (0.5 + random.float())));
}
