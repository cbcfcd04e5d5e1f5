/**
 * `faultline report DIR`: renders the terminal report of a stored run again, from its test.json,
 * history.jsonl and results.json (DIR is a run folder, or `store/latest`). The exit code follows
 * the stored verdict, as `faultline run` would have. With `--write` it also rewrites the run's
 * report files (report.txt, report.html, junit.xml, results.json), say after a reports upgrade.
 * A missing folder or file, or one that does not parse, is a UsageError that names it. The report
 * names the run folder itself: `store/latest` is resolved to the folder it points at, so a report
 * written through it stays true once `latest` moves on.
 */
import { existsSync } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { readInputFile } from "./inputFile.ts";
import { basename, dirname, isAbsolute, join, relative } from "node:path";
import { z } from "zod";
import { readJsonlHistoryAll, TornTail, tornLineLeftOut } from "../harness/history/jsonl.ts";
import type { Op } from "../harness/history/op.ts";
import { describeFound, HistoryFormatError } from "../harness/history/validate.ts";
import { ExitCode, exitCodeFor, worstVerdict, type Results } from "../harness/results.ts";
import type { ReportInput } from "../reports/input.ts";
import { colorWanted, renderTextReport } from "../reports/text.ts";
import { writeReports } from "../reports/write.ts";
import { countClientOperations } from "../harness/history/historyStats.ts";
import { unwrittenSummary } from "../harness/store/atomic.ts";
import { formatCount, scrubControls } from "../reports/format.ts";
import { UsageError } from "./main.ts";
import { parseCommandLine } from "./options.ts";

export const reportUsage = `Usage: faultline report DIR [--write] [--no-color]

Renders the report of a stored run again. DIR is a run folder (store/<test>/<time>) or
store/latest; it must hold test.json, history.jsonl and results.json.

  --write      also rewrite report.txt, report.html, junit.xml and results.json in DIR
  --no-color   no colour even on a terminal (NO_COLOR=1 does the same)

Exit code: the stored verdict's (0 valid, 1 invalid, 2 unknown), 254 for a bad DIR.`;

interface ReportArgs {
  readonly dir: string;
  readonly write: boolean;
  readonly color: boolean | undefined;
}

const reportOptionSpec = {
  write: { type: "boolean" },
  "no-color": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export function parseReportArgs(args: readonly string[]): ReportArgs | "help" {
  const { values, positionals } = parseCommandLine("report", args, reportOptionSpec, true);
  if (values["help"] === true) return "help";
  if (positionals.length === 0) throw new UsageError("expected a run folder (store/latest, say)");
  if (positionals.length > 1) {
    throw new UsageError(`expected one run folder, got "${positionals[0]}" and "${positionals[1]}"`);
  }
  return {
    dir: positionals[0]!,
    write: values["write"] === true,
    color: values["no-color"] === true ? false : undefined,
  };
}

const verdictSchema = z.union([z.boolean(), z.literal("unknown")]);
const resultsSchema = z.looseObject({
  valid: verdictSchema,
  checkers: z.record(z.string(), z.looseObject({ valid: verdictSchema })),
});

/**
 * The largest test.json or results.json read: a run writes a few KB to a few MB (its anomalies'
 * cases are bounded). Before, either was read whole whatever it was: a pipe waited for a writer.
 */
const runJsonMaxBytes = 64 << 20;

async function readJson(path: string, what: string): Promise<unknown> {
  if (!existsSync(path))
    throw new UsageError(
      `${path}: missing; a run folder holds ${what}, and a run whose disk filled up or that was killed may not have written it (faultline check can still check its history.jsonl)`,
    );
  const text = readInputFile(path, what, runJsonMaxBytes);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(
      `${path}: expected ${what} as JSON; ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/**
 * The run folder `dir` names, with symlinks (`store/latest`) resolved: absolute when `dir` was,
 * else relative to the working folder, as `faultline run` prints it.
 */
export async function resolveRunFolder(dir: string): Promise<string> {
  let isDir = false;
  let real: string;
  try {
    real = await realpath(dir);
    isDir = (await stat(real)).isDirectory();
  } catch {
    throw new UsageError(`${dir}: no such run folder`);
  }
  if (!isDir) throw new UsageError(`${dir}: not a folder; expected a run folder such as store/latest`);
  return isAbsolute(dir) ? real : relative(process.cwd(), real) || ".";
}

/** A stored run as a report input, with the torn last line of its history if one was set aside. */
export interface StoredRunInput extends ReportInput {
  /** The history's torn last line, left out (see `TornTail`): a run killed mid-write. */
  readonly tornLastLine?: number;
}

/** Reads a stored run into a report input; every problem is a UsageError naming the file. */
export async function loadStoredRun(given: string): Promise<StoredRunInput> {
  const dir = await resolveRunFolder(given);

  const testPath = join(dir, "test.json");
  const config = await readJson(testPath, "test.json, the resolved test config");
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new UsageError(`${testPath}: expected a JSON object (the resolved test config)`);
  }
  const c = config as Record<string, unknown>;

  const resultsPath = join(dir, "results.json");
  const parsed = resultsSchema.safeParse(await readJson(resultsPath, "results.json, the checkers' verdicts"));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? "" : ` at ${issue.path.join(".")}`;
    throw new UsageError(
      `${resultsPath}: expected {"valid": true|false|"unknown", "checkers": {name: {"valid": …}}}${where}: ${issue?.message ?? "bad shape"}`,
    );
  }
  const results = parsed.data as Results;
  // The stored verdict is the composition of the stored checkers' (a run writes it so): a file
  // where they disagree was edited or torn, and its report would show the one beside the other.
  const checkerVerdicts = Object.values(results.checkers).map((r) => r.valid);
  if (checkerVerdicts.length === 0)
    throw new UsageError(
      `${resultsPath}: no checker's verdict; a run's results.json holds every checker it ran`,
    );
  const composed = worstVerdict(checkerVerdicts);
  if (composed !== results.valid)
    throw new UsageError(
      `${resultsPath}: "valid" is ${JSON.stringify(results.valid)}, but its checkers' verdicts compose to ${JSON.stringify(composed)}`,
    );

  const historyPath = join(dir, "history.jsonl");
  // The reader names an unreadable file as a format error; a missing one is said here, plainly.
  const missing = await stat(historyPath).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === "ENOENT",
  );
  if (missing) throw new UsageError(`${historyPath}: missing; a run folder holds history.jsonl`);
  let history: Op[];
  // A run killed mid-write leaves its last line torn: set aside, as `faultline check` does.
  const torn = new TornTail();
  try {
    history = await readJsonlHistoryAll(historyPath, torn);
  } catch (error) {
    if (error instanceof HistoryFormatError) throw new UsageError(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new UsageError(`${historyPath}: cannot read (${code})`);
    throw error;
  }

  const seed = c["seed"];
  if (typeof seed !== "number" || !Number.isSafeInteger(seed))
    throw new UsageError(
      `${testPath}: expected "seed" to be a whole number (the run's seed); got ${describeFound(seed)}`,
    );
  return {
    testName: str(c["testName"]) ?? str(c["name"]) ?? str(c["test"]) ?? basename(dirname(dir)),
    seed,
    storeDir: dir,
    reproduceCommand:
      str(c["reproduceCommand"]) ?? "(test.json records no reproduceCommand; see its config and seed)",
    config,
    history,
    ...(torn.line !== undefined ? { tornLastLine: torn.line } : {}),
    results,
    nodeLogs: await nodeLogNames(dir),
  };
}

/** The endpoints with a log in `dir/nodes/`, in name order; none when the folder is absent. */
async function nodeLogNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(join(dir, "nodes")))
      .filter((f) => f.endsWith(".log"))
      .map((f) => f.slice(0, -".log".length))
      .sort();
  } catch {
    return [];
  }
}

export async function reportCommand(args: string[]): Promise<number> {
  const parsed = parseReportArgs(args);
  if (parsed === "help") {
    process.stdout.write(reportUsage + "\n");
    return ExitCode.valid;
  }
  const input = await loadStoredRun(parsed.dir);
  const color = parsed.color ?? colorWanted(process.stdout);
  process.stdout.write(renderTextReport(input, { color }));
  if (input.tornLastLine !== undefined)
    process.stderr.write(
      `faultline report: ${scrubControls(tornLineNote(input.storeDir, input.tornLastLine))}\n`,
    );
  const cutShort = historyCutShort(input);
  if (cutShort !== undefined) process.stderr.write(`faultline report: ${scrubControls(cutShort)}\n`);
  if (parsed.write) {
    const unwritten = unwrittenSummary(input.storeDir, writeReports(input.storeDir, input).unwritten());
    if (unwritten !== undefined) process.stderr.write(`faultline report: ${scrubControls(unwritten)}\n`);
  }
  return exitCodeFor(input.results.valid);
}

/** What a report says of the torn last line of a stored history that it set aside. */
export function tornLineNote(storeDir: string, line: number): string {
  return `${join(storeDir, "history.jsonl")}: ${tornLineLeftOut(line)}; the report shows the lines before it`;
}

/**
 * When the stored history holds fewer operations than the run recorded (its disk filled while it
 * ran, so history.jsonl was cut at a whole line), a line saying so: the stored results were
 * checked on the whole history, the plots here show only the stored part.
 */
function historyCutShort(input: ReportInput): string | undefined {
  const recorded = (input.config as { recorded?: { operations?: unknown; historyCutShort?: unknown } })
    .recorded;
  const operations = recorded?.operations;
  const stored = countClientOperations(input.history);
  if (typeof operations !== "number" || stored >= operations) return undefined;
  // The run says when its disk refused the file; a file it wrote whole was cut short since.
  const why =
    recorded?.historyCutShort === true ? "the disk refused the rest" : "cut short since the run wrote it";
  return (
    `${join(input.storeDir, "history.jsonl")} holds ${formatCount(stored)} of the ${formatCount(operations)} ` +
    `operations the run recorded (${why}); results.json was checked on all of them`
  );
}
