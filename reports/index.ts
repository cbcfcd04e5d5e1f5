/**
 * reports/: what faultline shows. While a test runs, a live view (the Ink dashboard in a terminal,
 * plain lines in CI); when it ends, the terminal report (also report.txt), report.html, junit.xml
 * and results.json, all rendered from one `ReportInput`.
 */
export { analyzeRun, statsCheckerName, type ReportInput, type RunAnalysis } from "./input.ts";
export { faultWindows, inAnyWindow, type FaultWindow } from "../harness/history/faultWindows.ts";
export {
  clientOps,
  latencyQuantiles,
  statsFromChecker,
  summarizeHistory,
  type Availability,
  type ClientOp,
  type FunctionStats,
  type HistoryStats,
  type LatencyQuantilesNs,
} from "../harness/history/historyStats.ts";
export {
  buildReportDocument,
  anomalySection,
  verdictSection,
  type Line,
  type Span,
  type Tone,
} from "./document.ts";
export { colorWanted, renderLines, renderTextReport, type TextOptions } from "./text.ts";
export { scrubControls } from "./format.ts";
export { renderHtmlReport, htmlLimits } from "./html.ts";
export { renderJunit } from "./junit.ts";
export { writeReports, reportFiles } from "./write.ts";
export { ReportView } from "./ReportView.tsx";
export { Dashboard, type DashboardProps } from "./live/Dashboard.tsx";
export { createPlainProgress } from "./live/plainProgress.ts";
export {
  ciFromEnv,
  createLiveObserver,
  type LiveObserver,
  type LiveObserverOptions,
} from "./live/observer.tsx";
