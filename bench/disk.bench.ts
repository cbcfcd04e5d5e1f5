/**
 * The disk knobs against their controls (issue 16), from two sweeps of suites/matrix.yaml through
 * the installed bin: the rows `bug-retry-fsync`, `bug-no-dir-fsync`, `bug-no-checksum` over seeds
 * 1..5 (which seeds catch each), then their controls, the engine under `--nemesis disk` and the
 * memory system under every disk package over seeds 1..N. Valid rows print their false alarms and
 * undecided seeds. FAULTLINE_DISK_SEEDS: N (default 100); FAULTLINE_BENCH_JOBS: worker processes
 * (default: one per core). Printed, never asserted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { SweepReport } from "../reports/suite/model.ts";
import { sweepMatrix } from "./matrixSweep.ts";

const knobRows = "^bug-(retry-fsync|no-dir-fsync|no-checksum)$";
const validRows =
  "^(control-standalone-set-disk-fsync|control-sync-set-fast-crashes|control-sync-set-disk-rot|disk-faults-.*|memory-disk-.*)$";
const knobSeeds = 5;

function seedsOf(report: SweepReport, row: string, expected: boolean): string {
  const seeds = report.failures.filter((f) => f.row === row && f.expected === expected).map((f) => f.seed);
  seeds.sort((a, b) => a - b);
  return seeds.length === 0 ? "none" : seeds.slice(0, 10).join(",") + (seeds.length > 10 ? "…" : "");
}

export async function run(): Promise<void> {
  const seeds = Number(process.env.FAULTLINE_DISK_SEEDS ?? "100");
  if (!Number.isInteger(seeds) || seeds < 1)
    throw new Error(
      `FAULTLINE_DISK_SEEDS: expected a whole number >= 1, got "${process.env.FAULTLINE_DISK_SEEDS}"`,
    );
  const jobs = process.env.FAULTLINE_BENCH_JOBS ?? String(availableParallelism());
  const scratch = mkdtempSync(join(tmpdir(), "faultline-disk-bench-"));
  try {
    const knobs = await sweepMatrix(scratch, "knobs", knobRows, knobSeeds, jobs);
    console.log(`disk knobs, seeds 1..${knobSeeds} (${knobs.wallS.toFixed(0)} s wall)\n`);
    console.log("| row | caught | seeds that caught | undecided |");
    console.log("| --- | --- | --- | --- |");
    for (const row of knobs.report.rows)
      console.log(
        `| ${row.row} | ${row.hits}/${row.ran} | ${seedsOf(knobs.report, row.row, true)} | ${row.undecided} |`,
      );
    const valid = await sweepMatrix(scratch, "valid", validRows, seeds, jobs);
    console.log(
      `\ncontrols, disk faults and the memory system, seeds 1..${seeds} (${valid.wallS.toFixed(0)} s wall)\n`,
    );
    console.log("| row | valid | not valid (seeds, undecided included) | undecided |");
    console.log("| --- | --- | --- | --- |");
    for (const row of valid.report.rows) {
      const validCount = row.ran - row.hits - row.undecided;
      console.log(
        `| ${row.row} | ${validCount}/${row.ran} | ${row.hits} (${seedsOf(valid.report, row.row, false)}) | ${row.undecided} |`,
      );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
