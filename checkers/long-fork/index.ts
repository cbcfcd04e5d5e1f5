/**
 * Long fork (after Jepsen's `jepsen.tests.long-fork`): an anomaly parallel snapshot isolation
 * allows and snapshot isolation forbids. Writes insert one key each, once (`[["w", k, v]]`); reads
 * read a whole group of `groupSize` keys at once (`[["r", k, v], …]`). States only grow (a key
 * goes from unwritten to its one value), so under snapshot isolation every read of a group sees a
 * prefix of one order of the group's writes: of two reads, one must see everything the other saw.
 * Two reads of which each saw a write the other did not (T3 saw y but not x, T4 saw x but not y)
 * observed the writes in conflicting orders: a long fork.
 *
 * As Jepsen's: every transaction is a read of a group or one write (anything else is bad input,
 * named by its index, as Jepsen's `legal-txn?`); reads are `ok` operations whose value is reads
 * alone, grouped by the set of keys they read; every pair of a group is compared; a key written
 * twice makes the verdict "unknown" (the argument needs one write per key). The group size is
 * taken from `groupSize`, else from the reads themselves when they all read the same number of
 * keys (any other size would make a read illegal); a read of another size is bad input.
 *
 * Beyond Jepsen, whose checker stops with an error there: a read of a value that was never written
 * to its key (garbage-read; when the history records writes at all) or whose write failed (G1a) is
 * reported as such, and the comparison
 * goes by which keys a read saw at all. And where no group was read twice nothing was compared:
 * the verdict is "unknown", not valid.
 */
import { budgetOf, type Budget, type BudgetLimits } from "../../harness/budget.ts";
import type { Key, Op } from "../../harness/history/op.ts";
import { HistoryShapeError, nothingToCheck, pairOps } from "../../harness/history/op.ts";
import type { AnomalyCase, CheckResult } from "../../harness/results.ts";
import { compareNames } from "../../harness/compareNames.ts";
import { describeFound } from "../../harness/history/validate.ts";
import { sameValue } from "../../harness/history/valueText.ts";

/** Every anomaly class the long-fork checker reports. */
export const longForkAnomalyClasses = ["garbage-read", "G1a", "long-fork"] as const;
type LongForkAnomalyClass = (typeof longForkAnomalyClasses)[number];

export interface LongForkCheckOptions {
  /** Keys each read reads; inferred from the reads when absent. */
  readonly groupSize?: number;
  /** Cases kept in full per class (others are counted). Default 16. */
  readonly casesKeptPerClass?: number;
  readonly budget?: BudgetLimits | Budget;
}

type MicroOp = readonly [string, Key, unknown];

const isMicroOp = (m: unknown): m is MicroOp =>
  Array.isArray(m) &&
  m.length === 3 &&
  typeof m[0] === "string" &&
  (typeof m[1] === "string" || typeof m[1] === "number");

function microOps(value: unknown): readonly MicroOp[] | undefined {
  return Array.isArray(value) && value.length > 0 && value.every(isMicroOp) ? value : undefined;
}

const isReadTxn = (mops: readonly MicroOp[]): boolean => mops.every((m) => m[0] === "r");
const isWriteTxn = (mops: readonly MicroOp[]): boolean => mops.length === 1 && mops[0]![0] === "w";

/** An operation's micro-ops, which must be a read of a group or one write; else bad input. */
function legalTxn(op: Op): readonly MicroOp[] {
  const mops = microOps(op.value);
  if (mops === undefined || !(isReadTxn(mops) || isWriteTxn(mops))) {
    throw new HistoryShapeError(
      `index ${op.index}: a long-fork history holds reads of a group of keys ([["r", k, null], …]) and single writes ([["w", k, v]]); got ${describeFound(op.value)}`,
    );
  }
  return mops;
}

const keyId = (k: Key): string => `${typeof k}:${String(k)}`;

interface Read {
  readonly op: Op;
  /** Key → value seen (null: not yet written). */
  readonly seen: Map<string, unknown>;
  readonly keys: readonly Key[];
}

/**
 * The group size the reads agree on; undefined when they read different numbers of keys, or when
 * no read completed (`hasGroupRead` tells the two apart).
 */
export function inferGroupSize(history: readonly Op[]): number | undefined {
  let size: number | undefined;
  for (const op of history) {
    if (op.type !== "ok" || op.process === "nemesis") continue;
    const mops = microOps(op.value);
    if (mops === undefined || !isReadTxn(mops)) continue;
    const n = new Set(mops.map((m) => keyId(m[1]))).size;
    if (size === undefined) size = n;
    else if (size !== n) return undefined;
  }
  return size;
}

/** Whether some read of a group completed (`ok`). */
export function hasGroupRead(history: readonly Op[]): boolean {
  return history.some((op) => {
    if (op.type !== "ok" || op.process === "nemesis") return false;
    const mops = microOps(op.value);
    return mops !== undefined && isReadTxn(mops);
  });
}

export function checkLongForkHistory(
  history: readonly Op[],
  options: LongForkCheckOptions = {},
): CheckResult {
  const empty = nothingToCheck(history);
  if (empty !== undefined) return { valid: "unknown", reason: empty, readCount: 0 };
  const budget = options.budget === undefined ? undefined : budgetOf(options.budget);
  const keep = options.casesKeptPerClass ?? 16;
  const counts: Record<string, number> = {};
  const cases: Record<string, AnomalyCase[]> = {};
  const report = (kind: LongForkAnomalyClass, c: () => AnomalyCase): void => {
    counts[kind] = (counts[kind] ?? 0) + 1;
    const list = (cases[kind] ??= []);
    if (list.length < keep) list.push(c());
  };

  // Writes: who wrote what to each key, and whether a key was written twice. Every transaction is
  // a read of a group or one write (Jepsen's legal-txn?), invoked and, when ok, completed as such:
  // anything else (another workload's history, say) is bad input, not a transaction to skip.
  const written = new Map<string, { value: unknown; outcome: string; index: number }>();
  let writtenTwice: Key | undefined;
  for (const { invoke, complete } of pairOps(history)) {
    if (invoke.process === "nemesis") continue;
    const mops = legalTxn(invoke);
    if (complete?.type === "ok" && isWriteTxn(legalTxn(complete)) !== isWriteTxn(mops)) {
      throw new HistoryShapeError(
        `index ${complete.index}: an ok completion of a long-fork ${isWriteTxn(mops) ? "write" : "read"} is one too; got ${describeFound(complete.value)}`,
      );
    }
    if (!isWriteTxn(mops)) continue;
    const [, k, v] = mops[0]!;
    if (written.has(keyId(k)) && writtenTwice === undefined) writtenTwice = k;
    written.set(keyId(k), { value: v, outcome: complete?.type ?? "info", index: invoke.index });
  }

  // Reads, and what each saw.
  const reads: Read[] = [];
  let earlyReadCount = 0;
  let lateReadCount = 0;
  for (const op of history) {
    budget?.step();
    if (op.type !== "ok" || op.process === "nemesis") continue;
    const mops = microOps(op.value);
    if (mops === undefined || !isReadTxn(mops)) continue;
    const seen = new Map<string, unknown>();
    const keys: Key[] = [];
    for (const [, k, v] of mops) {
      if (!seen.has(keyId(k))) keys.push(k);
      seen.set(keyId(k), v);
      // A history that records no write at all (Jepsen's own test) cannot say what was written.
      if (v === null || written.size === 0) continue;
      const write = written.get(keyId(k));
      if (write === undefined || !sameValue(write.value, v)) {
        report("garbage-read", () => ({
          explanation: `the read at index ${op.index} saw key ${String(k)} = ${JSON.stringify(v)}, a value never written to it`,
          index: op.index,
          key: k,
          value: v,
        }));
      } else if (write.outcome === "fail") {
        report("G1a", () => ({
          explanation: `the read at index ${op.index} saw key ${String(k)} = ${JSON.stringify(v)}, written by the operation at index ${write.index}, which failed`,
          index: op.index,
          key: k,
          value: v,
        }));
      }
    }
    const values = [...seen.values()];
    if (values.every((v) => v === null)) earlyReadCount++;
    if (values.every((v) => v !== null)) lateReadCount++;
    reads.push({ op, seen, keys });
  }
  const figures = { readCount: reads.length, earlyReadCount, lateReadCount };
  if (writtenTwice !== undefined) {
    return {
      valid: "unknown",
      reason: `key ${String(writtenTwice)} was written more than once, so a read's state does not say which writes it saw (Jepsen: multiple-writes)`,
      ...figures,
    };
  }

  // Groups of reads by the set of keys they read; every read must read exactly groupSize keys.
  const groupSize = options.groupSize ?? reads[0]?.keys.length;
  const groups = new Map<string, Read[]>();
  for (const read of reads) {
    if (read.keys.length !== groupSize) {
      throw new HistoryShapeError(
        `index ${read.op.index}: every read of a long-fork history reads exactly ${String(groupSize)} keys (the group size${options.groupSize === undefined ? ", from the first read" : ""}); this one read ${read.keys.length}: ${read.keys.map(String).join(", ")}`,
      );
    }
    const id = read.keys.map(keyId).sort().join("\u0000");
    const list = groups.get(id) ?? [];
    list.push(read);
    groups.set(id, list);
  }

  let compared = 0;
  for (const group of groups.values()) {
    for (let i = 0; i < group.length; i++) {
      budget?.step(group.length - i);
      for (let j = i + 1; j < group.length; j++) {
        compared++;
        const a = group[i]!;
        const b = group[j]!;
        if (!forked(a, b)) continue;
        report("long-fork", () => ({
          explanation: `the reads at index ${a.op.index} and ${b.op.index} each saw a write the other did not: ${describeFork(a, b)}`,
          reads: [a.op.index, b.op.index],
          values: [Object.fromEntries(a.seen), Object.fromEntries(b.seen)],
        }));
      }
    }
  }
  const anomalyCounts = Object.fromEntries(Object.entries(counts).sort(([x], [y]) => compareNames(x, y)));
  const anomalies = Object.fromEntries(Object.keys(anomalyCounts).map((k) => [k, cases[k] ?? []]));
  const kinds = Object.keys(anomalyCounts);
  const details = { ...figures, groupSize, groupCount: groups.size, comparedPairs: compared };
  if (kinds.length > 0) {
    return {
      valid: false,
      reason: kinds.map((k) => `${anomalyCounts[k]} ${k}`).join(", ") + ` in ${reads.length} reads`,
      anomalies,
      anomalyCounts,
      ...details,
    };
  }
  if (compared === 0) {
    return {
      valid: "unknown",
      reason: `no group of keys was read twice (${reads.length} reads), so no two reads could be compared`,
      ...details,
    };
  }
  return {
    valid: true,
    reason: `${compared} pairs of reads in ${groups.size} groups, each pair ordered`,
    ...details,
  };
}

/** Whether each of two reads of one group saw a written key the other saw unwritten. */
function forked(a: Read, b: Read): boolean {
  let aAhead = false;
  let bAhead = false;
  for (const [k, va] of a.seen) {
    const vb = b.seen.get(k);
    if (va !== null && vb === null) aAhead = true;
    if (va === null && vb !== null && vb !== undefined) bAhead = true;
    if (aAhead && bAhead) return true;
  }
  return false;
}

function describeFork(a: Read, b: Read): string {
  const only = (x: Read, y: Read): string[] =>
    [...x.seen]
      .filter(([k, v]) => v !== null && y.seen.get(k) === null)
      .map(([k]) => k.slice(k.indexOf(":") + 1));
  return `only the first saw ${only(a, b).join(", ")}; only the second saw ${only(b, a).join(", ")}`;
}
