/**
 * Shrinking, before and after: for a few bug knobs of the matrix (no-fencing, async failover,
 * promote-any-standby, dp-skips-gap), the first of seeds 1..10 on which the row's bug shows is
 * run and then shrunk with `faultline shrink` (through the installed bin); the table gives fault
 * windows, client operations, time limit, workers and rate before and after, the runs the search
 * made and its wall time. FAULTLINE_SHRINK_ROWS: a regular expression over row names, to pick
 * rows; FAULTLINE_SHRINK_ATTEMPTS (default 150) and FAULTLINE_SHRINK_BUDGET_S (default 1800) bound
 * each search. Printed, never asserted.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { loadMatrix } from "../cli/expectations.ts";
import { detected } from "../cli/suite/judge.ts";
import { runSeed } from "../cli/suite/seedRun.ts";

const bin = fileURLToPath(new URL("../bin/faultline.js", import.meta.url));
const defaultRows = "^(bug-no-fencing|async-failover-loses-writes|bug-promote-any-standby|bug-dp-skips-gap)$";

interface Shrunk {
  readonly before: {
    windows: number;
    operations: number;
    timeLimitS: number;
    concurrency: number;
    rate: number;
  };
  readonly after: {
    windows: number;
    operations: number;
    timeLimitS: number;
    concurrency: number;
    rate: number;
  };
  readonly attempts: number;
  readonly stoppedBy: string;
  readonly elapsedMs: number;
}

export async function run(): Promise<void> {
  const pattern = new RegExp(process.env.FAULTLINE_SHRINK_ROWS ?? defaultRows);
  const attempts = process.env.FAULTLINE_SHRINK_ATTEMPTS ?? "150";
  const budgetS = process.env.FAULTLINE_SHRINK_BUDGET_S ?? "1800";
  const rows = (await loadMatrix()).rows.filter((r) => pattern.test(r.name));
  const scratch = mkdtempSync(join(tmpdir(), "faultline-shrink-bench-"));
  console.log(`shrink, at most ${attempts} runs and ${budgetS} s each\n`);
  console.log("| row | seed | windows | operations | time limit | workers | rate | runs | wall |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  try {
    for (const row of rows) {
      let found: { seed: number; storeDir: string } | undefined;
      for (let seed = 1; seed <= 10 && found === undefined; seed++) {
        const r = await runSeed({
          row: row.name,
          args: row.args,
          seed,
          store: join(scratch, "runs"),
          keep: "failing",
        });
        if (detected(row.expect, r) && r.storeDir !== undefined) found = { seed, storeDir: r.storeDir };
      }
      if (found === undefined) {
        console.log(`| ${row.name} | none of 1..10 found it | | | | | | | |`);
        continue;
      }
      const out = await execa(
        process.execPath,
        [
          bin,
          "shrink",
          found.storeDir,
          "--max-attempts",
          attempts,
          "--time-budget",
          budgetS,
          "--store",
          join(scratch, "shrunk"),
        ],
        { env: { CI: "true" }, reject: false, all: true },
      );
      const stored = /^stored: (.*)$/m.exec(out.all ?? "")?.[1];
      if (out.exitCode !== 0 || stored === undefined) {
        console.log(
          `| ${row.name} | ${found.seed} | shrink exited ${out.exitCode}: ${(out.all ?? "").split("\n").slice(-2).join(" ")} |`,
        );
        continue;
      }
      const s = JSON.parse(readFileSync(join(stored, "shrink.json"), "utf8")) as Shrunk;
      const arrow = (a: number | string, b: number | string) => `${a} → ${b}`;
      console.log(
        `| ${row.name} | ${found.seed} | ${arrow(s.before.windows, s.after.windows)} | ${arrow(s.before.operations, s.after.operations)} | ${arrow(`${s.before.timeLimitS} s`, `${s.after.timeLimitS} s`)} | ${arrow(s.before.concurrency, s.after.concurrency)} | ${arrow(s.before.rate, s.after.rate)} | ${s.attempts}${s.stoppedBy !== "exhausted" ? ` (${s.stoppedBy} budget)` : ""} | ${(s.elapsedMs / 1000).toFixed(0)} s |`,
      );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
