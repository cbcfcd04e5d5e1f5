/**
 * The shape shared by crash and pause: a fault applied to a set of nodes (chosen by a target,
 * targets.ts) and undone on exactly those nodes. `start-X` takes the target as its value and
 * completes with `{ target, nodes, writer? }`; `stop-X` undoes it on every node the nemesis faulted
 * and not yet undid, and completes with `{ nodes }`. A target with no members (a minority of two
 * nodes) completes `fail`: nothing was done.
 *
 * The nemesis records the nodes it acted on; it cannot see whether another nemesis meanwhile
 * crashed or restarted the same node (the world ignores a pause of a crashed node, a restart of a
 * running one), so the record says what was asked of each node, which is what the world did unless
 * two packages hit the same node at once.
 */
import type { Generator } from "../harness/generator/types.ts";
import type { Nemesis, NemesisContext } from "../harness/nemesis.ts";
import type { Completion, Invocation, NodeControl } from "../harness/system.ts";
import { pickingSchedule } from "./schedule.ts";
import { chooseNodes, isNodeTarget, nodeTargets, type NodeTarget } from "./targets.ts";

export interface NodeFaultDone {
  readonly target: NodeTarget;
  /** The nodes faulted, sorted. */
  readonly nodes: string[];
  readonly writer?: string | null;
}

export interface NodeFaultSpec {
  /** "crash", "pause": the ops are `start-<kind>` and `stop-<kind>`. */
  readonly kind: string;
  readonly apply: (control: NodeControl, node: string) => void;
  readonly undo: (control: NodeControl, node: string) => void;
}

export function nodeFaultNemesis(spec: NodeFaultSpec): Nemesis {
  const startF = `start-${spec.kind}`;
  const stopF = `stop-${spec.kind}`;
  /** Nodes faulted and not yet undone, in the order they were faulted. */
  const faulted = new Set<string>();
  return {
    name: spec.kind,
    fs: [startF, stopF],
    async invoke(invocation: Invocation, context: NemesisContext): Promise<Completion> {
      if (invocation.f === stopF) {
        const nodes = [...faulted].sort();
        for (const node of nodes) spec.undo(context.control, node);
        faulted.clear();
        return { type: "info", value: { nodes } };
      }
      if (invocation.f !== startF) {
        return {
          type: "fail",
          value: invocation.value,
          error: `${spec.kind} does not handle "${invocation.f}"`,
        };
      }
      const target = invocation.value;
      if (!isNodeTarget(target)) {
        return {
          type: "fail",
          value: invocation.value,
          error: `${startF} needs one of ${nodeTargets.join(", ")}, got ${JSON.stringify(target)}`,
        };
      }
      const chosen = chooseNodes(target, context.control, context.random);
      if (chosen.nodes.length === 0) {
        return { type: "fail", value: target, error: `no-target: ${target} of these nodes is nobody` };
      }
      for (const node of chosen.nodes) {
        spec.apply(context.control, node);
        faulted.add(node);
      }
      const done: NodeFaultDone = {
        target,
        nodes: chosen.nodes,
        ...(chosen.writer !== undefined ? { writer: chosen.writer } : {}),
      };
      return { type: "info", value: done };
    },
    healInvocations: () => [{ f: stopF, value: null }],
  };
}

export interface NodeFaultScheduleOptions {
  readonly kind: string;
  readonly intervalNs: number;
  readonly firstStartNs: number;
  readonly targets: readonly NodeTarget[];
  readonly maxWindows?: number;
  /** Only these window numbers are applied (see faultSchedule). */
  readonly keep?: readonly number[];
}

export function nodeFaultGenerator(options: NodeFaultScheduleOptions): Generator {
  const { kind, targets, ...schedule } = options;
  return pickingSchedule({ name: kind, choices: targets, choiceName: "target", ...schedule });
}
