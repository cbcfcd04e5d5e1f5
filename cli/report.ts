/**
 * `faultline report DIR`: renders the terminal report of a stored run again, from its test.json,
 * history.jsonl and results.json (DIR is a run folder, or `store/latest`). The exit code follows
 * the stored verdict, as `faultline run` would have. With `--write` it also rewrites the run's
 * report files (report.txt, report.html, junit.xml, results.json), say after a reports upgrade.
 * A missing folder or file, or one that does not parse, is a UsageError that names it.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { readJsonlHistoryAll } from "../harness/history/jsonl.ts";
import type { Op } from "../harness/history/op.ts";
import { HistoryFormatError } from "../harness/history/validate.ts";
import { ExitCode, exitCodeFor, type Results } from "../harness/results.ts";
import type { ReportInput } from "../reports/input.ts";
import { colorWanted, renderTextReport } from "../reports/text.ts";
import { writeReports } from "../reports/write.ts";
import { UsageError } from "./main.ts";

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

export function parseReportArgs(args: readonly string[]): ReportArgs | "help" {
  let dir: string | undefined;
  let write = false;
  let color: boolean | undefined;
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") return "help";
    else if (arg === "--write") write = true;
    else if (arg === "--no-color") color = false;
    else if (arg.startsWith("-")) throw new UsageError(`unknown option "${arg}"\n\n${reportUsage}`);
    else if (dir !== undefined) throw new UsageError(`expected one run folder, got "${dir}" and "${arg}"`);
    else dir = arg;
  }
  if (dir === undefined) throw new UsageError(`expected a run folder (store/latest, say)\n\n${reportUsage}`);
  return { dir, write, color };
}

const verdictSchema = z.union([z.boolean(), z.literal("unknown")]);
const resultsSchema = z.looseObject({
  valid: verdictSchema,
  checkers: z.record(z.string(), z.looseObject({ valid: verdictSchema })),
});

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === "ENOENT"
        ? `${path}: missing; a run folder holds ${what}`
        : `${path}: cannot read (${code ?? String(error)})`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(
      `${path}: expected ${what} as JSON; ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Reads a stored run into a report input; every problem is a UsageError naming the file. */
export async function loadStoredRun(dir: string): Promise<ReportInput> {
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    throw new UsageError(`${dir}: no such run folder`);
  }
  if (!isDir) throw new UsageError(`${dir}: not a folder; expected a run folder such as store/latest`);

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

  const historyPath = join(dir, "history.jsonl");
  let history: Op[];
  try {
    history = await readJsonlHistoryAll(historyPath);
  } catch (error) {
    if (error instanceof HistoryFormatError) throw new UsageError(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UsageError(`${historyPath}: missing; a run folder holds history.jsonl`);
    throw error;
  }

  const seed = typeof c["seed"] === "number" ? c["seed"] : Number(c["seed"] ?? Number.NaN);
  return {
    testName: str(c["testName"]) ?? str(c["name"]) ?? str(c["test"]) ?? basename(dirname(dir)),
    seed,
    storeDir: dir,
    reproduceCommand:
      str(c["reproduceCommand"]) ?? "(test.json records no reproduceCommand; see its config and seed)",
    config,
    history,
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
  if (parsed.write) await writeReports(parsed.dir, input);
  return exitCodeFor(input.results.valid);
}
