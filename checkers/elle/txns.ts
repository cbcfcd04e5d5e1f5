/**
 * Transactions, as the Elle checker sees them: every client operation with `f: "txn"`, paired
 * with its completion, numbered 0, 1, 2, … in invocation order. A transaction's status is its
 * completion's type: `ok` committed, `fail` certainly did not commit, `info` (or no completion at
 * all) may have committed. Its micro-ops come from the completion when it is `ok` (the reads are
 * filled in there) and from the invocation otherwise. Shapes are checked once, here, so the
 * inference that follows can trust them: a bad micro-op is an error naming the operation's index.
 */
import { HistoryShapeError, type Key, type MicroOp, type Op } from "../../harness/history/op.ts";

export const TxnStatus = { ok: 0, info: 1, fail: 2 } as const;

export interface TxnTable {
  readonly count: number;
  /** TxnStatus per transaction. */
  readonly status: Uint8Array;
  /** Dense process number per transaction (processes renumbered 0, 1, … in order of appearance). */
  readonly process: Int32Array;
  /** Position in the history of the invocation, and of the completion (-1 when there is none). */
  readonly invokeAt: Int32Array;
  readonly completeAt: Int32Array;
  /** The `index` field of each invocation (for explanations). */
  readonly invokeIndex: Float64Array;
  readonly microOps: readonly (readonly MicroOp[])[];
  /** The operation that best describes the transaction: its completion, else its invocation. */
  readonly op: readonly Op[];
  /** The original process names, by dense number. */
  readonly processNames: readonly (number | string)[];
}

const kinds = new Set(["r", "w", "append"]);

function checkMicroOps(value: unknown, op: Op): readonly MicroOp[] {
  if (!Array.isArray(value)) {
    throw new HistoryShapeError(
      `index ${op.index}: a txn's value must be a list of micro-ops like ["r", key, value], got ${JSON.stringify(value)}`,
    );
  }
  for (let i = 0; i < value.length; i++) {
    const m: unknown = value[i];
    if (
      !Array.isArray(m) ||
      m.length !== 3 ||
      !kinds.has(m[0] as string) ||
      (typeof m[1] !== "string" && typeof m[1] !== "number")
    ) {
      throw new HistoryShapeError(
        `index ${op.index}: micro-op ${i} must be ["r"|"w"|"append", key, value] with a string or integer key, got ${JSON.stringify(m)}`,
      );
    }
  }
  return value as readonly MicroOp[];
}

/** Reads the transactions out of a history. Throws HistoryShapeError on a malformed one. */
export function readTxns(history: readonly Op[]): TxnTable {
  const invokes: number[] = [];
  const completes: number[] = [];
  const open = new Map<unknown, number>();
  for (let at = 0; at < history.length; at++) {
    const op = history[at]!;
    if (op.process === "nemesis" || op.f !== "txn") continue;
    if (op.type === "invoke") {
      if (open.has(op.process)) {
        throw new HistoryShapeError(
          `index ${op.index}: process ${String(op.process)} invoked a txn while its previous one was still open`,
        );
      }
      open.set(op.process, invokes.length);
      invokes.push(at);
      completes.push(-1);
    } else {
      const t = open.get(op.process);
      if (t === undefined) {
        throw new HistoryShapeError(
          `index ${op.index}: process ${String(op.process)} completed a txn it never invoked`,
        );
      }
      open.delete(op.process);
      completes[t] = at;
    }
  }
  const count = invokes.length;
  const status = new Uint8Array(count);
  const process = new Int32Array(count);
  const invokeAt = Int32Array.from(invokes);
  const completeAt = Int32Array.from(completes);
  const microOps: (readonly MicroOp[])[] = new Array(count);
  const ops: Op[] = new Array(count);
  const invokeIndex = new Float64Array(count);
  const processIds = new Map<unknown, number>();
  const processNames: (number | string)[] = [];
  for (let t = 0; t < count; t++) {
    const invoke = history[invokeAt[t]!]!;
    invokeIndex[t] = invoke.index;
    const complete = completeAt[t]! >= 0 ? history[completeAt[t]!]! : undefined;
    let p = processIds.get(invoke.process);
    if (p === undefined) {
      p = processNames.length;
      processIds.set(invoke.process, p);
      processNames.push(invoke.process);
    }
    process[t] = p;
    const type = complete?.type ?? "info";
    status[t] = type === "ok" ? TxnStatus.ok : type === "fail" ? TxnStatus.fail : TxnStatus.info;
    microOps[t] = checkMicroOps(type === "ok" ? complete!.value : invoke.value, type === "ok" ? complete! : invoke);
    ops[t] = complete ?? invoke;
  }
  return { count, status, process, invokeAt, completeAt, invokeIndex, microOps, op: ops, processNames };
}

/** A key or value as a person reads it in an explanation. */
export function show(x: unknown): string {
  return x === undefined ? "nil" : JSON.stringify(x);
}

export type { Key };
