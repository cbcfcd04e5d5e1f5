/**
 * The realtime order known without its edges (`RealtimeOrder`) is the one `addRealtimeEdges`
 * adds: the same number of edges, the same pairs, the same budget steps; and a check that adds
 * them only when a cycle search needs them reports the graph, its edge count and its steps as
 * the whole graph gave them.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Budget } from "../../harness/budget.ts";
import type { Op } from "../../harness/history/op.ts";
import { SeededRandom } from "../../harness/runtime/random.ts";
import { noArena } from "./arena.ts";
import { findCycles, type OrderVariant } from "./cycles.ts";
import { EdgeList, Graph } from "./graph.ts";
import { checkElleHistory } from "./index.ts";
import { AnomalySink } from "./inference.ts";
import { inferListAppend } from "./list-append.ts";
import { anomaliesForbiddenBy, canonicalModelName } from "./models.ts";
import { addProcessEdges, addRealtimeEdges, RealtimeOrder } from "./orders.ts";
import { simulateListAppend } from "./simulate.ts";
import { readTxns } from "./txns.ts";

/**
 * A history of `events`: each either invokes a transaction on a free process (of `processes`) or
 * completes the open transaction of one, as ok, fail or info; some are never completed.
 */
function historyOf(events: readonly [number, number][], processes: number): Op[] {
  const ops: Op[] = [];
  const open: boolean[] = new Array<boolean>(processes).fill(false);
  for (const [p, outcome] of events) {
    const process = p % processes;
    const index = ops.length;
    const value = [["append", process, index]];
    if (!open[process]) {
      ops.push({ index, time: index, process, type: "invoke", f: "txn", value } as Op);
      open[process] = true;
    } else {
      const type = (["ok", "ok", "fail", "info"] as const)[outcome % 4]!;
      ops.push({ index, time: index, process, type, f: "txn", value } as Op);
      open[process] = false;
    }
  }
  return ops;
}

describe("RealtimeOrder", () => {
  it("knows the edges addRealtimeEdges adds, and charges its steps", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(40), fc.nat(3)), { maxLength: 400 }),
        fc.integer({ min: 1, max: 40 }),
        (events, processes) => {
          const txns = readTxns(historyOf(events, processes));
          const edges = new EdgeList();
          const added = new Budget();
          addRealtimeEdges(txns, edges, undefined, added);
          const known = new Budget();
          const order = new RealtimeOrder(txns, undefined, known);
          expect(order.edgeCount).toBe(edges.length);
          expect(known.stepsTaken).toBe(added.stepsTaken);
          const pairs = new Set<number>();
          for (let e = 0; e < edges.length; e++) pairs.add(edges.from[e]! * txns.count + edges.to[e]!);
          for (let u = 0; u < txns.count; u++)
            for (let v = 0; v < txns.count; v++) expect(order.has(u, v)).toBe(pairs.has(u * txns.count + v));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("counts the merged edges a graph shares with it while every edge goes forward", () => {
    const txns = readTxns(
      historyOf(
        [
          [0, 0],
          [1, 0],
          [0, 0],
          [2, 0],
          [1, 0],
          [2, 0],
          [3, 0],
          [3, 1],
        ],
        4,
      ),
    );
    const rank = Float64Array.from(txns.completeAt, (at, t) => (at >= 0 ? at : 1e9 + t));
    const realtime = new EdgeList();
    addRealtimeEdges(txns, realtime);
    expect(realtime.length).toBeGreaterThan(0);
    const order = new RealtimeOrder(txns);
    const edges = new EdgeList();
    // Parallel edges merge into one: each realtime pair counts once, the other forward pair not.
    for (let e = 0; e < realtime.length; e++) edges.add(realtime.from[e]!, realtime.to[e]!, 1);
    edges.add(realtime.from[0]!, realtime.to[0]!, 2);
    const [u, v] = [0, 1, 2, 3]
      .flatMap((a) => [0, 1, 2, 3].map((b) => [a, b] as const))
      .find(([a, b]) => a !== b && rank[a]! < rank[b]! && !order.has(a, b))!;
    edges.add(u, v, 1);
    const graph = new Graph(txns.count, edges);
    expect(graph.edgeCount).toBe(realtime.length + 1);
    expect(order.sharedWithForward(graph, rank)).toBe(realtime.length);
    // An edge back in the order: none counted, the graph may have a cycle.
    edges.add(v, u, 1);
    expect(order.sharedWithForward(new Graph(txns.count, edges), rank)).toBe(-1);
  });

  it("a check reports the edge count, steps and anomalies of the whole graph, valid or not", () => {
    for (const isolation of ["serializable", "snapshot"] as const) {
      for (let seed = 1; seed <= 8; seed++) {
        const history = simulateListAppend({
          random: new SeededRandom(seed, "realtime-order"),
          txnCount: 400,
          processCount: 8,
          isolation,
          failPerMille: 50,
          infoPerMille: 50,
        });
        for (const model of ["strict-serializable", "strong-session-serializable", "serializable"]) {
          // The check as it always ran: every edge added, the whole graph searched.
          const budget = new Budget();
          const txns = readTxns(history, budget);
          const edges = new EdgeList();
          const forbidden = anomaliesForbiddenBy(canonicalModelName(model)!);
          const variants: OrderVariant[] = [""];
          if ([...forbidden].some((a) => a.endsWith("-process"))) variants.push("-process");
          if ([...forbidden].some((a) => a.endsWith("-realtime"))) variants.push("-realtime");
          if (variants.includes("-realtime")) addRealtimeEdges(txns, edges, noArena, budget);
          if (variants.includes("-process")) addProcessEdges(txns, edges);
          inferListAppend(txns, edges, new AnomalySink(32), noArena, budget);
          const graph = new Graph(txns.count, edges, noArena, budget);
          const rank = Float64Array.from(txns.completeAt, (at, t) => (at >= 0 ? at : 1e9 + t));
          const search = findCycles(graph, { variants, budget, acyclicOrder: rank });
          const result = checkElleHistory(history, { workload: "append", model });
          expect(result.edgeCount).toBe(graph.edgeCount);
          expect(result.steps).toBe(budget.stepsTaken);
          for (const [anomaly, found] of search.cycles)
            expect(result.anomalyCounts![anomaly]).toBeGreaterThanOrEqual(found.length);
        }
      }
    }
  });
});
