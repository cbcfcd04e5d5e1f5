/**
 * Latency, throughput and availability, computed from a history alone.
 *
 * The perf/stats checker reports the same figures under the checker name "stats"; when a run has
 * no such checker (or its result has another shape) reports compute them here, so a report always
 * has them. The computation is pure and tolerant of odd histories: a completion without an
 * invocation is skipped, and an invocation that never completes counts as indeterminate (`info`),
 * because an operation that hangs is exactly what unavailability looks like.
 *
 * - Latency: of `ok` operations only, completion time minus invocation time; nearest-rank quantiles.
 * - Throughput: `ok` completions per second of test time, over the test's length when the caller
 *   knows it (a run's: from its start, time 0, to the later of its end and its last entry), else
 *   over the span of the client operations (first invocation to last completion). No rate (null)
 *   over a span shorter than `throughputSpanMinNs`, nor, without the test's length, over fewer than
 *   two operations: one operation's span is its latency, and "164 ok/s" for a run that did one
 *   read in 6 ms of a 5 s test said nothing true about the system.
 * - Availability: the fraction of client operations the system answered: `ok`, or `fail` with an
 *   error the workload names as a refusal decided on the data (`answeredFails`: a cas whose
 *   expected value did not match, a transfer without the funds), which is service, not an outage.
 *   Split by whether the operation was invoked inside a fault window. `null` where there were no
 *   operations to count.
 */
import type { Budget } from "../budget.ts";
import { z } from "zod";
import type { Op, Process } from "./op.ts";
export { countClientOperations } from "./op.ts";
import type { CheckResult } from "../results.ts";
import { inAnyWindow, type FaultWindow } from "./faultWindows.ts";
import { compareNames } from "../compareNames.ts";

export interface LatencyQuantilesNs {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface FunctionStats {
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  /** `ok` plus the `fail`s that were answers decided on the data (see `answeredFails`). */
  readonly answered: number;
  /** Latency of the `ok` operations; null when there were none. */
  readonly latencyNs: LatencyQuantilesNs | null;
}

export interface Availability {
  readonly overall: number | null;
  readonly duringFaults: number | null;
  readonly outsideFaults: number | null;
}

export interface HistoryStats {
  readonly byF: Readonly<Record<string, FunctionStats>>;
  /** `ok` completions per second over `throughputSpanNs`; null when that is no honest rate (see the header). */
  readonly throughputPerS: number | null;
  /**
   * The test time the rate is over (or would be, when it is null); undefined in a stats result
   * written before it was recorded.
   */
  readonly throughputSpanNs?: number;
  readonly availability: Availability;
}

/**
 * The shortest span of test time a throughput is given over (1 s): over less, a handful of
 * operations reads as hundreds a second.
 */
export const throughputSpanMinNs = 1e9;

/** One client operation: its invocation and, when it has one, its completion. */
export interface ClientOp {
  readonly process: number;
  readonly f: string;
  readonly invoke: Op;
  readonly complete?: Op;
  /** The completion's type; "pending" when the history ended first. */
  readonly outcome: "ok" | "fail" | "info" | "pending";
}

/**
 * Pairs client invocations with their completions, leniently: a completion with no open
 * invocation is skipped; a second invocation on a process with one open leaves the first pending.
 * Ordered by invocation index.
 */
export function clientOps(history: readonly Op[]): ClientOp[] {
  const result: ClientOp[] = [];
  const open = new Map<Process, number>();
  for (const op of history) {
    if (op.process === "nemesis" || typeof op.process !== "number") continue;
    if (op.type === "invoke") {
      open.set(op.process, result.length);
      result.push({ process: op.process, f: op.f, invoke: op, outcome: "pending" });
      continue;
    }
    const at = open.get(op.process);
    if (at === undefined) continue;
    open.delete(op.process);
    const pair = result[at]!;
    // Spelled out, not `{ ...pair, … }`: a spread copies key by key through the runtime, twice the
    // cost of the whole pairing on a run's history. The same keys in the same order.
    result[at] = { process: pair.process, f: pair.f, invoke: pair.invoke, outcome: op.type, complete: op };
  }
  return result;
}

/** Nearest-rank quantile of an ascending array (q in [0, 1]); the array must not be empty. */
export function quantile(sortedAscending: readonly number[], q: number): number {
  const n = sortedAscending.length;
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return sortedAscending[rank - 1]!;
}

export function latencyQuantiles(latenciesNs: readonly number[] | Float64Array): LatencyQuantilesNs | null {
  if (latenciesNs.length === 0) return null;
  const sorted = Float64Array.from(latenciesNs).sort();
  const asArray = sorted as unknown as readonly number[];
  return {
    p50: quantile(asArray, 0.5),
    p95: quantile(asArray, 0.95),
    p99: quantile(asArray, 0.99),
    max: sorted[sorted.length - 1]!,
  };
}

const ratio = (ok: number, total: number): number | null => (total === 0 ? null : ok / total);

/** Latency, throughput and availability of a history's client operations (see the header). */
export interface SummaryOptions {
  /** `fail` errors that are answers decided on the data (counted as available). */
  readonly answeredFails?: ReadonlySet<string>;
  /** Charged a step per operation (a checker's budget: its time limit holds here too). */
  readonly budget?: Budget;
  /** How long the test ran, when known (a run's: CheckContext.testLengthNs); the rate is over it. */
  readonly testLengthNs?: number;
}

export function summarizeHistory(
  history: readonly Op[],
  windows: readonly FaultWindow[],
  options: SummaryOptions = {},
): HistoryStats {
  const gathered = new HistoryStatsGatherer(options.answeredFails);
  for (const op of history) gathered.add(op);
  return gathered.summary(windows, options.budget, options.testLengthNs);
}

/** A growable column of doubles. */
class Doubles {
  array = new Float64Array(64);
  length = 0;
  push(x: number): void {
    if (this.length === this.array.length) {
      const grown = new Float64Array(this.array.length * 2);
      grown.set(this.array);
      this.array = grown;
    }
    this.array[this.length++] = x;
  }
  get values(): Float64Array {
    return this.array.subarray(0, this.length);
  }
}

interface FunctionCounts {
  ok: number;
  fail: number;
  info: number;
  answered: number;
  readonly latencies: Doubles;
}

/**
 * `summarizeHistory` one history entry at a time, without holding the history (what `faultline
 * check` does while it streams a long file): pairs each client invocation with its completion as
 * `clientOps` does, and keeps of each operation only what the figures need (its invocation time
 * and whether it was answered, for availability in fault windows known only at the end; the ok
 * latencies), and the nemesis operations whole (few), for the fault windows. `summarizeHistory` is
 * this, fed the whole history, so the two cannot disagree.
 */
export class HistoryStatsGatherer {
  /** The open invocation of each client process: its f and time. */
  private readonly open = new Map<Process, { readonly f: string; readonly timeNs: number }>();
  private readonly counts = new Map<string, FunctionCounts>();
  /** Per client operation, in the order they ended: invocation time; answered (1) or not (0). */
  private readonly invokedNs = new Doubles();
  private answeredFlags = new Uint8Array(64);
  private okAll = 0;
  private firstNs = Number.POSITIVE_INFINITY;
  private lastNs = Number.NEGATIVE_INFINITY;
  /** The latest time of any entry (0 at least): where a fault window still open at the end closes. */
  lastTimeNs = 0;
  /** The nemesis operations, whole, in history order. */
  readonly nemesisOps: Op[] = [];

  constructor(private readonly answeredFails: ReadonlySet<string> = new Set<string>()) {}

  /** Adds the next entry of the history. */
  add(op: Op): void {
    if (op.process === "nemesis") {
      if (op.time > this.lastTimeNs) this.lastTimeNs = op.time;
      this.nemesisOps.push(op);
      return;
    }
    this.entry(op.process, op.type, op.f, op.time, op.error);
  }

  /** Whether `entry` reads the error of a `fail` completion (else a caller need not decode it). */
  get readsFailErrors(): boolean {
    return this.answeredFails.size > 0;
  }

  /** Adds the next entry of a client process (not the nemesis), with its error field. */
  entry(process: Process, type: Op["type"], f: string, timeNs: number, error: unknown): void {
    if (timeNs > this.lastTimeNs) this.lastTimeNs = timeNs;
    if (typeof process !== "number") return;
    if (type === "invoke") {
      const previous = this.open.get(process);
      // A second invocation while one is open leaves the first pending, as `clientOps` does.
      if (previous !== undefined) this.end(previous.f, previous.timeNs, "pending", previous.timeNs, false);
      this.open.set(process, { f, timeNs });
      return;
    }
    const invoked = this.open.get(process);
    if (invoked === undefined) return;
    this.open.delete(process);
    const answeredFail = type === "fail" && this.isAnsweredFail(error);
    this.end(invoked.f, invoked.timeNs, type, timeNs, answeredFail);
  }

  private isAnsweredFail(error: unknown): boolean {
    return typeof error === "string" && this.answeredFails.has(error);
  }

  private end(
    f: string,
    invokeNs: number,
    outcome: ClientOp["outcome"],
    endNs: number,
    answeredFail: boolean,
  ): void {
    let c = this.counts.get(f);
    if (c === undefined) {
      c = { ok: 0, fail: 0, info: 0, answered: 0, latencies: new Doubles() };
      this.counts.set(f, c);
    }
    if (invokeNs < this.firstNs) this.firstNs = invokeNs;
    if (endNs > this.lastNs) this.lastNs = endNs;
    const ok = outcome === "ok";
    if (ok) {
      c.ok += 1;
      c.latencies.push(endNs - invokeNs);
      this.okAll += 1;
    } else if (outcome === "fail") c.fail += 1;
    else c.info += 1;
    const answered = ok || answeredFail;
    if (answered) c.answered += 1;
    const at = this.invokedNs.length;
    this.invokedNs.push(invokeNs);
    if (at === this.answeredFlags.length) {
      const grown = new Uint8Array(this.answeredFlags.length * 2);
      grown.set(this.answeredFlags);
      this.answeredFlags = grown;
    }
    this.answeredFlags[at] = answered ? 1 : 0;
  }

  /**
   * The figures, with `windows` splitting availability (a step of `budget` per client operation),
   * the rate over `testLengthNs` when given (see the header). Operations still open count as
   * pending; the gatherer takes no more entries after this.
   */
  summary(windows: readonly FaultWindow[], budget?: Budget, testLengthNs?: number): HistoryStats {
    for (const { f, timeNs } of this.open.values()) this.end(f, timeNs, "pending", timeNs, false);
    this.open.clear();
    const totalAll = this.invokedNs.length;
    const invoked = this.invokedNs.array;
    let answeredAll = 0;
    let answeredDuring = 0;
    let totalDuring = 0;
    for (let i = 0; i < totalAll; i++) {
      budget?.step();
      const answered = this.answeredFlags[i] === 1;
      if (answered) answeredAll += 1;
      if (windows.length > 0 && inAnyWindow(windows, invoked[i]!)) {
        totalDuring += 1;
        if (answered) answeredDuring += 1;
      }
    }
    const byF: Record<string, FunctionStats> = {};
    for (const [f, c] of [...this.counts].sort(([a], [b]) => compareNames(a, b))) {
      byF[f] = {
        ok: c.ok,
        fail: c.fail,
        info: c.info,
        answered: c.answered,
        latencyNs: latencyQuantiles(c.latencies.values),
      };
    }
    const { spanNs, perS } = this.throughput(totalAll, testLengthNs);
    return {
      byF,
      throughputPerS: perS,
      throughputSpanNs: spanNs,
      availability: {
        overall: ratio(answeredAll, totalAll),
        duringFaults: ratio(answeredDuring, totalDuring),
        outsideFaults: ratio(answeredAll - answeredDuring, totalAll - totalDuring),
      },
    };
  }

  /** The rate of `ok` completions and the span it is over (see the header). */
  private throughput(
    operations: number,
    testLengthNs: number | undefined,
  ): { spanNs: number; perS: number | null } {
    if (testLengthNs !== undefined) {
      // From the test's start, and past its nominal end when entries were recorded after it
      // (healing, final reads).
      const spanNs = Math.max(testLengthNs, this.lastTimeNs);
      return { spanNs, perS: spanNs < throughputSpanMinNs ? null : this.okAll / (spanNs / 1e9) };
    }
    const spanNs = operations === 0 ? 0 : this.lastNs - this.firstNs;
    const honest = operations >= 2 && spanNs >= throughputSpanMinNs;
    return { spanNs, perS: honest ? this.okAll / (spanNs / 1e9) : null };
  }
}

const quantilesSchema = z.object({ p50: z.number(), p95: z.number(), p99: z.number(), max: z.number() });
const statsSchema = z.object({
  byF: z.record(
    z.string(),
    z.object({
      ok: z.number(),
      fail: z.number(),
      info: z.number(),
      answered: z.number().optional(),
      latencyNs: quantilesSchema.nullable().optional(),
    }),
  ),
  throughputPerS: z.number().nullable(),
  throughputSpanNs: z.number().optional(),
  availability: z.object({
    overall: z.number().nullable(),
    duringFaults: z.number().nullable().optional(),
    outsideFaults: z.number().nullable().optional(),
  }),
});

/** The stats of a "stats" checker result, when it has the expected shape; otherwise undefined. */
export function statsFromChecker(result: CheckResult | undefined): HistoryStats | undefined {
  if (result === undefined) return undefined;
  const parsed = statsSchema.safeParse(result);
  if (!parsed.success) return undefined;
  const byF: Record<string, FunctionStats> = {};
  for (const [f, s] of Object.entries(parsed.data.byF)) {
    byF[f] = {
      ok: s.ok,
      fail: s.fail,
      info: s.info,
      answered: s.answered ?? s.ok,
      latencyNs: s.latencyNs ?? null,
    };
  }
  const a = parsed.data.availability;
  return {
    byF,
    throughputPerS: parsed.data.throughputPerS,
    ...(parsed.data.throughputSpanNs !== undefined ? { throughputSpanNs: parsed.data.throughputSpanNs } : {}),
    availability: {
      overall: a.overall,
      duringFaults: a.duringFaults ?? null,
      outsideFaults: a.outsideFaults ?? null,
    },
  };
}
