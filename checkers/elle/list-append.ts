/**
 * List-append: every write appends a value, unique per key, to a list; every read returns the
 * whole list. That makes versions recoverable: each read is a prefix of the key's history, so the
 * longest read of a key is its version order (as far as anyone saw), and every other read must be
 * a prefix of it, else two reads came from incompatible timelines (incompatible-order). From the
 * version order follow Adya's dependencies: ww (T2 appended right after T1), wr (T2 read a list
 * ending in T1's append), rw (T1 read a list that T2's append later extended).
 *
 * Alongside, the anomalies that need no cycle: duplicate-elements, G1a (a read saw an append of a
 * transaction that failed), G1b (a read ended in an append its writer later followed with another
 * on the same key), dirty-update (a committed append landed after a failed one), internal (a
 * transaction's read contradicts its own earlier reads and appends), future-read (a read saw an
 * append its own transaction made only later), lost-update (two committed transactions read the
 * same version of a key and both appended to it), and, beyond Elle, garbage-read (a read saw a value
 * that no transaction ever appended).
 */
import type { Key } from "../../harness/history/op.ts";
import { EdgeKind, type EdgeList } from "./graph.ts";
import {
  txnData,
  type AnomalySink,
  type EdgeReason,
  type NameOf,
  type WorkloadInference,
} from "./inference.ts";
import { MopKind, show, TxnStatus, type TxnTable } from "./txns.ts";
import { AppendIndex } from "./value-table.ts";
import { noArena, type Allocator } from "./arena.ts";
import { HistoryShapeError } from "../../harness/history/op.ts";

const empty: readonly unknown[] = [];

function readList(value: unknown, t: number, txns: TxnTable): readonly unknown[] {
  if (value === null || value === undefined) return empty;
  if (!Array.isArray(value)) {
    throw new HistoryShapeError(
      `index ${txns.op[t]!.index}: a list-append read must return a list or null, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Entry of a value in the table: writer * 2 + (1 if the writer appended to the key again later). */
const writerOfEntry = (entry: number): number => (entry < 0 ? -1 : entry >> 1);

export function inferListAppend(
  txns: TxnTable,
  edges: EdgeList,
  sink: AnomalySink,
  allocate: Allocator = noArena,
): WorkloadInference {
  const { mopStart, mopKind, mopKey, mopNumber, mopLength, keys, status, microOps } = txns;
  /** The value of flat micro-op i, which belongs to transaction t. */
  const valueAt = (t: number, i: number): unknown => microOps[t]![i - mopStart[t]!]![2];
  const keyCount = keys.length;
  const mopCount = mopKind.length;
  const notes: string[] = [];
  /** Keys whose order cannot be trusted (incompatible reads, duplicates, repeated appends). */
  const excluded = allocate.uint8(keyCount);
  /** The longest committed read of each key: its version order as far as anyone saw. */
  const longest: (readonly unknown[])[] = new Array<readonly unknown[]>(keyCount).fill(empty);
  /** Position in the longest read of the first element whose writer failed or does not exist. */
  const firstBadAt = allocate.float64(keyCount).fill(Infinity);
  const label = (t: number): string => txnLabel(txns, t);

  // 1. Who appended what (appends must be unique per key for versions to be recoverable), and the
  //    longest committed read of each key, which is its version order.
  let appendCount = 0;
  for (let i = 0; i < mopCount; i++) if (mopKind[i] === MopKind.append) appendCount++;
  const appendKey = allocate.int32(appendCount);
  const appendValue = allocate.float64(appendCount);
  for (let i = 0, a = 0; i < mopCount; i++) {
    if (mopKind[i] !== MopKind.append) continue;
    appendKey[a] = mopKey[i]!;
    appendValue[a++] = mopNumber[i]!;
  }
  const table = new AppendIndex(keyCount, appendKey, appendValue, appendCount, allocate);
  let repeatedKeys = 0;
  let firstRepeated: unknown;
  for (let t = 0; t < txns.count; t++) {
    const end = mopStart[t + 1]!;
    const ok = status[t] === TxnStatus.ok;
    for (let i = mopStart[t]!; i < end; i++) {
      const kind = mopKind[i]!;
      if (kind === MopKind.r) {
        if (!ok) continue;
        const length = mopLength[i]!;
        if (length === -2) readList(valueAt(t, i), t, txns); // throws: not a list
        if (length > longest[mopKey[i]!]!.length) longest[mopKey[i]!] = valueAt(t, i) as unknown[];
        continue;
      }
      if (kind === MopKind.w) {
        throw new HistoryShapeError(
          `index ${txns.op[t]!.index}: a list-append history has only "append" and "r" micro-ops, got "w"`,
        );
      }
      const k = mopKey[i]!;
      let intermediate = 0;
      for (let j = i + 1; j < end; j++)
        if (mopKind[j] === MopKind.append && mopKey[j] === k) intermediate = 1;
      const number = mopNumber[i]!;
      const slot = table.slotOf(k, number === number ? number : valueAt(t, i), true);
      const previous = table.entry(slot);
      if (previous !== -1 && previous >> 1 !== t) {
        if (excluded[k] === 0) {
          if (repeatedKeys++ === 0) firstRepeated = keys[k];
        }
        excluded[k] = 1;
      }
      table.setEntry(slot, t * 2 + intermediate);
    }
  }
  if (repeatedKeys > 0) {
    notes.push(
      `${repeatedKeys} key(s) received the same value twice (first: ${show(firstRepeated)}), so their version order cannot be inferred`,
    );
  }
  const entryOf = (k: number, v: unknown): number => {
    const slot = table.slotOf(k, v, false);
    return slot === -1 ? -1 : table.entry(slot);
  };

  const reportBadElements = (k: number, list: readonly unknown[], from: number, reader: number): void => {
    for (let i = from; i < list.length; i++) {
      const v = list[i];
      const w = writerOfEntry(entryOf(k, v));
      if (w === -1) {
        sink.add("garbage-read", () => ({
          explanation: `${label(reader)} read key ${show(keys[k])} = ${show(list)}, which contains ${show(v)}, a value no transaction ever appended.`,
          key: keys[k],
          value: v,
          op: txnData(txns, reader),
        }));
      } else if (status[w] === TxnStatus.fail) {
        sink.add("G1a", () => ({
          explanation: `${label(reader)} read key ${show(keys[k])} = ${show(list)}, which contains ${show(v)}, appended by ${label(w)}, which failed (did not commit).`,
          key: keys[k],
          value: v,
          op: txnData(txns, reader),
          writer: txnData(txns, w),
        }));
      }
    }
  };

  // 2. Per key: the writers along its order (flat), duplicates, the first bad element, dirty updates.
  const orderStart = allocate.int32(keyCount + 1);
  for (let k = 0; k < keyCount; k++) orderStart[k + 1] = orderStart[k]! + longest[k]!.length;
  const orderWriter = allocate.int32(orderStart[keyCount]!);
  /** 1 where the element's writer appended to the same key again later (reading it is G1b). */
  const orderIntermediate = allocate.uint8(orderStart[keyCount]!);
  for (let k = 0; k < keyCount; k++) {
    const order = longest[k]!;
    const base = orderStart[k]!;
    let failedAt = -1;
    let duplicated = false;
    for (let i = 0; i < order.length; i++) {
      const slot = table.slotOf(k, order[i], false);
      const entry = slot === -1 ? -1 : table.entry(slot);
      const w = writerOfEntry(entry);
      orderWriter[base + i] = w;
      if (slot !== -1) orderIntermediate[base + i] = entry & 1;
      if (slot !== -1) {
        if (table.position(slot) !== -1) duplicated = true;
        else table.setPosition(slot, i);
      }
      if ((w === -1 || status[w] === TxnStatus.fail) && firstBadAt[k] === Infinity) firstBadAt[k] = i;
      if (w !== -1 && status[w] === TxnStatus.fail) {
        if (failedAt === -1) failedAt = i;
      } else if (w !== -1 && failedAt !== -1) {
        const failed = orderWriter[base + failedAt]!;
        const at = failedAt;
        sink.add("dirty-update", () => ({
          explanation: `On key ${show(keys[k])}, ${label(w)} appended ${show(order[i])} after ${show(order[at])}, which ${label(failed)} appended and then failed: a committed write built on an aborted one.`,
          key: keys[k],
          values: [order[at], order[i]],
          aborted: txnData(txns, failed),
          op: txnData(txns, w),
        }));
        failedAt = -1;
      }
    }
    if (duplicated || (firstBadAt[k] !== Infinity && new Set(order).size !== order.length)) {
      excluded[k] = 1;
      sink.add("duplicate-elements", () => ({
        explanation: `A read of key ${show(keys[k])} returned ${show(order)}, in which some element appears more than once, although every append is unique.`,
        key: keys[k],
        value: order,
      }));
    }
  }

  // 3. Every committed read must be a prefix of the longest; else the key's order is unknowable.
  //    readLength[i] keeps each compatible read's length (-1: not a read or not compatible).
  const readLength = allocate.int32(mopCount).fill(-1);
  const incompatible = allocate.uint8(keyCount);
  for (let t = 0; t < txns.count; t++) {
    if (status[t] !== TxnStatus.ok) continue;
    for (let i = mopStart[t]!; i < mopStart[t + 1]!; i++) {
      if (mopKind[i] !== MopKind.r) continue;
      const k = mopKey[i]!;
      const list = readList(valueAt(t, i), t, txns);
      const order = longest[k]!;
      if (list === order || isPrefix(list, order)) {
        readLength[i] = list.length;
        continue;
      }
      if (incompatible[k] === 0) {
        incompatible[k] = 1;
        sink.add("incompatible-order", () => ({
          explanation: `Key ${show(keys[k])} was read as ${show(list)} and as ${show(order)}: neither is a prefix of the other, so they cannot both come from one order of appends.`,
          key: keys[k],
          values: [list, order],
          op: txnData(txns, t),
        }));
      }
      excluded[k] = 1;
      if (new Set(list).size !== list.length) {
        sink.add("duplicate-elements", () => ({
          explanation: `${label(t)} read key ${show(keys[k])} = ${show(list)}, in which some element appears more than once, although every append is unique.`,
          key: keys[k],
          value: list,
          op: txnData(txns, t),
        }));
      }
      reportBadElements(k, list, 0, t);
    }
  }

  // 4. Per compatible read: aborted, garbage and intermediate reads; wr and rw edges. A compatible
  //    read of length n ends in order[n-1] and was followed by order[n]: no need to look at it again.
  const lostUpdateGroups = new Map<number, { key: Key; read: readonly unknown[]; txns: number[] }>();
  for (let t = 0; t < txns.count; t++) {
    if (status[t] !== TxnStatus.ok) continue;
    const start = mopStart[t]!;
    const end = mopStart[t + 1]!;
    for (let i = start; i < end; i++) {
      const n = readLength[i]!;
      if (n === -1) continue;
      const k = mopKey[i]!;
      const order = longest[k]!;
      const base = orderStart[k]!;
      if (n > firstBadAt[k]!) reportBadElements(k, order.slice(0, n), firstBadAt[k]!, t);
      if (n > 0) {
        const w = orderWriter[base + n - 1]!;
        if (w !== -1 && w !== t && orderIntermediate[base + n - 1] === 1) {
          const list = order.slice(0, n);
          sink.add("G1b", () => ({
            explanation: `${label(t)} read key ${show(keys[k])} = ${show(list)}, ending in ${show(list[n - 1])}, an intermediate state: ${label(w)} appended ${show(list[n - 1])} and then appended again to the same key.`,
            key: keys[k],
            value: list[n - 1],
            op: txnData(txns, t),
            writer: txnData(txns, w),
          }));
        }
        if (excluded[k] === 0 && w !== -1 && status[w] !== TxnStatus.fail) edges.add(w, t, EdgeKind.wr);
      }
      if (excluded[k] === 0 && n < order.length) {
        const w = orderWriter[base + n]!;
        if (w !== -1 && status[w] !== TxnStatus.fail) edges.add(t, w, EdgeKind.rw);
      }
    }
    if (end - start > 1 && hasRepeatedKey(mopKey, start, end))
      checkWithinTxn(txns, t, sink, lostUpdateGroups);
  }
  for (let k = 0; k < keyCount; k++) {
    if (excluded[k] === 1) continue;
    for (let i = orderStart[k]! + 1; i < orderStart[k + 1]!; i++) {
      const a = orderWriter[i - 1]!;
      const b = orderWriter[i]!;
      if (a !== -1 && b !== -1 && status[a] !== TxnStatus.fail && status[b] !== TxnStatus.fail) {
        edges.add(a, b, EdgeKind.ww);
      }
    }
  }
  reportLostUpdates(txns, sink, lostUpdateGroups);

  const writerAfter = (k: number, v: unknown): { next: unknown; writer: number } | undefined => {
    const slot = table.slotOf(k, v, false);
    const at = slot === -1 ? -1 : table.position(slot);
    if (at < 0 || at + 1 >= longest[k]!.length) return undefined;
    return { next: longest[k]![at + 1], writer: orderWriter[orderStart[k]! + at + 1]! };
  };

  const explain = (from: number, to: number, kind: number, name: NameOf): EdgeReason | undefined => {
    if (kind === EdgeKind.ww) {
      for (let i = mopStart[from]!; i < mopStart[from + 1]!; i++) {
        const k = mopKey[i]!;
        if (mopKind[i] !== MopKind.append || excluded[k] === 1) continue;
        const after = writerAfter(k, valueAt(from, i));
        if (after !== undefined && after.writer === to) {
          return {
            clause: `${name(to)} appended ${show(after.next)} after ${name(from)} appended ${show(valueAt(from, i))} to key ${show(keys[k])}`,
            key: keys[k],
            value: valueAt(from, i),
            nextValue: after.next,
          };
        }
      }
    } else if (kind === EdgeKind.wr) {
      for (let i = mopStart[to]!; i < mopStart[to + 1]!; i++) {
        const k = mopKey[i]!;
        const n = readLength[i]!;
        if (n <= 0 || excluded[k] === 1) continue;
        if (orderWriter[orderStart[k]! + n - 1] === from) {
          const last = longest[k]![n - 1];
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
        const n = readLength[i]!;
        if (n < 0 || excluded[k] === 1 || n >= longest[k]!.length) continue;
        if (orderWriter[orderStart[k]! + n] === to) {
          const next = longest[k]![n];
          return {
            clause: `${name(from)} did not observe ${name(to)}'s append of ${show(next)} to key ${show(keys[k])}`,
            key: keys[k],
            value: next,
            read: longest[k]!.slice(0, n),
          };
        }
      }
    }
    return undefined;
  };

  return { explain, notes };
}

function isPrefix(list: readonly unknown[], of: readonly unknown[]): boolean {
  if (list.length > of.length) return false;
  for (let i = 0; i < list.length; i++) if (list[i] !== of[i]) return false;
  return true;
}

function hasRepeatedKey(mopKey: Int32Array, start: number, end: number): boolean {
  for (let i = start + 1; i < end; i++) {
    const k = mopKey[i]!;
    for (let j = start; j < i; j++) if (mopKey[j] === k) return true;
  }
  return false;
}

function txnLabel(txns: TxnTable, t: number): string {
  const op = txns.op[t]!;
  return `the txn at index ${op.index} (process ${String(op.process)}, ${op.type})`;
}

/**
 * Within one committed transaction touching a key more than once: each read must equal what the
 * transaction itself last read there plus what it appended since (or, with no earlier read, end in
 * what it appended); a read must not contain an append the transaction makes only later; and a
 * read followed by an append to the same key is a read-modify-write, grouped for lost-update.
 */
function checkWithinTxn(
  txns: TxnTable,
  t: number,
  sink: AnomalySink,
  groups: Map<number, { key: Key; read: readonly unknown[]; txns: number[] }>,
): void {
  const mops = txns.microOps[t]!;
  const state = new Map<
    Key,
    {
      known: readonly unknown[] | null;
      appended: unknown[];
      firstRead?: readonly unknown[];
      touched: boolean;
    }
  >();
  for (let i = 0; i < mops.length; i++) {
    const [f, k, v] = mops[i]!;
    let s = state.get(k);
    if (s === undefined) {
      s = { known: null, appended: [], touched: false };
      state.set(k, s);
    }
    if (f === "append") {
      if (s.firstRead !== undefined && s.appended.length === 0 && s.known === s.firstRead) {
        const id = txns.mopKey[txns.mopStart[t]! + i]! * 2 ** 21 + s.firstRead.length;
        const group = groups.get(id) ?? { key: k, read: s.firstRead, txns: [] };
        if (group.txns[group.txns.length - 1] !== t) group.txns.push(t);
        groups.set(id, group);
      }
      s.appended.push(v);
      s.touched = true;
      continue;
    }
    const list = readList(v, t, txns);
    for (let j = i + 1; j < mops.length; j++) {
      const later = mops[j]!;
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
    if (s.touched) {
      let consistent: boolean;
      let expected: string;
      if (s.known !== null) {
        const want = [...s.known, ...s.appended];
        consistent = want.length === list.length && want.every((x, n) => x === list[n]);
        expected = show(want);
      } else {
        const tail = list.slice(list.length - s.appended.length);
        consistent = list.length >= s.appended.length && s.appended.every((x, n) => x === tail[n]);
        expected = `a list ending in ${show(s.appended)}`;
      }
      if (!consistent) {
        sink.add("internal", () => ({
          explanation: `${txnLabel(txns, t)} read key ${show(k)} = ${show(list)} at micro-op ${i}, but its own earlier micro-ops imply ${expected}.`,
          key: k,
          expected,
          value: list,
          op: txnData(txns, t),
        }));
      }
    }
    if (s.firstRead === undefined && !s.touched) s.firstRead = list;
    s.known = list;
    s.appended = [];
    s.touched = true;
  }
}

function reportLostUpdates(
  txns: TxnTable,
  sink: AnomalySink,
  groups: Map<number, { key: Key; read: readonly unknown[]; txns: number[] }>,
): void {
  for (const group of groups.values()) {
    if (group.txns.length < 2) continue;
    sink.add("lost-update", () => ({
      explanation: `${group.txns.map((t) => txnLabel(txns, t)).join(" and ")} all read key ${show(group.key)} = ${show(group.read)} and then appended to it; all committed, so all but one of those updates was lost.`,
      key: group.key,
      value: group.read,
      txns: group.txns.map((t) => txnData(txns, t)),
    }));
  }
  groups.clear();
}
