/**
 * Cycle search and classification (Adya's G0 … G2, as Elle names them). A cycle in the dependency
 * graph is a contradiction: the transactions on it cannot be put in any order. Which anomaly it
 * is depends on its edges:
 *
 *   G0                  only ww edges (write cycle)
 *   G1c                 ww and wr edges, at least one wr (circular information flow)
 *   G-single-item       exactly one rw edge (read skew)
 *   G-nonadjacent-item  two or more rw edges, no two of them adjacent
 *   G2-item             two or more rw edges, some two adjacent (write skew)
 *
 * and each has a -process variant (the cycle also needs process-order edges) and a -realtime
 * variant (it needs realtime edges). The classes partition the cycles, so each search looks for
 * exactly its own class, worst first.
 *
 * The search: strongly connected components of the whole graph first (only those can hold a
 * cycle). Inside each, per class, the components of the sub-graph of the class's edge kinds; a
 * cycle of the class must lie inside one of those and contain one of its "start" edges (ww for
 * G0, wr for G1c, rw for the rest). From each start edge a → b, a breadth-first search over
 * (transaction, automaton state) finds the shortest path back from b to a that completes the
 * class's pattern; the automaton tracks what the pattern needs (rw edges seen, whether the last
 * edge was rw, whether an order edge was used). The first cycle found per sub-component is
 * reported. Each component's search has a time bound; past it, the classes not yet decided
 * there are "unknown".
 */
import { Budget, type BudgetLimits } from "../../harness/budget.ts";
import type { Allocator } from "./arena.ts";
import { EdgeKind, type Graph, SccFinder } from "./graph.ts";

/** One step of a cycle: from → to along one edge kind (an EdgeKind bit). */
export interface CycleStep {
  readonly from: number;
  readonly to: number;
  readonly kind: number;
}

export interface FoundCycle {
  readonly anomaly: string;
  readonly steps: readonly CycleStep[];
}

interface DataPattern {
  readonly name: string;
  readonly dataMask: number;
  readonly startKind: number;
  /** Data state just after the start edge. */
  readonly initial: number;
  /** Next data state after an edge of `kind` (a data kind, or 0 for an order edge); -1 = dead. */
  step(state: number, kind: number): number;
  accepts(state: number): boolean;
}

const { ww, wr, rw, process: processEdge, realtime: realtimeEdge } = EdgeKind;

const patterns: readonly DataPattern[] = [
  { name: "G0", dataMask: ww, startKind: ww, initial: 0, step: () => 0, accepts: () => true },
  { name: "G1c", dataMask: ww | wr, startKind: wr, initial: 0, step: () => 0, accepts: () => true },
  {
    name: "G-single-item",
    dataMask: ww | wr | rw,
    startKind: rw,
    initial: 0,
    step: (_s, k) => (k === rw ? -1 : 0),
    accepts: () => true,
  },
  {
    // state bit 0: the last edge was rw; bit 1: at least two rw edges so far.
    name: "G-nonadjacent-item",
    dataMask: ww | wr | rw,
    startKind: rw,
    initial: 1,
    step: (s, k) => (k === rw ? ((s & 1) === 1 ? -1 : 3) : s & 2),
    accepts: (s) => s === 2,
  },
  {
    // state bit 0: the last edge was rw; bit 1: two adjacent rw edges seen.
    name: "G2-item",
    dataMask: ww | wr | rw,
    startKind: rw,
    initial: 1,
    step: (s, k) => (k === rw ? 1 | (s & 2) | ((s & 1) << 1) : s & 2),
    // The cycle starts with rw, so a final rw edge is adjacent to the first.
    accepts: (s) => s !== 0,
  },
];

export type OrderVariant = "" | "-process" | "-realtime";

interface CycleClass {
  readonly anomaly: string;
  readonly pattern: DataPattern;
  /** Order kinds the cycle may use, and the one it must use (0: none). */
  readonly orderMask: number;
  readonly requiredOrder: number;
}

/** The cycle classes to search, worst first, given which order edges the graph holds. */
export function cycleClasses(variants: readonly OrderVariant[]): CycleClass[] {
  const classes: CycleClass[] = [];
  for (const variant of variants) {
    for (const pattern of patterns) {
      const orderMask =
        variant === "" ? 0 : variant === "-process" ? processEdge : processEdge | realtimeEdge;
      const requiredOrder = variant === "" ? 0 : variant === "-process" ? processEdge : realtimeEdge;
      classes.push({ anomaly: pattern.name + variant, pattern, orderMask, requiredOrder });
    }
  }
  return classes;
}

export interface CycleSearchOptions {
  readonly variants: readonly OrderVariant[];
  /** Bound on the whole search (shared with the rest of the check). */
  readonly budget?: Budget;
  /** Bound on the search inside one strongly connected component. */
  readonly componentLimits?: BudgetLimits;
  /** At most this many cycles reported per class (the rest are counted). */
  readonly cyclesKeptPerClass?: number;
  readonly allocate?: Allocator;
}

export interface CycleSearchResult {
  readonly cycles: Map<string, FoundCycle[]>;
  readonly counts: Map<string, number>;
  /** Classes whose search did not finish somewhere, with why. */
  readonly undecided: Map<string, string>;
  readonly componentCount: number;
  readonly largestComponent: number;
}

export function findCycles(graph: Graph, options: CycleSearchOptions): CycleSearchResult {
  const classes = cycleClasses(options.variants);
  const keep = options.cyclesKeptPerClass ?? 32;
  const cycles = new Map<string, FoundCycle[]>();
  const counts = new Map<string, number>();
  const undecided = new Map<string, string>();
  let allMask = 0;
  for (const c of classes) allMask |= c.pattern.dataMask | c.orderMask;
  const finder = new SccFinder(graph, options.allocate);
  const components = finder.find(allMask);
  let largest = 0;
  for (const component of components) largest = Math.max(largest, component.length);
  const searcher = components.length > 0 ? new PatternSearch(graph) : undefined;
  for (const component of components) {
    // The component's time is shared out among the classes still to search, so one class whose
    // search cannot finish does not starve the others (each gets at least its equal share).
    const componentBudget = new Budget(options.componentLimits ?? {});
    const componentMs = options.componentLimits?.timeLimitMs;
    for (let c = 0; c < classes.length; c++) {
      const cls = classes[c]!;
      const shareMs =
        componentMs === undefined
          ? undefined
          : (componentMs - componentBudget.elapsedMs()) / (classes.length - c);
      const classBudget = new Budget(shareMs === undefined ? {} : { timeLimitMs: Math.max(0, shareMs) });
      const outOfBudget = (): string | undefined =>
        options.budget?.exhausted() ?? classBudget.exhausted() ?? componentBudget.exhausted();
      const stopped = options.budget?.checkNow() ?? componentBudget.checkNow();
      if (stopped !== undefined) {
        undecided.set(
          cls.anomaly,
          `the search for ${cls.anomaly} in a strongly connected component of ${component.length} transactions stopped: ${stopped}`,
        );
        continue;
      }
      const mask = cls.pattern.dataMask | cls.orderMask;
      const subs = finder.find(mask, component);
      for (const sub of subs) {
        const result = searcher!.search(sub, cls, outOfBudget);
        if (result === "stopped") {
          undecided.set(
            cls.anomaly,
            `the search for ${cls.anomaly} in a strongly connected component of ${component.length} transactions stopped: ${outOfBudget() ?? "budget exhausted"}`,
          );
          break;
        }
        if (result === undefined) continue;
        counts.set(cls.anomaly, (counts.get(cls.anomaly) ?? 0) + 1);
        const list = cycles.get(cls.anomaly) ?? [];
        if (list.length < keep) list.push({ anomaly: cls.anomaly, steps: result });
        cycles.set(cls.anomaly, list);
      }
    }
  }
  return { cycles, counts, undecided, componentCount: components.length, largestComponent: largest };
}

const stateCount = 8; // data states (≤ 4) × order-seen bit

class PatternSearch {
  /** Each vertex's position in the sub-component being searched. */
  private readonly local: Int32Array;
  /** member[v] === memberStamp iff v is in the sub-component being searched. */
  private readonly member: Int32Array;
  private memberStamp = 0;

  constructor(private readonly graph: Graph) {
    this.local = new Int32Array(graph.vertexCount);
    this.member = new Int32Array(graph.vertexCount);
  }

  /**
   * A cycle of class `cls` inside the strongly connected `sub`, as steps, or undefined if there is
   * none, or "stopped" if the budget ran out first.
   */
  search(
    sub: Int32Array,
    cls: CycleClass,
    outOfBudget: () => string | undefined,
  ): CycleStep[] | undefined | "stopped" {
    const { offsets, targets, kinds } = this.graph;
    const { pattern, orderMask, requiredOrder } = cls;
    const mask = pattern.dataMask | orderMask;
    const { local, member } = this;
    const id = ++this.memberStamp;
    for (let i = 0; i < sub.length; i++) {
      local[sub[i]!] = i;
      member[sub[i]!] = id;
    }
    // A cycle needing an order edge needs one inside this sub-component.
    if (requiredOrder !== 0) {
      let any = false;
      for (let i = 0; i < sub.length && !any; i++) {
        const v = sub[i]!;
        for (let e = offsets[v]!; e < offsets[v + 1]!; e++) {
          if ((kinds[e]! & requiredOrder) !== 0 && member[targets[e]!] === id) {
            any = true;
            break;
          }
        }
      }
      if (!any) return undefined;
    }
    const size = sub.length * stateCount;
    const seen = new Int32Array(size);
    const parent = new Int32Array(size);
    const parentKind = new Uint8Array(size);
    const queue = new Int32Array(size);
    let generation = 0;
    const orderBitAfter = (seenOrder: number, kind: number): number =>
      seenOrder | ((kind & requiredOrder) !== 0 ? 1 : 0);
    for (let i = 0; i < sub.length; i++) {
      const a = sub[i]!;
      for (let se = offsets[a]!; se < offsets[a + 1]!; se++) {
        const b = targets[se]!;
        if ((kinds[se]! & pattern.startKind) === 0 || member[b] !== id) continue;
        if (outOfBudget() !== undefined) return "stopped";
        generation++;
        const first = local[b]! * stateCount + pattern.initial * 2;
        seen[first] = generation;
        parent[first] = -1;
        let head = 0;
        let tail = 0;
        queue[tail++] = first;
        while (head < tail) {
          const node = queue[head++]!;
          const v = sub[(node / stateCount) | 0]!;
          const state = node % stateCount;
          const data = state >> 1;
          const orderSeen = state & 1;
          for (let e = offsets[v]!; e < offsets[v + 1]!; e++) {
            const w = targets[e]!;
            if (member[w] !== id) continue;
            const edgeKinds = kinds[e]! & mask;
            if (edgeKinds === 0) continue;
            for (let bit = 1; bit <= edgeKinds; bit <<= 1) {
              if ((edgeKinds & bit) === 0) continue;
              const isOrder = (bit & (processEdge | realtimeEdge)) !== 0;
              const nextData = pattern.step(data, isOrder ? 0 : bit);
              if (nextData < 0) continue;
              const nextOrder = orderBitAfter(orderSeen, bit);
              if (w === a && pattern.accepts(nextData) && (requiredOrder === 0 || nextOrder === 1)) {
                // Found: a → b, then the BFS path from b to v, then v → a.
                const path: CycleStep[] = [{ from: v, to: a, kind: bit }];
                let at = node;
                while (parent[at] !== -1) {
                  const prev = parent[at]!;
                  path.push({
                    from: sub[(prev / stateCount) | 0]!,
                    to: sub[(at / stateCount) | 0]!,
                    kind: parentKind[at]!,
                  });
                  at = prev;
                }
                path.push({ from: a, to: b, kind: pattern.startKind });
                return path.reverse();
              }
              if (w === a) continue; // report simple cycles: do not pass through the start
              const next = local[w]! * stateCount + nextData * 2 + nextOrder;
              if (seen[next] === generation) continue;
              seen[next] = generation;
              parent[next] = node;
              parentKind[next] = bit;
              queue[tail++] = next;
            }
          }
        }
      }
    }
    return undefined;
  }
}
