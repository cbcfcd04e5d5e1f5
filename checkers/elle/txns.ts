/**
 * Transactions, as the Elle checker sees them: every client operation with `f: "txn"`, paired
 * with its completion, numbered 0, 1, 2, … in invocation order. A transaction's status is its
 * completion's type: `ok` committed, `fail` certainly did not commit, `info` (or no completion at
 * all) may have committed. Its micro-ops come from the completion when it is `ok` (the reads are
 * filled in there) and from the invocation otherwise. Shapes are checked once, here, so the
 * inference that follows can trust them: a bad micro-op is an error naming the operation's index.
 *
 * The table is built one operation at a time (`TxnTableBuilder`), from `Op` objects or straight
 * from the bytes of a JSONL line (`addScanned`), and keeps only typed arrays: kinds, key numbers,
 * numeric values, and the integers of every list a read returned, one after another. A history of
 * ten million transactions therefore never exists as objects; the few values that are neither
 * numbers nor lists of numbers are kept as they are. Micro-ops and operations are rebuilt on
 * demand (`microOpsOf`, `opOf`), for explanations.
 */
import type { Budget } from "../../harness/budget.ts";
import {
  HistoryShapeError,
  isSmallProcess,
  type Key,
  type MicroOp,
  type Op,
  type OpType,
} from "../../harness/history/op.ts";
import { parseJsonExact } from "../../harness/history/exactJson.ts";
import { ScannedValue, scannedOp, type JsonlScanner } from "../../harness/history/jsonlScan.ts";
import { describeFound } from "../../harness/history/validate.ts";
import { displayText, ValueInterner } from "../../harness/history/valueText.ts";

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
  /**
   * Real time, counted in committed completions: how many transactions had completed `ok` when
   * this one was invoked, and where this one's completion falls among theirs (-1: not `ok`).
   * Committed transaction u completed before v was invoked exactly when
   * commitRank[u] < committedBefore[v] (see orders.ts's RealtimeOrder).
   */
  readonly committedBefore: Int32Array;
  readonly commitRank: Int32Array;
  /** The transactions that completed `ok` (one commit rank each). */
  readonly committedCount: number;
  /** The latest position in the history of a transaction's completion (0 when none completed). */
  readonly lastCompletionAt: number;
  /** 1 for a transaction with two micro-ops on one key (the only ones that can contradict themselves). */
  readonly repeatsKey: Uint8Array;
  /** The original process names, by dense number. */
  readonly processNames: readonly (number | string)[];
  /**
   * The micro-ops, flat, for the hot loops: transaction t's are mopStart[t] .. mopStart[t+1];
   * mopKind is MopKind, mopKey a dense key number (keys[n] is the key).
   */
  readonly mopStart: Int32Array;
  readonly mopKind: Uint8Array;
  readonly mopKey: Int32Array;
  /** The length of the micro-op's value when it is a list; -1 when null; -2 otherwise. */
  readonly mopLength: Int32Array;
  readonly keys: readonly Key[];
  /** How the micro-op's value is kept (MopValue): what `mopValue` holds. */
  readonly mopValueKind: Uint8Array;
  /**
   * One integer per micro-op, read by its `mopValueKind` (one column for what would otherwise be
   * three: the hot loops' numbers and list starts, and where other values are kept):
   * - MopValue.int: the value itself, an int32 (an appended or written value, as Jepsen's are);
   * - MopValue.list: a list of numbers, without rebuilding it: its elements are
   *   listElements[mopValue[i] … + mopLength[i]);
   * - MopValue.other (any other value, numbers beyond int32 and -0 included): where it is kept.
   */
  readonly mopValue: Int32Array;
  readonly listElements: Int32Array | Float64Array;
  /**
   * 1 for a micro-op whose list is known to be a prefix of its key's line: the longest list read
   * of the key so far, extended each time a read extends it (so every earlier one is a prefix of
   * the last). Two lists of one key both on its line are prefixes of one list: the shorter is a
   * prefix of the longer, without comparing their elements. 0 says nothing (a list not read from
   * JSONL by the scanner is never marked).
   */
  readonly mopOnKeyLine: Uint8Array;
  /** The value of flat micro-op i (a list rebuilt from the table when it is one). */
  valueAt(i: number): unknown;
  /** Element j of flat micro-op i's list value (0 <= j < mopLength[i]). */
  listElement(i: number, j: number): unknown;
  /** Transaction t's micro-ops, rebuilt. */
  microOpsOf(t: number): readonly MicroOp[];
  /** The operation that best describes transaction t (its completion, else its invocation), rebuilt. */
  opOf(t: number): Op;
}

export const MopKind = { r: 0, w: 1, append: 2 } as const;
const kindNames = ["r", "w", "append"] as const;

/** How a micro-op's value is kept (mopValueKind): see `TxnTable.mopValue`. */
export const MopValue = { null: 0, int: 1, list: 2, other: 3, undefined: 4 } as const;

/** Whether a number is kept in the int32 `mopValue` column as it is (-0 is not: it would read 0). */
const isInt32 = (v: number): boolean => (v | 0) === v && (v !== 0 || 1 / v > 0);

function badMicroOp(index: number, i: number, m: unknown): HistoryShapeError {
  return new HistoryShapeError(
    `index ${index}: micro-op ${i} must be ["r"|"w"|"append", key, value] with a string or integer key, got ${describeFound(m)}`,
  );
}

function notAList(index: number, value: unknown): HistoryShapeError {
  return new HistoryShapeError(
    `index ${index}: a txn's value must be a list of micro-ops like ["r", key, value], got ${describeFound(value)}`,
  );
}

/** Reads the transactions out of a history. Throws HistoryShapeError on a malformed one. */
export function readTxns(history: readonly Op[], budget?: Budget): TxnTable {
  const builder = new TxnTableBuilder(budget, history.length);
  for (const op of history) builder.addOp(op);
  return builder.build();
}

/**
 * A growable typed array. `ensure` is the comparison alone, and growing a call of its own: V8
 * inlines `ensure` wherever it is called on a hot path (a dozen places), and a growth that runs a
 * handful of times in a whole history is then not compiled into each of them.
 */
class Column<T extends Uint8Array | Int32Array | Float64Array> {
  constructor(public array: T) {}
  ensure(size: number): T {
    return size > this.array.length ? this.grow(size) : this.array;
  }
  private grow(size: number): T {
    let capacity = this.array.length * 2;
    while (capacity < size) capacity *= 2;
    const grown = new (this.array.constructor as new (n: number) => T)(capacity);
    grown.set(this.array);
    this.array = grown;
    return grown;
  }
}

/**
 * Builds a `TxnTable` from a history's operations, in history order: `addOp` (or `addScanned`,
 * for a line the JSONL scanner read) for each, then `build`. Validation errors name the same
 * operation `readTxns` always named: the first transaction, in invocation order, with a bad value.
 */
export class TxnTableBuilder {
  private count = 0;
  /** Operations seen (history positions). */
  private position = 0;
  /** The open transaction of each process: by small process number (t + 1; 0: none), else by name. */
  private readonly openBySmallProcess = new Column(new Int32Array(64));
  private readonly open = new Map<unknown, number>();
  /**
   * Why an open transaction's invocation value is no list of micro-ops, by transaction (it
   * matters only if the invocation ends up the source of its micro-ops).
   */
  private readonly openInvalid = new Map<number, HistoryShapeError>();
  /** Dense process ids: by small process number (id + 1; 0: not seen yet), else by name. */
  private readonly smallProcessIds = new Column(new Int32Array(64));
  private readonly processIds = new Map<unknown, number>();
  private readonly processNames: (number | string)[] = [];
  private readonly keyIds = new Map<Key, number>();
  private readonly keys: Key[] = [];
  /** Small non-negative integer keys (Jepsen's usual) are numbered through an array, not a Map. */
  private readonly smallKeyIds = new Int32Array(1 << 20);
  // Per transaction.
  private readonly status = new Column(new Uint8Array(1024));
  private readonly process = new Column(new Int32Array(1024));
  private readonly invokeAt = new Column(new Int32Array(1024));
  private readonly completeAt = new Column(new Int32Array(1024));
  private readonly invokeIndex = new Column(new Float64Array(1024));
  private readonly committedBefore = new Column(new Int32Array(1024));
  private readonly commitRank = new Column(new Int32Array(1024));
  private readonly repeatsKey = new Column(new Uint8Array(1024));
  /**
   * Per key id: the last writing of micro-ops (`writings`) that met the key, to see a transaction
   * meet a key twice (`repeatsKey`) as its micro-ops are written, without comparing them pairwise.
   */
  private readonly keyMetIn = new Column(new Int32Array(1024));
  private writings = 0;
  /** Transactions completed `ok` so far. */
  private committed = 0;
  /** The latest history position of a transaction's completion so far (0: none yet). */
  private lastCompletionAt = 0;
  /** The describing op (completion, else invocation): its index, time and type. */
  private readonly opIndex = new Column(new Float64Array(1024));
  private readonly opTime = new Column(new Float64Array(1024));
  private readonly opType = new Column(new Uint8Array(1024));
  private readonly mopStart = new Column(new Int32Array(1024));
  private readonly mopCount = new Column(new Int32Array(1024));
  /** The value of a completion that is not the source of the micro-ops (fail, info), by transaction. */
  private readonly completionValues = new Map<number, unknown>();
  /**
   * Likewise, for a completion the scanner read: its value's JSON text, parsed only if an
   * explanation asks for the operation (`opOf`). Building each such value as objects as it was
   * read (lists of micro-ops) cost more than its text, and compiled a function for it.
   */
  private readonly completionTexts = new Map<number, string>();
  // Per micro-op.
  private m = 0;
  private readonly mopKind = new Column(new Uint8Array(4096));
  private readonly mopKey = new Column(new Int32Array(4096));
  private readonly mopLength = new Column(new Int32Array(4096));
  private readonly mopValueKind = new Column(new Uint8Array(4096));
  /** int: the value; list: first element in `elements`; other: position in `others`. */
  private readonly mopValue = new Column(new Int32Array(4096));
  /** See `TxnTable.mopOnKeyLine`. */
  private readonly mopOnKeyLine = new Column(new Uint8Array(4096));
  private elements: Int32Array | Float64Array = new Int32Array(16384);
  private elementCount = 0;
  /**
   * Per key id: where the longest list of that key kept so far starts in `elements`, plus one (0:
   * none yet), its length, and where the room kept for it ends (it is extended in place up to
   * there). A read of a key is most often a prefix of the longest one before it (every read of a
   * list-append key is a prefix of its final list): such a read is kept as that prefix, not
   * copied, and a read that extends it adds only its new elements, so the elements kept follow the
   * appends, not the reads (see `placeList`).
   */
  private readonly listStartByKey = new Column(new Int32Array(1024));
  private readonly listLengthByKey = new Column(new Int32Array(1024));
  private readonly listRoomEndByKey = new Column(new Int32Array(1024));
  private readonly others: unknown[] = [];
  /** Objects and lists met as values, one reference each: see `interned`. */
  private readonly values = new ValueInterner();
  /** Set when a transaction's source micro-ops were written out of order (see `place`). */
  private relocated = false;
  private firstError: { readonly t: number; readonly error: HistoryShapeError } | undefined;
  private steps = 0;

  /** Budget steps taken so far (all of them once `build` returned): what `readTxns` charges. */
  get stepsTaken(): number {
    return this.steps;
  }

  constructor(
    private readonly budget?: Budget,
    expectedOps = 1024,
    /**
     * The size of the JSONL text the operations come from, when known: the columns start at a
     * size no history of that many bytes outgrows much (see `presize`), instead of doubling their
     * way up with a copy each time.
     */
    sourceBytes?: number,
  ) {
    if (sourceBytes !== undefined) {
      this.presize(sourceBytes);
      return;
    }
    const txns = Math.max(1024, expectedOps >>> 1);
    for (const column of [
      this.status,
      this.process,
      this.invokeAt,
      this.completeAt,
      this.invokeIndex,
      this.committedBefore,
      this.commitRank,
      this.repeatsKey,
      this.opIndex,
      this.opTime,
      this.opType,
      this.mopStart,
      this.mopCount,
    ])
      column.ensure(txns);
  }

  /**
   * Columns sized for a JSONL text of `bytes` bytes, by the fewest bytes each thing takes in the
   * writer's lines: a transaction two lines of at least 128 bytes, a micro-op at least 12
   * (`["r",1,null]`), a list element at least 2 (`1,`), capped where a large history would not
   * reach. Generous on purpose: a typed array's pages take memory only once written, so room not
   * used costs address space, while growing costs a copy and, for a while, both copies.
   */
  private presize(bytes: number): void {
    const cap = 1 << 30;
    const txns = Math.min(cap, Math.max(1024, Math.ceil(bytes / 256)));
    const mops = Math.min(cap, Math.max(4096, Math.ceil(bytes / 12)));
    this.ensureTxns(txns);
    this.ensureMops(mops);
    const elements = Math.min(cap, Math.max(16384, Math.ceil(bytes / 8)));
    if (elements > this.elements.length) this.elements = new Int32Array(elements);
  }

  /** Adds the next operation of the history. */
  addOp(op: Op): void {
    const at = this.position++;
    this.step(1);
    if (op.process === "nemesis" || op.f !== "txn") return;
    if (op.type === "invoke") {
      const t = this.invoke(op.process, at, op.index, op.time);
      const value: unknown = op.value;
      let invalid: HistoryShapeError | undefined;
      if (Array.isArray(value)) {
        const problem = this.writeMicroOps(t, value, op.index);
        if (problem !== undefined) invalid = problem;
      } else {
        invalid = notAList(op.index, value);
      }
      this.setOpen(op.process, t);
      if (invalid !== undefined) this.openInvalid.set(t, invalid);
      return;
    }
    const t = this.complete(op.process, op.index);
    const invalid = this.takeInvalid(t);
    this.completedAt(t, at);
    this.finishDescribing(t, op.index, op.time, op.type);
    if (op.type === "ok") {
      const value: unknown = op.value;
      if (!Array.isArray(value)) return this.fail(t, notAList(op.index, value));
      this.resetMicroOps(t, value.length);
      const problem = this.writeMicroOps(t, value, op.index);
      if (problem !== undefined) this.fail(t, problem);
    } else {
      this.completionValues.set(t, op.value);
      if (invalid !== undefined) this.fail(t, invalid);
    }
  }

  /** Adds the next operation, read by the JSONL scanner (valid until its next line). */
  addScanned(scanner: JsonlScanner): void {
    if (!scanner.isTxn || scanner.process === "nemesis" || scanner.f !== "txn") {
      this.addOp(scannedOp(scanner));
      return;
    }
    const at = this.position++;
    this.step(1);
    const mops = scanner.mops;
    if (scanner.type === "invoke") {
      const t = this.invoke(scanner.process, at, scanner.index, scanner.time);
      this.writeScannedMicroOps(t, scanner);
      this.setOpen(scanner.process, t);
      return;
    }
    const t = this.complete(scanner.process, scanner.index);
    const invalid = this.takeInvalid(t);
    this.completedAt(t, at);
    this.finishDescribing(t, scanner.index, scanner.time, scanner.type);
    if (scanner.type === "ok") {
      this.resetMicroOps(t, mops.count);
      this.writeScannedMicroOps(t, scanner);
    } else {
      this.completionTexts.set(t, scanner.valueText());
      if (invalid !== undefined) this.fail(t, invalid);
    }
  }

  private step(count: number): void {
    this.steps += count;
    this.budget?.step(count);
  }

  /** The open transaction of a process, or -1. */
  private openOf(processName: number | string): number {
    if (isSmallProcess(processName))
      return processName < this.openBySmallProcess.array.length
        ? this.openBySmallProcess.array[processName]! - 1
        : -1;
    return this.open.get(processName) ?? -1;
  }

  private setOpen(processName: number | string, t: number): void {
    if (!isSmallProcess(processName)) {
      this.open.set(processName, t);
      return;
    }
    this.openBySmallProcess.ensure(processName + 1)[processName] = t + 1;
  }

  private takeInvalid(t: number): HistoryShapeError | undefined {
    if (this.openInvalid.size === 0) return undefined;
    const invalid = this.openInvalid.get(t);
    if (invalid !== undefined) this.openInvalid.delete(t);
    return invalid;
  }

  /** The dense id of a process, given on first sight. */
  private processIdOf(processName: number | string): number {
    if (isSmallProcess(processName)) {
      const ids = this.smallProcessIds.ensure(processName + 1);
      const id = ids[processName]! - 1;
      if (id !== -1) return id;
      ids[processName] = this.processNames.length + 1;
      this.processNames.push(processName);
      return this.processNames.length - 1;
    }
    let p = this.processIds.get(processName);
    if (p === undefined) {
      p = this.processNames.length;
      this.processIds.set(processName, p);
      this.processNames.push(processName);
    }
    return p;
  }

  private invoke(processName: number | string, at: number, index: number, time: number): number {
    if (this.openOf(processName) !== -1) {
      throw new HistoryShapeError(
        `index ${index}: process ${String(processName)} invoked a txn while its previous one was still open`,
      );
    }
    const t = this.count++;
    this.ensureTxns(this.count + 1);
    this.process.array[t] = this.processIdOf(processName);
    this.invokeAt.array[t] = at;
    this.completeAt.array[t] = -1;
    this.invokeIndex.array[t] = index;
    this.committedBefore.array[t] = this.committed;
    this.commitRank.array[t] = -1;
    this.status.array[t] = TxnStatus.info;
    this.finishDescribing(t, index, time, "invoke");
    this.mopStart.array[t] = this.m;
    this.mopCount.array[t] = 0;
    return t;
  }

  /** Closes the open transaction of a process and gives it. */
  private complete(processName: number | string, index: number): number {
    const t = this.openOf(processName);
    if (t === -1) {
      throw new HistoryShapeError(
        `index ${index}: process ${String(processName)} completed a txn it never invoked`,
      );
    }
    if (isSmallProcess(processName)) this.openBySmallProcess.array[processName] = 0;
    else this.open.delete(processName);
    return t;
  }

  /** Notes that transaction t completed at history position `at`. */
  private completedAt(t: number, at: number): void {
    this.completeAt.array[t] = at;
    if (at > this.lastCompletionAt) this.lastCompletionAt = at;
  }

  private finishDescribing(t: number, index: number, time: number, type: OpType): void {
    this.opIndex.array[t] = index;
    this.opTime.array[t] = time;
    this.opType.array[t] = opTypeCode(type);
    if (type === "ok") {
      this.status.array[t] = TxnStatus.ok;
      this.commitRank.array[t] = this.committed++;
    } else if (type !== "invoke") {
      this.status.array[t] = type === "fail" ? TxnStatus.fail : TxnStatus.info;
    }
  }

  private fail(t: number, error: HistoryShapeError): void {
    if (this.firstError === undefined || t < this.firstError.t) this.firstError = { t, error };
  }

  private ensureTxns(size: number): void {
    // Every per-transaction column has the same capacity: one comparison decides for all.
    if (size <= this.status.array.length) return;
    for (const column of [
      this.status,
      this.process,
      this.invokeAt,
      this.completeAt,
      this.invokeIndex,
      this.committedBefore,
      this.commitRank,
      this.repeatsKey,
      this.opIndex,
      this.opTime,
      this.opType,
      this.mopStart,
      this.mopCount,
    ])
      column.ensure(size);
  }

  private ensureMops(size: number): void {
    // Likewise for the per-micro-op columns.
    if (size <= this.mopKind.array.length) return;
    for (const column of [
      this.mopKind,
      this.mopKey,
      this.mopLength,
      this.mopValueKind,
      this.mopValue,
      this.mopOnKeyLine,
    ])
      column.ensure(size);
  }

  /**
   * Where transaction t's `length` source micro-ops go, replacing its invocation's: over them when
   * they are as many (as they almost always are), else at the end (the table is put back in order
   * at `build`).
   */
  private resetMicroOps(t: number, length: number): void {
    if (this.mopCount.array[t] === length) return;
    if (t !== this.count - 1 || this.mopStart.array[t]! + this.mopCount.array[t]! !== this.m)
      this.relocated = true;
    else this.m = this.mopStart.array[t]!;
    this.mopStart.array[t] = this.m;
    this.mopCount.array[t] = length;
    this.ensureMops(this.m + length);
    this.m += length;
  }

  private keyIdOf(k: Key): number {
    return typeof k === "number" ? this.numberKeyId(k) : this.mappedKeyId(k);
  }

  /** A key's id through the map (every key but a small whole number), given on first sight. */
  private mappedKeyId(k: Key): number {
    let id = this.keyIds.get(k);
    if (id === undefined) {
      id = this.keys.length;
      this.keyIds.set(k, id);
      this.keys.push(k);
      this.keyAdded(id);
    }
    return id;
  }

  /** `keyIdOf` a number key. */
  private numberKeyId(k: number): number {
    if (k >= 0 && k < this.smallKeyIds.length && (k | 0) === k) {
      let id = this.smallKeyIds[k]! - 1;
      if (id === -1) {
        id = this.keys.length;
        this.smallKeyIds[k] = id + 1;
        this.keys.push(k);
        this.keyAdded(id);
      }
      return id;
    }
    return this.mappedKeyId(k);
  }

  /** Writes `value`'s micro-ops as transaction t's (at its place: see resetMicroOps); a problem, or undefined. */
  private writeMicroOps(t: number, value: readonly unknown[], index: number): HistoryShapeError | undefined {
    if (this.mopCount.array[t] === 0 && this.mopStart.array[t] === this.m) {
      this.ensureMops(this.m + value.length);
      this.mopCount.array[t] = value.length;
      this.m += value.length;
    }
    const base = this.mopStart.array[t]!;
    const writing = ++this.writings;
    this.repeatsKey.array[t] = 0;
    for (let i = 0; i < value.length; i++) {
      const mop: unknown = value[i];
      if (!Array.isArray(mop) || mop.length !== 3) return badMicroOp(index, i, mop);
      const f: unknown = mop[0];
      const k: unknown = mop[1];
      const kind = f === "r" ? MopKind.r : f === "append" ? MopKind.append : f === "w" ? MopKind.w : -1;
      if (kind === -1 || (typeof k !== "string" && typeof k !== "number")) return badMicroOp(index, i, mop);
      const at = base + i;
      this.mopKind.array[at] = kind;
      const id = this.keyIdOf(k);
      this.mopKey.array[at] = id;
      this.meetKey(t, id, writing);
      this.writeValue(at, mop[2]);
    }
    return undefined;
  }

  private writeValue(at: number, v: unknown): void {
    this.mopOnKeyLine.array[at] = 0;
    const values = this.mopValue.array;
    const lengths = this.mopLength.array;
    const kinds = this.mopValueKind.array;
    if (v === null || v === undefined) {
      lengths[at] = -1;
      kinds[at] = v === null ? MopValue.null : MopValue.undefined;
    } else if (typeof v === "number" && isInt32(v)) {
      lengths[at] = -2;
      kinds[at] = MopValue.int;
      values[at] = v;
    } else if (Array.isArray(v) && v.every((x) => typeof x === "number")) {
      lengths[at] = v.length;
      kinds[at] = MopValue.list;
      values[at] = this.elementCount;
      for (const x of v as number[]) this.pushElement(x);
    } else {
      lengths[at] = Array.isArray(v) ? v.length : -2;
      kinds[at] = MopValue.other;
      values[at] = this.others.length;
      this.others.push(Array.isArray(v) ? this.internedElements(v) : this.interned(v));
    }
  }

  /**
   * `v` as the one object kept for every value equal to it, an object's keys in any order
   * (valueText): the checkers compare values by identity (===, Map, Set), so two reads of
   * {"a":1,"b":2}, or a read of it as {"b":2,"a":1}, must come back as one reference to be one value.
   */
  private interned(v: unknown): unknown {
    return this.values.of(v, (x) => (Array.isArray(x) ? this.internedElements(x) : x));
  }

  /** A list whose elements are interned (a list read: compared element by element, not whole). */
  private internedElements(list: readonly unknown[]): readonly unknown[] {
    return list.some((x) => x !== null && typeof x === "object") ? list.map((x) => this.interned(x)) : list;
  }

  private writeScannedMicroOps(t: number, scanner: JsonlScanner): void {
    const mops = scanner.mops;
    const count = mops.count;
    if (this.mopCount.array[t] === 0 && this.mopStart.array[t] === this.m) {
      this.ensureMops(this.m + count);
      this.mopCount.array[t] = count;
      this.m += count;
    }
    const base = this.mopStart.array[t]!;
    // The columns as locals (ensureMops has run: resetMicroOps or above), for the hot loop.
    const kinds = this.mopKind.array;
    const keys = this.mopKey.array;
    const lengths = this.mopLength.array;
    const valueKinds = this.mopValueKind.array;
    const values = this.mopValue.array;
    const onLine = this.mopOnKeyLine.array;
    const { kind, keyIsString, stringKey, keyNumber, valueKind, valueNumber, listLength } = mops;
    const writing = ++this.writings;
    this.repeatsKey.array[t] = 0;
    for (let i = 0; i < count; i++) {
      const at = base + i;
      kinds[at] = kind[i]!;
      const id = keyIsString[i] === 1 ? this.keyIdOf(stringKey[i]!) : this.numberKeyId(keyNumber[i]!);
      keys[at] = id;
      this.meetKey(t, id, writing);
      const vk = valueKind[i]!;
      onLine[at] = 0;
      if (vk === ScannedValue.null) {
        lengths[at] = -1;
        valueKinds[at] = MopValue.null;
      } else if (vk === ScannedValue.number && isInt32(valueNumber[i]!)) {
        lengths[at] = -2;
        valueKinds[at] = MopValue.int;
        values[at] = valueNumber[i]!;
      } else if (vk === ScannedValue.list) {
        const length = listLength[i]!;
        lengths[at] = length;
        valueKinds[at] = MopValue.list;
        values[at] = this.placeList(keys[at]!, mops.elements, valueNumber[i]!, length, at);
      } else {
        this.writeValue(at, vk === ScannedValue.number ? valueNumber[i] : scanner.otherJson(i));
      }
    }
  }

  /** Room in the per-key columns for key id k, new: once per key, not at each micro-op that meets it. */
  private keyAdded(k: number): void {
    this.keyMetIn.ensure(k + 1);
    this.listStartByKey.ensure(k + 1);
    this.listLengthByKey.ensure(k + 1);
    this.listRoomEndByKey.ensure(k + 1);
  }

  /** Notes that transaction t's micro-ops, written in `writing`, meet key id k (again?). */
  private meetKey(t: number, k: number, writing: number): void {
    const met = this.keyMetIn.array;
    if (met[k] === writing) this.repeatsKey.array[t] = 1;
    else met[k] = writing;
  }

  /**
   * Where a list of `length` numbers of `from` (from `first`), read of key id k by micro-op `mop`,
   * is kept in `elements`: within the key's longest list so far when it is a prefix of it (equal
   * elements, compared as numbers: the scanner reads no -0); when it extends that list, the list
   * itself, extended in place by the new elements if its room holds them, else copied with room
   * to grow (twice its length); else appended. Either way `elements` gives back exactly the list
   * read. The micro-op is marked on its key's line in the first two cases.
   */
  private placeList(k: number, from: Float64Array, first: number, length: number, mop: number): number {
    const starts = this.listStartByKey.array;
    const lengths = this.listLengthByKey.array;
    const roomEnds = this.listRoomEndByKey.array;
    const known = starts[k]! - 1;
    const knownLength = lengths[k]!;
    let same = 0;
    if (known >= 0) {
      const elements = this.elements;
      const n = length < knownLength ? length : knownLength;
      while (same < n && elements[known + same] === from[first + same]) same++;
      if (same === length) {
        this.mopOnKeyLine.array[mop] = 1;
        return known;
      }
    }
    if (known >= 0 && same !== knownLength) {
      // Neither a prefix nor an extension of the key's line: kept apart.
      const at = this.elementCount;
      this.pushElements(from, first, length, length);
      return at;
    }
    this.mopOnKeyLine.array[mop] = 1;
    lengths[k] = length;
    if (known >= 0 && known + length <= roomEnds[k]!) {
      // Its first knownLength elements are there already (the line so far): only the rest is written.
      this.writeElements(known + same, from, first + same, length - same);
      return known;
    }
    const at = this.elementCount;
    // Room for the line to double, and a little more so a short first list (0 or 1 element) grows.
    const room = 2 * length + 4;
    this.pushElements(from, first, length, room);
    starts[k] = at + 1;
    roomEnds[k] = at + room;
    return at;
  }

  private pushElement(x: number): void {
    scratch[0] = x;
    this.pushElements(scratch, 0, 1, 1);
  }

  /**
   * Appends `length` numbers of `from`, starting at `first`, to the list elements, and keeps
   * `room` (at least `length`) elements for them: a key's line grows into the rest.
   */
  private pushElements(from: Float64Array, first: number, length: number, room: number): void {
    const needed = this.elementCount + room;
    if (needed > this.elements.length) {
      let capacity = this.elements.length * 2;
      while (capacity < needed) capacity *= 2;
      const grown = new (this.elements.constructor as new (n: number) => Int32Array | Float64Array)(capacity);
      grown.set(this.elements.subarray(0, this.elementCount));
      this.elements = grown;
    }
    const at = this.elementCount;
    this.elementCount = needed;
    this.writeElements(at, from, first, length);
  }

  /** Writes `length` numbers of `from`, starting at `first`, at `at` (< elementCount) in the list elements. */
  private writeElements(at: number, from: Float64Array, first: number, length: number): void {
    let elements = this.elements;
    if (elements instanceof Int32Array) {
      for (let j = 0; j < length; j++) {
        const x = from[first + j]!;
        if ((x | 0) !== x) {
          // A value an Int32Array cannot hold: every element from now on is a double.
          const wide = new Float64Array(elements.length);
          wide.set(elements.subarray(0, this.elementCount));
          this.elements = elements = wide;
          for (; j < length; j++) wide[at++] = from[first + j]!;
          break;
        }
        elements[at++] = x;
      }
    } else {
      for (let j = 0; j < length; j++) elements[at++] = from[first + j]!;
    }
  }

  /** The table; throws the error of the first transaction whose source value was malformed. */
  build(): TxnTable {
    const count = this.count;
    // Transactions never completed take their invocation's micro-ops, so its problems count.
    for (const [t, invalid] of this.openInvalid) this.fail(t, invalid);
    if (this.firstError !== undefined) throw this.firstError.error;
    // The per-transaction columns as they are, cut to the count (no copy: the builder is done).
    const take = <T extends Uint8Array | Int32Array | Float64Array>(column: Column<T>): T =>
      column.array.subarray(0, count) as T;
    let mopStart = this.mopStart.array;
    let mopKind = this.mopKind.array;
    let mopKey = this.mopKey.array;
    let mopLength = this.mopLength.array;
    let mopValueKind = this.mopValueKind.array;
    let mopValue = this.mopValue.array;
    let mopOnKeyLine = this.mopOnKeyLine.array;
    let m = this.m;
    if (this.relocated) {
      // Put every transaction's micro-ops back in transaction order.
      let total = 0;
      for (let t = 0; t < count; t++) total += this.mopCount.array[t]!;
      const start = new Int32Array(count + 1);
      const kind = new Uint8Array(total);
      const key = new Int32Array(total);
      const length = new Int32Array(total);
      const valueKind = new Uint8Array(total);
      const value = new Int32Array(total);
      const onKeyLine = new Uint8Array(total);
      let at = 0;
      for (let t = 0; t < count; t++) {
        start[t] = at;
        const from = mopStart[t]!;
        const n = this.mopCount.array[t]!;
        kind.set(mopKind.subarray(from, from + n), at);
        key.set(mopKey.subarray(from, from + n), at);
        length.set(mopLength.subarray(from, from + n), at);
        valueKind.set(mopValueKind.subarray(from, from + n), at);
        value.set(mopValue.subarray(from, from + n), at);
        onKeyLine.set(mopOnKeyLine.subarray(from, from + n), at);
        at += n;
      }
      [mopStart, mopKind, mopKey, mopLength, mopValueKind, mopValue, mopOnKeyLine, m] = [
        start,
        kind,
        key,
        length,
        valueKind,
        value,
        onKeyLine,
        total,
      ];
    }
    mopStart[count] = m;
    // Each transaction's micro-ops were charged as readTxns charges them: one step each, and one
    // (the sum over t of mopStart[t + 1] - mopStart[t] + 1, which telescopes).
    this.step(count === 0 ? 0 : mopStart[count]! - mopStart[0]! + count);
    return new CompactTxnTable({
      count,
      committedCount: this.committed,
      lastCompletionAt: this.lastCompletionAt,
      status: take(this.status),
      process: take(this.process),
      invokeAt: take(this.invokeAt),
      completeAt: take(this.completeAt),
      invokeIndex: take(this.invokeIndex),
      committedBefore: take(this.committedBefore),
      commitRank: take(this.commitRank),
      repeatsKey: take(this.repeatsKey),
      processNames: this.processNames,
      mopStart: mopStart.subarray(0, count + 1),
      mopKind: mopKind.subarray(0, m),
      mopKey: mopKey.subarray(0, m),
      mopLength: mopLength.subarray(0, m),
      mopValueKind: mopValueKind.subarray(0, m),
      mopValue: mopValue.subarray(0, m),
      mopOnKeyLine: mopOnKeyLine.subarray(0, m),
      elements: this.elements,
      others: this.others,
      keys: this.keys,
      opIndex: this.opIndex.array,
      opTime: this.opTime.array,
      opType: this.opType.array,
      completionValues: this.completionValues,
      completionTexts: this.completionTexts,
    });
  }
}

/** One number for `pushElement`. */
const scratch = new Float64Array(1);

const opTypes: readonly OpType[] = ["invoke", "ok", "fail", "info"];
/** `opTypes.indexOf(type)`, without a search per operation. */
const opTypeCode = (type: OpType): number =>
  type === "invoke" ? 0 : type === "ok" ? 1 : type === "fail" ? 2 : type === "info" ? 3 : -1;

interface CompactParts {
  readonly count: number;
  readonly committedCount: number;
  readonly lastCompletionAt: number;
  readonly status: Uint8Array;
  readonly process: Int32Array;
  readonly invokeAt: Int32Array;
  readonly completeAt: Int32Array;
  readonly invokeIndex: Float64Array;
  readonly committedBefore: Int32Array;
  readonly commitRank: Int32Array;
  readonly repeatsKey: Uint8Array;
  readonly processNames: readonly (number | string)[];
  readonly mopStart: Int32Array;
  readonly mopKind: Uint8Array;
  readonly mopKey: Int32Array;
  readonly mopLength: Int32Array;
  readonly mopValueKind: Uint8Array;
  readonly mopValue: Int32Array;
  readonly mopOnKeyLine: Uint8Array;
  readonly elements: Int32Array | Float64Array;
  readonly others: readonly unknown[];
  readonly keys: readonly Key[];
  readonly opIndex: Float64Array;
  readonly opTime: Float64Array;
  readonly opType: Uint8Array;
  readonly completionValues: ReadonlyMap<number, unknown>;
  readonly completionTexts: ReadonlyMap<number, string>;
}

class CompactTxnTable implements TxnTable {
  readonly count: number;
  readonly committedCount: number;
  readonly lastCompletionAt: number;
  readonly status: Uint8Array;
  readonly process: Int32Array;
  readonly invokeAt: Int32Array;
  readonly completeAt: Int32Array;
  readonly invokeIndex: Float64Array;
  readonly committedBefore: Int32Array;
  readonly commitRank: Int32Array;
  readonly repeatsKey: Uint8Array;
  readonly processNames: readonly (number | string)[];
  readonly mopStart: Int32Array;
  readonly mopKind: Uint8Array;
  readonly mopKey: Int32Array;
  readonly mopLength: Int32Array;
  readonly keys: readonly Key[];
  readonly mopValueKind: Uint8Array;
  readonly mopValue: Int32Array;
  readonly listElements: Int32Array | Float64Array;
  readonly mopOnKeyLine: Uint8Array;
  private readonly parts: CompactParts;

  constructor(parts: CompactParts) {
    this.parts = parts;
    this.listElements = parts.elements;
    this.count = parts.count;
    this.committedCount = parts.committedCount;
    this.lastCompletionAt = parts.lastCompletionAt;
    this.status = parts.status;
    this.process = parts.process;
    this.invokeAt = parts.invokeAt;
    this.completeAt = parts.completeAt;
    this.invokeIndex = parts.invokeIndex;
    this.committedBefore = parts.committedBefore;
    this.commitRank = parts.commitRank;
    this.repeatsKey = parts.repeatsKey;
    this.processNames = parts.processNames;
    this.mopStart = parts.mopStart;
    this.mopKind = parts.mopKind;
    this.mopKey = parts.mopKey;
    this.mopValueKind = parts.mopValueKind;
    this.mopValue = parts.mopValue;
    this.mopLength = parts.mopLength;
    this.mopOnKeyLine = parts.mopOnKeyLine;
    this.keys = parts.keys;
  }

  valueAt(i: number): unknown {
    const { mopValueKind, mopValue, elements, others } = this.parts;
    switch (mopValueKind[i]) {
      case MopValue.null:
        return null;
      case MopValue.undefined:
        return undefined;
      case MopValue.int:
        return mopValue[i];
      case MopValue.list: {
        // A plain loop: Array.from over a typed array walks an iterator, several times slower.
        const first = mopValue[i]!;
        const length = this.mopLength[i]!;
        const list = new Array<number>(length);
        for (let j = 0; j < length; j++) list[j] = elements[first + j]!;
        return list;
      }
      default:
        return others[mopValue[i]!];
    }
  }

  listElement(i: number, j: number): unknown {
    const { mopValueKind, mopValue, elements, others } = this.parts;
    if (mopValueKind[i] === MopValue.list) return elements[mopValue[i]! + j];
    return (others[mopValue[i]!] as readonly unknown[])[j];
  }

  microOpsOf(t: number): readonly MicroOp[] {
    const mops: MicroOp[] = [];
    for (let i = this.mopStart[t]!; i < this.mopStart[t + 1]!; i++)
      mops.push([kindNames[this.mopKind[i]!]!, this.keys[this.mopKey[i]!]!, this.valueAt(i)]);
    return mops;
  }

  opOf(t: number): Op {
    const { opIndex, opTime, opType, completionValues, completionTexts } = this.parts;
    const type = opTypes[opType[t]!]!;
    const text = completionTexts.get(t);
    const value =
      text !== undefined
        ? parseJsonExact(text)
        : completionValues.has(t)
          ? completionValues.get(t)
          : this.microOpsOf(t);
    return {
      index: opIndex[t]!,
      time: opTime[t]!,
      process: this.processNames[this.process[t]!]! as Op["process"],
      type,
      f: "txn",
      value,
    };
  }
}

/** A key or value as a person reads it in an explanation. */
export function show(x: unknown): string {
  return x === undefined ? "nil" : displayText(x);
}

export type { Key };
