/**
 * The crash package: kills nodes and restarts them later (Jepsen's kill/start). `start-crash`
 * takes a target (`one`, `minority`, `writer`, `all`; see targets.ts) and crashes those nodes: their
 * tasks stop where they are and their disks lose every write not yet fsynced (the world's crash).
 * `stop-crash` restarts every node this nemesis crashed, on what survived of its disk. Completions
 * record the nodes: `{ target, nodes, writer? }` and `{ nodes }`. Clients are never crashed.
 */
import type { Generator } from "../harness/generator/types.ts";
import type { Nemesis } from "../harness/nemesis.ts";
import type { NemesisPackage, PackageConfig } from "./package.ts";
import { nodeFaultGenerator, nodeFaultNemesis } from "./nodeFault.ts";
import { firstStartNs, keptWindows } from "./schedule.ts";
import type { NodeTarget } from "./targets.ts";

export const crashTargets: readonly NodeTarget[] = ["one", "minority", "writer", "all"];

export function crashNemesis(): Nemesis {
  return nodeFaultNemesis({
    kind: "crash",
    apply: (control, node) => control.crash(node),
    undo: (control, node) => control.restart(node),
  });
}

export function crashGenerator(options: {
  readonly intervalNs: number;
  readonly firstStartNs: number;
  readonly targets?: readonly NodeTarget[];
  readonly maxWindows?: number;
  /** Only these window numbers are applied (see faultSchedule). */
  readonly keep?: readonly number[];
}): Generator {
  return nodeFaultGenerator({ kind: "crash", targets: crashTargets, ...options });
}

export function crashPackage(config: PackageConfig, targets?: readonly NodeTarget[]): NemesisPackage {
  return {
    nemesis: crashNemesis(),
    generator: crashGenerator({
      intervalNs: config.nemesisIntervalNs,
      firstStartNs: firstStartNs(config.seed, "crash", config.nemesisIntervalNs),
      ...keptWindows(config, "crash"),
      ...(targets !== undefined ? { targets } : {}),
    }),
  };
}
