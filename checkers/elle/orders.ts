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
import { EdgeKind, type EdgeList, type Graph } from "./graph.ts";
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

/** startAt[r + 1]: how many transactions had committed when the one of commit rank r was invoked. */
function invokedAfter(txns: TxnTable, startAt: Int32Array): void {
  const { committedBefore, commitRank } = txns;
  for (let t = 0; t < txns.count; t++)
    if (commitRank[t]! >= 0) startAt[commitRank[t]! + 1] = committedBefore[t]!;
}

/**
 * startAt[r + 1]: where the frontier starts when the committed completion of rank r comes; the
 * budget steps `addRealtimeEdges` charges at those completions (1 + (frontier size >> 4) each).
 */
function frontierStarts(txns: TxnTable, startAt: Int32Array): number {
  invokedAfter(txns, startAt);
  const committed = startAt.length - 1;
  let steps = 0;
  let start = 0;
  for (let r = 0; r < committed; r++) {
    steps += 1 + ((r - start) >> 4);
    if (startAt[r + 1]! > start) start = startAt[r + 1]!;
    startAt[r + 1] = start;
  }
  return steps;
}

/** Each transaction's window (see `RealtimeOrder.window`), the edges they hold and the steps `addRealtimeEdges` charges at invocations. */
function realtimeWindows(
  txns: TxnTable,
  startAt: Int32Array,
  window: Int32Array,
): { edgeCount: number; steps: number } {
  const { status, committedBefore } = txns;
  let edgeCount = 0;
  let steps = 0;
  for (let v = 0; v < txns.count; v++) {
    const before = committedBefore[v]!;
    const size = before - startAt[before]!;
    const failed = status[v] === TxnStatus.fail;
    window[2 * v] = startAt[before]!;
    window[2 * v + 1] = failed ? startAt[before]! : before;
    steps += 1 + (size >> 4);
    if (!failed) edgeCount += size;
  }
  return { edgeCount, steps };
}

/**
 * The realtime edges `addRealtimeEdges` adds, known without adding them: how many there are,
 * which pairs they join (`has`), and the budget steps adding them takes (charged here). A valid
 * history's dependency graph never needs them as edges: each goes forward in completion order
 * (its source completed before its target was invoked), so when the other edges do too there is
 * no cycle to search, and only their count shows, in the graph's merged edge count. They are
 * about two fifths of a list-append history's edges.
 *
 * The frontier, in committed completions (TxnTable.commitRank): it is always the latest of them,
 * from some rank on. A completion adds itself at the end; a committed w's completion removes
 * what its invocation saw, which is every member that completed before w was invoked (rank below
 * committedBefore[w]), a prefix, so the frontier starts from then on at the largest
 * committedBefore of the committed completions so far. Transaction v, invoked when
 * committedBefore[v] transactions had committed, gets an edge from each committed completion of
 * rank from[v] (that start then) up to committedBefore[v].
 */
export class RealtimeOrder {
  /** The number of realtime edges. */
  readonly edgeCount: number;
  /**
   * Per transaction v, side by side: the ranks of the committed completions with an edge into v,
   * from window[2v] up to window[2v + 1] (empty for a failed v), one cache line for the look-ups.
   */
  private readonly window: Int32Array;

  constructor(
    private readonly txns: TxnTable,
    allocate: Allocator = noArena,
    budget?: Budget,
  ) {
    const n = txns.count;
    // Per committed completion, by rank: the frontier's start when it comes (what it removes is
    // the max of committedBefore over the completions before it). Each loop is a function of its
    // own (see list-append.ts's indexAppends: one compilation each).
    const startAt = allocate.int32(txns.committedCount + 1);
    const startSteps = frontierStarts(txns, startAt);
    const window = allocate.int32(2 * n);
    const { edgeCount, steps } = realtimeWindows(txns, startAt, window);
    budget?.step(startSteps + steps);
    this.window = window;
    this.edgeCount = edgeCount;
  }

  /** Whether `addRealtimeEdges` adds the edge u → v. */
  has(u: number, v: number): boolean {
    const rank = this.txns.commitRank[u]!;
    return rank >= this.window[2 * v]! && rank < this.window[2 * v + 1]!;
  }

  /**
   * How many of the graph's (merged) edges are realtime edges too, when every one of them goes
   * forward in `rank` (then, with the realtime edges, which all do, the graph has no cycle); -1 at
   * the first that does not. One pass for both questions.
   */
  sharedWithForward(graph: Graph, rank: ArrayLike<number>): number {
    const { offsets, targets, vertexCount } = graph;
    const { commitRank } = this.txns;
    const window = this.window;
    let shared = 0;
    for (let u = 0; u < vertexCount; u++) {
      const at = rank[u]!;
      const committed = commitRank[u]!;
      const end = offsets[u + 1]!;
      for (let e = offsets[u]!; e < end; e++) {
        const v = targets[e]!;
        if (rank[v]! <= at) return -1;
        if (committed >= window[2 * v]! && committed < window[2 * v + 1]!) shared++;
      }
    }
    return shared;
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
