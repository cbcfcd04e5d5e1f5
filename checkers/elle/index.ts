/**
 * Elle-style transactional checking: the entry point the CLI and workloads call. The pipeline:
 * read the transactions; let the workload (list-append or rw-register) infer versions, report the
 * anomalies visible without a graph and add ww/wr/rw edges; add process and realtime edges when
 * the model needs them; find and classify cycles; then judge the anomalies found against the
 * model (Elle's lattice) and explain each one. The result is plain data; `elleReportFiles` turns
 * its explanations into the files the store writes under `elle/`.
 */
import {
  BudgetExhausted,
  budgetOf,
  defaultMemoryLimitBytes,
  type Budget,
  type BudgetLimits,
} from "../../harness/budget.ts";
import type { Op } from "../../harness/history/op.ts";
import { nothingToCheck } from "../../harness/history/op.ts";
import type { AnomalyCase, CheckResult, Verdict } from "../../harness/results.ts";
import { Arena } from "./arena.ts";
import { cycleAnomalyClasses, findCycles, type OrderVariant } from "./cycles.ts";
import { explainCycle } from "./explain.ts";
import { EdgeList, Graph } from "./graph.ts";
import {
  AnomalySink,
  dataAnomalyClasses,
  type ElleAnomalyClass,
  type WorkloadInference,
} from "./inference.ts";
import { inferListAppend } from "./list-append.ts";
import { anomaliesForbiddenBy, canonicalModelName, modelBoundary, modelNames } from "./models.ts";
import { addProcessEdges, addRealtimeEdges, RealtimeOrder } from "./orders.ts";
import { inferRwRegister } from "./rw-register.ts";
import { readTxns, type TxnTable } from "./txns.ts";
export { TxnTableBuilder } from "./txns.ts";

export interface ElleCheckOptions {
  readonly workload: "append" | "rw-register";
  /** An Elle consistency model name, e.g. "serializable", "snapshot-isolation", "strict-serializable". */
  readonly model: string;
  /** The check's budget: limits (a fresh budget) or a budget shared with reading and other checkers. */
  readonly budget?: BudgetLimits | Budget;
  /** Steps the cycle search may spend in one strongly connected component (default 20 million). */
  readonly componentStepLimit?: number;
  /** rw-register: each key is sequentially consistent (per-process version order). Elle's default: off. */
  readonly sequentialKeys?: boolean;
  /** rw-register: each key is linearizable (realtime version order). Elle's default: off. */
  readonly linearizableKeys?: boolean;
  /** rw-register: within a transaction, writes follow reads (read a then wrote b: a before b). Elle's default: off. */
  readonly wfrKeys?: boolean;
  /** Cases kept in full per anomaly class (the rest are counted). Default 32. */
  readonly casesKeptPerClass?: number;
}

/** Every model name `--model` accepts (Elle's lattice and its aliases). */
export const elleModelNames: readonly string[] = modelNames;

/** Every anomaly class an Elle check can report (list-append and rw-register alike). */
export const elleAnomalyClasses: readonly ElleAnomalyClass[] = [
  ...dataAnomalyClasses,
  ...cycleAnomalyClasses(),
];

/** An option the caller can fix (an unknown model, say): exit 254 material, not a crash. */
export class ElleOptionError extends Error {
  override name = "ElleOptionError";
}

/** The budget of a check whose caller gives none: generous, but bounded, memory below Node's heap. */
export function defaultElleBudget(): BudgetLimits {
  return { maxSteps: 4_000_000_000, memoryLimitBytes: defaultMemoryLimitBytes() };
}

/**
 * Severity order for listing anomaly classes (the data anomalies are listed in it, then the cycle
 * patterns, each with its order variants after); others follow alphabetically.
 */
const severity: readonly string[] = [
  ...dataAnomalyClasses,
  "G0",
  "G1c",
  "G-single-item",
  "G-nonadjacent-item",
  "G2-item",
];
const rankOf = (a: string): number => {
  const base = a.replace(/-(process|realtime)$/, "");
  const at = severity.indexOf(base);
  const variant = a.endsWith("-process") ? 1 : a.endsWith("-realtime") ? 2 : 0;
  return (at === -1 ? severity.length : at) + variant * 100;
};
const bySeverity = (a: string, b: string): number => rankOf(a) - rankOf(b) || (a < b ? -1 : a > b ? 1 : 0);

export function checkElleHistory(history: readonly Op[], options: ElleCheckOptions): CheckResult {
  return checkElle(nothingToCheck(history), history.length, (budget) => readTxns(history, budget), options);
}

/**
 * The transactions of a history, gathered while it was read (`TxnTableBuilder`), so that the
 * history itself never had to be held: what `faultline check` does with a long JSONL history.
 */
export interface GatheredTxns {
  /** Builds the table (throws the history's first malformed transaction). */
  readonly build: () => TxnTable;
  /** Budget steps the gathering took, read after `build` (charged to the check, as `readTxns` charges them). */
  readonly steps: () => number;
  /** The history's operations (entries). */
  readonly opCount: number;
  /** `nothingToCheck` of the history. */
  readonly nothingToCheck: string | undefined;
}

/** `checkElleHistory` on transactions gathered while the history was read: the same result. */
export function checkElleGathered(gathered: GatheredTxns, options: ElleCheckOptions): CheckResult {
  return checkElle(
    gathered.nothingToCheck,
    gathered.opCount,
    (budget) => {
      const table = gathered.build();
      budget.step(gathered.steps());
      return table;
    },
    options,
  );
}

function checkElle(
  empty: string | undefined,
  opCount: number,
  readTable: (budget: Budget) => TxnTable,
  options: ElleCheckOptions,
): CheckResult {
  const model = canonicalModelName(options.model);
  if (model === undefined) {
    throw new ElleOptionError(
      `unknown consistency model "${options.model}"; expected one of: ${elleModelNames.join(", ")}`,
    );
  }
  if (options.workload !== "append" && options.workload !== "rw-register") {
    throw new ElleOptionError(
      `unknown Elle workload "${String(options.workload)}"; expected "append" or "rw-register"`,
    );
  }
  if (empty !== undefined) {
    return {
      valid: "unknown",
      reason: empty,
      model,
      workload: options.workload,
      anomalyTypes: [],
      txnCount: 0,
    };
  }
  const budget = budgetOf(options.budget ?? defaultElleBudget());
  try {
    return checkWithin(opCount, readTable, options, model, budget);
  } catch (error) {
    if (!(error instanceof BudgetExhausted)) throw error;
    return {
      valid: "unknown",
      reason: `${error.reason} while inferring dependencies`,
      model,
      workload: options.workload,
      anomalyTypes: [],
    };
  }
}

function checkWithin(
  opCount: number,
  readTable: (budget: Budget) => TxnTable,
  options: ElleCheckOptions,
  model: string,
  budget: Budget,
): CheckResult {
  const forbidden = anomaliesForbiddenBy(model);
  const needsProcess = [...forbidden].some((a) => a.endsWith("-process"));
  const needsRealtime = [...forbidden].some((a) => a.endsWith("-realtime"));

  // Bytes per history operation the typed arrays of a check take, about: one chunk covers them.
  const arena = new Arena(Math.min(2 ** 30, Math.max(2 ** 20, opCount * 384)));
  const txns = readTable(budget);
  const edges = new EdgeList(arena, txns.count * 16);
  const sink = new AnomalySink(options.casesKeptPerClass ?? 32);
  // The realtime edges are known here and added only if the cycle search needs them (`dependencyGraph`).
  const realtime =
    needsRealtime || options.linearizableKeys ? new RealtimeOrder(txns, arena, budget) : undefined;
  if (needsProcess || options.sequentialKeys) addProcessEdges(txns, edges);
  const inference: WorkloadInference =
    options.workload === "append"
      ? inferListAppend(txns, edges, sink, arena, budget)
      : inferRwRegister(
          txns,
          edges,
          sink,
          {
            sequentialKeys: options.sequentialKeys ?? false,
            linearizableKeys: options.linearizableKeys ?? false,
            wfrKeys: options.wfrKeys ?? false,
          },
          budget,
        );
  const acyclicOrder = completionOrder(txns, arena);
  const { graph, edgeCount, acyclic } = dependencyGraph(txns, edges, realtime, acyclicOrder, arena, budget);

  const variants: OrderVariant[] = [""];
  if (needsProcess) variants.push("-process");
  if (needsRealtime) variants.push("-realtime");
  const search = findCycles(graph, {
    variants,
    budget,
    ...(options.componentStepLimit !== undefined ? { componentStepLimit: options.componentStepLimit } : {}),
    cyclesKeptPerClass: options.casesKeptPerClass ?? 32,
    allocate: arena,
    acyclicOrder,
    acyclic,
  });
  for (const [anomaly, cycles] of search.cycles) {
    const total = search.counts.get(anomaly) ?? cycles.length;
    for (const cycle of cycles) sink.add(anomaly, () => explainCycle(txns, inference, cycle));
    // Count cycles beyond those kept, so anomalyCounts stays the true total.
    if (total > cycles.length)
      sink.counts.set(anomaly, (sink.counts.get(anomaly) ?? 0) + total - cycles.length);
  }

  const anomalyTypes = [...sink.counts.keys()].sort(bySeverity);
  const anomalies: Record<string, readonly AnomalyCase[]> = {};
  const anomalyCounts: Record<string, number> = {};
  for (const a of anomalyTypes) {
    anomalies[a] = sink.cases.get(a) ?? [];
    anomalyCounts[a] = sink.counts.get(a) ?? 0;
  }
  const { not, alsoNot } = modelBoundary(anomalyTypes);
  const forbiddenFound = anomalyTypes.filter((a) => forbidden.has(a));
  const undecided = [...search.undecided].filter(([a]) => forbidden.has(a)).map(([, why]) => why);
  const dataEdges = graph.dataEdgeCount;
  const unrelated =
    dataEdges === 0
      ? [
          `no ww, wr or rw dependency could be inferred between the ${txns.count} transaction${txns.count === 1 ? "" : "s"}, so no cycle could be checked`,
        ]
      : [];
  const unsure = [...inference.notes, ...undecided, ...unrelated];

  let valid: Verdict;
  let reason: string;
  if (forbiddenFound.length > 0) {
    valid = false;
    reason = `${model} forbids ${forbiddenFound.join(", ")}, found in this history`;
  } else if (unsure.length > 0) {
    valid = "unknown";
    reason = unsure.join("; ");
  } else {
    valid = true;
    reason =
      anomalyTypes.length === 0
        ? `no anomalies found in ${txns.count} transactions`
        : `found only anomalies ${model} allows: ${anomalyTypes.join(", ")}`;
  }
  return {
    valid,
    reason,
    model,
    workload: options.workload,
    anomalyTypes,
    anomalies,
    anomalyCounts,
    not,
    alsoNot,
    txnCount: txns.count,
    edgeCount,
    dependencyCount: dataEdges,
    steps: budget.stepsTaken,
    ...(unsure.length > 0 ? { unknownReasons: unsure } : {}),
  };
}

/**
 * The dependency graph of `edges` and, when the model orders transactions in real time, of the
 * realtime edges too (`realtime`), with its edge count (parallel edges merged); `acyclic` when it
 * is known to have no cycle. The realtime edges are added only when some other edge goes back in
 * completion order (`rank`): otherwise every edge goes forward (a realtime edge always does), there
 * is no cycle, and their count is all of them that shows. The budget is charged the steps of
 * building the whole graph either way.
 */
function dependencyGraph(
  txns: TxnTable,
  edges: EdgeList,
  realtime: RealtimeOrder | undefined,
  rank: Float64Array,
  arena: Arena,
  budget: Budget,
): { graph: Graph; edgeCount: number; acyclic: boolean } {
  const n = txns.count;
  if (realtime === undefined) {
    const graph = new Graph(n, edges, arena, budget);
    return { graph, edgeCount: graph.edgeCount, acyclic: false };
  }
  budget.step(Graph.steps(n, edges.length + realtime.edgeCount) - Graph.steps(n, edges.length));
  const withoutRealtime = new Graph(n, edges, arena, budget);
  const shared = realtime.sharedWithForward(withoutRealtime, rank);
  if (shared >= 0) {
    const edgeCount = withoutRealtime.edgeCount + realtime.edgeCount - shared;
    return { graph: withoutRealtime, edgeCount, acyclic: true };
  }
  // In the order the graph has always been built in: realtime edges first.
  const all = new EdgeList(arena, edges.length + realtime.edgeCount);
  addRealtimeEdges(txns, all, arena);
  all.addList(edges);
  const graph = new Graph(n, all, arena);
  return { graph, edgeCount: graph.edgeCount, acyclic: false };
}

/**
 * Each transaction's rank in completion order (its completion's position in the history; after
 * every completion, in invocation order, for one that never completed). A valid history's edges
 * mostly go forward in it: an order edge always does (its source completed before its target was
 * invoked), and so does a data edge between transactions that took effect as they completed.
 */
function completionOrder(txns: TxnTable, allocate: Arena): Float64Array {
  const rank = allocate.float64(txns.count);
  const last = txns.lastCompletionAt;
  for (let t = 0; t < txns.count; t++) {
    const at = txns.completeAt[t]!;
    rank[t] = at >= 0 ? at : last + 1 + t;
  }
  return rank;
}

/**
 * The files the store writes under `elle/`: one `<anomaly>.txt` per class found, holding every
 * kept case's explanation (and how many more there were).
 */
export function elleReportFiles(result: CheckResult): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [anomaly, cases] of Object.entries(result.anomalies ?? {})) {
    const total = result.anomalyCounts?.[anomaly] ?? cases.length;
    const header =
      total > cases.length
        ? `${anomaly}: ${total} found; the first ${cases.length} follow.`
        : `${anomaly}: ${total} found.`;
    files[`${anomaly}.txt`] = [header, ...cases.map((c) => c.explanation)].join("\n\n") + "\n";
  }
  return files;
}
