/**
 * The crash-loop package: the writer crashes, is restarted by its supervisor a moment later, and
 * crashes again soon after it came back, over and over for the length of a window (a node in a
 * crash loop: a bad host, an OOM killer, a watchdog). A single crash every second or two lands
 * almost always where the disk holds nothing half-done; a loop of crashes a few tens of
 * milliseconds into each restart lands, now and then, in the brief moments when a restarted node
 * writes back what its recovery rebuilt (pages, checkpoints) and has not yet made it durable. That
 * is where torn writes happen, so it is the schedule that tests whether a torn write is detected.
 *
 * The writer is `control.writer()` when the window opens (no writer: `fail`, no-target); the whole
 * window works on that one node. Inside a window, after the opening crash: `restart-crash-loop`
 * after `downNs`, `crash-crash-loop` `upNs` after each restart, alternating, at most
 * `crashLoopTiming.maxCrashesPerWindow` crashes; `stop-crash-loop` restarts the node if it is down.
 * Completions record `{ node }` for each step and `{ node, restarted }` at the stop.
 */
import type { GenContext } from "../harness/generator/index.ts";
import type { OpSpec } from "../harness/generator/index.ts";
import type { Generator } from "../harness/generator/types.ts";
import type { Nemesis, NemesisContext } from "../harness/nemesis.ts";
import type { Completion, Invocation } from "../harness/system.ts";
import type { NemesisPackage, PackageConfig } from "./package.ts";
import { faultSchedule, firstStartNs, type WindowPlan } from "./schedule.ts";
import { nodeNames } from "./targets.ts";

const msNs = 1_000_000;

/** The timing of a window, as ranges drawn from uniformly. Exported so tests and reports can state them. */
export const crashLoopTiming = {
  /** How long the node stays down before its supervisor restarts it. */
  downNs: { min: 1 * msNs, max: 5 * msNs },
  /** How long after a restart the node crashes again. */
  upNs: { min: 5 * msNs, max: 40 * msNs },
  /** A bound on the crashes of one window, whatever its length. */
  maxCrashesPerWindow: 200,
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

/** Plans one window: the opening crash, then restart and crash in turn until the window ends. */
export function planCrashLoop(context: GenContext, windowNs: number): WindowPlan {
  const during: { afterNs: number; spec: OpSpec }[] = [];
  let atNs = 0;
  for (let crashes = 1; crashes < crashLoopTiming.maxCrashesPerWindow; crashes++) {
    atNs += drawNs(crashLoopTiming.downNs, context);
    if (atNs >= windowNs) break;
    during.push({ afterNs: atNs, spec: { f: "restart-crash-loop" } });
    atNs += drawNs(crashLoopTiming.upNs, context);
    if (atNs >= windowNs) break;
    during.push({ afterNs: atNs, spec: { f: "crash-crash-loop" } });
  }
  return { start: { f: "start-crash-loop" }, during };
}

export function crashLoopGenerator(options: {
  readonly intervalNs: number;
  readonly firstStartNs: number;
  readonly maxWindows?: number;
}): Generator {
  return faultSchedule({
    intervalNs: options.intervalNs,
    firstStartNs: options.firstStartNs,
    plan: planCrashLoop,
    stop: { f: "stop-crash-loop" },
    ...(options.maxWindows !== undefined ? { maxWindows: options.maxWindows } : {}),
  });
}

export function crashLoopPackage(config: PackageConfig): NemesisPackage {
  return {
    nemesis: crashLoopNemesis(),
    generator: crashLoopGenerator({
      intervalNs: config.nemesisIntervalNs,
      firstStartNs: firstStartNs(config.seed, "crash-loop", config.nemesisIntervalNs),
    }),
  };
}
