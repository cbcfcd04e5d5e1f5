/**
 * Detection rates of the expectation matrix (suites/matrix.yaml): every row over many seeds.
 * For an invalid row (a bug knob, a DESIGN.md anomaly) it prints in how many seeds the verdict was
 * false with one of the row's classes reported; for a valid row, in how many seeds the verdict
 * stayed valid (no false alarm). Rows marked todo in the matrix are measured too, and marked.
 *
 * Seeds 1…N, N = FAULTLINE_DETECTION_SEEDS (default 100); FAULTLINE_DETECTION_ROWS, a
 * comma-separated list of substrings, keeps only the rows whose id contains one. A run that throws
 * (the simulation itself failed) counts as an error, neither caught nor valid.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadMatrix } from "../cli/expectations.ts";
import { detected } from "../cli/suite/judge.ts";
import { runSeed } from "../cli/suite/seedRun.ts";
import type { SuiteRow } from "../cli/suite/suite.ts";

interface RowFigures {
  readonly row: SuiteRow;
  readonly seedCount: number;
  /** Invalid rows: seeds that caught it; valid rows: seeds that stayed valid. */
  readonly good: number;
  readonly unknown: number;
  readonly errors: number;
  readonly firstBadSeeds: readonly number[];
  readonly elapsedMs: number;
}

async function measure(row: SuiteRow, seedCount: number, store: string): Promise<RowFigures> {
  const started = performance.now();
  let good = 0;
  let unknown = 0;
  let errors = 0;
  const firstBadSeeds: number[] = [];
  for (let seed = 1; seed <= seedCount; seed++) {
    const run = await runSeed({ row: row.name, args: row.args, seed, store, keep: "none" });
    if (run.error !== undefined) errors++;
    else if (run.valid === "unknown") unknown++;
    const ok = row.expect.kind === "valid" ? run.valid === true : detected(row.expect, run);
    if (ok) good++;
    else if (firstBadSeeds.length < 5) firstBadSeeds.push(seed);
  }
  return { row, seedCount, good, unknown, errors, firstBadSeeds, elapsedMs: performance.now() - started };
}

function line(f: RowFigures): string {
  const kind = f.row.expect.kind === "valid" ? "valid" : "invalid";
  const figure =
    f.row.expect.kind === "valid"
      ? `${f.good}/${f.seedCount} without false alarm`
      : `caught ${f.good}/${f.seedCount} (${((100 * f.good) / f.seedCount).toFixed(0)}%)`;
  const bad =
    f.firstBadSeeds.length > 0
      ? `; ${f.row.expect.kind === "valid" ? "alarms" : "missed"}: seeds ${f.firstBadSeeds.join(",")}…`
      : "";
  const extra = [
    f.unknown > 0 ? `${f.unknown} unknown` : "",
    f.errors > 0 ? `${f.errors} errors` : "",
    f.row.todo !== undefined ? "todo" : "",
  ]
    .filter((s) => s !== "")
    .join(", ");
  return `| ${f.row.name} | ${kind} | ${figure}${bad} | ${extra} | ${(f.elapsedMs / 1000).toFixed(1)} s |`;
}

export async function run(): Promise<void> {
  const seedCount = Number(process.env.FAULTLINE_DETECTION_SEEDS ?? "100");
  if (!Number.isInteger(seedCount) || seedCount < 1) {
    throw new Error(
      `FAULTLINE_DETECTION_SEEDS: expected a whole number ≥ 1, got "${process.env.FAULTLINE_DETECTION_SEEDS}"`,
    );
  }
  const filters = (process.env.FAULTLINE_DETECTION_ROWS ?? "").split(",").filter((s) => s !== "");
  const rows = (await loadMatrix()).rows.filter(
    (r) => filters.length === 0 || filters.some((f) => r.name.includes(f)),
  );
  const store = mkdtempSync(join(tmpdir(), "faultline-detection-"));
  const started = performance.now();
  console.log(`detection over seeds 1…${seedCount}, ${rows.length} rows\n`);
  console.log("| row | expect | result | notes | time |");
  console.log("| --- | --- | --- | --- | --- |");
  try {
    for (const row of rows) console.log(line(await measure(row, seedCount, store)));
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
