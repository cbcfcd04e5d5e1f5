/**
 * Detection rates of the expectation matrix's bug rows, from a sweep: `faultline sweep
 * suites/matrix.yaml --seeds 1..N` over the rows whose name matches (default: every `bug-` row),
 * then `faultline sweep report`, both through the installed bin as a nightly job runs them. For
 * each row it prints the detection rate with its 95% Wilson interval, the undecided seeds, the
 * row's verdict against its own expectation, and the sweep's slowest runs; rows expected valid
 * that match print their false alarms instead.
 *
 * FAULTLINE_DETECTION_SEEDS: N (default 100). FAULTLINE_DETECTION_ROWS: a regular expression over
 * row names (default ^bug-). FAULTLINE_BENCH_JOBS: worker processes (default: one per core).
 * Printed, never asserted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { rateText } from "../reports/suite/sweep.ts";
import { sweepMatrix } from "./matrixSweep.ts";

export async function run(): Promise<void> {
  const seeds = Number(process.env.FAULTLINE_DETECTION_SEEDS ?? "100");
  if (!Number.isInteger(seeds) || seeds < 1)
    throw new Error(
      `FAULTLINE_DETECTION_SEEDS: expected a whole number >= 1, got "${process.env.FAULTLINE_DETECTION_SEEDS}"`,
    );
  const rows = process.env.FAULTLINE_DETECTION_ROWS ?? "^bug-";
  const jobs = process.env.FAULTLINE_BENCH_JOBS ?? String(availableParallelism());
  const scratch = mkdtempSync(join(tmpdir(), "faultline-detection-"));
  try {
    console.log(`sweep of suites/matrix.yaml, rows /${rows}/, seeds 1..${seeds}, ${jobs} workers\n`);
    const { report, wallS: sweepS } = await sweepMatrix(scratch, "sweep", rows, seeds, jobs);
    console.log("| row | detection (95% interval) | undecided | expects | verdict |");
    console.log("| --- | --- | --- | --- | --- |");
    for (const row of report.rows) {
      console.log(
        `| ${row.row} | ${rateText(row)} | ${row.undecided} | ${row.expected} | ${row.verdict}${row.todo !== undefined ? " (todo)" : ""} |`,
      );
    }
    console.log(
      `\n${report.runs} runs in ${sweepS.toFixed(0)} s wall (sum of run times ${(report.timing.totalRunMs / 1000).toFixed(0)} s)`,
    );
    console.log("slowest runs:");
    for (const s of report.timing.slowest.slice(0, 5))
      console.log(`  ${(s.elapsedMs / 1000).toFixed(1)} s  ${s.row} seed ${s.seed} (${s.operations} ops)`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
