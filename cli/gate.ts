/**
 * `faultline gate SUITE [--filter PATTERN] [--jobs N] [--out DIR] [--store DIR]`: the pull-request
 * correctness gate. Every row of the suite runs over its seeds on a pool of worker processes (one
 * per core by default), with live progress (Ink in a terminal, plain lines under CI or when piped);
 * then a table of rows (what each expected, what its seeds showed), `junit.xml` (one test case per
 * row, a failure naming the reproduce command of each failing seed) and `summary.json` in the out
 * folder. Runs that were not valid are kept in the store for reading; valid ones are removed. A row
 * gets no more seeds once the seeds it ran decide its verdict (runRows' `decideEarly`): a gate
 * answers pass or fail, and a sweep is what measures rates over every seed.
 *
 * Exit 0 when every row holds, 1 when one fails, 2 when none fails but one could not be decided
 * (an unknown verdict, a run that broke, an interrupted gate); 254 for a bad suite or option.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { ExitCode } from "../harness/results.ts";
import { runTimestamp } from "../harness/store/store.ts";
import { ciFromEnv } from "../reports/live/terminal.ts";
import { colorWanted } from "../reports/text.ts";
import { renderGateJunit, renderGateTable } from "../reports/suite/gate.ts";
import type { GateSummary } from "../reports/suite/model.ts";
import { openSuiteProgress } from "../reports/suite/progress.ts";
import { UsageError } from "./main.ts";
import { prepareFolder, writeClosingFiles } from "./outputFolder.ts";
import { parseCommandLine } from "./options.ts";
import { plainWholeNumber } from "./numberArgs.ts";
import { poolWorkers } from "./suite/pool.ts";
import { runRows, type RowOutcome } from "./suite/runRows.ts";
import { loadSuite, type Suite, type SuiteRow } from "./suite/suite.ts";

export const gateUsage = `Usage: faultline gate SUITE [options]

Runs every row of a suite file over its seeds, in parallel, and exits 0 only if every row holds.
A row gets no more seeds once those it ran decide it (faultline sweep runs them all, for rates).

  --filter PATTERN   only rows whose name matches this regular expression
  --jobs N           worker processes (default: one per core, ${availableParallelism()} here)
  --out DIR          where junit.xml and summary.json go (default STORE/gate/SUITE/TIMESTAMP)
  --store DIR        where runs that were not valid are kept (default ./store)

Exit codes: 0 every row holds, 1 a row fails, 2 a row is unknown, 254 bad suite or options.`;

const gateOptionSpec = {
  filter: { type: "string" },
  jobs: { type: "string" },
  out: { type: "string" },
  store: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** `--jobs N`: a whole number from 1 to 256. */
export function parseJobs(value: unknown): number {
  if (value === undefined) return availableParallelism();
  const n = plainWholeNumber(String(value));
  if (n === undefined || n < 1 || n > 256)
    throw new UsageError(
      `--jobs: expected a whole number of worker processes from 1 to 256, got "${String(value)}"`,
    );
  return n;
}

/** The rows whose name matches `--filter` (a regular expression); none matching is a mistake. */
export function filterRows(suite: Suite, pattern: unknown): SuiteRow[] {
  if (pattern === undefined) return [...suite.rows];
  let regex: RegExp;
  try {
    regex = new RegExp(String(pattern));
  } catch (error) {
    throw new UsageError(`--filter: not a regular expression: ${(error as Error).message}`);
  }
  const rows = suite.rows.filter((r) => regex.test(r.name));
  if (rows.length === 0)
    throw new UsageError(`--filter: no row of ${suite.file} matches /${String(pattern)}/`);
  return rows;
}

/** The one positional argument: the suite file. */
export function suiteArgument(command: string, positionals: readonly string[]): string {
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0
        ? `expected a suite file: faultline ${command} SUITE`
        : `expected one suite file, got ${positionals.length}: ${positionals.join(" ")}`,
    );
  return positionals[0]!;
}

export function gateSummary(
  suite: Suite,
  outcomes: readonly RowOutcome[],
  jobs: number,
  elapsedMs: number,
): GateSummary {
  const rows = outcomes.map(({ row, runs, judgment }) => ({
    ...judgment,
    ...(row.claim !== undefined ? { claim: row.claim } : {}),
    elapsedMs: runs.reduce((sum, r) => sum + r.elapsedMs, 0),
  }));
  const verdict = rows.some((r) => r.verdict === "fails")
    ? "fails"
    : rows.some((r) => r.verdict === "unknown")
      ? "unknown"
      : "holds";
  return {
    suite: suite.name,
    file: suite.file,
    verdict,
    exitCode:
      verdict === "holds" ? ExitCode.valid : verdict === "fails" ? ExitCode.invalid : ExitCode.unknown,
    // The workers the pool started (as its progress says), not the --jobs asked for.
    jobs: poolWorkers(
      jobs,
      outcomes.reduce((sum, o) => sum + o.runs.length, 0),
    ),
    runs: outcomes.reduce((sum, o) => sum + o.runs.filter((r) => r.notRun === undefined).length, 0),
    elapsedMs,
    rows,
  };
}

export async function gateCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine("gate", args, gateOptionSpec, true);
  if (values.help === true) {
    process.stdout.write(gateUsage + "\n");
    return ExitCode.valid;
  }
  const suite = await loadSuite(suiteArgument("gate", positionals));
  const rows = filterRows(suite, values.filter);
  // A gate that would run nothing must not pass: every row it selected is one it skips.
  if (rows.every((r) => r.todo !== undefined))
    throw new UsageError(
      `${suite.file}: every row${values.filter !== undefined ? ` matching /${String(values.filter)}/` : ""} is todo, and the gate skips todo rows: nothing to run (faultline sweep measures them)`,
    );
  const jobs = parseJobs(values.jobs);
  const store = typeof values.store === "string" ? values.store : "store";
  const out =
    typeof values.out === "string" ? values.out : join(store, "gate", suite.name, runTimestamp(new Date()));
  prepareFolder("store", store);
  prepareFolder("out", out);

  const controller = new AbortController();
  const onSignal = (signal: string) => {
    if (controller.signal.aborted) return;
    process.stderr.write(
      `\nfaultline gate: ${signal}: stopping the workers; unfinished seeds count as undecided\n`,
    );
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const progress = await openSuiteProgress({
    stdout: process.stdout,
    isTTY: process.stdout.isTTY === true,
    ci: ciFromEnv(process.env),
  });
  const started = Date.now();
  let outcomes: RowOutcome[];
  try {
    outcomes = await runRows(
      rows.filter((r) => r.todo === undefined).map((row) => ({ row, seeds: row.seeds })),
      {
        title: `gate ${suite.name}`,
        jobs,
        store,
        keep: "failing",
        progress,
        signal: controller.signal,
        decideEarly: true,
      },
    );
  } finally {
    await progress.close();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  const skipped: RowOutcome[] = rows
    .filter((r) => r.todo !== undefined)
    .map((row) => ({
      row,
      runs: [],
      judgment: {
        row: row.name,
        verdict: "skipped",
        expected: "",
        found: `todo: ${row.todo}`,
        seeds: 0,
        good: 0,
        undecided: 0,
        badSeeds: [],
      },
    }));
  const byName = new Map([...outcomes, ...skipped].map((o) => [o.row.name, o]));
  const summary = gateSummary(
    suite,
    rows.map((r) => byName.get(r.name)!),
    jobs,
    Date.now() - started,
  );
  // The verdict first: a disk that refuses the files below must not take it with them.
  process.stdout.write("\n" + renderGateTable(summary, { color: colorWanted(process.stdout) }));
  const written = writeClosingFiles("gate", out, [
    ["junit.xml", () => renderGateJunit(summary)],
    ["summary.json", () => JSON.stringify(summary, null, 2) + "\n"],
  ]);
  for (const file of written) process.stdout.write(`${file.replace(/\.[a-z]+$/, "")}: ${join(out, file)}\n`);
  return summary.exitCode;
}
