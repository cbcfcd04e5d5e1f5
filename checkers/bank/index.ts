/**
 * The bank checker: money is neither made nor destroyed, and no account is overdrawn.
 *
 * A bank holds a fixed set of accounts whose balances sum to a fixed total; transfers move money
 * between two accounts inside one transaction. Any snapshot of all balances a read transaction
 * returns must therefore sum to the total (a read that sees one half of a transfer but not the
 * other is read skew, and shows up here as a wrong total), and no balance, read or written, may
 * be negative. This checker looks only at what was observed: every `ok` transaction of `r`
 * micro-ops (a read; Jepsen's `read` of a map from account to balance counts too) and every `ok`
 * transaction that writes balances (a transfer's completion). Balances may be plain numbers (Jepsen's histories) or stamped rows
 * `{balance, writeId}` (faultline's bank workload); null means the account was never written.
 *
 * Results: `wrong-total` (reported as its first, worst and last cases, with the count),
 * `negative-balance`, `missing-balance` (a read that saw an account unwritten or not at all) and
 * `unexpected-key` (a read that saw a key that is not an account). A read that saw every account
 * unwritten comes from before the bank was opened and is only counted. A read that saw a balance
 * beyond a double's exact integers cannot be summed exactly: it is set aside, and a history with
 * one is at best "unknown".
 *
 * The total may be unknown (a Jepsen history records the initial balances nowhere): then the
 * property that still holds is that every read sums to the same amount, so the total most reads
 * agree on (the first such, on a tie) stands for it, and every read that disagrees is a wrong
 * total. Jepsen's bank checker needs the total; this one needs it only to name which side is wrong.
 */
import { budgetOf, type Budget, type BudgetLimits } from "../../harness/budget.ts";
import type { Key, Op } from "../../harness/history/op.ts";
import { HistoryShapeError, nothingToCheck } from "../../harness/history/op.ts";
import type { AnomalyCase, CheckResult } from "../../harness/results.ts";
import { compareNames } from "../../harness/compareNames.ts";
import { decimalSum } from "../../harness/decimalSum.ts";
import { isUnsafeIntegerText } from "../../harness/history/exactJson.ts";
import { describeFound } from "../../harness/history/validate.ts";

/** Every anomaly class the bank checker reports. */
export const bankAnomalyClasses = [
  "negative-balance",
  "unexpected-key",
  "missing-balance",
  "wrong-total",
] as const;
type BankAnomalyClass = (typeof bankAnomalyClasses)[number];

export interface BankCheckOptions {
  /** The account keys. */
  readonly accounts: readonly Key[];
  /** What every read must sum to; undefined: unknown, so the reads must agree with each other. */
  readonly total?: number;
  /** Charged a step per operation, so a time limit holds on a huge history. */
  readonly budget?: BudgetLimits | Budget;
  /** Cases kept in full per anomaly class (others are counted). Default 16. */
  readonly casesKeptPerClass?: number;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The (account, balance) pairs a read observed: a `txn` of nothing but `r` micro-ops, or a
 * Jepsen-style `read` whose value maps account to balance. Undefined for anything else.
 */
function readsOf(op: Op): [Key, unknown][] | undefined {
  if (op.f === "txn" && Array.isArray(op.value) && op.value.length > 0) {
    const mops = op.value as unknown[];
    if (!mops.every((m) => Array.isArray(m) && m.length === 3 && m[0] === "r")) return undefined;
    return (mops as [string, Key, unknown][]).map(([, key, value]) => [key, value]);
  }
  if (op.f === "read" && isPlainObject(op.value)) return Object.entries(op.value);
  return undefined;
}

/**
 * A balance given as text, or undefined: the readers keep an integer beyond a double's exact ones
 * as its decimal string, and a client may answer a BIGINT or NUMERIC column as its text (as
 * node-postgres does). Such a balance is not missing, but cannot be summed as a number either.
 */
function textBalance(value: unknown): string | undefined {
  const b = isPlainObject(value) ? value.balance : value;
  return typeof b === "string" ? b : undefined;
}

/** A stamped row's balance, a plain number, or undefined (null, or not a balance at all). */
export function balanceOf(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (isPlainObject(value)) {
    const b = value.balance;
    if (typeof b === "number") return b;
  }
  return undefined;
}

interface WrongTotal extends AnomalyCase {
  readonly index: number;
  readonly timeNs: number;
  readonly total: number;
  readonly expected: number;
  readonly balances: Readonly<Record<string, number | null>>;
}

export function checkBankHistory(history: readonly Op[], options: BankCheckOptions): CheckResult {
  const empty = nothingToCheck(history);
  if (empty !== undefined) return { valid: "unknown", reason: empty, readCount: 0 };
  const keep = options.casesKeptPerClass ?? 16;
  // Compared by name: a Jepsen read's map has string keys even for integer accounts.
  const accounts = new Set(options.accounts.map(String));
  const counts: Record<string, number> = {};
  const cases: Record<string, AnomalyCase[]> = {};
  const add = (kind: BankAnomalyClass, c: () => AnomalyCase): void => {
    counts[kind] = (counts[kind] ?? 0) + 1;
    const list = (cases[kind] ??= []);
    if (list.length < keep) list.push(c());
  };
  let first: WrongTotal | undefined;
  let worst: WrongTotal | undefined;
  let last: WrongTotal | undefined;
  let readCount = 0;
  let uninitializedReadCount = 0;
  /** Every read that saw every account: its op, sum and balances. */
  const totals: { op: Op; sum: number; balances: Record<string, number | null> }[] = [];
  const budget = options.budget === undefined ? undefined : budgetOf(options.budget);
  let inexactReadCount = 0;
  let firstInexact: { index: number; key: Key; text: string } | undefined;
  /** Reads of whole balances whose sum lies beyond a double's exact integers, and the first. */
  let unsafeSumCount = 0;
  let firstUnsafeSum: { index: number; sum: string } | undefined;

  for (const op of history) {
    budget?.step();
    if (op.type !== "ok" || op.process === "nemesis") continue;
    const reads = readsOf(op);
    if (Array.isArray(op.value) && (op.f === "txn" || op.f === "transfer")) {
      // Balances written (by a transfer or an initial write) must not be negative.
      for (const m of op.value as unknown[]) {
        if (!Array.isArray(m) || m.length !== 3 || m[0] !== "w") continue;
        const b = balanceOf(m[2]);
        if (b !== undefined && b < 0) {
          add("negative-balance", () => ({
            explanation: `the ${op.f} at index ${op.index} wrote a balance of ${b} to account ${String(m[1])}`,
            index: op.index,
            timeNs: op.time,
            key: m[1] as Key,
            balance: b,
          }));
        }
      }
    }
    if (reads === undefined) {
      // A read that completed without what it read is bad input, not a read to pass over.
      if (op.f === "read") {
        throw new HistoryShapeError(
          `index ${op.index}: a bank read must complete with a map of accounts to balances ({"0": 10, …}), got ${describeFound(op.value)}`,
        );
      }
      if (op.f === "txn" && !Array.isArray(op.value)) {
        throw new HistoryShapeError(
          `index ${op.index}: a txn's value must be a list of micro-ops like ["r", key, value], got ${describeFound(op.value)}`,
        );
      }
      continue;
    }
    const inexact = reads.find(([, value]) => textBalance(value) !== undefined);
    if (inexact !== undefined) {
      // A balance given as text cannot be summed as the number it may spell: the read is set
      // aside, and the verdict can no longer be "valid".
      inexactReadCount += 1;
      firstInexact ??= { index: op.index, key: inexact[0], text: textBalance(inexact[1])! };
      continue;
    }
    readCount += 1;
    const balances: Record<string, number | null> = {};
    const read: number[] = [];
    const missing: Key[] = [];
    for (const [key, value] of reads) {
      if (!accounts.has(String(key))) {
        add("unexpected-key", () => ({
          explanation: `the read at index ${op.index} returned key ${String(key)}, which is not an account`,
          index: op.index,
          key,
        }));
        continue;
      }
      const b = balanceOf(value);
      balances[String(key)] = b ?? null;
      if (b === undefined) missing.push(key);
      else {
        read.push(b);
        if (b < 0) {
          add("negative-balance", () => ({
            explanation: `the read at index ${op.index} saw account ${String(key)} at ${b}`,
            index: op.index,
            timeNs: op.time,
            key,
            balance: b,
          }));
        }
      }
    }
    for (const key of options.accounts) if (!(String(key) in balances)) missing.push(key);
    if (missing.length === accounts.size && reads.every(([, value]) => value === null)) {
      // Every account unwritten: a read from before the bank was opened, not an anomaly.
      readCount -= 1;
      uninitializedReadCount += 1;
      continue;
    }
    if (missing.length > 0) {
      add("missing-balance", () => ({
        explanation: `the read at index ${op.index} saw no balance for account(s) ${missing.map(String).join(", ")}`,
        index: op.index,
        timeNs: op.time,
        accounts: missing,
      }));
      continue;
    }
    // Summed as the decimals the history wrote (0.1 + 0.2 is 0.3 here, as in the database).
    const sum = decimalSum(read);
    if (!Number.isSafeInteger(sum) && Number.isInteger(sum) && read.every(Number.isInteger)) {
      // Whole balances summing beyond ±(2^53 − 1): the double nearest the sum stands for several
      // sums (…992 for …993 too), so a wrong total could pass unseen. Set aside, as above.
      readCount -= 1;
      unsafeSumCount += 1;
      firstUnsafeSum ??= { index: op.index, sum: read.reduce((a, b) => a + BigInt(b), 0n).toString() };
      continue;
    }
    totals.push({ op, sum, balances });
  }

  const expected = options.total ?? agreedTotal(totals.map((t) => t.sum));
  const known = options.total !== undefined;
  for (const { op, sum, balances } of totals) {
    if (expected === undefined || sum === expected) continue;
    const c: WrongTotal = {
      explanation: known
        ? `the read at index ${op.index} (t=${(op.time / 1e9).toFixed(3)} s) summed to ${sum}, not ${expected}: ${JSON.stringify(balances)}`
        : `the read at index ${op.index} (t=${(op.time / 1e9).toFixed(3)} s) summed to ${sum}, while most reads summed to ${expected} (the total was not given): ${JSON.stringify(balances)}`,
      index: op.index,
      timeNs: op.time,
      total: sum,
      expected,
      balances,
    };
    counts["wrong-total"] = (counts["wrong-total"] ?? 0) + 1;
    first ??= c;
    if (worst === undefined || Math.abs(sum - expected) > Math.abs(worst.total - expected)) worst = c;
    last = c;
  }

  if (first !== undefined) {
    const picked = [first, worst!, last!].filter((c, i, all) => all.indexOf(c) === i);
    cases["wrong-total"] = picked;
  }
  const anomalyCounts = Object.fromEntries(Object.entries(counts).sort(([a], [b]) => compareNames(a, b)));
  const anomalies = Object.fromEntries(Object.keys(anomalyCounts).map((k) => [k, cases[k] ?? []]));
  const kinds = Object.keys(anomalyCounts);
  if (kinds.length > 0) {
    return {
      valid: false,
      reason: kinds.map((k) => `${anomalyCounts[k]} ${k}`).join(", ") + ` in ${readCount} reads`,
      readCount,
      uninitializedReadCount,
      anomalies,
      anomalyCounts,
      ...(first !== undefined ? { wrongTotal: { count: counts["wrong-total"], first, worst, last } } : {}),
    };
  }
  if (firstInexact !== undefined) {
    // An integer the readers kept exact as its digits, or text a client answered.
    const beyondDouble = isUnsafeIntegerText(firstInexact.text);
    return {
      valid: "unknown",
      reason: `${inexactReadCount} ${inexactReadCount === 1 ? "read saw a balance" : "reads saw balances"} ${
        beyondDouble
          ? `beyond ±${Number.MAX_SAFE_INTEGER}, which cannot be summed exactly`
          : "given as text, which cannot be summed as a number"
      } (the first: account ${String(firstInexact.key)} at index ${firstInexact.index}, ${JSON.stringify(firstInexact.text)}${
        beyondDouble ? "" : "; a client should answer numbers, parsing a BIGINT or NUMERIC column"
      }); the other ${readCount} reads showed no anomaly`,
      readCount,
      uninitializedReadCount,
    };
  }
  if (firstUnsafeSum !== undefined) {
    return {
      valid: "unknown",
      reason: `${unsafeSumCount} ${unsafeSumCount === 1 ? "read's balances sum" : "reads' balances sum"} beyond ±${Number.MAX_SAFE_INTEGER}, which cannot be compared exactly (the first: index ${firstUnsafeSum.index}, ${firstUnsafeSum.sum}); the other ${readCount} reads showed no anomaly`,
      readCount,
      uninitializedReadCount,
    };
  }
  if (readCount === 0) {
    return {
      valid: "unknown",
      reason: "no read of the opened accounts completed, so no total was observed",
      readCount,
      uninitializedReadCount,
    };
  }
  return {
    valid: true,
    reason: known
      ? `all ${readCount} reads summed to ${options.total}`
      : `all ${readCount} reads summed to ${expected} (the total was not given: the reads agree)`,
    readCount,
    uninitializedReadCount,
  };
}

/** The sum most reads agree on (the first to reach that count, on a tie); undefined with no read. */
function agreedTotal(sums: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  let best: number | undefined;
  let bestCount = 0;
  for (const sum of sums) {
    const count = (counts.get(sum) ?? 0) + 1;
    counts.set(sum, count);
    if (count > bestCount) {
      best = sum;
      bestCount = count;
    }
  }
  return best;
}
