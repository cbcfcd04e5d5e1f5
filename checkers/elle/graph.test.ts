import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Budget } from "../../harness/budget.ts";
import { findCycles } from "./cycles.ts";
import { EdgeKind, EdgeList, followsOrder, Graph, SccFinder } from "./graph.ts";

/** Brute force: u and v share a component iff each reaches the other. */
function reachability(n: number, edges: [number, number][]): boolean[][] {
  const reach = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => i === j));
  for (const [a, b] of edges) reach[a]![b] = true;
  for (let k = 0; k < n; k++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) if (reach[i]![k] && reach[k]![j]) reach[i]![j] = true;
  return reach;
}

describe("graph", () => {
  it("addFromEach adds the edges add would, one by one, through every growth", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.array(fc.nat(20), { maxLength: 100, size: "max" }),
            fc.nat(20),
            fc.constantFrom(1, 2, 4, 8, 16),
          ),
          { maxLength: 12 },
        ),
        fc.integer({ min: 1, max: 20 }),
        (batches, capacity) => {
          const bulk = new EdgeList(undefined, capacity);
          const single = new EdgeList(undefined, capacity);
          for (const [froms, to, kind] of batches) {
            // A longer array than the count: only the first `count` are edges.
            bulk.addFromEach(Int32Array.from([...froms, 7, 7]), froms.length, to, kind);
            for (const from of froms) single.add(from, to, kind);
          }
          const edgesOf = (e: EdgeList) =>
            Array.from({ length: e.length }, (_, i) => [e.from[i], e.to[i], e.kind[i]]);
          expect(bulk.length).toBe(single.length);
          expect(edgesOf(bulk)).toEqual(edgesOf(single));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("finds the same strongly connected components as brute force", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 12 })
          .chain((n) =>
            fc.tuple(fc.constant(n), fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 30 })),
          ),
        ([n, pairs]) => {
          const edges = new EdgeList();
          for (const [a, b] of pairs) edges.add(a, b, EdgeKind.ww);
          const finder = new SccFinder(new Graph(n, edges));
          finder.find(EdgeKind.ww);
          const reach = reachability(
            n,
            pairs.filter(([a, b]) => a !== b),
          );
          for (let u = 0; u < n; u++) {
            for (let v = 0; v < n; v++) {
              if (u === v) continue;
              const together =
                finder.componentOf[u] !== -1 && finder.componentOf[u] === finder.componentOf[v];
              expect(together).toBe(reach[u]![v]! && reach[v]![u]!);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("handles a cycle of a million vertices without recursion", () => {
    const n = 1_000_000;
    const edges = new EdgeList(undefined, n);
    for (let v = 0; v < n; v++) edges.add(v, (v + 1) % n, EdgeKind.wr);
    const components = new SccFinder(new Graph(n, edges)).find(EdgeKind.wr);
    expect(components.map((c) => c.length)).toEqual([n]);
  });

  it("merges parallel edges and respects the kind mask", () => {
    const edges = new EdgeList();
    edges.add(0, 1, EdgeKind.ww);
    edges.add(0, 1, EdgeKind.rw);
    edges.add(1, 0, EdgeKind.rw);
    const graph = new Graph(2, edges);
    expect(graph.edgeCount).toBe(2);
    expect(graph.kindsOf(0, 1)).toBe(EdgeKind.ww | EdgeKind.rw);
    expect(new SccFinder(graph).find(EdgeKind.ww)).toEqual([]);
    expect(new SccFinder(graph).find(EdgeKind.rw).map((c) => c.length)).toEqual([2]);
  });

  it("counts the merged edges that carry a data kind, whatever order the kinds of parallel edges come in", () => {
    const data = EdgeKind.ww | EdgeKind.wr | EdgeKind.rw;
    const kinds = [EdgeKind.ww, EdgeKind.wr, EdgeKind.rw, EdgeKind.process, EdgeKind.realtime];
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.constantFrom(...kinds)),
          { maxLength: 60 },
        ),
        (list) => {
          const edges = new EdgeList();
          for (const [a, b, kind] of list) edges.add(a, b, kind);
          const graph = new Graph(6, edges);
          let expected = 0;
          for (const kind of graph.kinds) if ((kind & data) !== 0) expected++;
          expect(graph.dataEdgeCount).toBe(expected);
        },
      ),
    );
    // An order edge first, then a data edge between the same two: one edge, a data edge.
    const edges = new EdgeList();
    edges.add(0, 1, EdgeKind.realtime);
    edges.add(0, 1, EdgeKind.wr);
    edges.add(1, 0, EdgeKind.process);
    expect(new Graph(2, edges).dataEdgeCount).toBe(1);
  });

  it("followsOrder: true exactly when every edge goes to a higher rank", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 7 })), { maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 8, maxLength: 8 }),
        (list, rank) => {
          const edges = new EdgeList();
          for (const [a, b] of list) edges.add(a, b, EdgeKind.wr);
          const expected = list.every(([a, b]) => a === b || rank[a]! < rank[b]!);
          expect(followsOrder(new Graph(8, edges), rank)).toBe(expected);
        },
      ),
    );
  });

  it("findCycles with an acyclicOrder finds what it finds without one, and counts the same steps", () => {
    const kinds = [EdgeKind.ww, EdgeKind.wr, EdgeKind.rw, EdgeKind.process, EdgeKind.realtime];
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 7 }), fc.constantFrom(...kinds)),
          { maxLength: 24 },
        ),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 8, maxLength: 8 }),
        (list, rank) => {
          const edges = new EdgeList();
          for (const [a, b, kind] of list) edges.add(a, b, kind);
          const graph = new Graph(8, edges);
          const search = (acyclicOrder?: number[]) => {
            const budget = new Budget({});
            const options = { variants: ["", "-process", "-realtime"] as const, budget };
            const result = findCycles(
              graph,
              acyclicOrder === undefined ? options : { ...options, acyclicOrder },
            );
            return { result, steps: budget.stepsTaken };
          };
          expect(search(rank)).toEqual(search());
        },
      ),
    );
  });
});
