/**
 * What a gate leaves behind: a terminal table (a row per suite row: its verdict, what it expected,
 * what its seeds showed) and junit.xml for CI systems, one test case per row. A row that fails
 * carries a <failure> naming each seed that counts against it with the command that reproduces
 * that seed; an unknown row is an <error> (the gate could not decide, which must not pass silently);
 * a todo row is <skipped>. Everything from the suite or the runs is XML-escaped.
 */
import { escapeXml } from "../escape.ts";
import { formatDurationNs, scrubControls, truncate } from "../format.ts";
import type { GateRow, GateSummary, SeedRun } from "./model.ts";
import { verdictMark } from "./progress.ts";

/** Seeds described in full in a failure's body (the rest are counted). */
const seedsPerFailure = 20;

export function describeSeed(run: SeedRun): string {
  const classes = run.reported.length > 0 ? ` [${run.reported.join(", ")}]` : "";
  const error = run.error !== undefined ? ` (${run.error})` : "";
  const verdict = run.valid === true ? "valid" : run.valid === false ? "invalid" : "unknown";
  return `seed ${run.seed}: ${verdict}${classes}${error}\n  reproduce: ${run.reproduceCommand}${
    run.storeDir !== undefined ? `\n  stored: ${run.storeDir}` : ""
  }`;
}

export function describeBadSeeds(row: GateRow): string {
  const shown = row.badSeeds.slice(0, seedsPerFailure).map(describeSeed);
  const more = row.badSeeds.length - shown.length;
  return [...shown, ...(more > 0 ? [`… and ${more} more seeds`] : [])].join("\n");
}

const ansi = {
  holds: "\u001b[32m",
  fails: "\u001b[31;1m",
  unknown: "\u001b[33m",
  skipped: "\u001b[2m",
} as const;
const reset = "\u001b[0m";

export function renderGateTable(summary: GateSummary, options: { readonly color?: boolean } = {}): string {
  const nameWidth = Math.min(48, Math.max(4, ...summary.rows.map((r) => r.row.length)));
  const expectWidth = Math.min(56, Math.max(8, ...summary.rows.map((r) => r.expected.length)));
  const lines = [
    `  ${"row".padEnd(nameWidth)}  ${"expected".padEnd(expectWidth)}  found`,
    `  ${"-".repeat(nameWidth)}  ${"-".repeat(expectWidth)}  ${"-".repeat(20)}`,
  ];
  for (const row of summary.rows) {
    const mark = verdictMark[row.verdict];
    const text = `${mark} ${row.row.padEnd(nameWidth)}  ${row.expected.padEnd(expectWidth)}  ${row.found}`;
    const line = scrubControls(text);
    lines.push(options.color === true ? `${ansi[row.verdict]}${line}${reset}` : line);
  }
  const count = (v: GateRow["verdict"]) => summary.rows.filter((r) => r.verdict === v).length;
  lines.push(
    "",
    `${summary.suite}: ${summary.verdict === "holds" ? "every row holds" : summary.verdict === "fails" ? "FAILED" : "UNKNOWN"}` +
      ` (${count("holds")} hold, ${count("fails")} fail, ${count("unknown")} unknown, ${count("skipped")} skipped;` +
      ` ${summary.runs} run${summary.runs === 1 ? "" : "s"} on ${summary.jobs} worker${summary.jobs === 1 ? "" : "s"}` +
      ` in ${formatDurationNs(summary.elapsedMs * 1e6)})`,
  );
  for (const row of summary.rows.filter((r) => r.verdict === "fails" || r.verdict === "unknown")) {
    lines.push(
      "",
      `${row.verdict === "fails" ? "✗" : "?"} ${row.row}: expected ${row.expected}; ${row.found}`,
    );
    lines.push(
      ...scrubControls(describeBadSeeds(row))
        .split("\n")
        .map((l) => `  ${l}`),
    );
  }
  return lines.join("\n") + "\n";
}

export function renderGateJunit(summary: GateSummary): string {
  const x = escapeXml;
  const suiteName = `faultline.gate.${summary.suite}`;
  const failures = summary.rows.filter((r) => r.verdict === "fails").length;
  const errors = summary.rows.filter((r) => r.verdict === "unknown").length;
  const skipped = summary.rows.filter((r) => r.verdict === "skipped").length;
  const cases = summary.rows.map((row) => {
    const open = `    <testcase classname="${x(suiteName)}" name="${x(row.row)}" time="${(row.elapsedMs / 1000).toFixed(3)}">`;
    if (row.verdict === "holds") return `${open}</testcase>`;
    if (row.verdict === "skipped")
      return `${open}\n      <skipped message="${x(row.found)}"/>\n    </testcase>`;
    const tag = row.verdict === "fails" ? "failure" : "error";
    const first = row.badSeeds[0];
    const message = truncate(
      `expected ${row.expected}; ${row.found}${first !== undefined ? `; reproduce: ${first.reproduceCommand}` : ""}`,
      2000,
      "summary.json",
    );
    const body = `${row.claim !== undefined ? `${row.claim}\n\n` : ""}${describeBadSeeds(row)}`;
    return `${open}\n      <${tag} message="${x(message)}" type="${row.verdict}">${x(body)}</${tag}>\n    </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="faultline" tests="${summary.rows.length}" failures="${failures}" errors="${errors}">
  <testsuite name="${x(suiteName)}" tests="${summary.rows.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${(summary.elapsedMs / 1000).toFixed(3)}">
    <properties>
      <property name="suite-file" value="${x(summary.file)}"/>
      <property name="runs" value="${summary.runs}"/>
    </properties>
${cases.join("\n")}
  </testsuite>
</testsuites>
`;
}
