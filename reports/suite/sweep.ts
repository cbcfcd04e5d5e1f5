/**
 * A merged sweep, rendered: a terminal table (per row: detection rate or false alarms with its 95%
 * interval, what the row expects, its verdict), the slowest runs, and every run that was not valid
 * with the command that reproduces it; and the same as one self-contained HTML page (inline CSS,
 * no script, no network: a Content-Security-Policy forbids both), every value escaped; and as
 * junit.xml, one test case per row, for CI systems that show test results.
 */
import { escapeHtml, escapeXml } from "../escape.ts";
import { formatDurationNs, scrubControls } from "../format.ts";
import type { SweepFailure, SweepReport, SweepRow } from "./model.ts";
import { verdictMark } from "./progress.ts";

const percent = (x: number): string => `${(x * 100).toFixed(x === 0 || x === 1 ? 0 : 1)}%`;

export function rateText(row: SweepRow): string {
  if (row.rate === null) return "no decided seed";
  const [lo, hi] = row.interval!;
  const what = row.kind === "finds" ? "found" : "false alarms";
  const decided = row.ran - row.undecided;
  return `${what} ${row.hits}/${decided} = ${percent(row.rate)} [95% ${percent(lo)}–${percent(hi)}]`;
}

function notes(row: SweepRow): string {
  return [
    row.undecided > 0 ? `${row.undecided} undecided` : "",
    row.missing > 0 ? `${row.missing} missing` : "",
    row.todo !== undefined ? `todo: ${row.todo}` : "",
  ]
    .filter((s) => s !== "")
    .join(", ");
}

function failureLine(f: SweepFailure): string {
  const verdict = f.valid === true ? "valid" : f.valid === false ? "invalid" : "unknown";
  const classes = f.reported.length > 0 ? ` [${f.reported.join(", ")}]` : "";
  return `${f.row} seed ${f.seed}: ${verdict}${classes}${f.error !== undefined ? ` (${f.error})` : ""}`;
}

function headline(report: SweepReport): string {
  const shards =
    report.shards.count === 1
      ? "unsharded"
      : `${report.shards.present.length}/${report.shards.count} shards` +
        (report.shards.missing.length > 0 ? ` (missing ${report.shards.missing.join(", ")})` : "");
  const incomplete =
    report.shards.incomplete.length > 0 ? `; unfinished shards ${report.shards.incomplete.join(", ")}` : "";
  return `sweep ${report.suite}, seeds ${report.seeds.from}..${report.seeds.to}, ${shards}${incomplete}: ${report.runs} runs`;
}

const verdictWords = {
  holds: "every row holds",
  fails: "FAILED",
  unknown: "UNKNOWN (incomplete or undecided)",
};

export function renderSweepText(report: SweepReport): string {
  const nameWidth = Math.min(48, Math.max(4, ...report.rows.map((r) => r.row.length)));
  const lines = [headline(report), ""];
  for (const row of report.rows) {
    const extra = notes(row);
    lines.push(
      `${verdictMark[row.verdict]} ${row.row.padEnd(nameWidth)}  ${rateText(row).padEnd(48)}  expected ${row.expected}${extra !== "" ? `; ${extra}` : ""}`,
    );
  }
  lines.push("", `${report.suite}: ${verdictWords[report.verdict]}`);
  const unexpected = report.failures.filter((f) => !f.expected);
  const expected = report.failures.filter((f) => f.expected);
  if (unexpected.length > 0) {
    lines.push("", `Unexpected (false alarms, other anomalies, undecided): ${unexpected.length}`);
    for (const f of unexpected) lines.push(`  ${failureLine(f)}`, `    ${f.reproduceCommand}`);
  }
  if (expected.length > 0) {
    lines.push("", `Bugs found, as their rows expect: ${expected.length}`);
    for (const f of expected) lines.push(`  ${failureLine(f)}`, `    ${f.reproduceCommand}`);
  }
  if (report.timing.slowest.length > 0) {
    lines.push("", "Slowest runs:");
    for (const s of report.timing.slowest)
      lines.push(
        `  ${formatDurationNs(s.elapsedMs * 1e6).padStart(9)}  ${s.row} seed ${s.seed} (${s.operations} ops)`,
      );
  }
  return scrubControls(lines.join("\n")) + "\n";
}

const css = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.holds{color:#137333}.fails{color:#c5221f;font-weight:bold}.unknown{color:#b06000}.skipped{color:#777}
code{font:12px/1.4 ui-monospace,monospace;background:#f6f6f6;padding:1px 3px;word-break:break-all}
.bar{display:inline-block;height:10px;background:#ddd;width:120px;position:relative;vertical-align:middle}
.bar span{position:absolute;top:0;bottom:0;background:#4a7}.bar i{position:absolute;top:-2px;bottom:-2px;border-left:1px solid #333;border-right:1px solid #333}`;

function barHtml(row: SweepRow): string {
  if (row.rate === null || row.interval === null) return "";
  const [lo, hi] = row.interval;
  return `<span class="bar"><span style="width:${(row.rate * 100).toFixed(1)}%"></span><i style="left:${(lo * 100).toFixed(1)}%;width:${((hi - lo) * 100).toFixed(1)}%"></i></span>`;
}

function failuresHtml(title: string, failures: readonly SweepFailure[]): string {
  if (failures.length === 0) return "";
  const e = escapeHtml;
  const rows = failures
    .map(
      (f) =>
        `<tr><td>${e(f.row)}</td><td>${f.seed}</td><td>${e(f.valid === true ? "valid" : f.valid === false ? "invalid" : "unknown")}</td><td>${e(f.reported.join(", "))}${f.error !== undefined ? ` (${e(f.error)})` : ""}</td><td><code>${e(f.reproduceCommand)}</code></td></tr>`,
    )
    .join("\n");
  return `<h2>${e(title)} (${failures.length})</h2>
<table><tr><th>row</th><th>seed</th><th>verdict</th><th>classes</th><th>reproduce</th></tr>
${rows}
</table>`;
}

export function renderSweepHtml(report: SweepReport): string {
  const e = escapeHtml;
  const rows = report.rows
    .map(
      (r) =>
        `<tr><td class="${r.verdict}">${e(verdictMark[r.verdict])} ${e(r.row)}${r.claim !== undefined ? `<br><small>${e(r.claim)}</small>` : ""}</td><td>${e(rateText(r))} ${barHtml(r)}</td><td>${e(r.expected)}</td><td>${e(r.found)}${notes(r) !== "" ? `<br><small>${e(notes(r))}</small>` : ""}</td></tr>`,
    )
    .join("\n");
  const slowest = report.timing.slowest
    .map(
      (s) =>
        `<tr><td>${e(formatDurationNs(s.elapsedMs * 1e6))}</td><td>${e(s.row)}</td><td>${s.seed}</td><td>${s.operations}</td><td><code>${e(s.reproduceCommand)}</code></td></tr>`,
    )
    .join("\n");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${e(`faultline sweep ${report.suite}`)}</title>
<style>${css}</style></head><body>
<h1>${e(headline(report))}</h1>
<p class="${report.verdict}">${e(`${report.suite}: ${verdictWords[report.verdict]}`)}</p>
<table><tr><th>row</th><th>rate (95% Wilson interval)</th><th>expected</th><th>found</th></tr>
${rows}
</table>
${failuresHtml(
  "Unexpected: false alarms, other anomalies, undecided",
  report.failures.filter((f) => !f.expected),
)}
${failuresHtml(
  "Bugs found, as their rows expect",
  report.failures.filter((f) => f.expected),
)}
<h2>Slowest runs</h2>
<table><tr><th>time</th><th>row</th><th>seed</th><th>operations</th><th>reproduce</th></tr>
${slowest}
</table>
</body></html>
`;
}

/**
 * junit.xml of a merged sweep: one test case per row (skipped for todo rows), a failure naming
 * every run that counts against the row with its reproduce command, an error when undecided.
 */
export function renderSweepJunit(report: SweepReport): string {
  const x = escapeXml;
  const suiteName = `faultline.sweep.${report.suite}`;
  const count = (v: SweepRow["verdict"]) => report.rows.filter((r) => r.verdict === v).length;
  const cases = report.rows.map((row) => {
    const open = `    <testcase classname="${x(suiteName)}" name="${x(row.row)}">`;
    if (row.verdict === "holds") return `${open}</testcase>`;
    if (row.verdict === "skipped")
      return `${open}\n      <skipped message="${x(`todo: ${row.todo ?? ""}; ${rateText(row)}`)}"/>\n    </testcase>`;
    const against = report.failures.filter((f) => f.row === row.row && !f.expected);
    const body = [
      rateText(row),
      ...against.map((f) => `${failureLine(f)}\n  reproduce: ${f.reproduceCommand}`),
    ].join("\n");
    const tag = row.verdict === "fails" ? "failure" : "error";
    const message = `expected ${row.expected}; ${row.found}${row.missing > 0 ? `; ${row.missing} seeds missing` : ""}`;
    return `${open}\n      <${tag} message="${x(message)}" type="${row.verdict}">${x(body)}</${tag}>\n    </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="faultline" tests="${report.rows.length}" failures="${count("fails")}" errors="${count("unknown")}">
  <testsuite name="${x(suiteName)}" tests="${report.rows.length}" failures="${count("fails")}" errors="${count("unknown")}" skipped="${count("skipped")}">
    <properties>
      <property name="seeds" value="${report.seeds.from}..${report.seeds.to}"/>
      <property name="shards" value="${report.shards.present.length}/${report.shards.count}"/>
    </properties>
${cases.join("\n")}
  </testsuite>
</testsuites>
`;
}
