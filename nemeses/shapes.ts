/**
 * Partition shapes: pure functions from a list of nodes (and a seeded random source) to a grudge,
 * Jepsen's `jepsen.nemesis` vocabulary. A grudge says who drops whom: `grudge[a]` lists the nodes
 * whose messages `a` drops (the runtime's `Grudge`, here as a plain JSON record so it can go into
 * the history as it is).
 *
 * - `halves`: the nodes in order, cut in two, the smaller half first (Jepsen's `bisect`), and every
 *   node drops everything from the other side (`completeGrudge`).
 * - `random-halves`: the same after a shuffle.
 * - `one`: one random node against the rest; `writer`: the writer against the rest.
 * - `majorities-ring`: the nodes shuffled into a ring; each node hears exactly the window of
 *   ⌊n/2⌋+1 consecutive ring nodes centred on itself, so every node sees a majority and no two see
 *   the same one (Jepsen's `majorities-ring`). For n = 4 or 6 the window cannot be centred evenly and
 *   the grudge is not symmetric, as in Jepsen.
 * - `bridge`: random halves, but the first node of the larger half talks to everyone and everyone
 *   to it (Jepsen's `bridge`): two sides that each can reach a majority only through the bridge.
 * - `one-way`: random halves A (smaller) and B; B drops what A sends, A still hears B. Not one of
 *   Jepsen's named shapes; the asymmetric cut that leaders with stale heartbeats stumble on.
 */
import type { Random } from "../harness/runtime/random.ts";
import type { Grudge } from "../harness/runtime/types.ts";

export const partitionShapes = [
  "halves",
  "random-halves",
  "one",
  "writer",
  "majorities-ring",
  "bridge",
  "one-way",
] as const;
export type PartitionShape = (typeof partitionShapes)[number];

/** Who drops whom, as JSON: `record[a]` = the nodes whose messages `a` drops (sorted, never empty). */
export type GrudgeRecord = Readonly<Record<string, readonly string[]>>;

/** The smallest majority of n nodes: ⌊n/2⌋ + 1. */
export function majorityCount(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** Cuts a list in two, the smaller half first (Jepsen's `bisect`). */
export function bisect<T>(items: readonly T[]): [T[], T[]] {
  const cut = Math.floor(items.length / 2);
  return [items.slice(0, cut), items.slice(cut)];
}

/** Every node drops every node outside its own component. Components must be disjoint. */
export function completeGrudge(components: readonly (readonly string[])[]): GrudgeRecord {
  const universe = components.flat();
  const grudge: Record<string, string[]> = {};
  for (const component of components) {
    const inside = new Set(component);
    const outside = universe.filter((node) => !inside.has(node)).sort();
    if (outside.length === 0) continue;
    for (const node of component) grudge[node] = outside.slice();
  }
  return normalise(grudge);
}

/** Random halves where the first node of the larger half hears and is heard by everyone. */
export function bridgeGrudge(
  nodes: readonly string[],
  random: Random,
): { grudge: GrudgeRecord; bridge?: string } {
  const [small, large] = bisect(random.shuffle(nodes));
  const bridge = large[0];
  const full = completeGrudge([small, large]);
  const grudge: Record<string, string[]> = {};
  for (const [node, dropped] of Object.entries(full)) {
    if (node === bridge) continue;
    grudge[node] = dropped.filter((d) => d !== bridge);
  }
  return bridge === undefined ? { grudge: normalise(grudge) } : { grudge: normalise(grudge), bridge };
}

/**
 * A shuffled ring: node i hears the window of m = ⌊n/2⌋+1 ring nodes that has it in the middle
 * (index ⌊m/2⌋ of the window) and drops everyone else.
 */
export function majoritiesRingGrudge(
  nodes: readonly string[],
  random: Random,
): { grudge: GrudgeRecord; ring: string[] } {
  const ring = random.shuffle(nodes);
  const n = ring.length;
  const m = majorityCount(n);
  const grudge: Record<string, string[]> = {};
  for (let start = 0; start < n; start++) {
    const window = Array.from({ length: m }, (_, k) => ring[(start + k) % n]!);
    const centre = window[Math.floor(m / 2)]!;
    const heard = new Set(window);
    grudge[centre] = ring.filter((node) => !heard.has(node));
  }
  return { grudge: normalise(grudge), ring };
}

/** Random halves A (smaller) and B; every node of B drops every node of A; A drops nobody. */
export function oneWayGrudge(
  nodes: readonly string[],
  random: Random,
): { grudge: GrudgeRecord; from: string[]; to: string[] } {
  const [from, to] = bisect(random.shuffle(nodes));
  const grudge: Record<string, string[]> = {};
  if (from.length > 0) for (const node of to) grudge[node] = from.slice();
  return { grudge: normalise(grudge), from: from.slice().sort(), to: to.slice().sort() };
}

/** Drops empty entries and sorts both levels, so equal grudges serialise equally. */
export function normalise(grudge: Readonly<Record<string, readonly string[]>>): GrudgeRecord {
  const out: Record<string, string[]> = {};
  for (const node of Object.keys(grudge).sort()) {
    const dropped = [...new Set(grudge[node])].sort();
    if (dropped.length > 0) out[node] = dropped;
  }
  return out;
}

export function grudgeToMap(record: GrudgeRecord): Grudge {
  return new Map(Object.entries(record).map(([node, dropped]) => [node, new Set(dropped)]));
}

export function grudgeFromMap(grudge: Grudge): GrudgeRecord {
  const out: Record<string, string[]> = {};
  for (const [node, dropped] of grudge) out[node] = [...dropped];
  return normalise(out);
}

/** Every node the grudge names, as dropper or dropped, sorted. */
export function grudgeNodes(record: GrudgeRecord): string[] {
  const nodes = new Set<string>();
  for (const [node, dropped] of Object.entries(record)) {
    nodes.add(node);
    for (const d of dropped) nodes.add(d);
  }
  return [...nodes].sort();
}

/** The nodes `node` still hears (itself included) under a grudge over `nodes`. */
export function viewOf(node: string, nodes: readonly string[], record: GrudgeRecord): string[] {
  const dropped = new Set(record[node] ?? []);
  return nodes.filter((other) => !dropped.has(other));
}
