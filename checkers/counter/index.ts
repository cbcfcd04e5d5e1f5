/**
 * The counter checker (after Jepsen's `checker/counter`): a counter starts at zero, `add n` adds n
 * to it, `read` returns its value. Each read must return a value the adds could have made at some
 * moment while the read ran:
 *
 * - at least everything added by adds that completed (`ok`) before the read was invoked, and
 * - at most that plus every add that may have happened by the time the read completed: those
 *   invoked before it completed whose outcome is `ok`, `info` or unknown (a `fail` did not happen).
 *
 * That is Jepsen's bound for increments. Adds may also be negative here (decrements): then an add
 * that may or may not count moves the lower bound down and the upper bound up by its size, so the
 * bound stays sound. A read outside its bounds is `out-of-bounds`, with the bounds and the value.
 *
 * Beyond Jepsen: when every add is an increment the counter never goes down, so a read invoked
 * after another read completed cannot return less than that one did (`nonmonotonic-read`; Jepsen's
 * bounds miss a stale read that stays above the lower bound). A history with no completed read
 * checked nothing: "unknown"; so is one with an add or a read that is not an exact number, since
 * every bound after it would be a guess, and one whose adds sum beyond a double's exact integers.
 * Decimal adds are counted in units of their smallest decimal place, so 0.1 + 0.2 bounds a read
 * of 0.3 exactly.
 */
import { budgetOf, type Budget, type BudgetLimits } from "../../harness/budget.ts";
import type { Op, OpPair } from "../../harness/history/op.ts";
import { nothingToCheck, pairOps } from "../../harness/history/op.ts";
import type { AnomalyCase, CheckResult } from "../../harness/results.ts";
import { compareNames } from "../../harness/compareNames.ts";
import { decimalPlaces } from "../../harness/decimalSum.ts";
import { describeFound } from "../../harness/history/validate.ts";

/** Every anomaly class the counter checker reports. */
export const counterAnomalyClasses = ["out-of-bounds", "nonmonotonic-read"] as const;
type CounterAnomalyClass = (typeof counterAnomalyClasses)[number];

/** A finite number a double holds exactly when it is an integer. */
const isExactNumber = (v: unknown): v is number =>
  typeof v === "number" && Number.isFinite(v) && (!Number.isInteger(v) || Number.isSafeInteger(v));

export interface CounterCheckOptions {
  /** The `f` of an add (default "add") and of a read (default "read"). */
  readonly addF?: string;
  readonly readF?: string;
  /** Cases kept in full per class (others are counted). Default 16. */
  readonly casesKeptPerClass?: number;
  readonly budget?: BudgetLimits | Budget;
}

export function checkCounterHistory(history: readonly Op[], options: CounterCheckOptions = {}): CheckResult {
  const empty = nothingToCheck(history);
  if (empty !== undefined) return { valid: "unknown", reason: empty, readCount: 0 };
  const addF = options.addF ?? "add";
  const readF = options.readF ?? "read";
  const keep = options.casesKeptPerClass ?? 16;
  const budget = options.budget === undefined ? undefined : budgetOf(options.budget);
  const pairs = pairOps(history).filter((p) => p.invoke.process !== "nemesis");
  const adds = pairs.filter((p) => p.invoke.f === addF && p.complete?.type !== "fail");

  // Sweep the history in order: per position, the adds certainly in (ok, completed) and the sums
  // of those that may be in (invoked, not failed), split by sign.
  const completeOf = new Map<Op, OpPair>();
  const invokeOf = new Map<Op, OpPair>();
  for (const p of adds) {
    invokeOf.set(p.invoke, p);
    if (p.complete?.type === "ok") completeOf.set(p.complete, p);
  }
  const readPairs = pairs.filter((p) => p.invoke.f === readF && p.complete?.type === "ok");
  // Bounds are sums of the adds: one add or read that is not a number (a string, or an integer
  // beyond a double's exact range, which readers keep as its decimal string) leaves every bound
  // after it unknown, so nothing after it could be trusted, valid or not.
  const notNumbers = [
    ...adds.filter((p) => !isExactNumber(p.invoke.value)).map((p) => p.invoke),
    ...readPairs.filter((p) => !isExactNumber(p.complete!.value)).map((p) => p.complete!),
  ].sort((a, b) => a.index - b.index);
  if (notNumbers.length > 0) {
    const first = notNumbers[0]!;
    return {
      valid: "unknown",
      reason: `${notNumbers.length} ${notNumbers.length === 1 ? "add or read holds" : "adds or reads hold"} a value that is not a number within ±${Number.MAX_SAFE_INTEGER} (the first: the ${first.f} at index ${first.index}, ${describeFound(first.value)}), so the counter's bounds cannot be computed exactly`,
      readCount: 0,
    };
  }
  // Decimal adds (0.1, 0.2) are counted in units of their smallest place, so the bounds are sums
  // of integers: as doubles, 0.1 + 0.2 would put a read of 0.3 out of bounds.
  let places = 0;
  for (const p of adds) places = Math.max(places, decimalPlaces(p.invoke.value as number));
  for (const p of readPairs) places = Math.max(places, decimalPlaces(p.complete!.value as number));
  const unit = 10 ** places;
  const toUnits = (v: number): number => (places === 0 ? v : Math.round(v * unit));
  const fromUnits = (units: number): number => (places === 0 ? units : units / unit);
  // Every running sum stays within the sum of the adds' sizes: exact while that is.
  let sizes = 0;
  for (const p of adds) sizes += Math.abs(toUnits(p.invoke.value as number));
  let largestRead = 0;
  for (const p of readPairs)
    largestRead = Math.max(largestRead, Math.abs(toUnits(p.complete!.value as number)));
  if (!Number.isSafeInteger(sizes) || !Number.isSafeInteger(largestRead)) {
    return {
      valid: "unknown",
      reason: `the adds sum to more than ${Number.MAX_SAFE_INTEGER} ${places === 0 ? "" : `units of 10^-${places} `}(or a read is that large), beyond what a double counts exactly`,
      readCount: 0,
    };
  }
  const amount = (p: OpPair): number => toUnits(p.invoke.value as number);
  const increasing = adds.every((p) => amount(p) >= 0);
  const readInvoke = new Map<Op, OpPair>(readPairs.map((p) => [p.invoke, p]));
  const readComplete = new Map<Op, OpPair>(readPairs.map((p) => [p.complete!, p]));

  // Sweep the history in order, keeping running sums: of the amounts of adds invoked so far (that
  // did not fail), and of ok adds completed so far, each split by sign. For a read invoked at I and
  // completed at C, the adds that may count are those invoked before C less those certainly in
  // before I, so: lower = certainUp(I) + invokedDown(C), upper = certainDown(I) + invokedUp(C).
  let invokedUp = 0;
  let invokedDown = 0;
  let certainUp = 0;
  let certainDown = 0;
  let highestCompletedRead = -Infinity;
  const atInvoke = new Map<OpPair, { certainUp: number; certainDown: number; highestBefore: number }>();
  const counts: Record<string, number> = {};
  const cases: Record<string, AnomalyCase[]> = {};
  const report = (kind: CounterAnomalyClass, c: () => AnomalyCase): void => {
    counts[kind] = (counts[kind] ?? 0) + 1;
    const list = (cases[kind] ??= []);
    if (list.length < keep) list.push(c());
  };
  let readCount = 0;
  for (const op of history) {
    budget?.step();
    const added = invokeOf.get(op);
    if (added !== undefined) {
      if (amount(added) >= 0) invokedUp += amount(added);
      else invokedDown += amount(added);
    }
    const done = completeOf.get(op);
    if (done !== undefined) {
      if (amount(done) >= 0) certainUp += amount(done);
      else certainDown += amount(done);
    }
    const reading = readInvoke.get(op);
    if (reading !== undefined)
      atInvoke.set(reading, { certainUp, certainDown, highestBefore: highestCompletedRead });
    const read = readComplete.get(op);
    if (read === undefined) continue;
    readCount++;
    const start = atInvoke.get(read)!;
    const value = toUnits(op.value as number);
    const lower = start.certainUp + invokedDown;
    const upper = start.certainDown + invokedUp;
    if (value < lower || value > upper) {
      report("out-of-bounds", () => ({
        explanation: `the read at index ${op.index} returned ${fromUnits(value)}, outside ${fromUnits(lower)}..${fromUnits(upper)}: what the adds that certainly happened before it began, and those that may have happened by its end, can make`,
        index: op.index,
        value: fromUnits(value),
        lower: fromUnits(lower),
        upper: fromUnits(upper),
      }));
    }
    if (increasing && value < start.highestBefore) {
      report("nonmonotonic-read", () => ({
        explanation: `the read at index ${op.index} returned ${fromUnits(value)}, less than ${fromUnits(start.highestBefore)}, which an earlier read had returned before this one began: the counter only grows`,
        index: op.index,
        value: fromUnits(value),
        earlier: fromUnits(start.highestBefore),
      }));
    }
    highestCompletedRead = Math.max(highestCompletedRead, value);
  }
  const anomalyCounts = Object.fromEntries(Object.entries(counts).sort(([x], [y]) => compareNames(x, y)));
  const anomalies = Object.fromEntries(Object.keys(anomalyCounts).map((k) => [k, cases[k] ?? []]));
  const kinds = Object.keys(anomalyCounts);
  if (kinds.length > 0) {
    return {
      valid: false,
      reason: kinds.map((k) => `${anomalyCounts[k]} ${k}`).join(", ") + ` in ${readCount} reads`,
      readCount,
      anomalies,
      anomalyCounts,
    };
  }
  if (readCount === 0) return { valid: "unknown", reason: "no read of the counter completed", readCount };
  return {
    valid: true,
    reason: `all ${readCount} reads within their bounds`,
    readCount,
    addCount: adds.length,
  };
}
