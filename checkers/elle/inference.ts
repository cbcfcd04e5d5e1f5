/**
 * What a workload's inference hands to the rest of the checker. Each workload (list-append,
 * rw-register) reads the transactions, reports the anomalies it can see without any graph
 * (aborted reads, intermediate reads, internal contradictions, …), adds the ww, wr and rw edges it
 * can justify, and answers later, for any edge in a cycle, why that edge exists: the reasons are
 * recomputed on demand instead of being stored per edge, which keeps the graph flat and small.
 */
import type { AnomalyCase } from "../../harness/results.ts";
import type { CycleAnomalyClass } from "./cycles.ts";
import type { EdgeList } from "./graph.ts";
import type { TxnTable } from "./txns.ts";

/** The anomalies a workload's inference reports without the graph, as Elle names them, worst first. */
export const dataAnomalyClasses = [
  "garbage-read",
  "duplicate-elements",
  "incompatible-order",
  "cyclic-versions",
  "internal",
  "future-read",
  "G1a",
  "G1b",
  "dirty-update",
  "lost-update",
] as const;

/** Every class an Elle check can report: the data anomalies and the cycle classes. */
export type ElleAnomalyClass = (typeof dataAnomalyClasses)[number] | CycleAnomalyClass;

/** Collects anomaly cases by class, keeping the first few in full and counting all of them. */
export class AnomalySink {
  readonly cases = new Map<ElleAnomalyClass, AnomalyCase[]>();
  readonly counts = new Map<ElleAnomalyClass, number>();

  constructor(readonly casesKeptPerClass = 32) {}

  add(anomaly: ElleAnomalyClass, makeCase: () => AnomalyCase): void {
    const count = (this.counts.get(anomaly) ?? 0) + 1;
    this.counts.set(anomaly, count);
    if (count > this.casesKeptPerClass) return;
    const list = this.cases.get(anomaly) ?? [];
    list.push(makeCase());
    this.cases.set(anomaly, list);
  }

  has(anomaly: ElleAnomalyClass): boolean {
    return this.counts.has(anomaly);
  }
}

/** Why one dependency edge exists: a clause for a person, plus the facts as data. */
export interface EdgeReason {
  /** E.g. `T2 observed T1's append of 1 to key "y"`. */
  readonly clause: string;
  readonly key?: unknown;
  readonly value?: unknown;
  readonly [detail: string]: unknown;
}

export type NameOf = (txn: number) => string;

export interface WorkloadInference {
  /** Why `from → to` carries the data dependency `kind` (one EdgeKind bit), or undefined. */
  explain(from: number, to: number, kind: number, nameOf: NameOf): EdgeReason | undefined;
  /** Reasons some dependencies could not be inferred (they make a clean verdict "unknown"). */
  readonly notes: readonly string[];
}

export type WorkloadInferrer = (
  txns: TxnTable,
  edges: EdgeList,
  sink: AnomalySink,
  options: { readonly sequentialKeys?: boolean; readonly linearizableKeys?: boolean },
) => WorkloadInference;

/** The plain-data view of a transaction used in anomaly cases. */
export function txnData(txns: TxnTable, t: number): Record<string, unknown> {
  const op = txns.opOf(t);
  return { index: op.index, process: op.process, type: op.type, value: op.value };
}
