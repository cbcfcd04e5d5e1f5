/**
 * Node targets: which nodes a crash, pause or clock fault hits, chosen afresh for every fault from
 * the system's current nodes with the test's seeded random source (Jepsen's `combined` targets).
 *
 * - `one`: one node at random; `writer`: the current writer (`control.writer()`), or one node at
 *   random when the system names none (the result says `writer: null` then);
 * - `minority`: ⌈n/2⌉−1 nodes at random (a strict minority: 2 of 5, 1 of 4, none of 2);
 * - `majority`: ⌊n/2⌋+1 nodes at random; `all`: every node.
 *
 * Clients are never targets: they are not nodes.
 */
import type { Random } from "../harness/runtime/random.ts";
import type { NodeControl } from "../harness/system.ts";
import { majorityCount } from "./shapes.ts";

export const nodeTargets = ["one", "minority", "majority", "writer", "all"] as const;
export type NodeTarget = (typeof nodeTargets)[number];

export interface ChosenNodes {
  /** Sorted; may be empty when the target has no members (a minority of two nodes). */
  readonly nodes: string[];
  /** For the `writer` target: the writer known when the fault began, or null when none was. */
  readonly writer?: string | null;
}

export function isNodeTarget(x: unknown): x is NodeTarget {
  return typeof x === "string" && (nodeTargets as readonly string[]).includes(x);
}

/** The names of every node, in the order the system lists them. */
export function nodeNames(control: NodeControl): string[] {
  return control.nodes().map((n) => n.name);
}

export function chooseNodes(target: NodeTarget, control: NodeControl, random: Random): ChosenNodes {
  const nodes = nodeNames(control);
  const n = nodes.length;
  const sample = (count: number): string[] => random.shuffle(nodes).slice(0, count).sort();
  switch (target) {
    case "one":
      return { nodes: n === 0 ? [] : [random.pick(nodes)] };
    case "minority":
      return { nodes: sample(Math.ceil(n / 2) - 1) };
    case "majority":
      return { nodes: sample(Math.min(n, majorityCount(n))) };
    case "all":
      return { nodes: nodes.slice().sort() };
    case "writer": {
      const writer = control.writer()?.node;
      if (writer !== undefined && nodes.includes(writer)) return { nodes: [writer], writer };
      return { nodes: n === 0 ? [] : [random.pick(nodes)], writer: null };
    }
  }
}
