/**
 * report.html: one self-contained page per run that opens from disk with no network. It shows a
 * timeline of the client operations per process coloured by outcome, a latency scatter plot and a
 * throughput-over-time plot, all three with the fault windows shaded; the verdicts, latency and
 * availability; and every checker's anomalies with their explanations.
 *
 * Safety: every value that came from the history, the config or a checker is escaped
 * (`escape.ts`), and a Content-Security-Policy forbids scripts and every network fetch, so even a
 * value that slipped through could not run or phone home. The page has no JavaScript at all.
 *
 * Size: plots are static SVG. Past a bound (`htmlLimits`), the timeline and the scatter plot draw a
 * sample: an even sample of each outcome in proportion to its count, rare outcomes getting at
 * least 5% of the room; the page says so above the plot. Throughput is aggregated into buckets,
 * so it always covers every operation. A 100,000-entry history gives a page of about 1 MB.
 */
import { escapeHtml } from "./escape.ts";
import type { FaultWindow } from "../harness/history/faultWindows.ts";
import { clientOps, countClientOperations, type ClientOp } from "../harness/history/historyStats.ts";
import {
  anomalyClasses,
  explanationOf,
  interruptionText,
  orderedCheckers,
  anomalySummary,
  type AnomalyClass,
} from "./document.ts";
import {
  formatCount,
  formatDurationNs,
  formatPercent,
  formatRate,
  formatThroughput,
  showValue,
  truncate,
  verdictWord,
} from "./format.ts";
import { analyzeRun, type ReportInput, type RunAnalysis } from "./input.ts";
import type { Verdict } from "../harness/results.ts";

export const htmlLimits = {
  /** Operations drawn on the timeline; past this, a sample (see the module header). */
  timelineOpsMax: 8000,
  /** Points on the latency scatter plot. */
  scatterPointsMax: 10000,
  /** Lanes on the timeline; more processes fold onto these (lane = process mod lanes). */
  lanesMax: 128,
  /** Buckets of the throughput plot. */
  throughputBuckets: 200,
  /** Fault windows shaded on the plots and listed in the table. */
  windowsMax: 1000,
  /** Cases shown per anomaly class. */
  casesPerClass: 20,
  /** Characters of one explanation; the rest stays in results.json. */
  explanationMaxChars: 20000,
  /** Characters of an operation's value in its hover title. */
  valueMaxChars: 60,
  /** Characters of the config shown. */
  configMaxChars: 50000,
} as const;

const plotWidth = 1000;
const marginLeft = 70;
const marginRight = 10;
const marginTop = 8;
const marginBottom = 24;

type Outcome = ClientOp["outcome"];

export function renderHtmlReport(input: ReportInput, analysis: RunAnalysis = analyzeRun(input)): string {
  const ops = input.clientOps ?? clientOps(input.history);
  const endNs = Math.max(1, lastTimeNs(input.history));
  const windows = analysis.windows.slice(0, htmlLimits.windowsMax);
  const e = escapeHtml;
  const results = input.results;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>faultline: ${e(input.testName)} (${verdictWord(results.valid)})</title>
<style>${css}</style>
</head>
<body>
<header>
<h1>faultline: <span id="test-name">${e(input.testName)}</span></h1>
<p>seed <code id="seed">${e(String(input.seed))}</code> · ${formatCount(countClientOperations(input.history))} operations ·
test time ${e(formatDurationNs(endNs))}</p>
<p>store <code id="store-dir">${e(input.storeDir)}</code></p>${
    interruptionText(results) === undefined
      ? ""
      : `\n<p class="note" id="interrupted">${e(interruptionText(results)!)}</p>`
  }
<p>reproduce <code id="reproduce">${e(input.reproduceCommand)}</code></p>
</header>
${verdictHtml(results.valid, results)}
${timelineHtml(ops, windows, endNs, laneCount(input.config))}
${scatterHtml(ops, windows, endNs)}
${throughputHtml(ops, windows, endNs)}
${statsHtml(analysis)}
${faultsHtml(analysis.windows)}
${anomaliesHtml(results)}
<section id="config"><h2>Config</h2><details><summary>test.json</summary><pre>${e(
    truncate(JSON.stringify(input.config, null, 2) ?? "null", htmlLimits.configMaxChars, "test.json"),
  )}</pre></details></section>
</body>
</html>
`;
}

/**
 * The indices of the ops whose values the timeline shows, of a history's client operations (an
 * op's title reads its completion's value, else its invocation's): a run keeps its history without
 * client values (cli/runHistory.ts) and reads these back from history.jsonl before rendering. At
 * most twice `timelineOpsMax`.
 */
export function timelineValueIndices(ops: readonly ClientOp[]): number[] {
  const indices: number[] = [];
  for (const op of sampleOps(ops, htmlLimits.timelineOpsMax)) {
    indices.push(op.invoke.index);
    if (op.complete !== undefined) indices.push(op.complete.index);
  }
  return indices;
}

function lastTimeNs(history: ReportInput["history"]): number {
  let max = 0;
  for (const op of history) if (op.time > max) max = op.time;
  return max;
}

const css = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em;border-bottom:1px solid #ddd}
h3{font-size:1em;margin:1em 0 .3em}code,pre{font-family:ui-monospace,monospace;font-size:12px}
pre{background:#f6f6f6;padding:.6em;overflow:auto;white-space:pre-wrap;word-break:break-word}
table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}
td:first-child,th:first-child{text-align:left}.note{color:#8a5a00;background:#fff6e0;padding:.3em .6em}
.v-valid{color:#17803d;font-weight:600}.v-invalid{color:#c0262d;font-weight:600}
.v-unknown{color:#a86500;font-weight:600}svg{width:100%;height:auto;display:block;background:#fcfcfc}
.fault{fill:#e8483f;fill-opacity:.12}.fault.strip{fill-opacity:.75}.ok{fill:#2e9d4f;stroke:#2e9d4f}.fail{fill:#d7443e;stroke:#d7443e}
.info{fill:#e0a100;stroke:#e0a100}.pending{fill:#8a8a8a;stroke:#8a8a8a}
.line{fill:none;stroke-width:1.5}.axis{stroke:#999;stroke-width:1}.tick{font-size:10px;fill:#555}
.legend span{display:inline-block;margin-right:1.2em}.legend i{display:inline-block;width:.9em;height:.9em;
margin-right:.3em;vertical-align:-.1em}.k-ok{background:#2e9d4f}.k-fail{background:#d7443e}
.k-info{background:#e0a100}.k-pending{background:#8a8a8a}.k-fault{background:#f6cfcc}
details.anomaly{margin:.3em 0 .8em}summary{cursor:pointer}`;

function verdictClass(v: Verdict): string {
  return `v-${verdictWord(v)}`;
}

function verdictHtml(valid: Verdict, results: ReportInput["results"]): string {
  const rows = orderedCheckers(results)
    .map(([name, r]) => {
      const detail = [anomalySummary(r), typeof r.reason === "string" ? r.reason : ""]
        .filter((s) => s !== "")
        .join("; ");
      return `<tr><td>${escapeHtml(name)}</td><td class="${verdictClass(r.valid)}">${verdictWord(r.valid)}</td><td style="text-align:left">${escapeHtml(truncate(detail, 1000, "results.json"))}</td></tr>`;
    })
    .join("\n");
  return `<section id="verdict"><h2>Verdict: <span class="${verdictClass(valid)}">${verdictWord(valid).toUpperCase()}</span></h2>
<table><tr><th>checker</th><th>verdict</th><th style="text-align:left">found</th></tr>
${rows}</table></section>`;
}

const legend = (withPending: boolean): string =>
  `<p class="legend"><span><i class="k-ok"></i>ok</span><span><i class="k-fail"></i>fail</span><span><i class="k-info"></i>info (indeterminate)</span>${
    withPending ? `<span><i class="k-pending"></i>pending at the end</span>` : ""
  }<span><i class="k-fault"></i>fault active</span></p>`;

/** Indices of an even sample of k out of n items, ascending. */
export function evenSample(n: number, k: number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  const picked: number[] = [];
  for (let i = 0; i < k; i++) picked.push(Math.floor((i * n) / k));
  return picked;
}

/** Least share of a plot's room an outcome gets when sampled, so rare outcomes stay visible. */
const rareOutcomeShare = 0.05;

/**
 * Which operations a bounded plot draws: all when they fit; otherwise an even sample of each
 * outcome, in proportion to its count, except that an outcome gets at least 5% of the room (or
 * all of its operations, if fewer) so that rare failures stay visible. Returns exactly
 * min(n, max) operations, in input order.
 */
export function sampleOps<T extends { outcome: Outcome }>(ops: readonly T[], max: number): T[] {
  if (ops.length <= max) return [...ops];
  const byOutcome = new Map<Outcome, number[]>();
  ops.forEach((op, i) => {
    const list = byOutcome.get(op.outcome);
    if (list === undefined) byOutcome.set(op.outcome, [i]);
    else list.push(i);
  });
  const floor = Math.floor(max * rareOutcomeShare);
  const quotas = new Map<Outcome, number>();
  for (const [outcome, list] of byOutcome) {
    const proportional = Math.floor((max * list.length) / ops.length);
    quotas.set(outcome, Math.min(list.length, Math.max(proportional, floor)));
  }
  // Settle rounding and the floors: give spare room to, or take excess from, the largest outcome
  // that can take it. Each round moves at least one unit, and there are at most `max` units.
  let total = [...quotas.values()].reduce((a, b) => a + b, 0);
  for (let round = 0; total !== max && round < 4 * max; round++) {
    const candidates = [...quotas]
      .filter(([o, q]) => (total < max ? q < byOutcome.get(o)!.length : q > 0))
      .sort((a, b) => b[1] - a[1]);
    const pick = candidates[0];
    if (pick === undefined) break;
    const step = total < max ? 1 : -1;
    quotas.set(pick[0], pick[1] + step);
    total += step;
  }
  const kept: number[] = [];
  for (const [outcome, list] of byOutcome) {
    for (const i of evenSample(list.length, quotas.get(outcome) ?? 0)) kept.push(list[i]!);
  }
  return kept.sort((a, b) => a - b).map((i) => ops[i]!);
}

function sampleNote(shown: number, total: number, what: string): string {
  if (shown >= total) return "";
  return `<p class="note">Showing ${formatCount(shown)} of ${formatCount(total)} ${what}: an even sample of each outcome in proportion to its count (a rare outcome gets at least ${rareOutcomeShare * 100}% of the room). history.jsonl holds them all.</p>`;
}

/** The number of worker lanes: the config's concurrency when it has one, else 0 (one per process). */
function laneCount(config: unknown): number {
  if (typeof config === "object" && config !== null) {
    const c = (config as Record<string, unknown>)["concurrency"];
    if (typeof c === "number" && Number.isInteger(c) && c > 0) return Math.min(c, htmlLimits.lanesMax);
  }
  return 0;
}

const fmt = (x: number): string => (Math.round(x * 10) / 10).toString();

/** The smallest of 1, 2 or 5 × 10^k that is at least `atLeast` (> 0). */
export function niceStep(atLeast: number): number {
  if (!(atLeast > 0) || !Number.isFinite(atLeast)) return 1;
  const power = 10 ** Math.floor(Math.log10(atLeast));
  for (const m of [1, 2, 5, 10]) if (m * power >= atLeast) return m * power;
  return 10 * power;
}

class TimeAxis {
  readonly innerWidth = plotWidth - marginLeft - marginRight;
  constructor(readonly endNs: number) {}
  x(ns: number): number {
    return marginLeft + (Math.min(Math.max(ns, 0), this.endNs) / this.endNs) * this.innerWidth;
  }
  ticks(height: number): string {
    const parts = [
      `<line class="axis" x1="${marginLeft}" y1="${fmt(height)}" x2="${plotWidth - marginRight}" y2="${fmt(height)}"/>`,
    ];
    const stepNs = niceStep(this.endNs / 8);
    // At most ~10 ticks: the step is at least an eighth of the span, rounded up to 1, 2 or 5 × 10^k.
    for (let ns = 0; ns <= this.endNs; ns += stepNs) {
      parts.push(
        `<text class="tick" x="${fmt(this.x(ns))}" y="${fmt(height + 14)}" text-anchor="${ns === 0 ? "start" : this.x(ns) > plotWidth - 40 ? "end" : "middle"}">${escapeHtml(formatDurationNs(ns))}</text>`,
      );
    }
    return parts.join("");
  }
  /** Shaded fault windows from `top` down to `bottom`; `strip` draws them solid (a band of their own). */
  faults(windows: readonly FaultWindow[], bottom: number, top = marginTop, strip = false): string {
    return windows
      .map((w) => {
        const x0 = this.x(w.startNs);
        const width = Math.max(1, this.x(w.endNs) - x0);
        const title = `${w.kind} ${formatDurationNs(w.startNs)} – ${formatDurationNs(w.endNs)}: ${truncate(w.details.join("; "), 300, "report")}`;
        return `<rect class="fault${strip ? " strip" : ""}" x="${fmt(x0)}" y="${fmt(top)}" width="${fmt(width)}" height="${fmt(bottom - top)}"><title>${escapeHtml(title)}</title></rect>`;
      })
      .join("");
  }
}

function timelineHtml(
  ops: readonly ClientOp[],
  windows: readonly FaultWindow[],
  endNs: number,
  lanes: number,
): string {
  const processes = [...new Set(ops.map((op) => op.process))].sort((a, b) => a - b);
  const laneOf = new Map<number, number>();
  const laneTotal = lanes > 0 ? lanes : Math.max(1, Math.min(processes.length, htmlLimits.lanesMax));
  processes.forEach((p, i) => laneOf.set(p, lanes > 0 ? p % lanes : i % htmlLimits.lanesMax));
  const laneHeight = laneTotal > 64 ? 4 : laneTotal > 24 ? 8 : 14;
  // A band of its own above the lanes shows the fault windows where dense lanes would hide them.
  const stripHeight = 8;
  const lanesTop = marginTop + stripHeight + 2;
  const height = lanesTop + laneTotal * laneHeight;
  const axis = new TimeAxis(endNs);
  const shown = sampleOps(ops, htmlLimits.timelineOpsMax);
  const groups: Record<Outcome, string[]> = { ok: [], fail: [], info: [], pending: [] };
  for (const op of shown) {
    const startNs = op.invoke.time;
    const stopNs = op.complete?.time ?? endNs;
    const x0 = axis.x(startNs);
    const width = Math.max(1, axis.x(stopNs) - x0);
    const y = lanesTop + (laneOf.get(op.process) ?? 0) * laneHeight + 1;
    const value = truncate(
      showValue(op.complete?.value ?? op.invoke.value),
      htmlLimits.valueMaxChars,
      "history",
    );
    const title = `p${op.process} ${op.f} ${op.outcome} ${formatDurationNs(stopNs - startNs)} ${value}`;
    groups[op.outcome].push(
      `<rect x="${fmt(x0)}" y="${fmt(y)}" width="${fmt(width)}" height="${laneHeight - 2}"><title>${escapeHtml(title)}</title></rect>`,
    );
  }
  const laneLabels: string[] = [];
  const labelEvery = Math.ceil(laneTotal / 16);
  for (let lane = 0; lane < laneTotal; lane += labelEvery) {
    laneLabels.push(
      `<text class="tick" x="${marginLeft - 6}" y="${fmt(lanesTop + lane * laneHeight + laneHeight - 2)}" text-anchor="end">${lanes > 0 ? `worker ${lane}` : `p${processes[lane] ?? lane}`}</text>`,
    );
  }
  const folded =
    lanes === 0 && processes.length > htmlLimits.lanesMax
      ? `<p class="note">${formatCount(processes.length)} processes fold onto ${htmlLimits.lanesMax} lanes.</p>`
      : "";
  const laneWord = lanes > 0 ? "one lane per worker (process mod concurrency)" : "one lane per process";
  return `<section id="timeline"><h2>Timeline</h2>
<p>Every client operation from invocation to completion, ${laneWord}; hover for details.</p>
${sampleNote(shown.length, ops.length, "operations")}${folded}${legend(true)}
<svg id="timeline-plot" viewBox="0 0 ${plotWidth} ${height + marginBottom}" xmlns="http://www.w3.org/2000/svg">
${axis.faults(windows, marginTop + stripHeight, marginTop, true)}${axis.faults(windows, height, lanesTop)}
<text class="tick" x="${marginLeft - 6}" y="${marginTop + stripHeight}" text-anchor="end">faults</text>${laneLabels.join("")}
${(Object.keys(groups) as Outcome[]).map((o) => `<g class="${o}">${groups[o].join("")}</g>`).join("\n")}
${axis.ticks(height)}
</svg></section>`;
}

function scatterHtml(ops: readonly ClientOp[], windows: readonly FaultWindow[], endNs: number): string {
  const completed = ops.filter((op) => op.complete !== undefined);
  const height = 260;
  const axis = new TimeAxis(endNs);
  const latencies = completed.map((op) => Math.max(1, op.complete!.time - op.invoke.time));
  if (completed.length === 0) {
    return `<section id="latency"><h2>Latency</h2><p>No completed operations.</p></section>`;
  }
  let minNs = Number.POSITIVE_INFINITY;
  let maxNs = 1;
  for (const l of latencies) {
    if (l < minNs) minNs = l;
    if (l > maxNs) maxNs = l;
  }
  const logMin = Math.floor(Math.log10(minNs));
  const logMax = Math.max(logMin + 1, Math.ceil(Math.log10(maxNs)));
  const y = (ns: number): number =>
    height - ((Math.log10(Math.max(1, ns)) - logMin) / (logMax - logMin)) * (height - marginTop);
  const shown = sampleOps(completed, htmlLimits.scatterPointsMax);
  const groups: Record<Outcome, string[]> = { ok: [], fail: [], info: [], pending: [] };
  for (const op of shown) {
    const latencyNs = op.complete!.time - op.invoke.time;
    groups[op.outcome].push(
      `<circle cx="${fmt(axis.x(op.invoke.time))}" cy="${fmt(y(latencyNs))}" r="1.6"/>`,
    );
  }
  const yTicks: string[] = [];
  for (let p = logMin; p <= logMax; p++) {
    yTicks.push(
      `<text class="tick" x="${marginLeft - 6}" y="${fmt(y(10 ** p) + 3)}" text-anchor="end">${escapeHtml(formatDurationNs(10 ** p))}</text>`,
    );
  }
  return `<section id="latency"><h2>Latency</h2>
<p>Latency of each completed operation (log scale) against its invocation time.</p>
${sampleNote(shown.length, completed.length, "completed operations")}${legend(false)}
<svg id="latency-plot" viewBox="0 0 ${plotWidth} ${height + marginBottom}" xmlns="http://www.w3.org/2000/svg">
${axis.faults(windows, height)}${yTicks.join("")}
${(Object.keys(groups) as Outcome[]).map((o) => `<g class="${o}">${groups[o].join("")}</g>`).join("\n")}
${axis.ticks(height)}
</svg></section>`;
}

function throughputHtml(ops: readonly ClientOp[], windows: readonly FaultWindow[], endNs: number): string {
  const height = 200;
  const axis = new TimeAxis(endNs);
  const buckets = htmlLimits.throughputBuckets;
  const bucketNs = endNs / buckets;
  const series: Record<"ok" | "fail" | "info", number[]> = {
    ok: new Array<number>(buckets).fill(0),
    fail: new Array<number>(buckets).fill(0),
    info: new Array<number>(buckets).fill(0),
  };
  for (const op of ops) {
    if (op.complete === undefined || op.outcome === "pending") continue;
    const b = Math.min(buckets - 1, Math.floor(op.complete.time / bucketNs));
    series[op.outcome][b]! += 1;
  }
  const perS = (count: number): number => count / (bucketNs / 1e9);
  let maxRate = 1;
  for (const s of Object.values(series)) for (const c of s) maxRate = Math.max(maxRate, perS(c));
  const y = (rate: number): number => height - (rate / maxRate) * (height - marginTop);
  const lines = (Object.keys(series) as ("ok" | "fail" | "info")[])
    .map((o) => {
      const points = series[o]
        .map((c, i) => `${fmt(axis.x((i + 0.5) * bucketNs))},${fmt(y(perS(c)))}`)
        .join(" ");
      return `<polyline class="line ${o}" style="fill:none" points="${points}"/>`;
    })
    .join("\n");
  const yTicks = [0, 0.5, 1]
    .map(
      (f) =>
        `<text class="tick" x="${marginLeft - 6}" y="${fmt(y(maxRate * f) + 3)}" text-anchor="end">${escapeHtml(formatRate(maxRate * f))}/s</text>`,
    )
    .join("");
  return `<section id="throughput"><h2>Throughput</h2>
<p>Completions per second of test time, by outcome, in ${buckets} buckets of ${escapeHtml(formatDurationNs(bucketNs))}.</p>
${legend(false)}
<svg id="throughput-plot" viewBox="0 0 ${plotWidth} ${height + marginBottom}" xmlns="http://www.w3.org/2000/svg">
${axis.faults(windows, height)}${yTicks}
${lines}
${axis.ticks(height)}
</svg></section>`;
}

function statsHtml(analysis: RunAnalysis): string {
  const { stats } = analysis;
  const rows = Object.entries(stats.byF)
    .map(([f, s]) => {
      const q = s.latencyNs;
      const cell = (v: number | undefined): string =>
        v === undefined ? "—" : escapeHtml(formatDurationNs(v));
      return `<tr><td>${escapeHtml(f)}</td><td>${formatCount(s.ok)}</td><td>${formatCount(s.fail)}</td><td>${formatCount(s.info)}</td><td>${cell(q?.p50)}</td><td>${cell(q?.p95)}</td><td>${cell(q?.p99)}</td><td>${cell(q?.max)}</td></tr>`;
    })
    .join("\n");
  const a = stats.availability;
  const source = analysis.statsSource === "checker" ? "from the stats checker" : "computed from the history";
  return `<section id="stats"><h2>Latency and availability</h2>
<p>${source}; latency of ok operations.</p>
<table><tr><th>f</th><th>ok</th><th>fail</th><th>info</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>
${rows}</table>
<p>Throughput ${escapeHtml(formatThroughput(stats))} · availability ${formatPercent(a.overall)} overall,
${formatPercent(a.duringFaults)} during faults, ${formatPercent(a.outsideFaults)} outside faults.</p></section>`;
}

function faultsHtml(windows: readonly FaultWindow[]): string {
  if (windows.length === 0) return `<section id="faults"><h2>Faults</h2><p>No faults recorded.</p></section>`;
  const shown = windows.slice(0, htmlLimits.windowsMax);
  const rows = shown
    .map(
      (w) =>
        `<tr><td>${escapeHtml(w.kind)}</td><td>${escapeHtml(formatDurationNs(w.startNs))}</td><td>${escapeHtml(formatDurationNs(w.endNs))}${w.openAtEnd ? " (end)" : ""}</td><td style="text-align:left"><code>${escapeHtml(w.details.join("; "))}</code></td></tr>`,
    )
    .join("\n");
  const more =
    windows.length > shown.length
      ? `<p class="note">Showing the first ${formatCount(shown.length)} of ${formatCount(windows.length)} fault windows.</p>`
      : "";
  return `<section id="faults"><h2>Faults</h2>${more}
<table><tr><th>fault</th><th>from</th><th>to</th><th style="text-align:left">what</th></tr>
${rows}</table></section>`;
}

function anomalyClassHtml(checker: string, cls: AnomalyClass): string {
  const shown = cls.cases.slice(0, htmlLimits.casesPerClass);
  const cases = shown
    .map(
      (c, i) =>
        `<p>case ${i + 1} of ${formatCount(cls.count)}</p><pre class="explanation">${escapeHtml(
          truncate(explanationOf(c), htmlLimits.explanationMaxChars, "results.json"),
        )}</pre>`,
    )
    .join("\n");
  const rest = cls.count - shown.length;
  const more = rest > 0 ? `<p>… ${formatCount(rest)} more in results.json.</p>` : "";
  return `<details class="anomaly" open data-checker="${escapeHtml(checker)}"><summary><strong>${escapeHtml(cls.name)}</strong> (${formatCount(cls.count)})</summary>
${cases}${more}</details>`;
}

function anomaliesHtml(results: ReportInput["results"]): string {
  const parts: string[] = [];
  for (const [name, result] of orderedCheckers(results)) {
    const classes = anomalyClasses(result);
    if (classes.length === 0) continue;
    parts.push(
      `<h3>${escapeHtml(name)}: <span class="${verdictClass(result.valid)}">${verdictWord(result.valid)}</span></h3>`,
    );
    for (const cls of classes) parts.push(anomalyClassHtml(name, cls));
  }
  const body = parts.length === 0 ? "<p>No anomalies found.</p>" : parts.join("\n");
  return `<section id="anomalies"><h2>Anomalies</h2>\n${body}</section>`;
}
