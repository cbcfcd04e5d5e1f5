/**
 * The stats checker (Jepsen's `checker/stats` and `perf` figures, as data): per operation `f`,
 * how many ended ok, fail and info, with latency quantiles (p50, p95, p99, max) of the ok ones;
 * throughput; and availability overall, during fault windows and outside them.
 *
 * The figures come from `harness/history/historyStats.ts`, the same code the reports fall back on
 * when a run has no stats checker, so the two can never disagree.
 *
 * Throughput is over the test's length when the context gives it (a run's), else over the span of
 * the client operations; too short a span, or a single operation, gives no rate (null) rather
 * than a figure (historyStats.ts says why).
 *
 * Verdict, as Jepsen's: false when some `f` was attempted but never once answered (a workload
 * whose transfers all timed out or were refused for want of a writer tested nothing), true
 * otherwise; "unknown" for a history with no completed client operation at all. Unlike Jepsen, a `fail`
 * the workload names as an answer decided on the data (`statsCheckerAnswering`: a cas whose
 * expected value did not match) counts as answered: that cas was served and its outcome checked,
 * and a short run can meet nothing but mismatches by chance.
 */
import { Budget } from "../../harness/budget.ts";
import type { CheckContext, Checker } from "../../harness/checker.ts";
import type { Op } from "../../harness/history/op.ts";
import { nothingToCheck } from "../../harness/history/op.ts";
import type { CheckResult } from "../../harness/results.ts";
import { faultWindows, faultWindowsOf } from "../../harness/history/faultWindows.ts";
import {
  summarizeHistory,
  type HistoryStats,
  type HistoryStatsGatherer,
  type SummaryOptions,
} from "../../harness/history/historyStats.ts";

export function checkStatsHistory(history: readonly Op[], options: SummaryOptions = {}): CheckResult {
  const stats = summarizeHistory(history, faultWindows(history), options);
  return statsResult(stats, nothingToCheck(history));
}

/**
 * `checkStatsHistory` of a history gathered while it was streamed (`HistoryStatsGatherer`, fed
 * every entry, with the same `answeredFails`), `empty` its `nothingToCheck`: the same result.
 */
export function checkStatsGathered(
  gathered: HistoryStatsGatherer,
  empty: string | undefined,
  options: { readonly budget?: Budget; readonly testLengthNs?: number } = {},
): CheckResult {
  const windows = faultWindowsOf(gathered.nemesisOps, gathered.lastTimeNs);
  return statsResult(gathered.summary(windows, options.budget, options.testLengthNs), empty);
}

function statsResult(stats: HistoryStats, empty: string | undefined): CheckResult {
  const fs = Object.keys(stats.byF);
  const neverAnswered = fs.filter((f) => stats.byF[f]!.answered === 0);
  const figures = {
    byF: stats.byF,
    throughputPerS: stats.throughputPerS,
    ...(stats.throughputSpanNs !== undefined ? { throughputSpanNs: stats.throughputSpanNs } : {}),
    availability: stats.availability,
  };
  if (empty !== undefined) return { valid: "unknown", reason: empty, ...figures };
  if (neverAnswered.length > 0) {
    return {
      valid: false,
      reason: `no ${neverAnswered.map((f) => `"${f}"`).join(", ")} operation was ever answered`,
      anomalies: {
        "never-answered": neverAnswered.map((f) => {
          const s = stats.byF[f]!;
          return { explanation: `${f}: 0 ok, ${s.fail} fail (none an answer), ${s.info} info`, f, ...s };
        }),
      },
      anomalyCounts: { "never-answered": neverAnswered.length },
      ...figures,
    };
  }
  const overall = stats.availability.overall;
  return {
    valid: true,
    reason:
      `${fs.length} ${fs.length === 1 ? "kind" : "kinds"} of operation, ${throughputText(stats)}` +
      (overall === null ? "" : `, availability ${(overall * 100).toFixed(1)}%`),
    ...figures,
  };
}

/** The rate, or, when there is no honest one, the ok count and the span too short for one. */
function throughputText(stats: HistoryStats): string {
  if (stats.throughputPerS !== null) return `${stats.throughputPerS.toFixed(1)} ok/s`;
  const ok = Object.values(stats.byF).reduce((sum, s) => sum + s.ok, 0);
  const spanNs = stats.throughputSpanNs ?? 0;
  const span = spanNs < 1e6 ? `${(spanNs / 1e3).toFixed(1)} µs` : `${(spanNs / 1e6).toFixed(1)} ms`;
  return `${ok} ok in ${span} (too short a span for a rate)`;
}

/**
 * The context's budget, when it is one the checkers share (its time limit then holds here too),
 * and the test's length, when known.
 */
const sharedBudget = (context: CheckContext): { budget?: Budget; testLengthNs?: number } => ({
  ...(context.budget instanceof Budget ? { budget: context.budget } : {}),
  ...(context.testLengthNs !== undefined ? { testLengthNs: context.testLengthNs } : {}),
});

/** The one anomaly class the stats checker reports: an operation no attempt of which was answered. */
export const statsAnomalyClasses = ["never-answered"] as const;

export const statsChecker: Checker = {
  name: "stats",
  anomalyClasses: statsAnomalyClasses,
  check: (history, context) => checkStatsHistory(history, sharedBudget(context)),
};

/**
 * The stats checker fed from figures gathered while a history streamed past (`faultline check` of
 * a long file): the history it is given is ignored; `empty` is why there is nothing to check, if so.
 */
export function gatheredStatsChecker(gathered: HistoryStatsGatherer, empty: string | undefined): Checker {
  return {
    name: statsChecker.name,
    anomalyClasses: statsAnomalyClasses,
    check: (_history, context) => checkStatsGathered(gathered, empty, sharedBudget(context)),
  };
}

/**
 * A stats checker for a workload whose refusals are answers: `fail`s with these errors (decided on
 * the data, such as `cas-mismatch`) count as available, not as an outage.
 */
export function statsCheckerAnswering(answeredFails: readonly string[]): Checker {
  const set = new Set(answeredFails);
  return {
    name: "stats",
    anomalyClasses: statsAnomalyClasses,
    check: (history, context) => checkStatsHistory(history, { answeredFails: set, ...sharedBudget(context) }),
  };
}
