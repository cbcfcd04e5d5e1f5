/**
 * The pace of a nemesis package: fault windows, one after another, on the nemesis thread. Each
 * window opens with a `start-X` op, may hold a few ops inside it (a strobing clock's ticks), and
 * closes with `stop-X`; a quiet gap follows before the next window. Window and gap lengths are drawn
 * uniformly from [interval/2, 3·interval/2), so the mean pace is `--nemesis-interval` and several
 * packages composed with `any` drift out of step instead of striking together.
 *
 * Every op is proposed at an absolute time (its `timeNs`), never by a `sleep` that starts when it
 * is first asked: the runner re-asks a generator whose op it did not take, and a fresh ask of a
 * sleep would restart it. An absolute proposal is the same however often it is asked. A window's
 * length and targets are drawn from `context.random` at every ask that proposes its start, taken
 * or not (the draws of an ask not taken are spent all the same); the runner asks in the same order
 * for the same seed, so the same seed gives the same schedule. Drawing only at the ask that is
 * taken would spend fewer draws (a 60 s memory run drew a window about 19,000 times for the few
 * it opened) but would change every seeded history recorded so far, for about 5% of a memory
 * run's simulation: not done. The first window opens at a time fixed when the schedule is built
 * (from the seed).
 *
 * Windows are numbered 1, 2, 3, … in the order the schedule draws them. `keep` (from
 * `--nemesis-windows`, see windows.ts) applies only the numbered windows: a window not kept is
 * drawn as usual (its length, its plan, the gap after it: the same draws a kept one makes) but
 * left out of the timeline, taking no time, so the kept windows follow each other with their own
 * gaps, from the first start on. A window chosen late in a long run thus comes early in a short
 * one, which is what lets `faultline shrink` cut a run's time along with its faults. Past the last
 * kept number the schedule is exhausted.
 */
import type { Op } from "../harness/history/op.ts";
import { GeneratorError, type GenContext, type GenStep, type Generator } from "../harness/generator/index.ts";
import type { OpSpec } from "../harness/generator/index.ts";
import { SeededRandom } from "../harness/runtime/random.ts";
import type { PackageConfig } from "./package.ts";

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
  /** Only these window numbers (1-based) are applied, the others drawn and skipped; default all. */
  readonly keep?: readonly number[];
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
    /** Windows drawn so far (kept or skipped): the next one is number `drawn + 1`. */
    private readonly drawn: number,
  ) {}

  op(context: GenContext): GenStep {
    const thread = context.freeThreads[0];
    if (this.queue.length === 0 && (this.windowsLeft <= 0 || this.keptAllDrawn()))
      return { kind: "exhausted" };
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
        next: new FaultSchedule(options, nextStartNs, rest, this.windowsLeft, this.drawn),
      };
    }

    const startNs = Math.max(this.nextStartNs, context.timeNs);
    let drawn = this.drawn;
    let windowsLeft = this.windowsLeft;
    let windowNs = jitteredNs(options.intervalNs, context);
    let plan = options.plan(context, windowNs);
    drawn++;
    windowsLeft--;
    // Windows not kept: drawn (length, plan and the gap after) but left out, taking no time.
    while (options.keep !== undefined && !options.keep.includes(drawn)) {
      if (windowsLeft <= 0 || drawn >= Math.max(0, ...options.keep)) return { kind: "exhausted" };
      jitteredNs(options.intervalNs, context);
      windowNs = jitteredNs(options.intervalNs, context);
      plan = options.plan(context, windowNs);
      drawn++;
      windowsLeft--;
    }
    // The window's plan is drawn at every ask (an ask not taken is thrown away): most windows hold
    // no ops inside, so the common queue is built without the filter, map and sort.
    const stop: Planned = { atNs: startNs + windowNs, spec: options.stop };
    const queue =
      plan.during === undefined || plan.during.length === 0
        ? [stop]
        : [
            ...plan.during
              .filter((d) => d.afterNs > 0 && d.afterNs < windowNs)
              .map((d) => ({ atNs: startNs + d.afterNs, spec: d.spec }))
              .sort((a, b) => a.atNs - b.atNs),
            stop,
          ];
    return {
      kind: "op",
      op: { f: plan.start.f, value: plan.start.value ?? null, process, timeNs: startNs },
      next: new FaultSchedule(options, this.nextStartNs, queue, windowsLeft, drawn),
    };
  }

  /** Every kept window is drawn already. */
  private keptAllDrawn(): boolean {
    const keep = this.options.keep;
    return keep !== undefined && this.drawn >= Math.max(0, ...keep);
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
  const keep = options.keep;
  if (keep !== undefined && !keep.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new GeneratorError(`kept window numbers must be whole numbers >= 1, got ${keep.join(", ")}`);
  }
  return new FaultSchedule(options, options.firstStartNs, [], maxWindows, 0);
}

export interface PickingScheduleOptions {
  /** The package's name: its windows open with `start-NAME` and close with `stop-NAME`. */
  readonly name: string;
  /** What a window's `start-NAME` carries: one drawn at random for each window. */
  readonly choices: readonly unknown[];
  /** What `choices` are, for the error when there are none ("target", "shape", "fault"). */
  readonly choiceName: string;
  readonly intervalNs: number;
  readonly firstStartNs: number;
  readonly maxWindows?: number;
  /** Only these window numbers are applied (see faultSchedule). */
  readonly keep?: readonly number[];
}

/**
 * The schedule of most packages (crash, pause, partition, disk): every window opens with
 * `start-NAME` carrying one of `choices`, drawn when the window is taken, and closes with
 * `stop-NAME`.
 */
export function pickingSchedule(options: PickingScheduleOptions): Generator {
  const { name, choices } = options;
  if (choices.length === 0) throw new RangeError(`${name}: needs at least one ${options.choiceName}`);
  const startF = `start-${name}`;
  return faultSchedule({
    intervalNs: options.intervalNs,
    firstStartNs: options.firstStartNs,
    plan: (context) => ({ start: { f: startF, value: context.random.pick(choices) } }),
    stop: { f: `stop-${name}` },
    ...(options.maxWindows !== undefined ? { maxWindows: options.maxWindows } : {}),
    ...(options.keep !== undefined ? { keep: options.keep } : {}),
  });
}

/**
 * When a package's first window opens: uniform in [interval/2, 3·interval/2) after the start,
 * drawn from the seed and the package's name, so packages composed together start apart.
 */
export function firstStartNs(seed: number, packageName: string, intervalNs: number): number {
  const random = new SeededRandom(seed, `nemesis/${packageName}/first-start`);
  return Math.max(1, Math.floor(intervalNs * (0.5 + random.float())));
}

/** The `keep` option of a package's schedule from the run's window selection (none: every window). */
export function keptWindows(config: PackageConfig, packageName: string): { keep?: readonly number[] } {
  if (config.nemesisWindows === undefined) return {};
  return { keep: config.nemesisWindows[packageName] ?? [] };
}
