/**
 * The terminal report as data: a list of lines, each a list of spans with a tone ("ok", "fail",
 * "heading", …). One document, two renderers: `text.ts` turns it into plain text (report.txt) or
 * ANSI-coloured text (a TTY), and `ReportView.tsx` into Ink elements (the dashboard's closing
 * screen). Sections are built separately so the dashboard, which knows only the results at the
 * end of a run, can show the verdict and anomaly sections without a history.
 *
 * Anomalies are rendered generically from `CheckResult.anomalies`/`anomalyCounts`: the class, its
 * count, and its first cases in full (their `explanation`), whatever checker produced them.
 */
import type { AnomalyCase, CheckResult, Results, Verdict } from "../harness/results.ts";
import type { FaultWindow } from "../harness/history/faultWindows.ts";
import { countClientOperations } from "../harness/history/historyStats.ts";
import {
  formatCount,
  formatDurationNs,
  formatPercent,
  formatThroughput,
  showValue,
  truncate,
  verdictWord,
} from "./format.ts";
import type { ReportInput, RunAnalysis } from "./input.ts";
import { analyzeRun } from "./input.ts";
import { compareNames } from "../harness/compareNames.ts";

export type Tone = "plain" | "ok" | "fail" | "unknown" | "heading" | "dim" | "accent";
export interface Span {
  readonly text: string;
  readonly tone?: Tone;
}
export type Line = readonly Span[];

/** First cases shown in full per anomaly class in the terminal report. */
export const textCasesPerClass = 3;
/** Longest explanation shown in the terminal before it is cut (the rest stays in results.json). */
export const textExplanationMaxChars = 4000;
/** Most fault windows listed in the terminal report; the HTML shows them all. */
const textWindowsMax = 20;

export const toneOf = (v: Verdict): Tone => (v === true ? "ok" : v === false ? "fail" : "unknown");
const markOf = (v: Verdict): string => (v === true ? "✓" : v === false ? "✗" : "?");

export interface AnomalyClass {
  readonly name: string;
  /** The true total (anomalyCounts when given, else the number of cases listed). */
  readonly count: number;
  readonly cases: readonly AnomalyCase[];
}

/** A checker's anomaly classes, largest count first, then by name. Tolerates odd shapes. */
export function anomalyClasses(result: CheckResult): AnomalyClass[] {
  const anomalies = isRecord(result.anomalies) ? result.anomalies : {};
  const counts = isRecord(result.anomalyCounts) ? result.anomalyCounts : {};
  const names = new Set([...Object.keys(anomalies), ...Object.keys(counts)]);
  const classes: AnomalyClass[] = [];
  for (const name of names) {
    const listed = anomalies[name];
    const cases = Array.isArray(listed) ? (listed as AnomalyCase[]) : [];
    const counted = counts[name];
    const count = typeof counted === "number" && counted >= cases.length ? counted : cases.length;
    classes.push({ name, count, cases });
  }
  return classes.sort((a, b) => b.count - a.count || compareNames(a.name, b.name));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A case's explanation as text; a case without a string explanation is shown as its JSON. */
export function explanationOf(c: AnomalyCase): string {
  return typeof c?.explanation === "string" ? c.explanation : showValue(c);
}

/** "G2-item ×3, lost ×1": a one-line anomaly summary of a checker. */
export function anomalySummary(result: CheckResult): string {
  return anomalyClasses(result)
    .map((c) => `${c.name} ×${formatCount(c.count)}`)
    .join(", ");
}

/** Checkers in display order: invalid first, then unknown, then valid; by name within each. */
export function orderedCheckers(results: Results): [string, CheckResult][] {
  const rank = (v: Verdict): number => (v === false ? 0 : v === "unknown" ? 1 : 2);
  return Object.entries(results.checkers).sort(
    ([a, ra], [b, rb]) => rank(ra.valid) - rank(rb.valid) || compareNames(a, b),
  );
}

/**
 * "Interrupted by SIGINT at 34.0 s of test time (10m 0s asked); what was recorded was checked",
 * or undefined for a run that ran to its end.
 */
export function interruptionText(results: Results): string | undefined {
  const i = results.interrupted;
  if (i === undefined || typeof i !== "object") return undefined;
  return (
    `Interrupted by ${String(i.signal)} at ${formatDurationNs(Number(i.atTestTimeNs))} of test time ` +
    `(${formatDurationNs(Number(i.timeLimitNs))} asked); what was recorded was checked`
  );
}

export function verdictSection(results: Results): Line[] {
  const interruption = interruptionText(results);
  const lines: Line[] = [
    ...(interruption === undefined ? [] : [[{ text: interruption, tone: "unknown" as const }]]),
    [
      { text: "Verdict: ", tone: "heading" },
      { text: verdictWord(results.valid).toUpperCase(), tone: toneOf(results.valid) },
      {
        text:
          results.valid === false
            ? " (anomalies found)"
            : results.valid === "unknown"
              ? " (could not decide)"
              : "",
      },
    ],
  ];
  const entries = orderedCheckers(results);
  const width = Math.max(8, ...entries.map(([name]) => name.length));
  for (const [name, result] of entries) {
    const summary = anomalySummary(result);
    const reason = typeof result.reason === "string" ? result.reason : "";
    const detail = [summary, reason].filter((s) => s !== "").join("; ");
    lines.push([
      { text: "  " },
      { text: `${markOf(result.valid)} `, tone: toneOf(result.valid) },
      { text: name.padEnd(width + 2) },
      { text: verdictWord(result.valid).padEnd(9), tone: toneOf(result.valid) },
      { text: truncate(detail, 300, "results.json"), tone: "dim" },
    ]);
  }
  if (entries.length === 0) lines.push([{ text: "  (no checkers ran)", tone: "dim" }]);
  return lines;
}

export function anomalySection(results: Results, casesPerClass = textCasesPerClass): Line[] {
  const lines: Line[] = [];
  for (const [name, result] of orderedCheckers(results)) {
    const classes = anomalyClasses(result);
    if (classes.length === 0) continue;
    for (const cls of classes) {
      lines.push([
        { text: `${name}: `, tone: "heading" },
        { text: cls.name, tone: result.valid === true ? "accent" : toneOf(result.valid) },
        { text: ` (${formatCount(cls.count)})` },
      ]);
      const shown = cls.cases.slice(0, casesPerClass);
      shown.forEach((c, i) => {
        lines.push([{ text: `  case ${i + 1} of ${formatCount(cls.count)}:`, tone: "dim" }]);
        const text = truncate(explanationOf(c), textExplanationMaxChars, "results.json");
        for (const row of text.split("\n")) lines.push([{ text: `    ${row}` }]);
      });
      const rest = cls.count - shown.length;
      if (rest > 0) {
        lines.push([
          {
            text:
              `  … ${formatCount(rest)} more ${rest === 1 ? "case" : "cases"}` +
              " (report.html, results.json)",
            tone: "dim",
          },
        ]);
      }
    }
  }
  if (lines.length === 0) return [];
  return [[{ text: "Anomalies", tone: "heading" }], ...lines];
}

export function statsSection(analysis: RunAnalysis): Line[] {
  const { stats, statsSource } = analysis;
  const source = statsSource === "checker" ? "from the stats checker" : "computed from the history";
  const lines: Line[] = [
    [
      { text: "Latency and availability", tone: "heading" },
      { text: ` (${source})`, tone: "dim" },
    ],
  ];
  const fs = Object.entries(stats.byF);
  if (fs.length === 0) {
    lines.push([{ text: "  no client operations", tone: "dim" }]);
    return lines;
  }
  const fWidth = Math.max(1, ...fs.map(([f]) => f.length));
  const header = ["f".padEnd(fWidth), "ok", "fail", "info", "p50", "p95", "p99", "max"];
  const rows = fs.map(([f, s]) => [
    f.padEnd(fWidth),
    formatCount(s.ok),
    formatCount(s.fail),
    formatCount(s.info),
    s.latencyNs ? formatDurationNs(s.latencyNs.p50) : "—",
    s.latencyNs ? formatDurationNs(s.latencyNs.p95) : "—",
    s.latencyNs ? formatDurationNs(s.latencyNs.p99) : "—",
    s.latencyNs ? formatDurationNs(s.latencyNs.max) : "—",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const align = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  lines.push([{ text: `  ${align(header)}`, tone: "dim" }]);
  for (const row of rows) lines.push([{ text: `  ${align(row)}` }]);
  const a = stats.availability;
  lines.push([
    { text: "  latency of ok operations; " },
    { text: `throughput ${formatThroughput(stats)}; ` },
    { text: `availability ${formatPercent(a.overall)} overall, ` },
    { text: `${formatPercent(a.duringFaults)} during faults, ${formatPercent(a.outsideFaults)} outside` },
  ]);
  return lines;
}

export function faultSection(windows: readonly FaultWindow[]): Line[] {
  if (windows.length === 0) return [[{ text: "Faults: ", tone: "heading" }, { text: "none recorded" }]];
  const lines: Line[] = [
    [
      { text: "Faults", tone: "heading" },
      { text: ` (${formatCount(windows.length)} windows)`, tone: "dim" },
    ],
  ];
  for (const w of windows.slice(0, textWindowsMax)) {
    lines.push([
      { text: `  ${w.kind}`, tone: "accent" },
      {
        text:
          ` ${formatDurationNs(w.startNs)} – ${formatDurationNs(w.endNs)}` +
          (w.openAtEnd ? " (still active at the end)" : ""),
      },
      { text: `  ${truncate(w.details.join("; "), 200, "report.html")}`, tone: "dim" },
    ]);
  }
  if (windows.length > textWindowsMax) {
    lines.push([
      { text: `  … ${formatCount(windows.length - textWindowsMax)} more (report.html)`, tone: "dim" },
    ]);
  }
  return lines;
}

/** The whole terminal report of a run. */
export function buildReportDocument(input: ReportInput, analysis: RunAnalysis = analyzeRun(input)): Line[] {
  const operations = countClientOperations(input.history);
  const blank: Line = [];
  return [
    [
      { text: "faultline ", tone: "heading" },
      { text: input.testName, tone: "accent" },
      { text: `  seed ${input.seed}  ${formatCount(operations)} operations` },
      ...(input.results.interrupted !== undefined
        ? [{ text: "  INTERRUPTED", tone: "unknown" as const }]
        : []),
    ],
    blank,
    ...verdictSection(input.results),
    blank,
    ...withBlank(anomalySection(input.results)),
    ...statsSection(analysis),
    blank,
    ...faultSection(analysis.windows),
    blank,
    [{ text: "Store:     ", tone: "heading" }, { text: input.storeDir }],
    ...(input.nodeLogs !== undefined && input.nodeLogs.length > 0
      ? [
          [
            { text: "Node logs: ", tone: "heading" as const },
            { text: `nodes/ (${input.nodeLogs.join(", ")})` },
          ],
        ]
      : []),
    [{ text: "Reproduce: ", tone: "heading" }, { text: input.reproduceCommand }],
  ];
}

const withBlank = (lines: Line[]): Line[] => (lines.length === 0 ? lines : [...lines, []]);
