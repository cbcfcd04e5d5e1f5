/**
 * Read-write registers: each write sets a key to a value, unique per key; each read returns the
 * current value (null before any write). A read shows which version it saw, but not where that
 * version sits among the others, so the order of versions is inferred, per key, as a graph, from
 * sources that each hold under a stated assumption (Elle's, with Elle's defaults):
 *
 * - initial state (always): null (never written) precedes every written version;
 * - writes follow reads (`wfrKeys`, off by default): a transaction that read a and then wrote b
 *   orders a before b (true of any transaction that reads a row and then updates it);
 * - sequential keys (`sequentialKeys`, off): each process sees a key's versions in order;
 * - linearizable keys (`linearizableKeys`, off): a transaction that completed before another
 *   began saw no later version of a key than that other one saw first. It is applied through
 *   each key's own real-time frontier (the latest completed transactions touching that key), so a
 *   transaction between them that does not touch the key does not hide the order.
 *
 * The sources are added one at a time; one that makes a key's versions cyclic is cyclic-versions,
 * and for that key it is left out (the sources before it still count), as Elle leaves it out. From
 * the version graph: ww (b's writer after a's writer, for a before b), wr (the writer of what was
 * read, then the reader) and rw (the reader of a before the writer of b). Only a transaction's
 * external reads (before it writes the key) and final writes count; an intermediate write that
 * someone read is G1b, a failed one G1a, an unwritten one garbage-read; a transaction whose reads
 * contradict its own earlier writes or reads is internal; two committed transactions that read the
 * same version of a key and both wrote it are a lost-update (Elle's rule). A write of a
 * transaction of unknown outcome (`info`) takes part only once a committed read shows it: until
 * then it may never have happened.
 */
import type { Budget } from "../../harness/budget.ts";
import { HistoryShapeError, type Key } from "../../harness/history/op.ts";
import { ValueInterner, valueText } from "../../harness/history/valueText.ts";
import { EdgeKind, EdgeList, Graph, SccFinder } from "./graph.ts";
import {
  txnData,
  type AnomalySink,
  type EdgeReason,
  type NameOf,
  type WorkloadInference,
} from "./inference.ts";
import { show, TxnStatus, type TxnTable } from "./txns.ts";

export interface RwRegisterOptions {
  readonly sequentialKeys?: boolean;
  readonly linearizableKeys?: boolean;
  readonly wfrKeys?: boolean;
}

type SourceName = "initial-state" | "writes-follow-reads" | "sequential-keys" | "linearizable-keys";

interface KeyState {
  readonly key: Key;
  /** Value → writer * 2 + (1 if that write was intermediate: the writer wrote the key again). */
  readonly writers: Map<unknown, number>;
  /** Version → its number in this key's version graph (null is version 0). */
  readonly versions: Map<unknown, number>;
  readonly values: unknown[];
  /** Version-order edges a → b, with why each holds and which source gave it. */
  readonly orderFrom: number[];
  readonly orderTo: number[];
  readonly orderWhy: string[];
  /** Version → committed transactions whose external read saw it. */
  readonly readers: Map<number, number[]>;
  excluded: boolean;
  /**
   * Values more than one transaction wrote: which of those writes a read saw is unknown, so a read
   * of one is no G1a or G1b (the write kept in `writers` is merely the last).
   */
  repeated: Set<unknown> | undefined;
}

/** What one transaction did to one key: its external read and its final write. */
interface Access {
  readonly key: Key;
  read?: unknown; // external read value (null = never written); undefined if none
  hasRead: boolean;
  write?: unknown;
  hasWrite: boolean;
}

function accessesOf(
  txns: TxnTable,
  t: number,
  sink: AnomalySink | undefined,
  values: ValueInterner,
): Map<Key, Access> {
  const accesses = new Map<Key, Access>();
  const mops = txns.microOpsOf(t);
  for (let i = 0; i < mops.length; i++) {
    const [f, k, raw] = mops[i]!;
    const v = raw === undefined ? null : values.of(raw);
    if (f === "append") {
      throw new HistoryShapeError(
        `index ${txns.opOf(t).index}: an rw-register history has only "r" and "w" micro-ops, got "append"`,
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
          explanation: `The txn at index ${txns.opOf(t).index} read key ${show(k)} = ${show(v)} at micro-op ${i}, but its own earlier micro-ops imply ${show(expected)}.`,
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

/** The state every step of the inference shares. */
class RwRegister {
  /** One reference per value: the maps below compare values by identity. */
  readonly values = new ValueInterner();
  readonly keyIds = new Map<Key, number>();
  readonly keys: KeyState[] = [];
  readonly notes: string[] = [];
  readonly accesses: (Map<Key, Access> | undefined)[];

  constructor(
    readonly txns: TxnTable,
    readonly sink: AnomalySink,
    readonly budget: Budget | undefined,
  ) {
    this.accesses = new Array(txns.count);
  }

  stateOf(key: Key): KeyState {
    let id = this.keyIds.get(key);
    if (id === undefined) {
      id = this.keys.length;
      this.keyIds.set(key, id);
      this.keys.push({
        key,
        writers: new Map(),
        versions: new Map([[null, 0]]),
        values: [null],
        orderFrom: [],
        orderTo: [],
        orderWhy: [],
        readers: new Map(),
        excluded: false,
        repeated: undefined,
      });
    }
    return this.keys[id]!;
  }

  versionOf(s: KeyState, v: unknown): number {
    let id = s.versions.get(v);
    if (id === undefined) {
      id = s.values.length;
      s.versions.set(v, id);
      s.values.push(v);
    }
    return id;
  }

  writerOf(s: KeyState, v: unknown): number {
    const w = s.writers.get(v);
    return w === undefined ? -1 : w >> 1;
  }

  label(t: number): string {
    return `the txn at index ${this.txns.opOf(t).index}`;
  }
}

/** 1. Writers of every value (intermediate writes marked); writes must be unique per key. */
function indexWrites(rr: RwRegister): void {
  const { txns } = rr;
  const repeated: Key[] = [];
  for (let t = 0; t < txns.count; t++) {
    const mops = txns.microOpsOf(t);
    rr.budget?.step(mops.length + 1);
    for (let i = 0; i < mops.length; i++) {
      const [f, k, raw] = mops[i]!;
      if (f !== "w") continue;
      const v = rr.values.of(raw);
      const s = rr.stateOf(k);
      let intermediate = 0;
      for (let j = i + 1; j < mops.length; j++)
        if (mops[j]![0] === "w" && mops[j]![1] === k) intermediate = 1;
      const writtenBefore = s.writers.has(v) && rr.writerOf(s, v) !== t;
      if (v === null || writtenBefore) {
        if (!s.excluded) repeated.push(k);
        s.excluded = true;
      }
      if (writtenBefore) (s.repeated ??= new Set()).add(v);
      s.writers.set(v, t * 2 + intermediate);
    }
  }
  if (repeated.length > 0) {
    rr.notes.push(
      `${repeated.length} key(s) were written the same value twice, or null (first: ${show(repeated[0])}), so their version order cannot be inferred`,
    );
  }
}

/** 2. External reads of committed transactions: read anomalies and readers of each version. */
function indexReads(rr: RwRegister): void {
  const { txns, sink } = rr;
  for (let t = 0; t < txns.count; t++) {
    if (txns.status[t] === TxnStatus.fail) continue;
    const ok = txns.status[t] === TxnStatus.ok;
    const mine = accessesOf(txns, t, ok ? sink : undefined, rr.values);
    rr.accesses[t] = mine;
    rr.budget?.step(mine.size + 1);
    for (const a of mine.values()) {
      const s = rr.stateOf(a.key);
      if (a.hasWrite) rr.versionOf(s, a.write);
      if (!ok || !a.hasRead) continue;
      const v = a.read;
      const version = rr.versionOf(s, v);
      const list = s.readers.get(version) ?? [];
      list.push(t);
      s.readers.set(version, list);
      if (v === null) continue;
      const entry = s.writers.get(v);
      if (entry === undefined) {
        sink.add("garbage-read", () => ({
          explanation: `${rr.label(t)} read key ${show(a.key)} = ${show(v)}, a value no transaction ever wrote.`,
          key: a.key,
          value: v,
          op: txnData(txns, t),
        }));
      } else if (s.repeated?.has(v) === true) {
        // Written by more than one transaction: which write this read saw is unknown.
      } else if (txns.status[entry >> 1] === TxnStatus.fail) {
        sink.add("G1a", () => ({
          explanation: `${rr.label(t)} read key ${show(a.key)} = ${show(v)}, written by ${rr.label(entry >> 1)}, which failed (did not commit).`,
          key: a.key,
          value: v,
          op: txnData(txns, t),
          writer: txnData(txns, entry >> 1),
        }));
      } else if ((entry & 1) === 1 && entry >> 1 !== t) {
        sink.add("G1b", () => ({
          explanation: `${rr.label(t)} read key ${show(a.key)} = ${show(v)}, an intermediate state: ${rr.label(entry >> 1)} wrote ${show(v)} and then wrote the key again.`,
          key: a.key,
          value: v,
          op: txnData(txns, t),
          writer: txnData(txns, entry >> 1),
        }));
      }
    }
  }
}

/** The version order edges one source proposes, per key: [key, a, b, why]. */
type Proposal = [KeyState, unknown, unknown, string];

const lastSeen = (m: Map<Key, Access>, k: Key): { has: boolean; v: unknown } => {
  const a = m.get(k);
  if (a === undefined) return { has: false, v: undefined };
  return a.hasWrite ? { has: true, v: a.write } : { has: a.hasRead, v: a.read };
};
const firstSeen = (a: Access): { has: boolean; v: unknown } =>
  a.hasRead ? { has: true, v: a.read } : { has: a.hasWrite, v: a.write };

function initialStateSource(rr: RwRegister): Proposal[] {
  const out: Proposal[] = [];
  for (const s of rr.keys) {
    for (let b = 1; b < s.values.length; b++) out.push([s, null, s.values[b], "null is the initial state"]);
  }
  return out;
}

function writesFollowReadsSource(rr: RwRegister): Proposal[] {
  const out: Proposal[] = [];
  for (let t = 0; t < rr.txns.count; t++) {
    const mine = rr.accesses[t];
    if (mine === undefined || rr.txns.status[t] !== TxnStatus.ok) continue;
    for (const a of mine.values()) {
      if (a.hasRead && a.hasWrite && a.read !== null) {
        out.push([
          rr.stateOf(a.key),
          a.read,
          a.write,
          `${rr.label(t)} read ${show(a.read)} and then wrote ${show(a.write)}`,
        ]);
      }
    }
  }
  return out;
}

function sequentialKeysSource(rr: RwRegister): Proposal[] {
  const { txns } = rr;
  const out: Proposal[] = [];
  const last = new Map<string, unknown>();
  for (let t = 0; t < txns.count; t++) {
    const mine = rr.accesses[t];
    if (mine === undefined || txns.status[t] !== TxnStatus.ok) continue;
    for (const a of mine.values()) {
      const id = `${txns.process[t]}\u0000${typeof a.key}:${String(a.key)}`;
      const first = firstSeen(a);
      if (last.has(id) && first.has) {
        out.push([
          rr.stateOf(a.key),
          last.get(id),
          first.v,
          `process ${String(txns.processNames[txns.process[t]!])} saw ${show(last.get(id))} before ${show(first.v)} (sequential key)`,
        ]);
      }
      const after = lastSeen(mine, a.key);
      if (after.has) last.set(id, after.v);
    }
  }
  return out;
}

/**
 * Per key, a real-time frontier: the committed transactions touching the key that no other
 * committed one touching it is known to follow. Each invocation is ordered after the frontier of
 * every key it touches; each completion replaces, in the frontiers of its keys, the transactions
 * it follows.
 */
function linearizableKeysSource(rr: RwRegister): Proposal[] {
  const { txns } = rr;
  const out: Proposal[] = [];
  const events: [position: number, t: number, invoke: boolean][] = [];
  for (let t = 0; t < txns.count; t++) {
    if (rr.accesses[t] === undefined || txns.status[t] !== TxnStatus.ok) continue;
    events.push([txns.invokeAt[t]!, t, true], [txns.completeAt[t]!, t, false]);
  }
  events.sort((a, b) => a[0] - b[0]);
  const frontier = new Map<KeyState, number[]>();
  /** For each transaction, the frontier members it followed, per key, when it was invoked. */
  const followed = new Map<number, Map<KeyState, number[]>>();
  for (const [, t, invoke] of events) {
    const mine = rr.accesses[t]!;
    rr.budget?.step(mine.size + 1);
    if (invoke) {
      const before = new Map<KeyState, number[]>();
      for (const a of mine.values()) {
        const s = rr.stateOf(a.key);
        const members = frontier.get(s) ?? [];
        before.set(s, [...members]);
        const first = firstSeen(a);
        if (!first.has) continue;
        for (const c of members) {
          const seen = lastSeen(rr.accesses[c]!, a.key);
          if (!seen.has) continue;
          out.push([
            s,
            seen.v,
            first.v,
            `${rr.label(c)} saw ${show(seen.v)} and completed before ${rr.label(t)} began and saw ${show(first.v)} (linearizable key)`,
          ]);
        }
      }
      followed.set(t, before);
    } else {
      for (const [s, members] of followed.get(t) ?? []) {
        const kept = (frontier.get(s) ?? []).filter((c) => !members.includes(c));
        kept.push(t);
        frontier.set(s, kept);
      }
      followed.delete(t);
    }
  }
  return out;
}

/** 3. Version orders, source by source; a source that makes a key cyclic is left out for that key. */
function inferVersionOrders(rr: RwRegister, options: RwRegisterOptions): void {
  const sources: [SourceName, (rr: RwRegister) => Proposal[]][] = [["initial-state", initialStateSource]];
  if (options.wfrKeys === true) sources.push(["writes-follow-reads", writesFollowReadsSource]);
  if (options.sequentialKeys === true) sources.push(["sequential-keys", sequentialKeysSource]);
  if (options.linearizableKeys === true) sources.push(["linearizable-keys", linearizableKeysSource]);
  const used: SourceName[] = [];
  for (const [name, source] of sources) {
    const byKey = new Map<KeyState, Proposal[]>();
    for (const p of source(rr)) {
      if (p[1] === p[2]) continue;
      const list = byKey.get(p[0]) ?? [];
      list.push(p);
      byKey.set(p[0], list);
    }
    for (const [s, proposals] of byKey) {
      if (s.excluded) continue;
      rr.budget?.step(proposals.length + 1);
      const mark = s.orderFrom.length;
      for (const [, a, b, why] of proposals) {
        s.orderFrom.push(rr.versionOf(s, a));
        s.orderTo.push(rr.versionOf(s, b));
        s.orderWhy.push(why);
      }
      const cycle = versionCycle(s);
      if (cycle === undefined) continue;
      reportCyclicVersions(rr, s, cycle, [...used, name]);
      s.orderFrom.length = s.orderTo.length = s.orderWhy.length = mark;
    }
    used.push(name);
  }
}

function versionCycle(s: KeyState): Int32Array | undefined {
  const versionEdges = new EdgeList();
  for (let i = 0; i < s.orderFrom.length; i++) versionEdges.add(s.orderFrom[i]!, s.orderTo[i]!, 1);
  return new SccFinder(new Graph(s.values.length, versionEdges)).find(1)[0];
}

function reportCyclicVersions(rr: RwRegister, s: KeyState, cycle: Int32Array, sources: SourceName[]): void {
  const values = [...cycle].map((x) => s.values[x]);
  const whys = s.orderWhy.filter((_, i) => cycle.includes(s.orderFrom[i]!) && cycle.includes(s.orderTo[i]!));
  rr.sink.add("cyclic-versions", () => ({
    explanation: `The versions ${show(values)} of key ${show(s.key)} must each precede another in a cycle (sources: ${sources.join(", ")}; the last is left out for this key):\n${whys.map((w) => `  - ${w}`).join("\n")}`,
    key: s.key,
    values,
    sources,
  }));
}

/** 4. ww, wr and rw edges from the version orders. */
function addEdges(rr: RwRegister, edges: EdgeList): void {
  const { txns } = rr;
  for (const s of rr.keys) {
    if (s.excluded) continue;
    rr.budget?.step(s.orderFrom.length + s.readers.size + 1);
    const observed = (v: unknown): boolean => (s.readers.get(s.versions.get(v) ?? -1)?.length ?? 0) > 0;
    /** The writer a dependency may name: committed, final, and (when its outcome is unknown) seen. */
    const usable = (v: unknown): number => {
      const e = s.writers.get(v);
      if (e === undefined || (e & 1) === 1) return -1;
      const status = txns.status[e >> 1];
      if (status === TxnStatus.fail || (status === TxnStatus.info && !observed(v))) return -1;
      return e >> 1;
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
}

/** 5. Elle's lost update: committed transactions that read one version of a key and wrote it. */
function reportLostUpdates(rr: RwRegister): void {
  const { txns } = rr;
  const groups = new Map<string, { key: Key; value: unknown; txns: number[] }>();
  for (let t = 0; t < txns.count; t++) {
    if (txns.status[t] !== TxnStatus.ok) continue;
    for (const a of rr.accesses[t]!.values()) {
      if (!a.hasRead || !a.hasWrite) continue;
      // The value's identity, as everywhere values are compared: not its JSON text, which spells
      // 1e400 (Infinity) as null and keeps an object's keys in the order they came.
      const id = `${typeof a.key}:${String(a.key)}\u0000${valueText(a.read)}`;
      const group = groups.get(id) ?? { key: a.key, value: a.read, txns: [] };
      group.txns.push(t);
      groups.set(id, group);
    }
  }
  for (const group of groups.values()) {
    if (group.txns.length < 2) continue;
    rr.sink.add("lost-update", () => ({
      explanation: `${group.txns.map((t) => rr.label(t)).join(" and ")} all read key ${show(group.key)} = ${show(group.value)} and then wrote it; all committed, so all but one of those updates was lost.`,
      key: group.key,
      value: group.value,
      txns: group.txns.map((t) => txnData(txns, t)),
    }));
  }
}

export function inferRwRegister(
  txns: TxnTable,
  edges: EdgeList,
  sink: AnomalySink,
  options: RwRegisterOptions,
  budget?: Budget,
): WorkloadInference {
  const rr = new RwRegister(txns, sink, budget);
  indexWrites(rr);
  indexReads(rr);
  inferVersionOrders(rr, options);
  addEdges(rr, edges);
  reportLostUpdates(rr);
  return { explain: explainer(rr), notes: rr.notes };
}

function explainer(rr: RwRegister): WorkloadInference["explain"] {
  return (from: number, to: number, kind: number, name: NameOf): EdgeReason | undefined => {
    for (const s of rr.keys) {
      if (s.excluded) continue;
      const wFrom = (v: unknown): boolean => rr.writerOf(s, v) === from;
      const wTo = (v: unknown): boolean => rr.writerOf(s, v) === to;
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
}
