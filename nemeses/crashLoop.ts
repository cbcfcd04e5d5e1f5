/**
 * The crash-loop package: the writer crashes, its supervisor restarts it a moment later, and it
 * crashes again early in its restart, a dozen times in a row (a node in a crash loop: a watchdog,
 * an OOM killer, a bad host). Then it runs normally, takes writes again, until the next window.
 *
 * Why: a torn write needs a crash between a write and the fsync after it. A node that flushes a
 * page every ~10 ms and fsyncs it 0.5–2 ms later is in that window a few percent of the time, so
 * crashes at random moments (the `crash` package) almost never tear anything. A restarted node,
 * though, writes back what its recovery rebuilt at a predictable moment: on its first background
 * pass, which for the in-tree engine comes about 15.5–18.5 ms after the restart (recovery with
 * the directory fsyncs that make its files' names durable, a checkpoint, then its 10 ms background
 * interval; measured from node logs), and is durable one fsync (0.5–2 ms) later. The loop sweeps
 * that span: the i-th crash of a window comes `upNs.min + i · upNs.stepNs` (plus a jitter below one
 * step) into its restart. A crash before the write-back leaves the page dirty, so the next
 * restart rebuilds and writes it back again, a little earlier than the next crash; a crash after
 * the write but before its fsync tears it (or loses it, and the next restart writes it again); a
 * crash after the fsync finds nothing left to tear, and the window has spent its chance. Under the
 * disk's crash model a write in flight survives half the time and a survivor is torn half the
 * time, so the step is kept below the shortest fsync: a write that was lost is written again and
 * usually met again, inside its fsync, by the next crash (a step of 1.5 ms met it about once per
 * window). The first crash of each window, at a random moment while the node serves, is what
 * leaves pages to rebuild. The sweep is aimed at the in-tree engine's first pass; a system with
 * another cadence needs another range.
 *
 * The writer is `control.writer()` when the window opens (no writer: `fail`, no-target); the whole
 * window works on that one node. After the opening crash: `restart-crash-loop` after `downNs`,
 * `crash-crash-loop` `upNs` after each restart, alternating, ending on a restart, at most
 * `crashLoopTiming.maxCrashesPerWindow` crashes (kept short so that the control plane does not
 * start a failover, whose promotion a crash could hold up for seconds); `stop-crash-loop`
 * restarts the node if it is down. Completions record `{ node }` for each step and
 * `{ node, restarted }` at the stop.
 */
import type { GenContext } from "../harness/generator/index.ts";
import type { OpSpec } from "../harness/generator/index.ts";
import type { Generator } from "../harness/generator/types.ts";
import type { Nemesis, NemesisContext } from "../harness/nemesis.ts";
import type { Completion, Invocation } from "../harness/system.ts";
import type { NemesisPackage, PackageConfig } from "./package.ts";
import { faultSchedule, firstStartNs, keptWindows, type WindowPlan } from "./schedule.ts";
import { nodeNames } from "./targets.ts";

const msNs = 1_000_000;

/** A bound on the crashes of one window, whatever its length (12 loops take about 200 ms). */
const maxCrashesPerWindow = 12;
const sweepStartNs = 14.5 * msNs;
const sweepStepNs = 0.5 * msNs;

/** The timing of a window: ranges drawn from uniformly. Exported so tests and reports can state them. */
export const crashLoopTiming = {
  /** How long the node stays down before its supervisor restarts it. */
  downNs: { min: 1 * msNs, max: 5 * msNs },
  /**
   * How long after a restart the node crashes again: the i-th crash after a restart (i = 0, 1, …;
   * the window's opening crash is not counted) at `min + i · stepNs` plus a jitter in [0, stepNs),
   * so the sweep covers [min, max), max derived from the number of crashes (see above).
   */
  upNs: {
    min: sweepStartNs,
    max: sweepStartNs + (maxCrashesPerWindow - 1) * sweepStepNs,
    stepNs: sweepStepNs,
  },
  maxCrashesPerWindow,
} as const;

const fail = (invocation: Invocation, error: string): Completion => ({
  type: "fail",
  value: invocation.value,
  error,
});

export function crashLoopNemesis(): Nemesis {
  /** The node of the window in force and whether it is down now. */
  let active: { node: string; down: boolean } | undefined;

  return {
    name: "crash-loop",
    fs: ["start-crash-loop", "restart-crash-loop", "crash-crash-loop", "stop-crash-loop"],
    async invoke(invocation: Invocation, context: NemesisContext): Promise<Completion> {
      const { control } = context;
      switch (invocation.f) {
        case "start-crash-loop": {
          if (active !== undefined) return fail(invocation, `a window on ${active.node} is in force`);
          const writer = control.writer()?.node;
          if (writer === undefined || !nodeNames(control).includes(writer)) {
            return fail(invocation, "no-target: the system names no writer now");
          }
          control.crash(writer);
          active = { node: writer, down: true };
          return { type: "info", value: { node: writer } };
        }
        case "restart-crash-loop":
        case "crash-crash-loop": {
          if (active === undefined) return fail(invocation, "no-target: no crash-loop window is in force");
          const crash = invocation.f === "crash-crash-loop";
          if (crash) control.crash(active.node);
          else control.restart(active.node);
          active.down = crash;
          return { type: "info", value: { node: active.node } };
        }
        case "stop-crash-loop": {
          const was = active;
          active = undefined;
          if (was?.down === true) control.restart(was.node);
          return { type: "info", value: { node: was?.node ?? null, restarted: was?.down === true } };
        }
        default:
          return fail(invocation, `crash-loop does not handle "${invocation.f}"`);
      }
    },
    healInvocations: () => [{ f: "stop-crash-loop", value: null }],
  };
}

function drawNs(range: { readonly min: number; readonly max: number }, context: GenContext): number {
  return Math.floor(range.min + context.random.float() * (range.max - range.min));
}

/**
 * Plans one window: the opening crash, then restart and crash in turn, ending on a restart, for at
 * most `maxCrashesPerWindow` crashes or until the window ends. The node then runs normally (and
 * takes writes again) until the next window.
 */
export function planCrashLoop(context: GenContext, windowNs: number): WindowPlan {
  const during: { afterNs: number; spec: OpSpec }[] = [];
  const { upNs } = crashLoopTiming;
  let atNs = drawNs(crashLoopTiming.downNs, context);
  for (let crashes = 1; atNs < windowNs; crashes++) {
    during.push({ afterNs: atNs, spec: { f: "restart-crash-loop" } });
    if (crashes >= crashLoopTiming.maxCrashesPerWindow) break;
    const sweepNs = upNs.min + (crashes - 1) * upNs.stepNs;
    const crashAtNs = atNs + drawNs({ min: sweepNs, max: sweepNs + upNs.stepNs }, context);
    const restartAtNs = crashAtNs + drawNs(crashLoopTiming.downNs, context);
    if (restartAtNs >= windowNs) break;
    during.push({ afterNs: crashAtNs, spec: { f: "crash-crash-loop" } });
    atNs = restartAtNs;
  }
  return { start: { f: "start-crash-loop" }, during };
}

export function crashLoopGenerator(options: {
  readonly intervalNs: number;
  readonly firstStartNs: number;
  readonly maxWindows?: number;
  /** Only these window numbers are applied (see faultSchedule). */
  readonly keep?: readonly number[];
}): Generator {
  return faultSchedule({
    intervalNs: options.intervalNs,
    firstStartNs: options.firstStartNs,
    plan: planCrashLoop,
    stop: { f: "stop-crash-loop" },
    ...(options.maxWindows !== undefined ? { maxWindows: options.maxWindows } : {}),
    ...(options.keep !== undefined ? { keep: options.keep } : {}),
  });
}

export function crashLoopPackage(config: PackageConfig): NemesisPackage {
  return {
    nemesis: crashLoopNemesis(),
    generator: crashLoopGenerator({
      intervalNs: config.nemesisIntervalNs,
      firstStartNs: firstStartNs(config.seed, "crash-loop", config.nemesisIntervalNs),
      ...keptWindows(config, "crash-loop"),
    }),
  };
}
