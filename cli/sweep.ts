/**
 * `faultline sweep SUITE --seeds A..B [--shard I/N] --out DIR`: the nightly fault-injection sweep.
 * Every row of the suite (todo rows too: a sweep measures) runs over every seed of A..B, ignoring
 * the row's own seeds; `--shard I/N` runs only the I-th of N deterministic slices
 * (cli/suite/sweepFiles.ts), so N machines together run exactly the unsharded sweep. The shard's
 * output goes to DIR (sweep.json, runs.jsonl appended as runs end, store/ with the runs that were
 * not valid). It exits 0 once every unit ran, whatever the verdicts: judging is the report's job.
 *
 * `faultline sweep report DIR... [--out DIR]` merges shard folders into detection rates (95%
 * Wilson interval), false alarms, the slowest runs and every failing seed with its reproduce
 * command: a terminal table, report.json, report.html and junit.xml (a test case per row). Exit 0 when every row holds, 1 when one
 * fails (any false alarm on a valid row fails it), 2 when the merge is incomplete or undecided.
 */
import { appendFileSync, existsSync, statSync, writeFileSync } from "node:fs";
import { fileSystemReason, isFileSystemError, writeFileAtomic } from "../harness/store/atomic.ts";
import { join } from "node:path";
import { ExitCode } from "../harness/results.ts";
import { scrubControls } from "../reports/format.ts";
import { ciFromEnv } from "../reports/live/terminal.ts";
import { renderSweepHtml, renderSweepJunit, renderSweepText } from "../reports/suite/sweep.ts";
import { openSuiteProgress } from "../reports/suite/progress.ts";
import { filterRows, parseJobs, suiteArgument } from "./gate.ts";
import { prepareFolder, writeClosingFiles } from "./outputFolder.ts";
import { UsageError } from "./main.ts";
import { parseCommandLine } from "./options.ts";
import { runRows } from "./suite/runRows.ts";
import type { SeedJob } from "./suite/seedRun.ts";
import { mergeShards } from "./suite/sweepReport.ts";
import {
  allUnits,
  manifestOf,
  parseSeedRange,
  parseShard,
  readShard,
  shardUnits,
} from "./suite/sweepFiles.ts";
import { loadSuite } from "./suite/suite.ts";

export const sweepUsage = `Usage: faultline sweep SUITE --seeds A..B [--shard I/N] --out DIR [options]
       faultline sweep report DIR... [--out DIR]

sweep: runs every row of a suite over seeds A..B (not the rows' own seeds) on worker processes.
  --seeds A..B       the seed range (required)
  --shard I/N        run only the I-th of N deterministic slices (default 1/1: all)
  --out DIR          this shard's output folder (required; must not hold a sweep already)
  --filter PATTERN   only rows whose name matches this regular expression
  --jobs N           worker processes (default: one per core)
  --keep WHAT        runs kept in DIR/store: failing (not valid; default), all, none

sweep report: merges shard folders into detection rates, false alarms, slowest runs and every
failing seed with its reproduce command; writes report.json, report.html and junit.xml to --out
(default ./sweep-report). Exit 0 every row holds, 1 a row fails, 2 incomplete or undecided.`;

const sweepOptionSpec = {
  seeds: { type: "string" },
  shard: { type: "string" },
  out: { type: "string" },
  filter: { type: "string" },
  jobs: { type: "string" },
  keep: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const reportOptionSpec = {
  out: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function parseKeep(value: unknown): SeedJob["keep"] {
  if (value === undefined) return "failing";
  if (value === "failing" || value === "all" || value === "none") return value;
  throw new UsageError(`--keep: expected failing, all or none, got "${String(value)}"`);
}

export async function sweepCommand(args: string[]): Promise<number> {
  if (args[0] === "report") return sweepReportCommand(args.slice(1));
  const { values, positionals } = parseCommandLine("sweep", args, sweepOptionSpec, true);
  if (values.help === true) {
    process.stdout.write(sweepUsage + "\n");
    return ExitCode.valid;
  }
  const suite = await loadSuite(suiteArgument("sweep", positionals));
  const seeds = parseSeedRange(values.seeds);
  const shard = parseShard(values.shard);
  if (typeof values.out !== "string")
    throw new UsageError("--out: required, the folder this shard writes to");
  const out = values.out;
  const rows = filterRows(suite, values.filter);
  const jobs = parseJobs(values.jobs);
  const keep = parseKeep(values.keep);
  const runsPath = join(out, "runs.jsonl");
  prepareFolder("out", out);
  // Its size, not its text: a runs.jsonl that is a folder was read, an internal error (exit 255),
  // and one of a long sweep read whole only to be found not empty. One that is no file is refused
  // below, when it cannot be written.
  if (existsSync(join(out, "sweep.json")) && existsSync(runsPath)) {
    const runs = statSync(runsPath);
    if (!runs.isFile() || runs.size > 0)
      throw new UsageError(`--out: ${out} holds a sweep already; give another folder or remove it`);
  }

  const mine = shardUnits(allUnits(rows, seeds), shard);
  const seedsOf = new Map<string, number[]>(rows.map((r) => [r.name, []]));
  for (const unit of mine) seedsOf.get(unit.row)!.push(unit.seed);
  // sweep.json whole or not at all: a shard killed while rewriting it must still read as one.
  const writeManifest = (complete: boolean) =>
    writeFileAtomic(
      join(out, "sweep.json"),
      JSON.stringify(manifestOf(suite, rows, seeds, shard, mine.length, complete), null, 2) + "\n",
    );
  try {
    writeManifest(false);
    writeFileSync(runsPath, "");
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    throw new UsageError(`--out ${out}: cannot write the sweep's files: ${fileSystemReason(error)}`);
  }
  // A run the file system refuses to record (a full disk) ends the shard: the runs under way are
  // stopped, and the shard stays incomplete, so its report says "unknown", never a pass.
  let unrecorded: string | undefined;

  const controller = new AbortController();
  const onSignal = (signal: string) => {
    if (controller.signal.aborted) return;
    process.stderr.write(`\nfaultline sweep: ${signal}: stopping the workers; the runs so far are kept\n`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const progress = await openSuiteProgress({
    stdout: process.stdout,
    isTTY: process.stdout.isTTY === true,
    ci: ciFromEnv(process.env),
  });
  const shardText = shard.count > 1 ? ` shard ${shard.index}/${shard.count}` : "";
  let ran = 0;
  try {
    await runRows(
      rows
        .map((row) => ({ row: { ...row, todo: undefined }, seeds: seedsOf.get(row.name)! }))
        .filter((w) => w.seeds.length > 0),
      {
        title: `sweep ${suite.name} seeds ${seeds.from}..${seeds.to}${shardText}`,
        jobs,
        store: join(out, "store"),
        keep,
        progress,
        signal: controller.signal,
        onRun: (run) => {
          if (unrecorded !== undefined) return;
          try {
            appendFileSync(runsPath, JSON.stringify(run) + "\n");
            ran++;
          } catch (error) {
            if (!isFileSystemError(error)) throw error;
            unrecorded = fileSystemReason(error);
            process.stderr.write(
              `faultline sweep: ${runsPath}: could not record row ${run.row} seed ${run.seed} (${unrecorded}); stopping, the shard stays incomplete\n`,
            );
            controller.abort();
          }
        },
      },
    );
  } finally {
    await progress.close();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  const complete = ran === mine.length;
  try {
    writeManifest(complete);
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    process.stderr.write(
      `faultline sweep: ${join(out, "sweep.json")}: could not mark the shard ${complete ? "complete" : "as it ended"} (${fileSystemReason(error)}); it reads as incomplete\n`,
    );
    return ExitCode.unknown;
  }
  process.stdout.write(
    `\nsweep ${suite.name}${shardText}: ${ran} of ${mine.length} runs in ${out}${complete ? "" : " (INCOMPLETE)"}\n` +
      `merge: npx faultline sweep report ${out}${shard.count > 1 ? " <the other shards' folders>" : ""}\n`,
  );
  return complete ? ExitCode.valid : ExitCode.unknown;
}

export async function sweepReportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine("sweep report", args, reportOptionSpec, true);
  if (values.help === true) {
    process.stdout.write(sweepUsage + "\n");
    return ExitCode.valid;
  }
  if (positionals.length === 0)
    throw new UsageError("expected at least one sweep folder: faultline sweep report DIR...");
  const shards = positionals.map(readShard);
  const report = mergeShards(shards);
  // Said, as check and report say it of a history: the run on that line is counted missing.
  for (const { dir, tornLastLine } of shards)
    if (tornLastLine !== undefined)
      process.stderr.write(
        `faultline sweep report: ${scrubControls(join(dir, "runs.jsonl"))}: line ${tornLastLine} left out: torn (the last line, no line break after it, as a shard killed mid-write leaves it); its run counts as missing\n`,
      );
  const out = typeof values.out === "string" ? values.out : "sweep-report";
  prepareFolder("out", out);
  // The verdict first: a disk that refuses the files below must not take it with them.
  process.stdout.write(renderSweepText(report));
  const written = writeClosingFiles("sweep", out, [
    ["report.json", () => JSON.stringify(report, null, 2) + "\n"],
    ["report.html", () => renderSweepHtml(report)],
    ["junit.xml", () => renderSweepJunit(report)],
  ]);
  if (written.length > 0) process.stdout.write(`\nreport: ${written.map((f) => join(out, f)).join(", ")}\n`);
  return report.exitCode;
}
