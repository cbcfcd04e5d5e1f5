/**
 * Read-write registers: each write sets a key to a value, unique per key; each read returns the
 * current value (null before any write). A read shows which version it saw, but not where that
 * version sits among the others, so the order of versions is inferred, per key, as a graph, only
 * from facts that hold in any execution:
 *
 * - initial state: null (never written) precedes every written version;
 * - writes follow reads: a transaction that read a and then wrote b orders a before b;
 * - sequential keys (option): each process sees a key's versions in order;
 * - linearizable keys (option): a transaction that completed before another began saw no later
 *   version of a key than that other one (applied along realtime edges).
 *
 * A cycle in a key's version graph is cyclic-versions, and that key yields no dependencies. From
 * the rest: ww (b's writer after a's writer, for a before b), wr (the writer of what was read, then
 * the reader) and rw (the reader of a before the writer of b). Only a transaction's external reads
 * (before it writes the key) and final writes count; an intermediate write that someone read is
 * G1b, a failed one G1a, an unwritten one garbage-read; a transaction whose reads contradict its
 * own earlier writes or reads is internal.
 */
import { HistoryShapeError, type Key } from "../../harness/history/op.ts";
import { EdgeKind, EdgeList, Graph, SccFinder } from "./graph.ts";
import {
  txnData,
  type AnomalySink,
  type EdgeReason,
  type NameOf,
  type WorkloadInference,
} from "./inference.ts";
import { show, TxnStatus, type TxnTable } from "./txns.ts";

interface KeyState {
  readonly key: Key;
  /** Value → writer * 2 + (1 if that write was intermediate: the writer wrote the key again). */
  readonly writers: Map<unknown, number>;
  /** Version → its number in this key's version graph (null is version 0). */
  readonly versions: Map<unknown, number>;
  readonly values: unknown[];
  /** Version-order edges a → b, with why each holds. */
  readonly orderFrom: number[];
  readonly orderTo: number[];
  readonly orderWhy: string[];
  /** Version → committed transactions whose external read saw it. */
  readonly readers: Map<number, number[]>;
  excluded: boolean;
}

/** What one transaction did to one key: its external read and its final write. */
interface Access {
  readonly key: Key;
  read?: unknown; // external read value (null = never written); undefined if none
  hasRead: boolean;
  write?: unknown;
  hasWrite: boolean;
}

function accessesOf(txns: TxnTable, t: number, sink: AnomalySink | undefined): Map<Key, Access> {
  const accesses = new Map<Key, Access>();
  const mops = txns.microOps[t]!;
  for (let i = 0; i < mops.length; i++) {
    const [f, k, raw] = mops[i]!;
    const v = raw === undefined ? null : raw;
    if (f === "append") {
      throw new HistoryShapeError(
        `index ${txns.op[t]!.index}: an rw-register history has only "r" and "w" micro-ops, got "append"`,
      );
    }
    let a = accesses.get(k);
    if (a === undefined) {
      a = { key: k, hasRead: false, hasWrite: false };
      accesses.set(k, a);
      if (f === "r") {
        a.read = v;
        a.hasRead = true;
        continue;
      }
    } else if (f === "r" && sink !== undefined) {
      // A later read must see this transaction's own last write, or else its own last read.
      const expected = a.hasWrite ? a.write : a.read;
      if (expected !== v) {
        sink.add("internal", () => ({
          explanation: `The txn at index ${txns.op[t]!.index} read key ${show(k)} = ${show(v)} at micro-op ${i}, but its own earlier micro-ops imply ${show(expected)}.`,
          key: k,
          expected,
          value: v,
          op: txnData(txns, t),
        }));
      }
      continue;
    } else if (f === "r") {
      continue;
    }
    a.write = v;
    a.hasWrite = true;
  }
  return accesses;
}

export function inferRwRegister(
  txns: TxnTable,
  edges: EdgeList,
  sink: AnomalySink,
  options: { readonly sequentialKeys?: boolean; readonly linearizableKeys?: boolean },
): WorkloadInference {
  const keyIds = new Map<Key, number>();
  const keys: KeyState[] = [];
  const notes: string[] = [];
  const stateOf = (key: Key): KeyState => {
    let id = keyIds.get(key);
    if (id === undefined) {
      id = keys.length;
      keyIds.set(key, id);
      keys.push({
        key,
        writers: new Map(),
        versions: new Map([[null, 0]]),
        values: [null],
        orderFrom: [],
        orderTo: [],
        orderWhy: [],
        readers: new Map(),
        excluded: false,
      });
    }
    return keys[id]!;
  };
  const versionOf = (s: KeyState, v: unknown): number => {
    let id = s.versions.get(v);
    if (id === undefined) {
      id = s.values.length;
      s.versions.set(v, id);
      s.values.push(v);
    }
    return id;
  };
  const order = (s: KeyState, a: unknown, b: unknown, why: string): void => {
    if (a === b) return;
    s.orderFrom.push(versionOf(s, a));
    s.orderTo.push(versionOf(s, b));
    s.orderWhy.push(why);
  };
  const writerOf = (s: KeyState, v: unknown): number => {
    const w = s.writers.get(v);
    return w === undefined ? -1 : w >> 1;
  };
  const label = (t: number): string => `the txn at index ${txns.op[t]!.index}`;

  // 1. Writers of every value (intermediate writes marked); writes must be unique per key.
  const repeated: Key[] = [];
  for (let t = 0; t < txns.count; t++) {
    const mops = txns.microOps[t]!;
    for (let i = 0; i < mops.length; i++) {
      const [f, k, v] = mops[i]!;
      if (f !== "w") continue;
      const s = stateOf(k);
      let intermediate = 0;
      for (let j = i + 1; j < mops.length; j++)
        if (mops[j]![0] === "w" && mops[j]![1] === k) intermediate = 1;
      if (v === null || (s.writers.has(v) && writerOf(s, v) !== t)) {
        if (!s.excluded) repeated.push(k);
        s.excluded = true;
      }
      s.writers.set(v, t * 2 + intermediate);
    }
  }
  if (repeated.length > 0) {
    notes.push(
      `${repeated.length} key(s) were written the same value twice, or null (first: ${show(repeated[0])}), so their version order cannot be inferred`,
    );
  }

  // 2. External reads of committed transactions: read anomalies, readers, writes-follow-reads.
  const accesses: (Map<Key, Access> | undefined)[] = new Array(txns.count);
  for (let t = 0; t < txns.count; t++) {
    if (txns.status[t] === TxnStatus.fail) continue;
    const ok = txns.status[t] === TxnStatus.ok;
    const mine = accessesOf(txns, t, ok ? sink : undefined);
    accesses[t] = mine;
    for (const a of mine.values()) {
      const s = stateOf(a.key);
      if (a.hasWrite) versionOf(s, a.write);
      if (!ok || !a.hasRead) continue;
      const v = a.read;
      const version = versionOf(s, v);
      const list = s.readers.get(version) ?? [];
      list.push(t);
      s.readers.set(version, list);
      if (v !== null) {
        const entry = s.writers.get(v);
        if (entry === undefined) {
          sink.add("garbage-read", () => ({
            explanation: `${label(t)} read key ${show(a.key)} = ${show(v)}, a value no transaction ever wrote.`,
            key: a.key,
            value: v,
            op: txnData(txns, t),
          }));
        } else if (txns.status[entry >> 1] === TxnStatus.fail) {
          sink.add("G1a", () => ({
            explanation: `${label(t)} read key ${show(a.key)} = ${show(v)}, written by ${label(entry >> 1)}, which failed (did not commit).`,
            key: a.key,
            value: v,
            op: txnData(txns, t),
            writer: txnData(txns, entry >> 1),
          }));
        } else if ((entry & 1) === 1 && entry >> 1 !== t) {
          sink.add("G1b", () => ({
            explanation: `${label(t)} read key ${show(a.key)} = ${show(v)}, an intermediate state: ${label(entry >> 1)} wrote ${show(v)} and then wrote the key again.`,
            key: a.key,
            value: v,
            op: txnData(txns, t),
            writer: txnData(txns, entry >> 1),
          }));
        }
      }
      if (a.hasWrite) {
        order(s, v, a.write, `${label(t)} read ${show(v)} and then wrote ${show(a.write)}`);
      }
    }
  }

  // 3. Optional orders: per process (sequential keys), along realtime edges (linearizable keys).
  const lastSeen = (m: Map<Key, Access>, k: Key): { has: boolean; v: unknown } => {
    const a = m.get(k);
    if (a === undefined) return { has: false, v: undefined };
    return a.hasWrite ? { has: true, v: a.write } : { has: a.hasRead, v: a.read };
  };
  const firstSeen = (a: Access): { has: boolean; v: unknown } =>
    a.hasRead ? { has: true, v: a.read } : { has: a.hasWrite, v: a.write };
  if (options.sequentialKeys) {
    const last = new Map<string, unknown>();
    for (let t = 0; t < txns.count; t++) {
      const mine = accesses[t];
      if (mine === undefined || txns.status[t] !== TxnStatus.ok) continue;
      for (const a of mine.values()) {
        const id = `${txns.process[t]}\u0000${typeof a.key}:${String(a.key)}`;
        const first = firstSeen(a);
        if (last.has(id) && first.has) {
          order(
            stateOf(a.key),
            last.get(id),
            first.v,
            `process ${String(txns.processNames[txns.process[t]!])} saw ${show(last.get(id))} before ${show(first.v)} (sequential key)`,
          );
        }
        const after = lastSeen(mine, a.key);
        if (after.has) last.set(id, after.v);
      }
    }
  }
  if (options.linearizableKeys) {
    const count = edges.length;
    for (let e = 0; e < count; e++) {
      if (edges.kind[e] !== EdgeKind.realtime) continue;
      const from = accesses[edges.from[e]!];
      const to = accesses[edges.to[e]!];
      if (from === undefined || to === undefined || txns.status[edges.to[e]!] !== TxnStatus.ok) continue;
      for (const a of to.values()) {
        const before = lastSeen(from, a.key);
        const after = firstSeen(a);
        if (!before.has || !after.has) continue;
        order(
          stateOf(a.key),
          before.v,
          after.v,
          `${label(edges.from[e]!)} saw ${show(before.v)} and completed before ${label(edges.to[e]!)} began and saw ${show(after.v)} (linearizable key)`,
        );
      }
    }
  }

  // 4. Per key: initial state, cyclic versions, then ww, wr and rw edges.
  for (const s of keys) {
    const n = s.values.length;
    const hasPredecessor = new Uint8Array(n);
    for (const b of s.orderTo) hasPredecessor[b] = 1;
    for (let b = 1; b < n; b++)
      if (hasPredecessor[b] === 0) order(s, null, s.values[b], "null is the initial state");
    const versionEdges = new EdgeList();
    for (let i = 0; i < s.orderFrom.length; i++) versionEdges.add(s.orderFrom[i]!, s.orderTo[i]!, 1);
    const cycles = new SccFinder(new Graph(n, versionEdges)).find(1);
    if (cycles.length > 0) {
      s.excluded = true;
      const cycle = [...cycles[0]!].map((x) => s.values[x]);
      const whys = s.orderWhy.filter(
        (_, i) => cycles[0]!.includes(s.orderFrom[i]!) && cycles[0]!.includes(s.orderTo[i]!),
      );
      sink.add("cyclic-versions", () => ({
        explanation: `The versions ${show(cycle)} of key ${show(s.key)} must each precede another in a cycle:\n${whys.map((w) => `  - ${w}`).join("\n")}`,
        key: s.key,
        values: cycle,
      }));
    }
    if (s.excluded) continue;
    const usable = (v: unknown): number => {
      const e = s.writers.get(v);
      return e === undefined || (e & 1) === 1 || txns.status[e >> 1] === TxnStatus.fail ? -1 : e >> 1;
    };
    for (const [version, readers] of s.readers) {
      const w = usable(s.values[version]);
      if (w !== -1) for (const r of readers) edges.add(w, r, EdgeKind.wr);
    }
    for (let i = 0; i < s.orderFrom.length; i++) {
      const a = s.orderFrom[i]!;
      const wb = usable(s.values[s.orderTo[i]!]);
      if (wb === -1) continue;
      const wa = a === 0 ? -1 : usable(s.values[a]);
      if (wa !== -1) edges.add(wa, wb, EdgeKind.ww);
      for (const r of s.readers.get(a) ?? []) edges.add(r, wb, EdgeKind.rw);
    }
  }

  const explain = (from: number, to: number, kind: number, name: NameOf): EdgeReason | undefined => {
    for (const s of keys) {
      if (s.excluded) continue;
      const wFrom = (v: unknown): boolean => writerOf(s, v) === from;
      const wTo = (v: unknown): boolean => writerOf(s, v) === to;
      if (kind === EdgeKind.wr) {
        for (const [version, readers] of s.readers) {
          const v = s.values[version];
          if (v !== null && wFrom(v) && readers.includes(to)) {
            return {
              clause: `${name(to)} observed ${name(from)}'s write of ${show(v)} to key ${show(s.key)}`,
              key: s.key,
              value: v,
            };
          }
        }
        continue;
      }
      for (let i = 0; i < s.orderFrom.length; i++) {
        const a = s.values[s.orderFrom[i]!];
        const b = s.values[s.orderTo[i]!];
        if (!wTo(b)) continue;
        if (kind === EdgeKind.ww && a !== null && wFrom(a)) {
          return {
            clause: `${name(to)} wrote ${show(b)} to key ${show(s.key)} after ${name(from)} wrote ${show(a)} (${s.orderWhy[i]})`,
            key: s.key,
            value: a,
            nextValue: b,
          };
        }
        if (kind === EdgeKind.rw && (s.readers.get(s.orderFrom[i]!) ?? []).includes(from)) {
          const seen = a === null ? "the initial (null) state" : show(a);
          return {
            clause: `${name(from)} read ${seen} of key ${show(s.key)}, which precedes ${name(to)}'s write of ${show(b)} (${s.orderWhy[i]})`,
            key: s.key,
            value: a,
            nextValue: b,
          };
        }
      }
    }
    return undefined;
  };

  return { explain, notes };
}
