/**
 * Transactions, as the Elle checker sees them: every client operation with `f: "txn"`, paired
 * with its completion, numbered 0, 1, 2, … in invocation order. A transaction's status is its
 * completion's type: `ok` committed, `fail` certainly did not commit, `info` (or no completion at
 * all) may have committed. Its micro-ops come from the completion when it is `ok` (the reads are
 * filled in there) and from the invocation otherwise. Shapes are checked once, here, so the
 * inference that follows can trust them: a bad micro-op is an error naming the operation's index.
 */
import type { Budget } from "../../harness/budget.ts";
import { noArena, type Allocator } from "./arena.ts";
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
  /**
   * The same micro-ops, flat, for the hot loops: transaction t's are mopStart[t] .. mopStart[t+1];
   * mopKind is MopKind, mopKey a dense key number (keys[n] is the key); the value stays in
   * microOps[t][i - mopStart[t]][2] (copying millions of references would only feed the GC).
   */
  readonly mopStart: Int32Array;
  readonly mopKind: Uint8Array;
  readonly mopKey: Int32Array;
  /** The micro-op's value when it is a number (an appended or written value), else NaN. */
  readonly mopNumber: Float64Array;
  /** The length of the micro-op's value when it is a list; -1 when null; -2 otherwise. */
  readonly mopLength: Int32Array;
  readonly keys: readonly Key[];
}

export const MopKind = { r: 0, w: 1, append: 2 } as const;

function badMicroOp(op: Op, i: number, m: unknown): HistoryShapeError {
  return new HistoryShapeError(
    `index ${op.index}: micro-op ${i} must be ["r"|"w"|"append", key, value] with a string or integer key, got ${JSON.stringify(m)}`,
  );
}

/** Reads the transactions out of a history. Throws HistoryShapeError on a malformed one. */
export function readTxns(history: readonly Op[], allocate: Allocator = noArena, budget?: Budget): TxnTable {
  const invokes = allocate.int32(history.length);
  const completes = allocate.int32(history.length);
  let count = 0;
  const open = new Map<unknown, number>();
  for (let at = 0; at < history.length; at++) {
    const op = history[at]!;
    budget?.step();
    if (op.process === "nemesis" || op.f !== "txn") continue;
    if (op.type === "invoke") {
      if (open.has(op.process)) {
        throw new HistoryShapeError(
          `index ${op.index}: process ${String(op.process)} invoked a txn while its previous one was still open`,
        );
      }
      open.set(op.process, count);
      invokes[count] = at;
      completes[count] = -1;
      count++;
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
  const status = allocate.uint8(count);
  const process = allocate.int32(count);
  const invokeAt = invokes.subarray(0, count);
  const completeAt = completes.subarray(0, count);
  const microOps: (readonly MicroOp[])[] = [];
  const ops: Op[] = [];
  const invokeIndex = allocate.float64(count);
  const processIds = new Map<unknown, number>();
  const processNames: (number | string)[] = [];
  const keyIds = new Map<Key, number>();
  const keys: Key[] = [];
  const mopStart = allocate.int32(count + 1);
  let mopKind = allocate.uint8(count * 8 + 16);
  let mopKey = allocate.int32(count * 8 + 16);
  let mopNumber = allocate.float64(count * 8 + 16);
  let mopLength = allocate.int32(count * 8 + 16);
  // Small non-negative integer keys (Jepsen's usual) are numbered through an array, not a Map.
  const smallKeyIds = allocate.int32(Math.min(2 ** 22, count * 4 + 1024));
  let m = 0;
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
    const source = type === "ok" ? complete! : invoke;
    const value: unknown = source.value;
    if (!Array.isArray(value)) {
      throw new HistoryShapeError(
        `index ${source.index}: a txn's value must be a list of micro-ops like ["r", key, value], got ${JSON.stringify(value)}`,
      );
    }
    if (m + value.length > mopKind.length) {
      const size = Math.max(mopKind.length * 2, m + value.length);
      const kind = allocate.uint8(size);
      kind.set(mopKind);
      mopKind = kind;
      const key = allocate.int32(size);
      key.set(mopKey);
      mopKey = key;
      const numbers = allocate.float64(size);
      numbers.set(mopNumber);
      mopNumber = numbers;
      const lengths = allocate.int32(size);
      lengths.set(mopLength);
      mopLength = lengths;
    }
    mopStart[t] = m;
    budget?.step(value.length + 1);
    for (let i = 0; i < value.length; i++) {
      const mop: unknown = value[i];
      if (!Array.isArray(mop) || mop.length !== 3) throw badMicroOp(source, i, mop);
      const f: unknown = mop[0];
      const k: unknown = mop[1];
      const kind = f === "r" ? MopKind.r : f === "append" ? MopKind.append : f === "w" ? MopKind.w : -1;
      if (kind === -1 || (typeof k !== "string" && typeof k !== "number")) throw badMicroOp(source, i, mop);
      let keyId: number | undefined;
      if (typeof k === "number" && k >= 0 && k < smallKeyIds.length && (k | 0) === k) {
        keyId = smallKeyIds[k]! - 1;
        if (keyId === -1) {
          keyId = keys.length;
          smallKeyIds[k] = keyId + 1;
          keys.push(k);
        }
      } else {
        keyId = keyIds.get(k);
        if (keyId === undefined) {
          keyId = keys.length;
          keyIds.set(k, keyId);
          keys.push(k);
        }
      }
      const v: unknown = mop[2];
      mopKind[m] = kind;
      mopKey[m] = keyId;
      mopNumber[m] = typeof v === "number" ? v : NaN;
      mopLength[m] = Array.isArray(v) ? v.length : v === null || v === undefined ? -1 : -2;
      m++;
    }
    microOps.push(value as readonly MicroOp[]);
    ops.push(complete ?? invoke);
  }
  mopStart[count] = m;
  return {
    count,
    status,
    process,
    invokeAt,
    completeAt,
    invokeIndex,
    microOps,
    op: ops,
    processNames,
    mopStart,
    mopKind: mopKind.subarray(0, m),
    mopKey: mopKey.subarray(0, m),
    mopNumber: mopNumber.subarray(0, m),
    mopLength: mopLength.subarray(0, m),
    keys,
  };
}

/** A key or value as a person reads it in an explanation. */
export function show(x: unknown): string {
  return x === undefined ? "nil" : JSON.stringify(x);
}

export type { Key };
