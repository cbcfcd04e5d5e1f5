/**
 * The skewed-writer package: the writer's wall clock steps back by seconds (a bad NTP step, a VM
 * restored from a snapshot) and, in the same window, the writer is cut off from every other node.
 * It is the schedule that tests whether a lease-holding writer notices it may no longer be the
 * writer: a lease counted on a wall clock that went back outlives the grant, so the deposed writer
 * keeps answering reads locally while a new writer takes writes. Random `clock` and `partition`
 * windows rarely line up this way (the writer must be both the skewed node and the isolated one).
 *
 * The writer is `control.writer()` when the window opens (no writer: `fail`, no-target). Its wall
 * clock is set `stepNs` behind true time; the monotonic clock is untouched, as a clock step leaves
 * CLOCK_MONOTONIC alone. Clients are never cut, so clients homed on the old writer keep reaching it.
 * `stop-skewed-writer` heals the network and puts the clock back (offset 0). Composed with `clock`
 * or `partition`, the last one to act wins (clock offsets and grudges are set, not added).
 * Completions record `{ writer, stepNs, cut, grudge }` and `{ writer, healed }`.
 */
import type { GenContext } from "../harness/generator/index.ts";
import type { Generator } from "../harness/generator/types.ts";
import type { Nemesis, NemesisContext } from "../harness/nemesis.ts";
import type { Completion, Invocation } from "../harness/system.ts";
import type { NemesisPackage, PackageConfig } from "./package.ts";
import { faultSchedule, firstStartNs, keptWindows } from "./schedule.ts";
import { grudgeToMap } from "./shapes.ts";
import { isolationGrudge } from "./storageCut.ts";
import { nodeNames } from "./targets.ts";

/** How far back the writer's wall clock steps: 1, 2, 4 or 8 s (longer than any lease). */
export const skewedWriterStepsNs: readonly number[] = [1e9, 2e9, 4e9, 8e9];

const fail = (invocation: Invocation, error: string): Completion => ({
  type: "fail",
  value: invocation.value,
  error,
});

export function skewedWriterNemesis(): Nemesis {
  let active: { writer: string; cut: string[] } | undefined;

  const start = (invocation: Invocation, context: NemesisContext): Completion => {
    const stepNs = invocation.value;
    if (typeof stepNs !== "number" || !Number.isFinite(stepNs) || stepNs <= 0) {
      return fail(invocation, `start-skewed-writer needs a step in ns > 0, got ${JSON.stringify(stepNs)}`);
    }
    const { control } = context;
    const writer = control.writer()?.node;
    if (writer === undefined || !nodeNames(control).includes(writer)) {
      return fail(invocation, "no-target: the system names no writer now");
    }
    const cut = nodeNames(control)
      .filter((n) => n !== writer)
      .sort();
    if (cut.length === 0) return fail(invocation, `no-target: ${writer} is the only node`);
    control.setClock(writer, { offsetNs: -stepNs });
    const grudge = isolationGrudge(writer, cut);
    control.setGrudge(grudgeToMap(grudge));
    active = { writer, cut };
    return { type: "info", value: { writer, stepNs, cut, grudge } };
  };

  return {
    name: "skewed-writer",
    fs: ["start-skewed-writer", "stop-skewed-writer"],
    async invoke(invocation: Invocation, context: NemesisContext): Promise<Completion> {
      switch (invocation.f) {
        case "start-skewed-writer":
          if (active !== undefined) return fail(invocation, `a window on ${active.writer} is in force`);
          return start(invocation, context);
        case "stop-skewed-writer": {
          const was = active;
          active = undefined;
          // Outside a window there is nothing of ours to heal (and another package's grudge stays).
          if (was !== undefined) {
            context.control.heal();
            context.control.setClock(was.writer, { offsetNs: 0 });
          }
          return {
            type: "info",
            value: { writer: was?.writer ?? null, healed: was === undefined ? [] : [was.writer, ...was.cut] },
          };
        }
        default:
          return fail(invocation, `skewed-writer does not handle "${invocation.f}"`);
      }
    },
    healInvocations: () => [{ f: "stop-skewed-writer", value: null }],
  };
}

export function skewedWriterGenerator(options: {
  readonly intervalNs: number;
  readonly firstStartNs: number;
  readonly maxWindows?: number;
  /** Only these window numbers are applied (see faultSchedule). */
  readonly keep?: readonly number[];
}): Generator {
  return faultSchedule({
    intervalNs: options.intervalNs,
    firstStartNs: options.firstStartNs,
    plan: (context: GenContext) => ({
      start: { f: "start-skewed-writer", value: context.random.pick(skewedWriterStepsNs) },
    }),
    stop: { f: "stop-skewed-writer" },
    ...(options.maxWindows !== undefined ? { maxWindows: options.maxWindows } : {}),
    ...(options.keep !== undefined ? { keep: options.keep } : {}),
  });
}

export function skewedWriterPackage(config: PackageConfig): NemesisPackage {
  return {
    nemesis: skewedWriterNemesis(),
    generator: skewedWriterGenerator({
      intervalNs: config.nemesisIntervalNs,
      firstStartNs: firstStartNs(config.seed, "skewed-writer", config.nemesisIntervalNs),
      ...keptWindows(config, "skewed-writer"),
    }),
  };
}
