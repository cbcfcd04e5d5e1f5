/**
 * The set-full checker (after Jepsen's `set-full`): what became of every element added to a
 * grow-only set, judged from the reads that followed.
 *
 * An element is *known* from the moment its add was acknowledged (`ok`) or, if sooner, the moment
 * the first read that returned it completed. A read that began after that moment must return it
 * (sets only grow, and a linearizable set shows every known element). "Before" and "after" go by
 * the history's order of record, which orders events of the same nanosecond too. So each known
 * element is:
 *
 * - **stable**: present in every read that began after it was known;
 * - **lost**: absent from some such read and from every read that began after that one, i.e.
 *   absent for good from some point on (the acknowledged write vanished);
 * - **stale**: absent from some such read but present again later (a stale read; an error when
 *   the set claims linearizability, the default, and merely reported otherwise);
 * - **never-read**: no read began after it was known, so its fate is undecided.
 *
 * Besides: **recovered** elements are those whose add ended `info` (or never completed) yet
 * appear in a read (the add did happen); **duplicated** elements appear more than once in one
 * read; **unexpected** elements appear in a read although no add of them was attempted, or their
 * add failed (a `fail` is a promise that it did not happen). Each case says when the element was
 * acknowledged and when it was last seen, in ns of test time.
 *
 * Verdict: false on lost, duplicated or unexpected elements (and stale ones when linearizable);
 * "unknown" when some acknowledged element was never read afterwards, there were adds but no read
 * at all, or no add at all (nothing was at stake: whatever the reads hold, the history is no set
 * test); true otherwise. Cost: linear in the total size of the reads, plus sorting them.
 */
import { budgetOf, type Budget, type BudgetLimits } from "../../harness/budget.ts";
import type { Op } from "../../harness/history/op.ts";
import { HistoryShapeError, nothingToCheck, pairOps } from "../../harness/history/op.ts";
import type { AnomalyCase, CheckResult } from "../../harness/results.ts";
import { compareNames } from "../../harness/compareNames.ts";
import { describeFound } from "../../harness/history/validate.ts";
import { displayText, ValueInterner } from "../../harness/history/valueText.ts";

/** Every anomaly class the set-full checker reports. */
export const setFullAnomalyClasses = ["duplicated", "unexpected", "lost", "stale"] as const;
type SetFullAnomalyClass = (typeof setFullAnomalyClasses)[number];

export interface SetFullCheckOptions {
  /** The `f` of an add (default "add") and of a read of the whole set (default "read-set"). */
  readonly addF?: string;
  readonly readF?: string;
  /** Stale reads are errors (default true). */
  readonly linearizable?: boolean;
  /** Cases kept in full per class (others are counted). Default 16. */
  readonly casesKeptPerClass?: number;
  /** Charged per element of every read, so a time limit holds on a huge history. */
  readonly budget?: BudgetLimits | Budget;
}

/** What the checker learned about one element. */
export interface ElementFate {
  readonly element: unknown;
  /** The add's outcome; "none" when the element was read but never added. */
  readonly addOutcome: "ok" | "fail" | "info" | "pending" | "none";
  readonly acknowledgedNs: number | null;
  readonly knownNs: number | null;
  readonly lastSeenNs: number | null;
}

/**
 * "Before" and "after" go by position in the history (its order of record), which also orders
 * events of the same nanosecond; times are kept for the report.
 */
interface Read {
  readonly index: number;
  readonly invokeAt: number;
  readonly completeAt: number;
  readonly elements: readonly unknown[];
}

interface Element {
  element: unknown;
  addOutcome: ElementFate["addOutcome"];
  acknowledgedAt: number | null;
  firstSeenAt: number | null;
  lastSeenAt: number | null;
  /** Invocation position of the latest read that returned it. */
  lastPresentInvokeAt: number;
  /** Reads returning it that began after it was known. */
  presentAfterKnown: number;
}

/** Of several adds of one element, the outcome that counts: the highest rank. */
const outcomeRank: Record<ElementFate["addOutcome"], number> = {
  none: 0,
  fail: 1,
  pending: 2,
  info: 3,
  ok: 4,
};

const fmtS = (ns: number | null): string => (ns === null ? "never" : `${(ns / 1e9).toFixed(3)} s`);

export function checkSetFullHistory(history: readonly Op[], options: SetFullCheckOptions = {}): CheckResult {
  const empty = nothingToCheck(history);
  if (empty !== undefined) return { valid: "unknown", reason: empty, attemptCount: 0, readCount: 0 };
  const addF = options.addF ?? "add";
  const readF = options.readF ?? "read-set";
  const linearizable = options.linearizable ?? true;
  const keep = options.casesKeptPerClass ?? 16;

  // Elements are compared by value: numbers and strings as they are, lists and objects by valueText
  // (an object's keys in any order), through one reference per value, so that no string can pass
  // for a list whose text it is ("[1]" is not [1]).
  const interner = new ValueInterner();
  const identity = (v: unknown): unknown => interner.of(v);
  const elements = new Map<unknown, Element>();
  const elementOf = (value: unknown): Element => {
    const id = identity(value);
    let e = elements.get(id);
    if (e === undefined) {
      e = {
        element: value,
        addOutcome: "none",
        acknowledgedAt: null,
        firstSeenAt: null,
        lastSeenAt: null,
        lastPresentInvokeAt: -Infinity,
        presentAfterKnown: 0,
      };
      elements.set(id, e);
    }
    return e;
  };
  const reads: Read[] = [];
  const positionOf = new Map<Op, number>();
  history.forEach((op, at) => positionOf.set(op, at));
  const timeAt = (at: number | null): number | null => (at === null ? null : history[at]!.time);
  let attemptCount = 0;
  for (const { invoke, complete } of pairOps(history)) {
    if (invoke.process === "nemesis") continue;
    if (invoke.f === addF) {
      attemptCount += 1;
      const e = elementOf(invoke.value);
      // An element added more than once has the outcome of its likeliest add: one that committed
      // makes it expected (a failed one, last, made a read of it "unexpected"), acknowledged first.
      const outcome = complete === undefined ? "pending" : (complete.type as "ok" | "fail" | "info");
      if (outcomeRank[outcome] > outcomeRank[e.addOutcome]) e.addOutcome = outcome;
      if (complete?.type === "ok") {
        const at = positionOf.get(complete)!;
        e.acknowledgedAt = e.acknowledgedAt === null ? at : Math.min(e.acknowledgedAt, at);
      }
    } else if (invoke.f === readF && complete?.type === "ok") {
      if (!Array.isArray(complete.value)) {
        throw new HistoryShapeError(
          `index ${complete.index}: a ${readF} must complete with the list of elements, got ${describeFound(complete.value)}`,
        );
      }
      reads.push({
        index: complete.index,
        invokeAt: positionOf.get(invoke)!,
        completeAt: positionOf.get(complete)!,
        elements: complete.value,
      });
    }
  }
  reads.sort((a, b) => a.invokeAt - b.invokeAt);

  const counts: Record<string, number> = {};
  const cases: Record<string, AnomalyCase[]> = {};
  const report = (kind: SetFullAnomalyClass, c: () => AnomalyCase): void => {
    counts[kind] = (counts[kind] ?? 0) + 1;
    const list = (cases[kind] ??= []);
    if (list.length < keep) list.push(c());
  };
  const fate = (e: Element): ElementFate => ({
    element: e.element,
    addOutcome: e.addOutcome,
    acknowledgedNs: timeAt(e.acknowledgedAt),
    knownNs: timeAt(knownOf(e)),
    lastSeenNs: timeAt(e.lastSeenAt),
  });

  const budget = options.budget === undefined ? undefined : budgetOf(options.budget);
  // Pass 1: first and last sightings, duplicates within a read, elements nobody added.
  for (const read of reads) {
    budget?.step(read.elements.length + 1);
    const seen = new Map<unknown, number>();
    for (const value of read.elements) {
      const id = identity(value);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      const e = elementOf(value);
      if (e.firstSeenAt === null || read.completeAt < e.firstSeenAt) e.firstSeenAt = read.completeAt;
      if (e.lastSeenAt === null || read.completeAt > e.lastSeenAt) e.lastSeenAt = read.completeAt;
      e.lastPresentInvokeAt = Math.max(e.lastPresentInvokeAt, read.invokeAt);
    }
    for (const [id, n] of seen) {
      if (n < 2) continue;
      const e = elements.get(id)!;
      report("duplicated", () => ({
        ...fate(e),
        explanation: `the read at index ${read.index} returned element ${displayText(e.element)} ${n} times`,
        readIndex: read.index,
        copies: n,
      }));
    }
  }

  // Pass 2: how many reads that began after each element was known returned it.
  for (const read of reads) {
    budget?.step(read.elements.length + 1);
    const counted = new Set<unknown>();
    for (const value of read.elements) {
      const id = identity(value);
      if (counted.has(id)) continue;
      counted.add(id);
      const e = elements.get(id)!;
      const known = knownOf(e);
      if (known !== null && read.invokeAt > known) e.presentAfterKnown += 1;
    }
  }
  const invokes = reads.map((r) => r.invokeAt);
  /** Reads that began after position `at`. */
  const readsAfter = (at: number): number => reads.length - upperBound(invokes, at);

  let stableCount = 0;
  let acknowledgedCount = 0;
  let unknownOutcomeCount = 0;
  const neverRead: ElementFate[] = [];
  let neverReadCount = 0;
  let neverReadAcknowledged = 0;
  const recovered: ElementFate[] = [];
  let recoveredCount = 0;
  const staleInfo: AnomalyCase[] = [];
  let staleCount = 0;
  // Elements added as numbers, by their text: a read of "1" where 1 was added is most likely a
  // client answering numbers as text (node-postgres does so for BIGINT), which the verdict names.
  const addedNumbers = new Map<string, unknown>();
  for (const e of elements.values())
    if (e.addOutcome !== "none" && typeof e.element === "number")
      addedNumbers.set(String(e.element), e.element);
  let firstTextForNumber: { text: string; number: unknown } | undefined;
  for (const e of elements.values()) {
    if (e.addOutcome === "ok") acknowledgedCount += 1;
    const seen = e.firstSeenAt !== null;
    if (seen && (e.addOutcome === "none" || e.addOutcome === "fail")) {
      // The number this never-added text spells, if that number was added.
      const asNumber =
        typeof e.element === "string" && e.addOutcome === "none" ? addedNumbers.get(e.element) : undefined;
      if (asNumber !== undefined) firstTextForNumber ??= { text: e.element as string, number: asNumber };
      report("unexpected", () => ({
        ...fate(e),
        explanation:
          (e.addOutcome === "none"
            ? `element ${displayText(e.element)} was read (last at ${fmtS(timeAt(e.lastSeenAt))}) but never added`
            : `element ${displayText(e.element)} was read (last at ${fmtS(timeAt(e.lastSeenAt))}) although its add failed`) +
          (asNumber !== undefined ? ` (the number ${String(asNumber)} was added: text is not a number)` : ""),
      }));
      continue;
    }
    if (seen && (e.addOutcome === "info" || e.addOutcome === "pending")) {
      recoveredCount += 1;
      if (recovered.length < keep) recovered.push(fate(e));
    }
    const known = knownOf(e);
    if (e.addOutcome === "fail") continue;
    if (known === null) {
      unknownOutcomeCount += 1;
      continue;
    }
    const after = readsAfter(known);
    if (after === 0) {
      neverReadCount += 1;
      if (e.addOutcome === "ok") neverReadAcknowledged += 1;
      if (neverRead.length < keep) neverRead.push(fate(e));
      continue;
    }
    const absent = after - e.presentAfterKnown;
    if (absent === 0) {
      stableCount += 1;
      continue;
    }
    // Every read that began after both the element was known and its last sighting lacked it.
    const absentForGood = readsAfter(Math.max(known, e.lastPresentInvokeAt));
    if (absentForGood > 0) {
      const lostFromNs = history[reads[reads.length - absentForGood]!.invokeAt]!.time;
      report("lost", () => ({
        ...fate(e),
        explanation:
          `element ${displayText(e.element)} was known at ${fmtS(timeAt(known))} (acknowledged: ${fmtS(timeAt(e.acknowledgedAt))}), ` +
          `last seen ${fmtS(timeAt(e.lastSeenAt))}, and absent from all ${absentForGood} reads begun from ${fmtS(lostFromNs)} on`,
        lostFromNs,
        absentReads: absentForGood,
      }));
      continue;
    }
    staleCount += 1;
    const c: AnomalyCase = {
      ...fate(e),
      explanation:
        `element ${displayText(e.element)} was known at ${fmtS(timeAt(known))} (acknowledged: ${fmtS(timeAt(e.acknowledgedAt))}), ` +
        `yet ${absent} read(s) begun later lacked it; it was seen again, last at ${fmtS(timeAt(e.lastSeenAt))}`,
      absentReads: absent,
    };
    if (linearizable) report("stale", () => c);
    else if (staleInfo.length < keep) staleInfo.push(c);
  }

  const anomalyCounts = Object.fromEntries(Object.entries(counts).sort(([a], [b]) => compareNames(a, b)));
  const anomalies = Object.fromEntries(Object.keys(anomalyCounts).map((k) => [k, cases[k] ?? []]));
  const details = {
    attemptCount,
    acknowledgedCount,
    readCount: reads.length,
    stableCount,
    lostCount: counts.lost ?? 0,
    staleCount: linearizable ? (counts.stale ?? 0) : staleCount,
    neverReadCount,
    recoveredCount,
    duplicatedCount: counts.duplicated ?? 0,
    unexpectedCount: counts.unexpected ?? 0,
    unknownOutcomeCount,
    neverRead,
    recovered,
    ...(linearizable ? {} : { stale: staleInfo }),
  };
  const kinds = Object.keys(anomalyCounts);
  if (attemptCount === 0) {
    // No add at all: no element was at stake, and what the reads returned is no set's state that
    // this history explains (another workload's history checked as a set, say).
    return {
      valid: "unknown",
      reason: `no add ("${addF}") among the ${history.length} operations, so no element was at stake (${reads.length} reads ("${readF}") completed): is this a set history?`,
      ...details,
    };
  }
  if (kinds.length > 0) {
    return {
      valid: false,
      reason:
        kinds.map((k) => `${anomalyCounts[k]} ${k}`).join(", ") +
        ` of ${elements.size} elements` +
        (firstTextForNumber === undefined
          ? ""
          : ` (reads hold text where numbers were added, such as ${JSON.stringify(firstTextForNumber.text)} for ${String(firstTextForNumber.number)}: does the client answer numbers as text?)`),
      anomalies,
      anomalyCounts,
      ...details,
    };
  }
  if (attemptCount > 0 && reads.length === 0) {
    return { valid: "unknown", reason: `${attemptCount} adds but no read of the set completed`, ...details };
  }
  if (neverReadAcknowledged > 0) {
    return {
      valid: "unknown",
      reason: `${neverReadAcknowledged} acknowledged element(s) were never read after being acknowledged, so whether they were lost is undecided`,
      ...details,
    };
  }
  return {
    valid: true,
    reason: `${stableCount} elements stable over ${reads.length} reads; ${recoveredCount} recovered, none lost`,
    ...details,
  };
}

/** The position from which an element is known: its acknowledgement or first sighting. */
function knownOf(e: Element): number | null {
  if (e.acknowledgedAt === null) return e.firstSeenAt;
  if (e.firstSeenAt === null) return e.acknowledgedAt;
  return Math.min(e.acknowledgedAt, e.firstSeenAt);
}

/** The number of entries of an ascending array that are <= x. */
function upperBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
