/**
 * List-append: every write appends a value, unique per key, to a list; every read returns the
 * whole list. That makes versions recoverable: each read is a prefix of the key's history, so the
 * longest committed read of a key, without repeats, is its version order as far as anyone saw
 * (Elle takes the same read), and every other read must be a prefix of it, else two reads came
 * from incompatible timelines (incompatible-order). From the version order follow Adya's
 * dependencies: ww (T2 appended right after T1), wr (T2 read a list ending in T1's append), rw (T1
 * read a list that T2's append later extended).
 *
 * Appends no read observed. A committed append of v to k that no read shows still happened, and
 * every read is a prefix of the final list, so v sits after the last element any read saw (after
 * the empty list when no read saw anything): its writer follows that element's writer (ww), and
 * every transaction whose read of k shows the whole known order did not observe it (rw). This is
 * Elle's rule; it turns plain write skew (each transaction read the empty list of a key the other
 * appended to) into G2-item, and an acknowledged append a later read misses into a realtime
 * anomaly. Where faultline goes further, it stays sound:
 * - an append of an `info` transaction that no read shows is not placed at all: the transaction
 *   may never have happened, and an edge into it could only close a cycle that is not there (Elle
 *   places it);
 * - a transaction's own appends to one key keep their order and stay together: a read that shows
 *   its later append without the earlier one, or before it, is incompatible-order (Elle misses
 *   it), and one that shows another transaction's append between them is a ww cycle (G0);
 * - keys whose reads disagree or repeat elements are still inferred from (as Elle does), so G1c
 *   and the rest are named beside incompatible-order and duplicate-elements; a read that is not
 *   a prefix of the order gives only its wr edge (what it observed), never an rw edge (where it
 *   sits in the order is unknown).
 *
 * Alongside, the anomalies that need no cycle: duplicate-elements, G1a (a read saw an append of a
 * transaction that failed), G1b (a read ended in an append its writer later followed with another
 * on the same key), dirty-update (a committed append landed after a failed one), internal (a
 * transaction's read contradicts its own earlier reads and appends), future-read (a read saw an
 * append its own transaction made only later), lost-update (two committed transactions read the
 * same version of a key and both appended to it), and, beyond Elle, garbage-read (a read saw a value
 * that no transaction ever appended). Keys to which one value was appended twice have no
 * recoverable order: they give no edges, and the verdict cannot be a clean "valid".
 */
import type { Budget } from "../../harness/budget.ts";
import type { Key, MicroOp } from "../../harness/history/op.ts";
import { HistoryShapeError } from "../../harness/history/op.ts";
import { noArena, type Allocator } from "./arena.ts";
import { EdgeKind, type EdgeList } from "./graph.ts";
import {
  txnData,
  type AnomalySink,
  type EdgeReason,
  type NameOf,
  type WorkloadInference,
} from "./inference.ts";
import { MopKind, MopValue, show, TxnStatus, type TxnTable } from "./txns.ts";
import { AppendIndex, AppendStats } from "./value-table.ts";
import { describeFound } from "../../harness/history/validate.ts";
import { sameValue, ValueInterner, valueText } from "../../harness/history/valueText.ts";

const empty: readonly unknown[] = [];
const noTxns: readonly number[] = [];

function readList(value: unknown, t: number, txns: TxnTable): readonly unknown[] {
  if (value === null || value === undefined) return empty;
  if (!Array.isArray(value)) {
    throw new HistoryShapeError(
      `index ${txns.opOf(t).index}: a list-append read must return a list or null, got ${describeFound(value)}`,
    );
  }
  return value;
}

/**
 * Entry of a value in the append table: writer * 4, plus 1 if the writer appended to the key again
 * later (reading it is G1b), plus 2 if the writer appended to the key before (its order matters).
 */
const writerOfEntry = (entry: number): number => (entry < 0 ? -1 : entry >> 2);
const intermediateEntry = (entry: number): boolean => entry >= 0 && (entry & 1) === 1;
const laterAppendEntry = (entry: number): boolean => entry >= 0 && (entry & 2) === 2;

function txnLabel(txns: TxnTable, t: number): string {
  const op = txns.opOf(t);
  return `the txn at index ${op.index} (process ${String(op.process)}, ${op.type})`;
}

/** Everything the steps of the inference share. */
class ListAppend {
  readonly keyCount: number;
  readonly notes: string[] = [];
  /**
   * Keys whose order cannot be recovered (a value appended twice, which Elle refuses outright): no
   * edges, and no anomaly that needs to know which append a read shows (duplicate elements, G1a,
   * G1b, dirty updates, a transaction's own order); garbage reads and incompatible orders stand.
   */
  readonly excluded: Uint8Array;
  table!: AppendIndex;
  appendKey!: Int32Array;
  /** The table slot of each append (see `indexTxns`). */
  appendSlot!: Int32Array;
  /**
   * Each key's chosen read (raw, repeats kept: `longestOf`) and its order (repeats dropped:
   * `orderOf`), as their lengths. The lists themselves are rebuilt only where elements are looked
   * at other than through the table (a report, a read not known to be a prefix, an order with
   * repeats dropped): a valid history's orders are placed from the table's elements directly.
   */
  longestLength!: Int32Array;
  orderLength!: Int32Array;
  /** The read micro-op whose list is the key's longest (-1: none). */
  longestRead!: Int32Array;
  private readonly longestLists: (readonly unknown[] | undefined)[];
  /** A key's order when it is not its longest read (repeats dropped). */
  readonly orderLists: (readonly unknown[] | undefined)[];
  /** Writer of each position of each key's order, flat: orderStart[k] + i. */
  orderStart!: Int32Array;
  orderWriter!: Int32Array;
  /** The table entry of each position of each key's order, flat likewise (-1: nobody appended it). */
  orderEntry!: Int32Array;
  /** For each flat read micro-op: the number of order elements it shows when compatible, else -1. */
  readLength!: Int32Array;
  /** Position in the order of the first element whose writer failed or does not exist. */
  readonly firstBadAt: Float64Array;
  /** Committed writers of appends no read shows, per key. */
  readonly unobserved: (number[] | undefined)[];
  readonly incompatibleReported: Uint8Array;
  /**
   * 1 for a key some transaction appended to more than once (an entry flagged "appended before"):
   * only such a key's reads can break a transaction's own order (`checkOwnAppendOrder`).
   */
  readonly appendedAgain: Uint8Array;
  /**
   * The appends flagged "appended before" (see `appendedAgain`) whose value a read can show (see
   * `foundAgain`: not NaN), by number (an index into `appendKey`), in order; and for each, its
   * transaction's append to the key just before it.
   */
  readonly laterAppends: number[] = [];
  readonly earlierAppends: number[] = [];

  constructor(
    readonly txns: TxnTable,
    readonly sink: AnomalySink,
    readonly allocate: Allocator,
    readonly budget: Budget | undefined,
  ) {
    this.keyCount = txns.keys.length;
    this.excluded = allocate.uint8(this.keyCount);
    this.longestLists = new Array<readonly unknown[] | undefined>(this.keyCount);
    this.orderLists = new Array<readonly unknown[] | undefined>(this.keyCount);
    this.firstBadAt = allocate.float64(this.keyCount).fill(Infinity);
    this.unobserved = new Array<number[] | undefined>(this.keyCount);
    this.incompatibleReported = allocate.uint8(this.keyCount);
    this.appendedAgain = allocate.uint8(this.keyCount);
  }

  /** Key k's longest read, as a list (one list per key, kept once built). */
  longestOf(k: number): readonly unknown[] {
    let list = this.longestLists[k];
    if (list === undefined) {
      const i = this.longestRead[k]!;
      list = i >= 0 ? readList(this.txns.valueAt(i), -1, this.txns) : empty;
      this.longestLists[k] = list;
    }
    return list;
  }

  /** Key k's order, as a list. */
  orderOf(k: number): readonly unknown[] {
    return this.orderLists[k] ?? this.longestOf(k);
  }

  /** The value of flat micro-op i, which belongs to transaction t. */
  valueAt(_t: number, i: number): unknown {
    return this.txns.valueAt(i);
  }

  label(t: number): string {
    return txnLabel(this.txns, t);
  }

  entryOf(k: number, v: unknown): number {
    const slot = this.table.slotOf(k, v, false);
    return slot === -1 ? -1 : this.table.entry(slot);
  }

  step(count = 1): void {
    this.budget?.step(count);
  }
}

/**
 * 1. Who appended what (values must be unique per key), and each key's longest committed read.
 *
 * Each loop over the micro-ops is a function of its own, here and in the steps below: V8 compiles
 * a loop that runs long while it runs (on-stack replacement), and compiles the whole function it
 * is in; in a function of several loops, that code then stops at the next loop, which has not run
 * yet (no type feedback), and the function is compiled again for it, once per loop.
 */
function indexAppends(la: ListAppend): void {
  const { txns, allocate } = la;
  const stats = new AppendStats(la.keyCount, allocate);
  const appendCount = gatherAppendStats(txns, stats);
  la.table = new AppendIndex(la.keyCount, stats, allocate);
  // Filled by indexTxns, append by append.
  la.appendKey = allocate.int32(appendCount);
  la.appendSlot = allocate.int32(appendCount);
  la.longestRead = allocate.int32(la.keyCount).fill(-1);
  indexTxns(la);
  // The slots kept as the appends were indexed stand: the table is sized for them all, so that
  // indexing them never grows it (which would move its slots).
  if (la.table.slotsMoved) throw new Error("internal: the append table grew while its appends were indexed");
  // A key never read, or read only as null, has an empty longest read.
  for (let k = 0; k < la.keyCount; k++) if (la.longestLength[k]! < 0) la.longestLength[k] = 0;
}

/**
 * Whether flat micro-op i's value is found again where a read shows it: by the value table (lists
 * and objects by their text, so an appended list read back as a new one is the same value) and by
 * `sameValue`. NaN is not: no read shows it (JSON has no NaN) and it equals nothing.
 */
function foundAgain(txns: TxnTable, i: number): boolean {
  const v = txns.mopValueKind[i] === MopValue.other ? txns.valueAt(i) : 0;
  return v === v;
}

/**
 * The number of append micro-ops, and per key (into `stats`) how many, their least and greatest
 * values, and whether any was not an int32: what the append table lays its keys out by, in one
 * pass.
 */
function gatherAppendStats(txns: TxnTable, stats: AppendStats): number {
  const { mopKind, mopKey, mopValueKind, mopValue } = txns;
  const { count, min, max, irregular } = stats;
  let appends = 0;
  for (let i = 0; i < mopKind.length; i++) {
    if (mopKind[i] !== MopKind.append) continue;
    appends++;
    const k = mopKey[i]!;
    count[k]!++;
    if (mopValueKind[i] !== MopValue.int) {
      irregular[k] = 1;
    } else {
      const v = mopValue[i]!;
      if (v < min[k]!) min[k] = v;
      if (v > max[k]!) max[k] = v;
    }
  }
  return appends;
}

/**
 * Each append's key and slot in the table (appends numbered in the order of the micro-ops), the
 * table's entries, and each key's longest committed read (`longestRead`).
 */
function indexTxns(la: ListAppend): void {
  const { txns, table, appendKey } = la;
  const { mopStart, mopKind, mopKey, mopValueKind, mopValue, mopLength, keys, status } = txns;
  let repeatedKeys = 0;
  let firstRepeated: unknown;
  const longestLength = (la.longestLength = la.allocate.int32(la.keyCount).fill(-1));
  const longestRead = la.longestRead;
  /** The flat micro-ops of the transaction's appends (its flags compare them only with each other). */
  let appendsOfTxn = new Int32Array(64);
  let firstAppend = 0; // the number (in `appendKey`) of the transaction's first append
  for (let t = 0; t < txns.count; t++) {
    const start = mopStart[t]!;
    const end = mopStart[t + 1]!;
    const ok = status[t] === TxnStatus.ok;
    la.step(end - start + 1);
    if (end - start > appendsOfTxn.length) appendsOfTxn = new Int32Array(end - start);
    // A transaction that meets no key twice (most): each append's flags are 0 and its place among
    // the transaction's is a count, so its appends are not gathered and compared first.
    const repeats = txns.repeatsKey[t] === 1;
    let appends = 0;
    if (repeats)
      for (let i = start; i < end; i++) if (mopKind[i] === MopKind.append) appendsOfTxn[appends++] = i;
    let seen = 0; // appends met so far (where no key repeats)
    for (let i = start; i < end; i++) {
      const kind = mopKind[i]!;
      const k = mopKey[i]!;
      if (kind === MopKind.r) {
        if (!ok) continue;
        const length = mopLength[i]!;
        if (length === -2) readList(la.valueAt(t, i), t, txns); // throws: not a list
        if (length > longestLength[k]!) {
          longestLength[k] = length;
          longestRead[k] = i;
        }
        continue;
      }
      if (kind === MopKind.w) {
        throw new HistoryShapeError(
          `index ${txns.opOf(t).index}: a list-append history has only "append" and "r" micro-ops, got "w"`,
        );
      }
      let flags = 0;
      let self = repeats ? 0 : seen++; // this append's place among the transaction's
      let earlier = -1; // the place of its append to k just before this one
      for (let a = 0; a < appends; a++) {
        const j = appendsOfTxn[a]!;
        if (j === i) self = a;
        else if (mopKey[j] === k) {
          flags |= j > i ? 1 : 2;
          if (j < i) earlier = a;
        }
      }
      if ((flags & 2) !== 0) {
        la.appendedAgain[k] = 1;
        if (foundAgain(txns, i)) {
          la.laterAppends.push(firstAppend + self);
          la.earlierAppends.push(firstAppend + earlier);
        }
      }
      const slot = table.slotOf(k, mopValueKind[i] === MopValue.int ? mopValue[i] : la.valueAt(t, i), true);
      appendKey[firstAppend + self] = k;
      la.appendSlot[firstAppend + self] = slot;
      const previous = table.entry(slot);
      if (previous !== -1) {
        if (la.excluded[k] === 0 && repeatedKeys++ === 0) firstRepeated = keys[k];
        la.excluded[k] = 1;
      }
      table.setEntry(slot, t * 4 + flags);
    }
    firstAppend += repeats ? appends : seen;
  }
  if (repeatedKeys > 0) {
    la.notes.push(
      `${repeatedKeys} key(s) received the same value twice (first: ${show(firstRepeated)}), so their version order cannot be inferred`,
    );
  }
}

/**
 * 2. Each key's order: its longest read without repeats. Writers along it, positions in the table,
 *    the first element nobody (or a failed transaction) appended, duplicates and dirty updates.
 */
function placeOrders(la: ListAppend): void {
  const { txns } = la;
  la.orderStart = la.allocate.int32(la.keyCount + 1);
  la.orderLength = la.allocate.int32(la.keyCount);
  // Room for every longest read whole: an order is never longer than its read.
  let room = 0;
  for (let k = 0; k < la.keyCount; k++) room += la.longestLength[k]!;
  la.orderWriter = la.allocate.int32(room);
  la.orderEntry = la.allocate.int32(room);
  for (let k = 0; k < la.keyCount; k++) {
    // Most reads repeat nothing and show only appended values: placed as they are, a repeat shown
    // by a position already set (each slot is one key's). Else the repeats are dropped first.
    let length = la.longestLength[k]!;
    if (!placeLongestRead(la, k)) {
      const raw = la.longestOf(k);
      const order = new Set(raw).size === raw.length ? raw : [...new Set(raw)];
      if (order !== raw) la.orderLists[k] = order;
      length = order.length;
      la.firstBadAt[k] = Infinity;
      placeOrder(la, k, order, false);
    }
    la.orderLength[k] = length;
    la.orderStart[k + 1] = la.orderStart[k]! + length;
    la.step(length + 1);
    // A key that received a value twice may show it twice: no anomaly there (see `excluded`).
    if (length !== la.longestLength[k] && la.excluded[k] === 0) {
      const raw = la.longestOf(k);
      la.sink.add("duplicate-elements", () => ({
        explanation: `A read of key ${show(txns.keys[k])} returned ${show(raw)}, in which some element appears more than once, although every append is unique.`,
        key: txns.keys[k],
        value: raw,
      }));
    }
    // A dirty update builds on a failed append: none where no element's writer failed (firstBadAt
    // marks the first element whose writer failed or does not exist).
    if (la.excluded[k] === 0 && la.firstBadAt[k] !== Infinity) reportDirtyUpdates(la, k);
  }
}

/**
 * `placeOrder(la, k, la.longestOf(k), true)`, the elements read from the table when the read is
 * a list of numbers there (no list is built).
 */
function placeLongestRead(la: ListAppend, k: number): boolean {
  const { txns, table } = la;
  const i = la.longestRead[k]!;
  if (i < 0 || txns.mopValueKind[i] !== MopValue.list) return placeOrder(la, k, la.longestOf(k), true);
  const { status, listElements } = txns;
  const first = txns.mopValue[i]!;
  const length = la.longestLength[k]!;
  const base = la.orderStart[k]!;
  for (let j = 0; j < length; j++) {
    const slot = table.slotOf(k, listElements[first + j], false);
    if (slot === -1 || table.position(slot) !== -1) return false;
    const entry = table.entry(slot);
    const w = writerOfEntry(entry);
    la.orderWriter[base + j] = w;
    la.orderEntry[base + j] = entry;
    table.setPosition(slot, j);
    if ((w === -1 || status[w] === TxnStatus.fail) && la.firstBadAt[k] === Infinity) la.firstBadAt[k] = j;
  }
  return true;
}

/**
 * Places `order` as key k's order (from orderStart[k]): the writer of each element, its position
 * in the table, the first bad element. True when done. With `stopAtDoubt`, false, having stopped,
 * at an element no transaction appended (a repeat of it would not show) or at one placed before
 * in `order`: the caller places the order again once it has dropped its repeats (the positions
 * and writers placed so far are then overwritten).
 */
function placeOrder(la: ListAppend, k: number, order: readonly unknown[], stopAtDoubt: boolean): boolean {
  const { table } = la;
  const { status } = la.txns;
  const base = la.orderStart[k]!;
  for (let i = 0; i < order.length; i++) {
    const slot = table.slotOf(k, order[i], false);
    if (stopAtDoubt && (slot === -1 || table.position(slot) !== -1)) return false;
    const entry = slot === -1 ? -1 : table.entry(slot);
    const w = writerOfEntry(entry);
    la.orderWriter[base + i] = w;
    la.orderEntry[base + i] = entry;
    if (slot !== -1) table.setPosition(slot, i);
    if ((w === -1 || status[w] === TxnStatus.fail) && la.firstBadAt[k] === Infinity) la.firstBadAt[k] = i;
  }
  return true;
}

/**
 * Elle's dirty update: along the order, a committed append after a failed one, with nothing but
 * appends of unknown outcome between them, built on a write that never happened.
 */
function reportDirtyUpdates(la: ListAppend, k: number): void {
  const { txns, sink } = la;
  const order = la.orderOf(k);
  const base = la.orderStart[k]!;
  let anchor = -1; // writer of the last decided element; -1: the initial state (committed)
  // The elements since the anchor's (its own first): since[0 .. sinceLength), kept in place (a
  // report takes a copy). A length of its own: emptying the array by its length at every decided
  // element of every order cost about as much as the rest of this loop.
  const since: unknown[] = [];
  let sinceLength = 0;
  for (let i = 0; i < order.length; i++) {
    const w = la.orderWriter[base + i]!;
    if (w === -1) continue;
    const status = txns.status[w]!;
    const anchorFailed = anchor !== -1 && txns.status[anchor] === TxnStatus.fail;
    if (status === TxnStatus.info) {
      since[sinceLength++] = order[i];
      continue;
    }
    if (status === TxnStatus.ok && anchorFailed) {
      const values = [...since.slice(0, sinceLength), order[i]];
      const failed = anchor;
      sink.add("dirty-update", () => ({
        explanation: `On key ${show(txns.keys[k])}, ${la.label(w)} appended ${show(order[i])} after ${show(values[0])}, which ${la.label(failed)} appended and then failed: a committed write built on an aborted one.`,
        key: txns.keys[k],
        values,
        aborted: txnData(txns, failed),
        op: txnData(txns, w),
      }));
    }
    if (status === TxnStatus.fail && anchorFailed) {
      since[sinceLength++] = order[i];
      continue;
    }
    anchor = w;
    since[0] = order[i];
    sinceLength = 1;
  }
}

/** Reports G1a and garbage reads among `list[from..]`, read by `reader`. */
function reportBadElements(
  la: ListAppend,
  k: number,
  list: readonly unknown[],
  from: number,
  reader: number,
): void {
  const { txns, sink } = la;
  const keys = txns.keys;
  for (let i = from; i < list.length; i++) {
    const v = list[i];
    const w = writerOfEntry(la.entryOf(k, v));
    if (w === -1) {
      sink.add("garbage-read", () => ({
        explanation: `${la.label(reader)} read key ${show(keys[k])} = ${show(list)}, which contains ${show(v)}, a value no transaction ever appended.`,
        key: keys[k],
        value: v,
        op: txnData(txns, reader),
      }));
    } else if (txns.status[w] === TxnStatus.fail && la.excluded[k] === 0) {
      // (Of a value appended twice, the writer kept is the last one: it says nothing of the other.)
      sink.add("G1a", () => ({
        explanation: `${la.label(reader)} read key ${show(keys[k])} = ${show(list)}, which contains ${show(v)}, appended by ${la.label(w)}, which failed (did not commit).`,
        key: keys[k],
        value: v,
        op: txnData(txns, reader),
        writer: txnData(txns, w),
      }));
    }
  }
}

/** Whether read micro-op i's list (of `size` elements) is a prefix of `of`, without rebuilding it. */
function isPrefixRead(txns: TxnTable, i: number, size: number, of: readonly unknown[]): boolean {
  if (size > of.length) return false;
  if (txns.mopValueKind[i] === MopValue.list) {
    const start = txns.mopValue[i]!;
    const elements = txns.listElements;
    for (let j = 0; j < size; j++) if (elements[start + j] !== of[j]) return false;
    return true;
  }
  for (let j = 0; j < size; j++) if (txns.listElement(i, j) !== of[j]) return false;
  return true;
}

/**
 * `isPrefixRead` of key k's longest read, compared in the table when both are lists of numbers
 * there (the longest read is not rebuilt).
 */
function isPrefixOfLongest(la: ListAppend, i: number, size: number, k: number): boolean {
  const { txns } = la;
  if (size > la.longestLength[k]!) return false;
  const longest = la.longestRead[k]!;
  if (longest < 0 || txns.mopValueKind[i] !== MopValue.list || txns.mopValueKind[longest] !== MopValue.list)
    return isPrefixRead(txns, i, size, la.longestOf(k));
  const elements = txns.listElements;
  const start = txns.mopValue[i]!;
  const of = txns.mopValue[longest]!;
  for (let j = 0; j < size; j++) if (elements[start + j] !== elements[of + j]) return false;
  return true;
}

/** The last element of read micro-op i's list of `size` (> 0) elements. */
function lastElement(txns: TxnTable, i: number, size: number): unknown {
  return txns.mopValueKind[i] === MopValue.list
    ? txns.listElements[txns.mopValue[i]! + size - 1]
    : txns.listElement(i, size - 1);
}

/**
 * 4. Every committed read: compatible (a prefix of its key's longest read, and so of the order)
 *    or not (incompatible-order, its own duplicates, G1a and garbage reads); G1b either way. Its
 *    wr and rw edges are added as it is classified (`addReadEdges`): one pass over the reads, and
 *    the writer of its last element looked up once, for G1b and its wr edge both.
 */
function classifyReads(la: ListAppend, edges: EdgeList): void {
  const { txns, sink, allocate } = la;
  const { status, mopStart, mopKind, mopKey, mopLength, mopOnKeyLine, keys } = txns;
  const readLength = (la.readLength = allocate.int32(mopKind.length).fill(-1));
  // The steps' columns as locals: the calls below (reports, edges) leave them be.
  const { longestLength: longestLengths, orderLength, longestRead, excluded, orderEntry, orderStart } = la;
  const { firstBadAt } = la;
  for (let t = 0; t < txns.count; t++) {
    if (status[t] !== TxnStatus.ok) continue;
    la.step(mopStart[t + 1]! - mopStart[t]! + 1);
    for (let i = mopStart[t]!; i < mopStart[t + 1]!; i++) {
      if (mopKind[i] !== MopKind.r) continue;
      const k = mopKey[i]!;
      const length = mopLength[i]!;
      if (length === -2) readList(la.valueAt(t, i), t, txns); // throws: not a list
      const size = length < 0 ? 0 : length;
      const longestLength = longestLengths[k]!;
      // The key's order is its longest read (no repeats dropped).
      const orderIsLongest = orderLength[k] === longestLength;
      // Both on the key's line (see TxnTable.mopOnKeyLine): a prefix by their lengths alone.
      const compatible =
        (size <= longestLength && mopOnKeyLine[i] === 1 && mopOnKeyLine[longestRead[k]!] === 1) ||
        isPrefixOfLongest(la, i, size, k);
      // The entry of the writer of the read's last element (-1: none, an empty read, or a key
      // whose order cannot be recovered): a compatible read's last element, when its key's order
      // is its longest read (no repeats), is the order's element at the same place.
      let lastEntry = -1;
      if (size > 0 && excluded[k] === 0) {
        lastEntry =
          compatible && orderIsLongest
            ? orderEntry[orderStart[k]! + size - 1]!
            : la.entryOf(k, lastElement(txns, i, size));
        // G1b only where the writer appended to the key again later (its entry says so).
        if (intermediateEntry(lastEntry)) reportIntermediateRead(la, k, i, size, t, lastEntry);
      }
      if (compatible) {
        const n = orderIsLongest ? size : distinctCount(la, k, size);
        readLength[i] = n;
        // Elements before the first bad one are good in every compatible read (with repeats,
        // positions in the read and in the order differ: look at the whole read then).
        const from = orderIsLongest ? firstBadAt[k]! : 0;
        if (n > firstBadAt[k]!) reportBadElements(la, k, readList(la.valueAt(t, i), t, txns), from, t);
        if (excluded[k] === 0) addReadEdges(la, edges, t, i, k, lastEntry);
        continue;
      }
      const list = readList(la.valueAt(t, i), t, txns);
      la.step(list.length);
      if (la.incompatibleReported[k] === 0) {
        la.incompatibleReported[k] = 1;
        const longest = la.longestOf(k);
        sink.add("incompatible-order", () => ({
          explanation: `Key ${show(keys[k])} was read as ${show(list)} and as ${show(longest)}: neither is a prefix of the other, so they cannot both come from one order of appends.`,
          key: keys[k],
          values: [list, longest],
          op: txnData(txns, t),
        }));
      }
      if (new Set(list).size !== list.length && la.excluded[k] === 0) {
        sink.add("duplicate-elements", () => ({
          explanation: `${la.label(t)} read key ${show(keys[k])} = ${show(list)}, in which some element appears more than once, although every append is unique.`,
          key: keys[k],
          value: list,
          op: txnData(txns, t),
        }));
      }
      reportBadElements(la, k, list, 0, t);
      if (la.excluded[k] === 0) {
        checkOwnAppendOrder(la, k, list, t);
        addReadEdges(la, edges, t, i, k, lastEntry);
      }
    }
  }
}

/**
 * 4c. Each key's longest read, checked against its transactions' own orders of appends, as
 *     `checkOwnAppendOrder` checks a read (after `classifyReads`, whose reports come first). A
 *     longest read without repeats is its key's order, placed in the table: then only the appends
 *     that followed one of their transaction's own to the key (`laterAppends`) are looked at, each
 *     where the order has it, rather than every element of every key's read.
 */
function checkLongestOwnOrders(la: ListAppend): void {
  const placed = ownOrderPaths.placed;
  const breakAt = placed ? firstOwnOrderBreaks(la) : undefined;
  for (let k = 0; k < la.keyCount; k++) {
    if (la.longestLength[k] === 0 || la.excluded[k] !== 0) continue;
    if (breakAt === undefined || la.orderLength[k] !== la.longestLength[k]) {
      checkOwnAppendOrder(la, k, la.longestOf(k), -1);
      continue;
    }
    const i = breakAt[k]!;
    if (i === -1 || la.incompatibleReported[k] === 2) continue;
    const longest = la.longestOf(k);
    const before = previousAppend(la, writerOfEntry(la.entryOf(k, longest[i])), k, longest[i]);
    const at = positionOf(la, k, before);
    reportOwnOrderBreak(la, k, longest, i, before, at === -1 ? undefined : at, -1);
  }
}

/**
 * Which path checks a key's longest read against its transactions' own orders: `placed` (the
 * default) by the table's positions where the read is the key's order; tests turn it off to hold
 * it to `checkOwnAppendOrder`, which looks at every element.
 */
export const ownOrderPaths = { placed: true };

/** Where value v sits in key k's order (-1: not there). */
function positionOf(la: ListAppend, k: number, v: unknown): number {
  const slot = la.table.slotOf(k, v, false);
  return slot === -1 ? -1 : la.table.position(slot);
}

/**
 * Per key whose order is its longest read (not excluded), the first position in the order whose
 * element a transaction appended after another of its own to the key, which the order shows
 * later or not at all (-1: none).
 */
function firstOwnOrderBreaks(la: ListAppend): Int32Array {
  const { table, laterAppends, earlierAppends, appendSlot } = la;
  const breakAt = la.allocate.int32(la.keyCount).fill(-1);
  for (let n = 0; n < laterAppends.length; n++) {
    const a = laterAppends[n]!;
    const k = la.appendKey[a]!;
    if (la.excluded[k] !== 0 || la.orderLength[k] !== la.longestLength[k]) continue;
    const at = table.position(appendSlot[a]!);
    if (at === -1 || (breakAt[k] !== -1 && breakAt[k]! <= at)) continue;
    const beforeAt = table.position(appendSlot[earlierAppends[n]!]!);
    if (beforeAt === -1 || beforeAt >= at) breakAt[k] = at;
  }
  return breakAt;
}

/** The number of distinct elements among the first `length` of key k's longest read. */
function distinctCount(la: ListAppend, k: number, length: number): number {
  if (la.orderLength[k] === la.longestLength[k]) return length;
  const longest = la.longestOf(k);
  // Lists and objects by value: a list read back is a new one each time.
  const interner = new ValueInterner();
  return new Set(longest.slice(0, length).map((v) => interner.of(v))).size;
}

/**
 * G1b: a read ending in an append its writer followed with another append to the same key
 * (`entry`: the entry of its last element's writer).
 */
function reportIntermediateRead(
  la: ListAppend,
  k: number,
  i: number,
  size: number,
  t: number,
  entry: number,
): void {
  const { txns } = la;
  const w = writerOfEntry(entry);
  if (w === -1 || w === t || !intermediateEntry(entry)) return;
  const last = lastElement(txns, i, size);
  const list = readList(txns.valueAt(i), t, txns);
  la.sink.add("G1b", () => ({
    explanation: `${la.label(t)} read key ${show(txns.keys[k])} = ${show(list)}, ending in ${show(last)}, an intermediate state: ${la.label(w)} appended ${show(last)} and then appended again to the same key.`,
    key: txns.keys[k],
    value: last,
    op: txnData(txns, t),
    writer: txnData(txns, w),
  }));
}

/**
 * A transaction's appends to one key take effect in its order: a read showing one of them must
 * show the same transaction's previous append to that key, earlier. (One that shows another
 * transaction's append between them is a ww cycle the graph finds.) Reported once per key; `t` is
 * the reader, or -1 for the key's longest read.
 */
function checkOwnAppendOrder(la: ListAppend, k: number, list: readonly unknown[], t: number): void {
  // No append to k follows another of its transaction's: no element below can break an order.
  if (la.incompatibleReported[k] === 2 || la.appendedAgain[k] === 0) return;
  // Each element's first place in the list, by its slot in the value table (an appended list read
  // back is a new list: its slot is the appended one's).
  let positions: Map<number, number> | undefined;
  for (let i = 0; i < list.length; i++) {
    const entry = la.entryOf(k, list[i]);
    if (!laterAppendEntry(entry)) continue;
    const before = previousAppend(la, writerOfEntry(entry), k, list[i]);
    if (before === undefined) continue;
    positions ??= new Map(list.map((v, at) => [la.table.slotOf(k, v, false), at] as const).reverse());
    const at = positions.get(la.table.slotOf(k, before, false));
    if (at !== undefined && at < i) continue;
    reportOwnOrderBreak(la, k, list, i, before, at, t);
    return;
  }
}

/**
 * Reports that element i of `list`, a read of key k (by `t`, -1 for the key's longest read), breaks
 * its writer's own order: the append before it, `before`, is at `at` (undefined: not there).
 */
function reportOwnOrderBreak(
  la: ListAppend,
  k: number,
  list: readonly unknown[],
  i: number,
  before: unknown,
  at: number | undefined,
  t: number,
): void {
  const { txns } = la;
  const w = writerOfEntry(la.entryOf(k, list[i]));
  la.incompatibleReported[k] = 2;
  const v = list[i];
  const reader = t === -1 ? "A read" : la.label(t);
  la.sink.add("incompatible-order", () => ({
    explanation: `${reader} of key ${show(txns.keys[k])} returned ${show(list)}, but ${la.label(w)} appended ${show(before)} before ${show(v)} to it: ${at === undefined ? `${show(v)} appears without ${show(before)}` : `${show(v)} appears first`}, which no single order of appends explains.`,
    key: txns.keys[k],
    values: [before, v],
    value: list,
    writer: txnData(txns, w),
    ...(t === -1 ? {} : { op: txnData(txns, t) }),
  }));
}

/** The value writer `w` appended to key k just before `v`, if it appended one. */
function previousAppend(la: ListAppend, w: number, k: number, v: unknown): unknown {
  const { txns } = la;
  let previous: unknown;
  let found = false;
  for (let i = txns.mopStart[w]!; i < txns.mopStart[w + 1]!; i++) {
    if (txns.mopKind[i] !== MopKind.append || txns.mopKey[i] !== k) continue;
    const value = la.valueAt(w, i);
    if (sameValue(value, v)) return found ? previous : undefined;
    previous = value;
    found = true;
  }
  return undefined;
}

/** 3. Committed appends no read shows, per key: they sit after the order's last element. */
function collectUnobserved(la: ListAppend): void {
  const { table, txns, appendSlot } = la;
  for (let a = 0; a < la.appendKey.length; a++) {
    const k = la.appendKey[a]!;
    if (la.excluded[k] === 1) continue;
    const slot = appendSlot[a]!;
    if (table.position(slot) !== -1) continue;
    const w = writerOfEntry(table.entry(slot));
    if (txns.status[w] !== TxnStatus.ok) continue;
    const list = (la.unobserved[k] ??= []);
    if (list[list.length - 1] !== w) list.push(w);
  }
}

/**
 * 4b. Edges of committed read micro-op i of transaction t, on key k (not excluded), whose last
 *    element's writer has entry `lastEntry` (-1: none or an empty read): wr from that writer, rw
 *    to the writer of the next element of the order (or to every unobserved append after it).
 */
function addReadEdges(
  la: ListAppend,
  edges: EdgeList,
  t: number,
  i: number,
  k: number,
  lastEntry: number,
): void {
  const { status } = la.txns;
  const w = writerOfEntry(lastEntry);
  if (w !== -1 && status[w] !== TxnStatus.fail) edges.add(w, t, EdgeKind.wr);
  const n = la.readLength[i]!;
  if (n === -1) return;
  if (n < la.orderLength[k]!) {
    const next = la.orderWriter[la.orderStart[k]! + n]!;
    if (next !== -1 && status[next] !== TxnStatus.fail) edges.add(t, next, EdgeKind.rw);
  } else {
    const after = la.unobserved[k] ?? noTxns;
    la.step(after.length + 1);
    for (const u of after) edges.add(t, u, EdgeKind.rw);
  }
}

/** 5. ww edges along each key's order, and on from its last element to the unobserved appends. */
function addOrderEdges(la: ListAppend, edges: EdgeList): void {
  const { status } = la.txns;
  const committed = (w: number): boolean => w !== -1 && status[w] !== TxnStatus.fail;
  for (let k = 0; k < la.keyCount; k++) {
    if (la.excluded[k] === 1) continue;
    const start = la.orderStart[k]!;
    const end = la.orderStart[k + 1]!;
    la.step(end - start + 1);
    for (let i = start + 1; i < end; i++) {
      const a = la.orderWriter[i - 1]!;
      const b = la.orderWriter[i]!;
      if (committed(a) && committed(b)) edges.add(a, b, EdgeKind.ww);
    }
    const last = end > start ? la.orderWriter[end - 1]! : -1;
    if (committed(last)) for (const w of la.unobserved[k] ?? []) edges.add(last, w, EdgeKind.ww);
  }
}

export function inferListAppend(
  txns: TxnTable,
  edges: EdgeList,
  sink: AnomalySink,
  allocate: Allocator = noArena,
  budget?: Budget,
): WorkloadInference {
  const la = new ListAppend(txns, sink, allocate, budget);
  indexAppends(la);
  placeOrders(la);
  // Before the reads: a read that shows a key's whole order has rw edges to its unobserved appends.
  collectUnobserved(la);
  classifyReads(la, edges);
  checkLongestOwnOrders(la);
  addOrderEdges(la, edges);
  checkWithinTransactions(la);
  return { explain: explainer(la), notes: la.notes };
}

/** Why an edge holds, recomputed on demand for the edges of a reported cycle. */
function explainer(la: ListAppend): WorkloadInference["explain"] {
  const { txns } = la;
  const { mopStart, mopKind, mopKey, keys } = txns;
  const writerAt = (k: number, at: number): number => la.orderWriter[la.orderStart[k]! + at]!;
  const isUnobservedBy = (k: number, w: number): boolean => (la.unobserved[k] ?? []).includes(w);
  return (from: number, to: number, kind: number, name: NameOf): EdgeReason | undefined => {
    if (kind === EdgeKind.ww) {
      for (let i = mopStart[to]!; i < mopStart[to + 1]!; i++) {
        const k = mopKey[i]!;
        if (mopKind[i] !== MopKind.append || la.excluded[k] === 1) continue;
        const v = la.valueAt(to, i);
        const at = positionOf(la, k, v);
        const order = la.orderOf(k);
        if (at > 0 && writerAt(k, at - 1) === from) {
          return {
            clause: `${name(to)} appended ${show(v)} after ${name(from)} appended ${show(order[at - 1])} to key ${show(keys[k])}`,
            key: keys[k],
            value: order[at - 1],
            nextValue: v,
          };
        }
        if (
          at === -1 &&
          order.length > 0 &&
          writerAt(k, order.length - 1) === from &&
          isUnobservedBy(k, to)
        ) {
          const last = order[order.length - 1];
          return {
            clause: `${name(to)} appended ${show(v)} to key ${show(keys[k])}, which no read shows, so after ${show(last)}, the last element any read saw, which ${name(from)} appended`,
            key: keys[k],
            value: last,
            nextValue: v,
          };
        }
      }
    } else if (kind === EdgeKind.wr) {
      for (let i = mopStart[to]!; i < mopStart[to + 1]!; i++) {
        const k = mopKey[i]!;
        if (mopKind[i] !== MopKind.r || la.excluded[k] === 1) continue;
        const list = readList(la.valueAt(to, i), to, txns);
        if (list.length === 0) continue;
        const last = list[list.length - 1];
        if (writerOfEntry(la.entryOf(k, last)) === from) {
          return {
            clause: `${name(to)} observed ${name(from)}'s append of ${show(last)} to key ${show(keys[k])}`,
            key: keys[k],
            value: last,
          };
        }
      }
    } else if (kind === EdgeKind.rw) {
      for (let i = mopStart[from]!; i < mopStart[from + 1]!; i++) {
        const k = mopKey[i]!;
        const n = la.readLength[i]!;
        if (mopKind[i] !== MopKind.r || n < 0 || la.excluded[k] === 1) continue;
        const order = la.orderOf(k);
        const read = order.slice(0, n);
        const seen = n === 0 ? "the initial (empty) state" : `key ${show(keys[k])} = ${show(read)}`;
        if (n < order.length && writerAt(k, n) === to) {
          return {
            clause:
              n === 0
                ? `${name(from)} observed the initial (empty) state of key ${show(keys[k])}, which ${name(to)} created by appending ${show(order[0])}`
                : `${name(from)} did not observe ${name(to)}'s append of ${show(order[n])} to key ${show(keys[k])}`,
            key: keys[k],
            value: order[n],
            read,
          };
        }
        if (n === order.length && isUnobservedBy(k, to)) {
          const v = appendedBy(la, to, k);
          return {
            clause:
              n === 0
                ? `${name(from)} observed the initial (empty) state of key ${show(keys[k])}, which ${name(to)} appended ${show(v)} to (an append no read shows)`
                : `${name(from)} read ${seen}, the longest any read saw, so it did not observe ${name(to)}'s append of ${show(v)}, which no read shows`,
            key: keys[k],
            value: v,
            read,
          };
        }
      }
    }
    return undefined;
  };
}

/** The first value transaction t appended to key k. */
function appendedBy(la: ListAppend, t: number, k: number): unknown {
  const { mopStart, mopKind, mopKey } = la.txns;
  for (let i = mopStart[t]!; i < mopStart[t + 1]!; i++)
    if (mopKind[i] === MopKind.append && mopKey[i] === k) return la.valueAt(t, i);
  return undefined;
}

const mopKindNames = ["r", "w", "append"] as const;

/** The positions (from 0, in order) of the micro-ops in start..end whose key another one there has too. */
function repeatedKeyPositions(mopKey: Int32Array, start: number, end: number): number[] {
  const positions: number[] = [];
  if (end - start <= 32) {
    for (let i = start; i < end; i++) {
      const k = mopKey[i]!;
      for (let j = start; j < end; j++) {
        if (j !== i && mopKey[j] === k) {
          positions.push(i - start);
          break;
        }
      }
    }
    return positions;
  }
  const counts = new Map<number, number>();
  for (let i = start; i < end; i++) counts.set(mopKey[i]!, (counts.get(mopKey[i]!) ?? 0) + 1);
  for (let i = start; i < end; i++) if (counts.get(mopKey[i]!)! > 1) positions.push(i - start);
  return positions;
}

/**
 * A lost-update group: the committed transactions that read one key's same list first and then
 * appended to it. `readAt` is the flat micro-op of its first member's read (every member read an
 * equal list): the list is rebuilt from it only for a report.
 */
interface LostUpdateGroup {
  readonly key: Key;
  readonly readAt: number;
  readonly txns: number[];
}
/**
 * The transactions that read a key first and then appended to it, as they are found: flat, three
 * numbers each (the transaction, its read's flat micro-op, the read's length). Grouped once all
 * are found (`reportLostUpdates`), in that order: the search within each transaction, compiled
 * while it runs, carries no map or group ids of its own.
 */
type LostUpdateJoins = number[];

/**
 * Which path checks a transaction within itself: `numeric` (the default) takes
 * `checkWithinTxnNumeric` where it applies; tests turn it off to hold the two paths to one
 * another.
 */
export const withinTxnPaths = { numeric: true };

/** 6. Within each committed transaction: internal and future reads; lost updates across them. */
function checkWithinTransactions(la: ListAppend): void {
  const { txns } = la;
  const joins: LostUpdateJoins = [];
  const numeric = withinTxnPaths.numeric;
  for (let t = 0; t < txns.count; t++) {
    if (txns.status[t] !== TxnStatus.ok) continue;
    const start = txns.mopStart[t]!;
    const end = txns.mopStart[t + 1]!;
    if (txns.repeatsKey[t] === 0) continue;
    la.step(end - start);
    if (!numeric || !checkWithinTxnNumeric(la, t, joins)) checkWithinTxn(la, t, joins);
  }
  reportLostUpdates(la, joins);
}

/** The lost-update groups of `joins` (reads of one key that returned equal lists), each of two or more reported. */
function reportLostUpdates(la: ListAppend, joins: LostUpdateJoins): void {
  const { txns } = la;
  const groups = new Map<string, LostUpdateGroup>();
  for (let j = 0; j < joins.length; j += 3) {
    const t = joins[j]!;
    const readAt = joins[j + 1]!;
    const id = readGroupId(la, readAt, joins[j + 2]!, t);
    let group = groups.get(id);
    if (group === undefined) {
      group = { key: txns.keys[txns.mopKey[readAt]!]!, readAt, txns: [] };
      groups.set(id, group);
    }
    group.txns.push(t);
  }
  for (const group of groups.values()) {
    if (group.txns.length < 2) continue;
    la.sink.add("lost-update", () => {
      const read = listOf(la, group.readAt, group.txns[0]!);
      return {
        explanation: `${group.txns.map((t) => txnLabel(txns, t)).join(" and ")} all read key ${show(group.key)} = ${show(read)} and then appended to it; all committed, so all but one of those updates was lost.`,
        key: group.key,
        value: read,
        txns: group.txns.map((t) => txnData(txns, t)),
      };
    });
  }
}

/**
 * Joins transaction t to the lost-update group of read micro-op `readAt`, whose list has `length`
 * elements (see `LostUpdateJoins`).
 */
function joinLostUpdateGroup(joins: LostUpdateJoins, t: number, readAt: number, length: number): void {
  joins.push(t, readAt, length);
}

/** Scratch of `checkWithinTxnNumeric`, reused from transaction to transaction. */
const within = {
  /** Flat micro-ops on keys the transaction touches more than once, in order. */
  mops: new Int32Array(32),
  /**
   * Per such micro-op, when it is the first of its key, the key's state (else unused): its last
   * read (a flat micro-op, -1: none yet), where in `mops` its appends since that read begin (0:
   * from the start), its first read if that came before any append to it (else -1), and whether
   * the transaction appended to it.
   */
  knownAt: new Int32Array(32),
  appendedFrom: new Int32Array(32),
  firstReadAt: new Int32Array(32),
  wrote: new Uint8Array(32),
  /** Per such micro-op: the position (in `mops`) of its key's first micro-op. */
  slot: new Int32Array(32),
};

/** The largest transaction `checkWithinTxnNumeric` takes (the scratch's size): larger ones take the general path. */
const withinNumericLimit = 32;

/**
 * `checkWithinTxn` for the usual transaction, without building its micro-ops: every micro-op on
 * a repeated key an append of an int32 or a read of a list of numbers or null, and at most
 * `withinNumericLimit` micro-ops. Reads are compared element by element in the table, appends
 * by their values; lists are rebuilt only for a report. The same reports, in the same order, and
 * the same lost-update groups as `checkWithinTxn`. False (having done nothing) when the
 * transaction is not of that shape.
 */
function checkWithinTxnNumeric(la: ListAppend, t: number, joins: LostUpdateJoins): boolean {
  const { txns, sink } = la;
  const { mopKind, mopKey, mopValueKind, mopValue, mopLength, listElements } = txns;
  const start = txns.mopStart[t]!;
  const end = txns.mopStart[t + 1]!;
  if (end - start > withinNumericLimit) return false;
  const { mops, knownAt, appendedFrom, firstReadAt, wrote, slot } = within;
  // The micro-ops on repeated keys, each with its key's slot; any other shape: the general path.
  let count = 0;
  for (let i = start; i < end; i++) {
    const k = mopKey[i]!;
    let repeated = false;
    for (let j = start; j < end; j++) {
      if (j !== i && mopKey[j] === k) {
        repeated = true;
        break;
      }
    }
    if (!repeated) continue;
    const kind = mopKind[i]!;
    const valueKind = mopValueKind[i]!;
    if (
      kind === MopKind.append
        ? valueKind !== MopValue.int
        : kind !== MopKind.r || (valueKind !== MopValue.list && valueKind !== MopValue.null)
    )
      return false;
    let first = 0;
    while (first < count && mopKey[mops[first]!] !== k) first++;
    if (first === count) {
      knownAt[count] = -1;
      appendedFrom[count] = 0;
      firstReadAt[count] = -1;
      wrote[count] = 0;
    }
    slot[count] = first;
    mops[count++] = i;
  }
  // The length of read micro-op i's list (null: empty) and its element n.
  const lengthOf = (i: number): number => (mopValueKind[i] === MopValue.null ? 0 : mopLength[i]!);
  const elementOf = (i: number, n: number): number => listElements[mopValue[i]! + n]!;
  for (let p = 0; p < count; p++) {
    const i = mops[p]!;
    const s = slot[p]!;
    if (mopKind[i] === MopKind.append) {
      if (wrote[s] === 0 && firstReadAt[s] !== -1)
        joinLostUpdateGroup(joins, t, firstReadAt[s]!, lengthOf(firstReadAt[s]!));
      wrote[s] = 1;
      continue;
    }
    const length = lengthOf(i);
    const k = mopKey[i]!;
    for (let q = p + 1; q < count; q++) {
      const j = mops[q]!;
      if (mopKind[j] !== MopKind.append || mopKey[j] !== k) continue;
      const v = mopValue[j]!;
      let seen = false;
      for (let n = 0; n < length && !seen; n++) seen = elementOf(i, n) === v;
      if (!seen) continue;
      const list = listOf(la, i, t);
      const position = j - start;
      sink.add("future-read", () => ({
        explanation: `${txnLabel(txns, t)} read key ${show(txns.keys[k])} = ${show(list)}, which contains ${show(v)}, a value the same transaction appended only later (micro-op ${position}).`,
        key: txns.keys[k],
        value: v,
        op: txnData(txns, t),
      }));
      break;
    }
    // The appends to this key since its last read (or since the start): those of mops[from .. p).
    const from = appendedFrom[s]!;
    let appended = 0;
    for (let q = from; q < p; q++) if (slot[q] === s && mopKind[mops[q]!] === MopKind.append) appended++;
    const known = knownAt[s]!;
    if (known !== -1 || appended > 0) {
      // The read must be the last read's list (when there was one) and then the appends since:
      // the appends' values from element `base` on, after the last read's elements.
      const base = known !== -1 ? lengthOf(known) : length - appended;
      let consistent = known !== -1 ? base + appended === length : base >= 0;
      for (let n = 0; consistent && known !== -1 && n < base; n++)
        consistent = elementOf(known, n) === elementOf(i, n);
      for (let q = from, n = base; consistent && q < p; q++) {
        if (slot[q] !== s || mopKind[mops[q]!] !== MopKind.append) continue;
        consistent = mopValue[mops[q]!] === elementOf(i, n++);
      }
      if (!consistent) {
        const list = listOf(la, i, t);
        const values: number[] = [];
        for (let q = from; q < p; q++)
          if (slot[q] === s && mopKind[mops[q]!] === MopKind.append) values.push(mopValue[mops[q]!]!);
        const want = known !== -1 ? [...listOf(la, known, t), ...values] : undefined;
        const expected = (): string => (want !== undefined ? show(want) : `a list ending in ${show(values)}`);
        const position = i - start;
        sink.add("internal", () => ({
          explanation: `${txnLabel(txns, t)} read key ${show(txns.keys[k])} = ${show(list)} at micro-op ${position}, but its own earlier micro-ops imply ${expected()}.`,
          key: txns.keys[k],
          expected: expected(),
          value: list,
          op: txnData(txns, t),
        }));
      }
    }
    if (firstReadAt[s] === -1 && wrote[s] === 0) firstReadAt[s] = i;
    knownAt[s] = i;
    appendedFrom[s] = p + 1;
  }
  return true;
}

/** Read micro-op i's list, rebuilt (null: empty). */
function listOf(la: ListAppend, i: number, t: number): readonly unknown[] {
  return readList(la.txns.valueAt(i), t, la.txns);
}

/**
 * The lost-update group of read micro-op i (whose list has `length` elements): reads of one key
 * that returned equal lists share it. A compatible read is the first `length` elements of its
 * key's longest read, so its key and length name it (no list to build or serialise, for the many
 * reads a history holds); another read is named by its elements (its list rebuilt, as transaction
 * t read it). No compatible read equals an incompatible one.
 */
function readGroupId(la: ListAppend, i: number, length: number, t: number): string {
  const k = la.txns.mopKey[i]!;
  if (la.readLength[i]! >= 0) return `${k}:${length}`;
  return `${k}\u0000${valueText(listOf(la, i, t))}`;
}

/**
 * Within one committed transaction touching a key more than once: each read must equal what the
 * transaction itself last read there plus what it appended since (or, with no earlier read, end in
 * what it appended); a read must not contain an append the transaction makes only later; and, as
 * Elle's lost-update rule has it, a key read (first) and later appended to puts the transaction in
 * the lost-update group of that key and read.
 */
function checkWithinTxn(la: ListAppend, t: number, joins: LostUpdateJoins): void {
  const { txns, sink } = la;
  // Only the micro-ops on keys the transaction touches more than once can show anything here (a
  // lone read has nothing of its own before or after it; a lone append, no read to follow): only
  // they are rebuilt, each at its own position, so micro-op numbers stay the transaction's.
  const start = txns.mopStart[t]!;
  const positions = repeatedKeyPositions(txns.mopKey, start, txns.mopStart[t + 1]!);
  const mops: MicroOp[] = positions.map((i) => [
    mopKindNames[txns.mopKind[start + i]!]!,
    txns.keys[txns.mopKey[start + i]!]!,
    txns.valueAt(start + i),
  ]);
  const state = new Map<
    Key,
    {
      known: readonly unknown[] | null;
      appended: unknown[];
      firstRead?: readonly unknown[];
      /** The flat micro-op of the first read. */
      firstReadAt: number;
      wrote: boolean;
    }
  >();
  for (let p = 0; p < positions.length; p++) {
    const i = positions[p]!;
    const [f, k, v] = mops[p]!;
    let s = state.get(k);
    if (s === undefined) {
      s = { known: null, appended: [], firstReadAt: -1, wrote: false };
      state.set(k, s);
    }
    if (f === "append") {
      if (!s.wrote && s.firstRead !== undefined)
        joinLostUpdateGroup(joins, t, s.firstReadAt, s.firstRead.length);
      s.wrote = true;
      s.appended.push(v);
      continue;
    }
    const list = readList(v, t, txns);
    for (let q = p + 1; q < positions.length; q++) {
      const j = positions[q]!;
      const later = mops[q]!;
      if (later[0] === "append" && later[1] === k && list.includes(later[2])) {
        sink.add("future-read", () => ({
          explanation: `${txnLabel(txns, t)} read key ${show(k)} = ${show(list)}, which contains ${show(later[2])}, a value the same transaction appended only later (micro-op ${j}).`,
          key: k,
          value: later[2],
          op: txnData(txns, t),
        }));
        break;
      }
    }
    if (s.known !== null || s.appended.length > 0) {
      let consistent: boolean;
      // Written out only for a report (most reads are consistent).
      let expected: () => string;
      if (s.known !== null) {
        const want = [...s.known, ...s.appended];
        consistent = want.length === list.length && want.every((x, n) => x === list[n]);
        expected = () => show(want);
      } else {
        const appended = s.appended;
        const tail = list.slice(list.length - appended.length);
        consistent = list.length >= appended.length && appended.every((x, n) => x === tail[n]);
        expected = () => `a list ending in ${show(appended)}`;
      }
      if (!consistent) {
        sink.add("internal", () => ({
          explanation: `${txnLabel(txns, t)} read key ${show(k)} = ${show(list)} at micro-op ${i}, but its own earlier micro-ops imply ${expected()}.`,
          key: k,
          expected: expected(),
          value: list,
          op: txnData(txns, t),
        }));
      }
    }
    if (s.firstRead === undefined && !s.wrote) {
      s.firstRead = list;
      s.firstReadAt = txns.mopStart[t]! + i;
    }
    s.known = list;
    s.appended = [];
  }
}
