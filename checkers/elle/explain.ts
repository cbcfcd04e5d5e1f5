/**
 * Explanations a person can follow, in Elle's Let/Then form: name each transaction of a cycle
 * (T1, T2, …), then one line per edge saying why one must precede the next, ending with the edge
 * that closes the loop and the contradiction:
 *
 *   Let:
 *     T1 = {"index":3,"process":0,"type":"ok","value":[["append","x",1],["r","y",[]]]}
 *     T2 = {…}
 *
 *   Then:
 *     - T1 < T2, because T1 did not observe T2's append of 1 to key "y".
 *     - However, T2 < T1, because T1 observed T2's append of 2 to key "x": a contradiction!
 */
import type { AnomalyCase } from "../../harness/results.ts";
import { displayText } from "../../harness/history/valueText.ts";
import type { CycleStep, FoundCycle } from "./cycles.ts";
import { edgeKindNames, EdgeKind } from "./graph.ts";
import { txnData, type EdgeReason, type NameOf, type WorkloadInference } from "./inference.ts";
import { explainOrderEdge } from "./orders.ts";
import type { TxnTable } from "./txns.ts";

export function kindName(kind: number): string {
  for (const name of edgeKindNames) if (EdgeKind[name] === kind) return name;
  return String(kind);
}

function reasonFor(txns: TxnTable, inference: WorkloadInference, step: CycleStep, name: NameOf): EdgeReason {
  const reason =
    step.kind === EdgeKind.process || step.kind === EdgeKind.realtime
      ? explainOrderEdge(txns, step.from, step.to, step.kind, name)
      : inference.explain(step.from, step.to, step.kind, name);
  return (
    reason ?? { clause: `${name(step.from)} has a ${kindName(step.kind)} dependency on ${name(step.to)}` }
  );
}

/** The case recorded for one cycle: the Let/Then text plus the transactions and steps as data. */
export function explainCycle(txns: TxnTable, inference: WorkloadInference, cycle: FoundCycle): AnomalyCase {
  const order: number[] = [];
  const names = new Map<number, string>();
  for (const step of cycle.steps) {
    if (!names.has(step.from)) {
      names.set(step.from, `T${names.size + 1}`);
      order.push(step.from);
    }
  }
  const name: NameOf = (t) => names.get(t) ?? `T?${t}`;
  const letLines = order.map((t) => `  ${name(t)} = ${displayText(txnData(txns, t))}`);
  const steps: Record<string, unknown>[] = [];
  const thenLines = cycle.steps.map((step, i) => {
    const { clause, ...facts } = reasonFor(txns, inference, step, name);
    steps.push({ from: name(step.from), to: name(step.to), type: kindName(step.kind), ...facts });
    const last = i === cycle.steps.length - 1;
    return last
      ? `  - However, ${name(step.from)} < ${name(step.to)}, because ${clause}: a contradiction!`
      : `  - ${name(step.from)} < ${name(step.to)}, because ${clause}.`;
  });
  const explanation = ["Let:", ...letLines, "", "Then:", ...thenLines].join("\n");
  return {
    explanation,
    cycle: order.map((t) => ({ name: name(t), ...txnData(txns, t) })),
    steps,
  };
}
