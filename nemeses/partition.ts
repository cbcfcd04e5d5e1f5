/**
 * The partition package: cuts the network between nodes into one of Jepsen's shapes (shapes.ts) and
 * heals it. Ops: `start-partition` with the shape as its value (chosen at random from the package's
 * shapes for each window), `stop-partition` (heal). `partition-writer` is the same package under
 * its own name (`start-partition-writer`, `stop-partition-writer`) drawing only the `writer` shape:
 * every window cuts the current writer off from every other node, the fault a failover exists for,
 * so a run can aim every window at it and compose it with `partition` without the two colliding.
 * The completion of a start records exactly what was done: `{ shape, grudge: { node: [dropped…] },
 * nodes, … }`, plus the sides for the shapes that have sides, the ring for `majorities-ring`, the
 * bridge node, or the writer. A shape that cuts nothing (halves of one node) completes `fail` with
 * why: nothing was done.
 *
 * Partitions act between nodes only: clients are in no grudge, so each client still reaches every
 * node (a partition that also cuts clients off is a later refinement).
 */
import type { Generator } from "../harness/generator/types.ts";
import type { Nemesis, NemesisContext } from "../harness/nemesis.ts";
import type { Completion, Invocation } from "../harness/system.ts";
import type { NemesisPackage, PackageConfig } from "./package.ts";
import { firstStartNs, keptWindows, pickingSchedule } from "./schedule.ts";
import {
  bisect,
  bridgeGrudge,
  completeGrudge,
  grudgeNodes,
  grudgeToMap,
  majoritiesRingGrudge,
  oneWayGrudge,
  partitionShapes,
  type GrudgeRecord,
  type PartitionShape,
} from "./shapes.ts";
import { chooseNodes, nodeNames } from "./targets.ts";

export interface PartitionDone {
  readonly shape: PartitionShape;
  readonly grudge: GrudgeRecord;
  /** Every node the grudge names, sorted. */
  readonly nodes: string[];
  readonly sides?: string[][];
  readonly ring?: string[];
  readonly bridge?: string;
  readonly writer?: string | null;
}

function isShape(x: unknown): x is PartitionShape {
  return typeof x === "string" && (partitionShapes as readonly string[]).includes(x);
}

const sorted = (xs: readonly string[]): string[] => xs.slice().sort();

/** The grudge a shape gives over the current nodes, with what else describes it. */
export function planPartition(shape: PartitionShape, context: NemesisContext): PartitionDone {
  const { control, random } = context;
  const nodes = nodeNames(control);
  const fromSides = (sides: string[][], extra: Partial<PartitionDone> = {}): PartitionDone => {
    const grudge = completeGrudge(sides);
    return { shape, grudge, nodes: grudgeNodes(grudge), sides: sides.map(sorted), ...extra };
  };
  switch (shape) {
    case "halves":
      return fromSides(bisect(nodes));
    case "random-halves":
      return fromSides(bisect(random.shuffle(nodes)));
    case "one":
    case "writer": {
      const chosen = chooseNodes(shape, control, random);
      const rest = nodes.filter((n) => !chosen.nodes.includes(n));
      return fromSides([chosen.nodes, rest], chosen.writer !== undefined ? { writer: chosen.writer } : {});
    }
    case "majorities-ring": {
      const { grudge, ring } = majoritiesRingGrudge(nodes, random);
      return { shape, grudge, nodes: grudgeNodes(grudge), ring };
    }
    case "bridge": {
      const { grudge, bridge } = bridgeGrudge(nodes, random);
      return { shape, grudge, nodes: grudgeNodes(grudge), ...(bridge !== undefined ? { bridge } : {}) };
    }
    case "one-way": {
      const { grudge, from, to } = oneWayGrudge(nodes, random);
      return { shape, grudge, nodes: grudgeNodes(grudge), sides: [from, to] };
    }
  }
}

export function partitionNemesis(name = "partition"): Nemesis {
  /** The nodes cut off by the partition in force, for the record of its healing. */
  let cut: string[] = [];
  const start = `start-${name}`;
  const stop = `stop-${name}`;
  return {
    name,
    fs: [start, stop],
    async invoke(invocation: Invocation, context: NemesisContext): Promise<Completion> {
      if (invocation.f === stop) {
        context.control.heal();
        const healed = cut;
        cut = [];
        return { type: "info", value: { grudge: {}, nodes: healed } };
      }
      if (invocation.f !== start) {
        return {
          type: "fail",
          value: invocation.value,
          error: `${name} does not handle "${invocation.f}"`,
        };
      }
      const shape = invocation.value;
      if (!isShape(shape)) {
        return {
          type: "fail",
          value: invocation.value,
          error: `${start} needs one of ${partitionShapes.join(", ")}, got ${JSON.stringify(shape)}`,
        };
      }
      const done = planPartition(shape, context);
      if (done.nodes.length === 0) {
        return {
          type: "fail",
          value: shape,
          error: `no-target: ${shape} over ${nodeNames(context.control).length} node(s) cuts nothing`,
        };
      }
      // A new partition replaces the one in force (setGrudge is not cumulative).
      context.control.setGrudge(grudgeToMap(done.grudge));
      cut = done.nodes;
      return { type: "info", value: done };
    },
    healInvocations: () => [{ f: stop, value: null }],
  };
}

export interface PartitionScheduleOptions {
  /** The package's name, its ops' suffix (`start-NAME`); default "partition". */
  readonly name?: string;
  readonly intervalNs: number;
  readonly firstStartNs: number;
  /** Shapes to draw from; default every shape. */
  readonly shapes?: readonly PartitionShape[];
  readonly maxWindows?: number;
  /** Only these window numbers are applied (see faultSchedule). */
  readonly keep?: readonly number[];
}

export function partitionGenerator(options: PartitionScheduleOptions): Generator {
  const { name = "partition", shapes = partitionShapes, ...schedule } = options;
  return pickingSchedule({ name, choices: shapes, choiceName: "shape", ...schedule });
}

export function partitionPackage(
  config: PackageConfig,
  shapes?: readonly PartitionShape[],
  name = "partition",
): NemesisPackage {
  return {
    nemesis: partitionNemesis(name),
    generator: partitionGenerator({
      name,
      intervalNs: config.nemesisIntervalNs,
      firstStartNs: firstStartNs(config.seed, name, config.nemesisIntervalNs),
      ...keptWindows(config, name),
      ...(shapes !== undefined ? { shapes } : {}),
    }),
  };
}
