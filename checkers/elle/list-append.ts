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
import { txnData, type AnomalySink, type EdgeReason, type NameOf, type WorkloadInference } from "./inference.ts";
import { show, TxnStatus, type TxnTable } from "./txns.ts";
import { HistoryShapeError } from "../../harness/history/op.ts";

interface KeyState {
  readonly key: Key;
  /** Appended value → writer * 2 + (1 if the writer appended to this key again afterwards). */
  readonly writers: Map<unknown, number>;
  /** The longest read of the key: its version order as far as any committed read saw. */
  longest: readonly unknown[];
  /** Position of the first element of `longest` whose writer failed or does not exist. */
  firstBadAt: number;
  /** Set when the key's order cannot be trusted (incompatible reads, duplicates, repeated appends). */
  excluded: boolean;
  /** value → position in `longest`, built only when an explanation needs it. */
  positions?: Map<unknown, number>;
}

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

export function inferListAppend(txns: TxnTable, edges: EdgeList, sink: AnomalySink): WorkloadInference {
  const keyIds = new Map<Key, number>();
  const keys: KeyState[] = [];
  const notes: string[] = [];
  const stateOf = (key: Key): KeyState => {
    let id = keyIds.get(key);
    if (id === undefined) {
      id = keys.length;
      keyIds.set(key, id);
      keys.push({ key, writers: new Map(), longest: empty, firstBadAt: Infinity, excluded: false });
    }
    return keys[id]!;
  };
  const writerOf = (s: KeyState, v: unknown): number => {
    const w = s.writers.get(v);
    return w === undefined ? -1 : w >> 1;
  };

  // 1. Who appended what. Appends must be unique per key for versions to be recoverable.
  const repeatedAppendKeys: Key[] = [];
  for (let t = 0; t < txns.count; t++) {
    const mops = txns.microOps[t]!;
    for (let i = 0; i < mops.length; i++) {
      const [f, k, v] = mops[i]!;
      if (f !== "append") continue;
      const s = stateOf(k);
      let intermediate = 0;
      for (let j = i + 1; j < mops.length; j++) {
        if (mops[j]![0] === "append" && mops[j]![1] === k) intermediate = 1;
      }
      if (s.writers.has(v) && writerOf(s, v) !== t) {
        if (!s.excluded) repeatedAppendKeys.push(k);
        s.excluded = true;
      }
      s.writers.set(v, t * 2 + intermediate);
    }
  }
  if (repeatedAppendKeys.length > 0) {
    notes.push(
      `${repeatedAppendKeys.length} key(s) received the same value twice (first: ${show(repeatedAppendKeys[0])}), so their version order cannot be inferred`,
    );
  }

  // 2. The longest committed read of each key is its version order.
  for (let t = 0; t < txns.count; t++) {
    if (txns.status[t] !== TxnStatus.ok) continue;
    for (const [f, k, v] of txns.microOps[t]!) {
      if (f === "w") {
        throw new HistoryShapeError(
          `index ${txns.op[t]!.index}: a list-append history has only "append" and "r" micro-ops, got "w"`,
        );
      }
      if (f !== "r") continue;
      const list = readList(v, t, txns);
      const s = stateOf(k);
      if (list.length > s.longest.length) s.longest = list;
    }
  }

  const reportBadElements = (s: KeyState, list: readonly unknown[], from: number, reader: number): void => {
    for (let i = from; i < list.length; i++) {
      const v = list[i];
      const w = writerOf(s, v);
      if (w === -1) {
        sink.add("garbage-read", () => ({
          explanation: `${txnLabel(txns, reader)} read key ${show(s.key)} = ${show(list)}, which contains ${show(v)}, a value no transaction ever appended.`,
          key: s.key,
          value: v,
          op: txnData(txns, reader),
        }));
      } else if (txns.status[w] === TxnStatus.fail) {
        sink.add("G1a", () => ({
          explanation: `${txnLabel(txns, reader)} read key ${show(s.key)} = ${show(list)}, which contains ${show(v)}, appended by ${txnLabel(txns, w)}, which failed (did not commit).`,
          key: s.key,
          value: v,
          op: txnData(txns, reader),
          writer: txnData(txns, w),
        }));
      }
    }
  };

  // 3. Per key: duplicates in the order itself, its first bad element, dirty updates, ww edges.
  for (const s of keys) {
    const order = s.longest;
    if (order.length === 0) continue;
    if (new Set(order).size !== order.length) {
      s.excluded = true;
      sink.add("duplicate-elements", () => ({
        explanation: `A read of key ${show(s.key)} returned ${show(order)}, in which some element appears more than once, although every append is unique.`,
        key: s.key,
        value: order,
      }));
    }
    let failedAt = -1;
    for (let i = 0; i < order.length; i++) {
      const w = writerOf(s, order[i]);
      if ((w === -1 || txns.status[w] === TxnStatus.fail) && s.firstBadAt === Infinity) s.firstBadAt = i;
      if (w !== -1 && txns.status[w] === TxnStatus.fail) {
        if (failedAt === -1) failedAt = i;
      } else if (w !== -1 && failedAt !== -1) {
        const failed = writerOf(s, order[failedAt]);
        sink.add("dirty-update", () => ({
          explanation: `On key ${show(s.key)}, ${txnLabel(txns, w)} appended ${show(order[i])} after ${show(order[failedAt])}, which ${txnLabel(txns, failed)} appended and then failed: a committed write built on an aborted one.`,
          key: s.key,
          values: [order[failedAt], order[i]],
          aborted: txnData(txns, failed),
          op: txnData(txns, w),
        }));
        failedAt = -1;
      }
    }
  }

  // 4. Every committed read must be a prefix of the longest; else the key's order is unknowable.
  for (let t = 0; t < txns.count; t++) {
    if (txns.status[t] !== TxnStatus.ok) continue;
    for (const [f, k, v] of txns.microOps[t]!) {
      if (f !== "r") continue;
      const list = readList(v, t, txns);
      const s = stateOf(k);
      if (list === s.longest || isPrefix(list, s.longest)) continue;
      const longest = s.longest;
      if (!s.excluded) {
        sink.add("incompatible-order", () => ({
          explanation: `Key ${show(s.key)} was read as ${show(list)} and as ${show(longest)}: neither is a prefix of the other, so they cannot both come from one order of appends.`,
          key: s.key,
          values: [list, longest],
          op: txnData(txns, t),
        }));
      }
      s.excluded = true;
      if (new Set(list).size !== list.length) {
        sink.add("duplicate-elements", () => ({
          explanation: `${txnLabel(txns, t)} read key ${show(s.key)} = ${show(list)}, in which some element appears more than once, although every append is unique.`,
          key: s.key,
          value: list,
          op: txnData(txns, t),
        }));
      }
      reportBadElements(s, list, 0, t);
    }
  }

  // 5. Per read: aborted, garbage and intermediate reads; wr and rw edges. Then ww edges.
  const lostUpdateGroups = new Map<string, { key: Key; read: readonly unknown[]; txns: number[] }>();
  for (let t = 0; t < txns.count; t++) {
    if (txns.status[t] !== TxnStatus.ok) continue;
    const mops = txns.microOps[t]!;
    for (const [f, k, v] of mops) {
      if (f !== "r") continue;
      const list = readList(v, t, txns);
      const s = keys[keyIds.get(k)!]!;
      if (s.excluded && !(list === s.longest || isPrefix(list, s.longest))) continue; // reported in 4
      if (list.length > s.firstBadAt) reportBadElements(s, list, s.firstBadAt, t);
      const n = list.length;
      if (n > 0) {
        const entry = s.writers.get(list[n - 1]);
        if (entry !== undefined && entry >> 1 !== t && (entry & 1) === 1) {
          const w = entry >> 1;
          sink.add("G1b", () => ({
            explanation: `${txnLabel(txns, t)} read key ${show(k)} = ${show(list)}, ending in ${show(list[n - 1])}, an intermediate state: ${txnLabel(txns, w)} appended ${show(list[n - 1])} and then appended again to the same key.`,
            key: k,
            value: list[n - 1],
            op: txnData(txns, t),
            writer: txnData(txns, w),
          }));
        }
      }
      if (s.excluded) continue;
      if (n > 0) {
        const w = writerOf(s, list[n - 1]);
        if (w !== -1 && txns.status[w] !== TxnStatus.fail) edges.add(w, t, EdgeKind.wr);
      }
      if (n < s.longest.length) {
        const w = writerOf(s, s.longest[n]);
        if (w !== -1 && txns.status[w] !== TxnStatus.fail) edges.add(t, w, EdgeKind.rw);
      }
    }
    if (mops.length > 1 && hasRepeatedKey(mops)) checkWithinTxn(txns, t, sink, lostUpdateGroups);
  }
  for (const s of keys) {
    if (s.excluded) continue;
    const order = s.longest;
    let previous = order.length > 0 ? writerOf(s, order[0]) : -1;
    for (let i = 1; i < order.length; i++) {
      const w = writerOf(s, order[i]);
      if (previous !== -1 && w !== -1 && txns.status[previous] !== TxnStatus.fail) {
        if (txns.status[w] !== TxnStatus.fail) edges.add(previous, w, EdgeKind.ww);
      }
      previous = w;
    }
  }
  reportLostUpdates(txns, sink, lostUpdateGroups);

  const positionOf = (s: KeyState, v: unknown): number => {
    if (s.positions === undefined) s.positions = new Map(s.longest.map((x, i) => [x, i]));
    return s.positions.get(v) ?? -1;
  };

  const explain = (from: number, to: number, kind: number, name: NameOf): EdgeReason | undefined => {
    if (kind === EdgeKind.ww) {
      for (const [f, k, v] of txns.microOps[from]!) {
        if (f !== "append") continue;
        const s = keys[keyIds.get(k)!]!;
        if (s.excluded) continue;
        const at = positionOf(s, v);
        if (at >= 0 && at + 1 < s.longest.length && writerOf(s, s.longest[at + 1]) === to) {
          const next = s.longest[at + 1];
          return {
            clause: `${name(to)} appended ${show(next)} after ${name(from)} appended ${show(v)} to key ${show(k)}`,
            key: k,
            value: v,
            nextValue: next,
          };
        }
      }
    } else if (kind === EdgeKind.wr) {
      for (const [f, k, v] of txns.microOps[to]!) {
        if (f !== "r") continue;
        const list = readList(v, to, txns);
        const s = keys[keyIds.get(k)!]!;
        if (s.excluded || list.length === 0) continue;
        const last = list[list.length - 1];
        if (writerOf(s, last) === from) {
          return {
            clause: `${name(to)} observed ${name(from)}'s append of ${show(last)} to key ${show(k)}`,
            key: k,
            value: last,
          };
        }
      }
    } else if (kind === EdgeKind.rw) {
      for (const [f, k, v] of txns.microOps[from]!) {
        if (f !== "r") continue;
        const list = readList(v, from, txns);
        const s = keys[keyIds.get(k)!]!;
        if (s.excluded || list.length >= s.longest.length) continue;
        const next = s.longest[list.length];
        if (writerOf(s, next) === to) {
          return {
            clause: `${name(from)} did not observe ${name(to)}'s append of ${show(next)} to key ${show(k)}`,
            key: k,
            value: next,
            read: list,
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

function hasRepeatedKey(mops: readonly (readonly [string, Key, unknown])[]): boolean {
  for (let i = 1; i < mops.length; i++) {
    const k = mops[i]![1];
    for (let j = 0; j < i; j++) if (mops[j]![1] === k) return true;
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
  groups: Map<string, { key: Key; read: readonly unknown[]; txns: number[] }>,
): void {
  const mops = txns.microOps[t]!;
  const state = new Map<Key, { known: readonly unknown[] | null; appended: unknown[]; firstRead?: readonly unknown[]; touched: boolean }>();
  for (let i = 0; i < mops.length; i++) {
    const [f, k, v] = mops[i]!;
    let s = state.get(k);
    if (s === undefined) {
      s = { known: null, appended: [], touched: false };
      state.set(k, s);
    }
    if (f === "append") {
      if (s.firstRead !== undefined && s.appended.length === 0 && s.known === s.firstRead) {
        const id = `${typeof k}:${String(k)}:${s.firstRead.length}`;
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
  groups: Map<string, { key: Key; read: readonly unknown[]; txns: number[] }>,
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
