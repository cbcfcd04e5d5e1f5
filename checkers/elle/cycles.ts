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
 * edge was rw, whether an order edge was used). The shortest cycle found per sub-component is
 * kept, and a few more start edges are tried for a shorter one; runs of order edges are collapsed
 * (order is transitive), so a stale read is explained in two steps, not through every transaction
 * between. Each component's search has a step bound (so the verdict does not depend on the
 * machine); past it, the classes not yet decided there are "unknown".
 */
import type { Budget } from "../../harness/budget.ts";
import type { Allocator } from "./arena.ts";
import { EdgeKind, followsOrder, type Graph, SccFinder } from "./graph.ts";

/** One step of a cycle: from → to along one edge kind (an EdgeKind bit). */
export interface CycleStep {
  readonly from: number;
  readonly to: number;
  readonly kind: number;
}

export interface FoundCycle {
  readonly anomaly: CycleAnomalyClass;
  readonly steps: readonly CycleStep[];
}

/** The data patterns of a cycle, worst first (the table above). */
type CyclePatternName = "G0" | "G1c" | "G-single-item" | "G-nonadjacent-item" | "G2-item";

/** A cycle class as reported: its data pattern and the order edges it needs. */
export type CycleAnomalyClass = `${CyclePatternName}${OrderVariant}`;

interface DataPattern {
  readonly name: CyclePatternName;
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

/** Every cycle class the search can report: each pattern with each order variant. */
export function cycleAnomalyClasses(): CycleAnomalyClass[] {
  return cycleClasses(["", "-process", "-realtime"]).map((c) => c.anomaly);
}

interface CycleClass {
  readonly anomaly: CycleAnomalyClass;
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
      classes.push({ anomaly: `${pattern.name}${variant}`, pattern, orderMask, requiredOrder });
    }
  }
  return classes;
}

export interface CycleSearchOptions {
  readonly variants: readonly OrderVariant[];
  /** Bound on the whole search (shared with the rest of the check); one step per search state. */
  readonly budget?: Budget;
  /**
   * Steps the search may spend in one strongly connected component (shared out among the classes
   * still to search there), so one huge component cannot starve the others. Default 20 million.
   */
  readonly componentStepLimit?: number;
  /** At most this many cycles reported per class (the rest are counted). */
  readonly cyclesKeptPerClass?: number;
  readonly allocate?: Allocator;
  /**
   * A rank per vertex that the edges of a history without anomalies usually go forward in (the
   * transactions' completion order, say): when every edge does, the graph has no cycle and the
   * search for components is skipped. Its steps, one per vertex, are charged all the same, so the
   * steps a check counts, and where a step limit stops it, do not depend on the shortcut.
   */
  readonly acyclicOrder?: ArrayLike<number>;
  /** The caller found every edge forward in `acyclicOrder` already: the shortcut is taken without looking again. */
  readonly acyclic?: boolean;
}

export interface CycleSearchResult {
  readonly cycles: Map<CycleAnomalyClass, FoundCycle[]>;
  readonly counts: Map<CycleAnomalyClass, number>;
  /** Classes whose search did not finish somewhere, with why. */
  readonly undecided: Map<CycleAnomalyClass, string>;
  readonly componentCount: number;
  readonly largestComponent: number;
}

export const defaultComponentStepLimit = 20_000_000;

export function findCycles(graph: Graph, options: CycleSearchOptions): CycleSearchResult {
  const classes = cycleClasses(options.variants);
  const keep = options.cyclesKeptPerClass ?? 32;
  const cycles = new Map<CycleAnomalyClass, FoundCycle[]>();
  const counts = new Map<CycleAnomalyClass, number>();
  const undecided = new Map<CycleAnomalyClass, string>();
  let allMask = 0;
  for (const c of classes) allMask |= c.pattern.dataMask | c.orderMask;
  if (
    options.acyclic === true ||
    (options.acyclicOrder !== undefined && followsOrder(graph, options.acyclicOrder))
  ) {
    options.budget?.step(graph.vertexCount);
    return { cycles, counts, undecided, componentCount: 0, largestComponent: 0 };
  }
  const finder = new SccFinder(graph, options.allocate, options.budget);
  const components = finder.find(allMask);
  let largest = 0;
  for (const component of components) largest = Math.max(largest, component.length);
  const searcher = components.length > 0 ? new PatternSearch(graph) : undefined;
  const componentLimit = options.componentStepLimit ?? defaultComponentStepLimit;
  for (const component of components) {
    // The component's steps are shared out among the classes still to search, so one class whose
    // search cannot finish does not starve the others (each gets at least its equal share).
    let componentLeft = componentLimit;
    for (let c = 0; c < classes.length; c++) {
      const cls = classes[c]!;
      const stopped = options.budget?.checkNow();
      const where = `in a strongly connected component of ${component.length} transactions`;
      if (stopped !== undefined) {
        undecided.set(cls.anomaly, `the search for ${cls.anomaly} ${where} stopped: ${stopped}`);
        continue;
      }
      const allowance = new StepAllowance(Math.floor(componentLeft / (classes.length - c)), options.budget);
      const mask = cls.pattern.dataMask | cls.orderMask;
      const subs = finder.find(mask, component);
      for (const sub of subs) {
        const result = searcher!.search(sub, cls, allowance);
        if (result === "stopped") {
          undecided.set(
            cls.anomaly,
            `the search for ${cls.anomaly} ${where} stopped: ${allowance.reason() ?? "its step allowance ran out"}`,
          );
          break;
        }
        if (result === undefined) continue;
        counts.set(cls.anomaly, (counts.get(cls.anomaly) ?? 0) + 1);
        const list = cycles.get(cls.anomaly) ?? [];
        if (list.length < keep) list.push({ anomaly: cls.anomaly, steps: result });
        cycles.set(cls.anomaly, list);
      }
      componentLeft -= allowance.used;
    }
  }
  return { cycles, counts, undecided, componentCount: components.length, largestComponent: largest };
}

/** Steps one class may spend in one component, drawn from the check's budget as well. */
class StepAllowance {
  used = 0;
  private exhausted: string | undefined;
  constructor(
    private readonly limit: number,
    private readonly budget: Budget | undefined,
  ) {}

  /** Spends `count` steps; false once the allowance or the budget has run out. */
  spend(count: number): boolean {
    if (this.exhausted !== undefined) return false;
    this.used += count;
    if (this.used > this.limit) {
      this.exhausted = `its share of ${this.limit.toLocaleString("en-US")} search steps ran out`;
      return false;
    }
    const reason = this.budget?.exhausted(count);
    if (reason !== undefined) {
      this.exhausted = reason;
      return false;
    }
    return true;
  }

  reason(): string | undefined {
    return this.exhausted;
  }
}

const stateCount = 8; // data states (≤ 4) × order-seen bit

/** Start edges tried after the first cycle is found, looking for a shorter one. */
const extraStartsMax = 32;

/**
 * Collapses each run of consecutive order edges into one: process and real-time order are
 * transitive, so a chain T1 → T2 → … → T9 of them (the graph holds only their transitive
 * reduction) says no more than T1 → T9, which reads better. The run is a process edge when all of
 * it is, else real time (a process's completed transaction precedes its next in real time too).
 */
export function collapseOrderRuns(steps: readonly CycleStep[]): CycleStep[] {
  const out: CycleStep[] = [];
  for (const step of steps) {
    const isOrder = (step.kind & (processEdge | realtimeEdge)) !== 0;
    const last = out[out.length - 1];
    if (isOrder && last !== undefined && (last.kind & (processEdge | realtimeEdge)) !== 0) {
      const kind = last.kind === processEdge && step.kind === processEdge ? processEdge : realtimeEdge;
      out[out.length - 1] = { from: last.from, to: step.to, kind };
    } else {
      out.push(step);
    }
  }
  // The run may wrap around: the cycle's last steps and its first.
  if (out.length > 2) {
    const first = out[0]!;
    const last = out[out.length - 1]!;
    const order = processEdge | realtimeEdge;
    if ((first.kind & order) !== 0 && (last.kind & order) !== 0) {
      const kind = first.kind === processEdge && last.kind === processEdge ? processEdge : realtimeEdge;
      out[0] = { from: last.from, to: first.to, kind };
      out.pop();
    }
  }
  return out;
}

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
   * The shortest cycle of class `cls` found inside the strongly connected `sub` (order-edge runs
   * collapsed), or undefined if there is none, or "stopped" if the allowance ran out before any
   * was found. Breadth-first from each start edge, so each is the shortest through its start edge;
   * after the first, up to `extraStartsMax` more start edges are tried for a shorter one.
   */
  search(sub: Int32Array, cls: CycleClass, allowance: StepAllowance): CycleStep[] | undefined | "stopped" {
    const { offsets, targets, kinds } = this.graph;
    const { pattern, requiredOrder } = cls;
    const { local, member } = this;
    const id = ++this.memberStamp;
    for (let i = 0; i < sub.length; i++) {
      local[sub[i]!] = i;
      member[sub[i]!] = id;
    }
    if (!allowance.spend(sub.length)) return "stopped";
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
    const bfs = new CycleBfs(this.graph, sub, local, member, id, cls);
    let best: CycleStep[] | undefined;
    let extraStarts = 0;
    for (let i = 0; i < sub.length; i++) {
      const a = sub[i]!;
      for (let se = offsets[a]!; se < offsets[a + 1]!; se++) {
        const b = targets[se]!;
        if ((kinds[se]! & pattern.startKind) === 0 || member[b] !== id) continue;
        if (best !== undefined && extraStarts++ >= extraStartsMax) return best;
        const found = bfs.from(a, b, allowance);
        if (found === "stopped") return best ?? "stopped";
        if (found === undefined) continue;
        const collapsed = collapseOrderRuns(found);
        if (best === undefined || collapsed.length < best.length) best = collapsed;
        if (best.length <= 2) return best;
      }
    }
    return best;
  }
}

/** Breadth-first search over (transaction, automaton state) for one class in one sub-component. */
class CycleBfs {
  private readonly seen: Int32Array;
  private readonly parent: Int32Array;
  private readonly parentKind: Uint8Array;
  private readonly queue: Int32Array;
  private generation = 0;

  constructor(
    private readonly graph: Graph,
    private readonly sub: Int32Array,
    private readonly local: Int32Array,
    private readonly member: Int32Array,
    private readonly id: number,
    private readonly cls: CycleClass,
  ) {
    const size = sub.length * stateCount;
    this.seen = new Int32Array(size);
    this.parent = new Int32Array(size);
    this.parentKind = new Uint8Array(size);
    this.queue = new Int32Array(size);
  }

  /** The shortest cycle a → b → … → a of the class, or undefined, or "stopped". */
  from(a: number, b: number, allowance: StepAllowance): CycleStep[] | undefined | "stopped" {
    const { offsets, targets, kinds } = this.graph;
    const { sub, local, member, id, seen, parent, parentKind, queue } = this;
    const { pattern, orderMask, requiredOrder } = this.cls;
    const mask = pattern.dataMask | orderMask;
    const generation = ++this.generation;
    const first = local[b]! * stateCount + pattern.initial * 2;
    seen[first] = generation;
    parent[first] = -1;
    let head = 0;
    let tail = 0;
    queue[tail++] = first;
    while (head < tail) {
      const node = queue[head++]!;
      const v = sub[(node / stateCount) | 0]!;
      if (!allowance.spend(1 + ((offsets[v + 1]! - offsets[v]!) >> 4))) return "stopped";
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
          const nextOrder = orderSeen | ((bit & requiredOrder) !== 0 ? 1 : 0);
          if (w === a && pattern.accepts(nextData) && (requiredOrder === 0 || nextOrder === 1)) {
            // Found: a → b, then the path from b to v, then v → a.
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
    return undefined;
  }
}
