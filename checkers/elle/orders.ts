/**
 * Process and realtime orders: the edges that turn serializability into its session and strict
 * forms. A process is single-threaded, so its transactions happened in the order it ran them
 * (process edges). A transaction that completed before another was invoked precedes it in real
 * time (realtime edges). Both are added as transitive reductions, so the graph stays linear in the
 * history: process edges link each transaction to the next of its process; realtime edges link
 * each invocation to the "frontier", the completed transactions not yet known to precede another
 * completed one, which holds at most about as many transactions as there are processes, O(n·p).
 *
 * Failed transactions did not happen and get no order edges. A transaction with no known
 * completion (info) never precedes anything, in real time or in its process (it may take effect
 * at any later time), but follows what completed before it.
 */
import type { Budget } from "../../harness/budget.ts";
import { noArena, type Allocator } from "./arena.ts";
import { EdgeKind, type EdgeList } from "./graph.ts";
import type { EdgeReason, NameOf } from "./inference.ts";
import { TxnStatus, type TxnTable } from "./txns.ts";

export function addProcessEdges(txns: TxnTable, edges: EdgeList): void {
  // Processes are dense numbers (TxnTable.process): each one's last committed transaction, or -1.
  const last = new Int32Array(txns.processNames.length).fill(-1);
  for (let t = 0; t < txns.count; t++) {
    if (txns.status[t] === TxnStatus.fail) continue;
    const p = txns.process[t]!;
    const before = last[p]!;
    if (before !== -1) edges.add(before, t, EdgeKind.process);
    last[p] = txns.status[t] === TxnStatus.ok ? t : -1;
  }
}

export function addRealtimeEdges(
  txns: TxnTable,
  edges: EdgeList,
  allocate: Allocator = noArena,
  budget?: Budget,
): void {
  // Events in history order: invocations (+t+1) and completions (-(t+1)) of transactions that may
  // have happened. Transactions are numbered in invocation order, so merging is a two-pointer walk.
  const n = txns.count;
  // Committed transactions in completion order: bucket by position in the history.
  let positions = 0;
  for (let t = 0; t < n; t++) positions = Math.max(positions, txns.completeAt[t]! + 1);
  const byPosition = allocate.int32(positions).fill(-1);
  let completedCount = 0;
  for (let t = 0; t < n; t++) {
    if (txns.status[t] === TxnStatus.ok) {
      byPosition[txns.completeAt[t]!] = t;
      completedCount++;
    }
  }
  const byCompletion = allocate.int32(completedCount);
  for (let at = 0, i = 0; at < positions; at++)
    if (byPosition[at] !== -1) byCompletion[i++] = byPosition[at]!;
  const frontier = allocate.int32(n);
  const slot = allocate.int32(n).fill(-1);
  let size = 0;
  const predecessorsFrom = allocate.int32(n);
  const predecessorsTo = allocate.int32(n);
  let nextInvoke = 0;
  let nextComplete = 0;
  while (nextInvoke < n || nextComplete < byCompletion.length) {
    const invokeAt = nextInvoke < n ? txns.invokeAt[nextInvoke]! : Infinity;
    const completeT = nextComplete < byCompletion.length ? byCompletion[nextComplete]! : -1;
    const completeAt = completeT >= 0 ? txns.completeAt[completeT]! : Infinity;
    budget?.step(1 + (size >> 4));
    if (invokeAt < completeAt) {
      const t = nextInvoke++;
      if (txns.status[t] === TxnStatus.fail) continue;
      predecessorsFrom[t] = edges.length;
      edges.addFromEach(frontier, size, t, EdgeKind.realtime);
      predecessorsTo[t] = edges.length;
    } else {
      const t = completeT;
      nextComplete++;
      // Everything t succeeded is now implied through t: drop it from the frontier.
      for (let e = predecessorsFrom[t]!; e < predecessorsTo[t]!; e++) {
        const c = edges.from[e]!;
        const at = slot[c]!;
        if (at === -1) continue;
        const moved = frontier[--size]!;
        frontier[at] = moved;
        slot[moved] = at;
        slot[c] = -1;
      }
      frontier[size] = t;
      slot[t] = size++;
    }
  }
}

export function explainOrderEdge(
  txns: TxnTable,
  from: number,
  to: number,
  kind: number,
  name: NameOf,
): EdgeReason | undefined {
  if (kind === EdgeKind.process) {
    const process = txns.processNames[txns.process[from]!];
    return { clause: `process ${String(process)} executed ${name(from)} before ${name(to)}`, process };
  }
  if (kind === EdgeKind.realtime) {
    const completed = txns.opOf(from).index;
    const invoked = txns.invokeIndex[to]!;
    return {
      clause: `${name(from)} completed at index ${completed}, before the invocation of ${name(to)} at index ${invoked}`,
      completedIndex: completed,
      invokedIndex: invoked,
    };
  }
  return undefined;
}
