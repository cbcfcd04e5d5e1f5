/**
 * The pause package: freezes nodes and resumes them later (Jepsen's SIGSTOP/SIGCONT). `start-pause`
 * takes a target (`one`, `minority`, `writer`, `all`; see targets.ts) and pauses those nodes: no
 * timer fires and no message is handled, but their state is kept. `stop-pause` resumes every node
 * this nemesis paused; what came due meanwhile then runs at once, in order. Completions record the
 * nodes: `{ target, nodes, writer? }` and `{ nodes }`.
 */
import type { Generator } from "../harness/generator/types.ts";
import type { Nemesis } from "../harness/nemesis.ts";
import type { NemesisPackage, PackageConfig } from "./package.ts";
import { nodeFaultGenerator, nodeFaultNemesis } from "./nodeFault.ts";
import { firstStartNs, keptWindows } from "./schedule.ts";
import type { NodeTarget } from "./targets.ts";

export const pauseTargets: readonly NodeTarget[] = ["one", "minority", "writer", "all"];

export function pauseNemesis(): Nemesis {
  return nodeFaultNemesis({
    kind: "pause",
    apply: (control, node) => control.pause(node),
    undo: (control, node) => control.resume(node),
  });
}

export function pauseGenerator(options: {
  readonly intervalNs: number;
  readonly firstStartNs: number;
  readonly targets?: readonly NodeTarget[];
  readonly maxWindows?: number;
  /** Only these window numbers are applied (see faultSchedule). */
  readonly keep?: readonly number[];
}): Generator {
  return nodeFaultGenerator({ kind: "pause", targets: pauseTargets, ...options });
}

export function pausePackage(config: PackageConfig, targets?: readonly NodeTarget[]): NemesisPackage {
  return {
    nemesis: pauseNemesis(),
    generator: pauseGenerator({
      intervalNs: config.nemesisIntervalNs,
      firstStartNs: firstStartNs(config.seed, "pause", config.nemesisIntervalNs),
      ...keptWindows(config, "pause"),
      ...(targets !== undefined ? { targets } : {}),
    }),
  };
}
