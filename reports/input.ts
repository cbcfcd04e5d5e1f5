/**
 * What every report renders from: one stored or just-finished run. Each renderer (text, HTML,
 * JUnit) is a function of this value alone; `analyzeRun` derives what they share (fault windows,
 * latency and availability) once, so writing all reports of a large run does the work once.
 */
import type { Op } from "../harness/history/op.ts";
import type { Results } from "../harness/results.ts";
import { faultWindows, type FaultWindow } from "../harness/history/faultWindows.ts";
import {
  statsFromChecker,
  summarizeHistory,
  type ClientOp,
  type HistoryStats,
} from "../harness/history/historyStats.ts";

export interface ReportInput {
  readonly testName: string;
  readonly seed: number;
  readonly storeDir: string;
  readonly reproduceCommand: string;
  /** The resolved test config (test.json); shown as is. */
  readonly config: unknown;
  readonly history: readonly Op[];
  /**
   * The history's client operations paired (`clientOps`), when the caller has them already (a run
   * pairs its history to choose the timeline's values); paired here otherwise.
   */
  readonly clientOps?: readonly ClientOp[];
  readonly results: Results;
  /** Node log files of the run (`nodes/<node>.log`), by endpoint name; none when absent. */
  readonly nodeLogs?: readonly string[];
}

export interface RunAnalysis {
  readonly windows: readonly FaultWindow[];
  readonly stats: HistoryStats;
  /** Where the stats came from: the "stats" checker's result, or computed from the history here. */
  readonly statsSource: "checker" | "history";
}

/** The checker name whose result, when it has the perf shape, supplies latency and availability. */
export const statsCheckerName = "stats";

export function analyzeRun(input: ReportInput): RunAnalysis {
  const windows = faultWindows(input.history);
  const fromChecker = statsFromChecker(input.results.checkers[statsCheckerName]);
  if (fromChecker !== undefined) return { windows, stats: fromChecker, statsSource: "checker" };
  return { windows, stats: summarizeHistory(input.history, windows), statsSource: "history" };
}
