/**
 * The dependency graph, flat: vertices are integers (transaction ids), edges live in typed arrays
 * (compressed sparse rows), and each edge carries a bit set of its kinds (ww, wr, rw, process,
 * realtime), so a pair of transactions related in three ways is one edge, not three objects. A
 * million transactions and tens of millions of edges fit in a few hundred megabytes.
 *
 * Strongly connected components come from Tarjan's algorithm, written iteratively (an explicit
 * stack, no recursion: a long chain of dependencies must not blow the call stack), and can be taken
 * over any subset of edge kinds and any subset of vertices: the cycle search asks "which
 * transactions lie on a cycle of ww and wr edges only, inside this component?" many times.
 */

import type { Budget } from "../../harness/budget.ts";
import { noArena, type Allocator } from "./arena.ts";

export const EdgeKind = {
  ww: 1,
  wr: 2,
  rw: 4,
  process: 8,
  realtime: 16,
} as const;
export type EdgeKindName = keyof typeof EdgeKind;

export const edgeKindNames: readonly EdgeKindName[] = ["ww", "wr", "rw", "process", "realtime"];

/** Edges as they are inferred: appended one at a time into growing typed arrays. */
export class EdgeList {
  from: Int32Array;
  to: Int32Array;
  kind: Uint8Array;
  length = 0;

  constructor(
    private readonly allocate: Allocator = noArena,
    initialCapacity = 1024,
  ) {
    const capacity = Math.max(16, initialCapacity);
    this.from = allocate.int32(capacity);
    this.to = allocate.int32(capacity);
    this.kind = allocate.uint8(capacity);
  }

  add(from: number, to: number, kind: number): void {
    if (from === to) return; // dependency graphs have no self-edges
    if (this.length === this.from.length) this.grow();
    this.from[this.length] = from;
    this.to[this.length] = to;
    this.kind[this.length] = kind;
    this.length++;
  }

  /**
   * `add(from[i], to, kind)` for each of from[0 .. count): one capacity check for them all (a
   * realtime edge runs from every transaction of the frontier to each invocation).
   */
  addFromEach(from: Int32Array, count: number, to: number, kind: number): void {
    while (this.length + count > this.from.length) this.grow();
    const froms = this.from;
    const tos = this.to;
    const kinds = this.kind;
    let at = this.length;
    for (let i = 0; i < count; i++) {
      const f = from[i]!;
      if (f === to) continue; // dependency graphs have no self-edges
      froms[at] = f;
      tos[at] = to;
      kinds[at] = kind;
      at++;
    }
    this.length = at;
  }

  /** Every edge of `other`, after these, in its order. */
  addList(other: EdgeList): void {
    while (this.length + other.length > this.from.length) this.grow();
    this.from.set(other.from.subarray(0, other.length), this.length);
    this.to.set(other.to.subarray(0, other.length), this.length);
    this.kind.set(other.kind.subarray(0, other.length), this.length);
    this.length += other.length;
  }

  private grow(): void {
    const size = this.from.length * 2;
    const from = this.allocate.int32(size);
    const to = this.allocate.int32(size);
    const kind = this.allocate.uint8(size);
    from.set(this.from);
    to.set(this.to);
    kind.set(this.kind);
    this.from = from;
    this.to = to;
    this.kind = kind;
  }
}

/** Edges per budget step when a graph is built. */
const graphChunk = 64;

/** Charges a step per `graphChunk` elements of a graph's loops: at element i, now and then. */
function charge(i: number, budget: Budget | undefined): void {
  if (i % (graphChunk * 256) === 0) budget?.step(256);
}

/** counts[v + 1]: the number of edges out of v. */
function countOutEdges(edges: EdgeList, counts: Int32Array, budget: Budget | undefined): void {
  const from = edges.from;
  for (let i = 0; i < edges.length; i++) {
    charge(i, budget);
    counts[from[i]! + 1]!++;
  }
}

/** Each edge's target and kinds at its place among its source's (from `counts`, running sums; `fill` scratch). */
function placeEdges(
  edges: EdgeList,
  counts: Int32Array,
  fill: Int32Array,
  targets: Int32Array,
  kinds: Uint8Array,
  budget: Budget | undefined,
): void {
  fill.set(counts.subarray(0, fill.length));
  const { from, to, kind } = edges;
  for (let i = 0; i < edges.length; i++) {
    charge(i, budget);
    const at = fill[from[i]!]!++;
    targets[at] = to[i]!;
    kinds[at] = kind[i]!;
  }
}

/**
 * Merges parallel edges in place, each vertex's edges moved down to `offsets[v]` on: the edges
 * kept and those of them carrying a data kind. `lastAt` (-1 filled) remembers where each target
 * last appeared among the kept edges.
 */
function mergeParallelEdges(
  counts: Int32Array,
  targets: Int32Array,
  kinds: Uint8Array,
  offsets: Int32Array,
  lastAt: Int32Array,
  budget: Budget | undefined,
): { edges: number; dataEdges: number } {
  const n = lastAt.length;
  const data = EdgeKind.ww | EdgeKind.wr | EdgeKind.rw;
  let dataEdges = 0;
  let out = 0;
  for (let v = 0; v < n; v++) {
    charge(v, budget);
    const first = out;
    offsets[v] = first;
    const end = counts[v + 1]!;
    for (let i = counts[v]!; i < end; i++) {
      const w = targets[i]!;
      const kind = kinds[i]!;
      const seen = lastAt[w]!;
      if (seen >= first && targets[seen] === w) {
        const merged = kinds[seen]!;
        // A data edge once its first data kind arrives.
        if ((merged & data) === 0 && (kind & data) !== 0) dataEdges++;
        kinds[seen] = merged | kind;
      } else {
        if ((kind & data) !== 0) dataEdges++;
        targets[out] = w;
        kinds[out] = kind;
        lastAt[w] = out;
        out++;
      }
    }
  }
  offsets[n] = out;
  return { edges: out, dataEdges };
}

/** A directed graph in compressed sparse rows; parallel edges merged into one with their kinds OR-ed. */
export class Graph {
  /** Out-edges of v are targets[offsets[v] .. offsets[v+1]). */
  readonly offsets: Int32Array;
  readonly targets: Int32Array;
  readonly kinds: Uint8Array;
  /** Edges carrying a data dependency (ww, wr or rw), not only an order: counted as they are merged. */
  readonly dataEdgeCount: number;

  constructor(
    readonly vertexCount: number,
    edges: EdgeList,
    allocate: Allocator = noArena,
    budget?: Budget,
  ) {
    const n = vertexCount;
    // Tight loops of a few nanoseconds per element: charged a step per `chunk` elements, so a
    // time limit still holds on a graph of tens of millions of edges (see `Graph.steps`). Each
    // loop is a function of its own (see list-append.ts's indexAppends: one compilation each).
    const counts = allocate.int32(n + 1);
    countOutEdges(edges, counts, budget);
    for (let v = 0; v < n; v++) counts[v + 1]! += counts[v]!;
    const targets = allocate.int32(edges.length);
    const kinds = allocate.uint8(edges.length);
    placeEdges(edges, counts, allocate.int32(n), targets, kinds, budget);
    const offsets = allocate.int32(n + 1);
    const out = mergeParallelEdges(counts, targets, kinds, offsets, allocate.int32(n).fill(-1), budget);
    this.dataEdgeCount = out.dataEdges;
    this.offsets = offsets;
    this.targets = targets.subarray(0, out.edges);
    this.kinds = kinds.subarray(0, out.edges);
  }

  /** The budget steps building a graph of this many vertices from this many edges (merged or not) takes. */
  static steps(vertexCount: number, edgeCount: number): number {
    const batches = (count: number): number => Math.ceil(count / (graphChunk * 256));
    return 256 * (2 * batches(edgeCount) + batches(vertexCount));
  }

  get edgeCount(): number {
    return this.targets.length;
  }

  /** The kinds of the edge v → w (0 if there is none). Linear in v's out-degree. */
  kindsOf(v: number, w: number): number {
    for (let i = this.offsets[v]!; i < this.offsets[v + 1]!; i++)
      if (this.targets[i] === w) return this.kinds[i]!;
    return 0;
  }
}

/**
 * Whether every edge of the graph goes from a lower `rank` to a higher one (one number per vertex):
 * then the ranks order the vertices topologically, and the graph has no cycle at all. One pass over
 * the edges, a fraction of what finding its strongly connected components costs; false at the
 * first edge that does not, so a graph with cycles costs little more than the search it needs.
 */
export function followsOrder(graph: Graph, rank: ArrayLike<number>): boolean {
  const { offsets, targets, vertexCount } = graph;
  for (let v = 0; v < vertexCount; v++) {
    const from = rank[v]!;
    const end = offsets[v + 1]!;
    for (let e = offsets[v]!; e < end; e++) if (rank[targets[e]!]! <= from) return false;
  }
  return true;
}

/**
 * Tarjan's strongly connected components, iterative, over the edges whose kinds meet `mask`,
 * restricted to `vertices` (all vertices when omitted). Returns the components with two or more
 * vertices; `componentOf` (one slot per vertex of the graph, reused between calls) then holds each
 * listed vertex's component number, and -1 for vertices on no cycle. Scratch arrays are kept
 * between calls, so asking many small questions of one large graph costs only what they touch.
 */
export class SccFinder {
  readonly componentOf: Int32Array;
  private readonly index: Int32Array;
  private readonly low: Int32Array;
  private readonly member: Int32Array;
  private readonly onStack: Uint8Array;
  private readonly stack: Int32Array;
  private readonly callVertex: Int32Array;
  private readonly callEdge: Int32Array;
  private generation = 0;

  constructor(
    private readonly graph: Graph,
    allocate: Allocator = noArena,
    private readonly budget?: Budget,
  ) {
    const n = graph.vertexCount;
    this.componentOf = allocate.int32(n).fill(-1);
    this.index = allocate.int32(n).fill(-1);
    this.low = allocate.int32(n);
    this.member = allocate.int32(n);
    this.onStack = allocate.uint8(n);
    this.stack = allocate.int32(n);
    this.callVertex = allocate.int32(n);
    this.callEdge = allocate.int32(n);
  }

  find(mask: number, vertices?: ArrayLike<number>): Int32Array[] {
    const { offsets, targets, kinds } = this.graph;
    const { index, low, member, onStack, stack, callVertex, callEdge, componentOf } = this;
    const all = vertices === undefined;
    const gen = ++this.generation;
    const n = all ? this.graph.vertexCount : vertices.length;
    if (!all) for (let i = 0; i < n; i++) member[vertices[i]!] = gen;
    const components: Int32Array[] = [];
    let counter = 0;
    let stackTop = 0;
    for (let r = 0; r < n; r++) {
      const root = all ? r : vertices[r]!;
      if (index[root] !== -1) continue;
      this.budget?.step();
      let depth = 0;
      index[root] = low[root] = counter++;
      stack[stackTop++] = root;
      onStack[root] = 1;
      callVertex[0] = root;
      callEdge[0] = offsets[root]!;
      depth = 1;
      while (depth > 0) {
        const v = callVertex[depth - 1]!;
        let e = callEdge[depth - 1]!;
        const end = offsets[v + 1]!;
        let descended = false;
        while (e < end) {
          const w = targets[e]!;
          const k = kinds[e]!;
          e++;
          if ((k & mask) === 0 || (!all && member[w] !== gen)) continue;
          if (index[w] === -1) {
            callEdge[depth - 1] = e;
            index[w] = low[w] = counter++;
            this.budget?.step();
            stack[stackTop++] = w;
            onStack[w] = 1;
            callVertex[depth] = w;
            callEdge[depth] = offsets[w]!;
            depth++;
            descended = true;
            break;
          } else if (onStack[w] === 1 && index[w]! < low[v]!) {
            low[v] = index[w]!;
          }
        }
        if (descended) continue;
        depth--;
        if (low[v] === index[v]) {
          let size = 0;
          while (stack[stackTop - 1 - size] !== v) size++;
          size++;
          if (size === 1) {
            stackTop--;
            onStack[v] = 0;
            componentOf[v] = -1;
          } else {
            const component = stack.slice(stackTop - size, stackTop);
            const id = components.length;
            for (const x of component) {
              onStack[x] = 0;
              componentOf[x] = id;
            }
            stackTop -= size;
            components.push(component);
          }
        }
        if (depth > 0) {
          const parent = callVertex[depth - 1]!;
          if (low[v]! < low[parent]!) low[parent] = low[v]!;
        }
      }
    }
    // Leave index[] clean for the next call; only the vertices we touched need it.
    if (all) index.fill(-1);
    else for (let i = 0; i < n; i++) index[vertices[i]!] = -1;
    return components;
  }
}
