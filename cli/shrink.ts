/**
 * `faultline shrink RUN_DIR [--store DIR]`: turns a failing simulated run into a smaller one that a
 * person can read. It replays the stored run from its test.json (the same seed gives the same
 * history, so the replay must fail as the run did), then searches (cli/shrinkSearch.ts, fast-check's
 * shrinking) for a run with fewer fault windows, a shorter time limit, fewer workers, a lower rate
 * and fewer keys that still fails with one of the same anomaly classes (`checker:class`, or the one
 * given with `--anomaly`). The smallest failing run is run once more into the store (named
 * `<test>-shrunk`, with its reports and a `shrink.json` saying what it was shrunk from), and its
 * reproduce command is printed: the explicit fault windows are part of it (`--nemesis-windows`).
 *
 * Bounded by `--max-attempts` runs and `--time-budget` seconds; past either it stores the smallest
 * failing run found so far and says so. Exit 0 when it stored a failing run, 254 when the run
 * directory is not a stored simulated run or its replay does not fail.
 */
import { existsSync, realpathSync, rmSync, mkdtempSync } from "node:fs";
import { readInputFile } from "./inputFile.ts";
import { testJsonMaxBytes } from "./storedRun.ts";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Op } from "../harness/history/op.ts";
import { ExitCode } from "../harness/results.ts";
import { expandNemesisPackages } from "../nemeses/index.ts";
import { parseWindowSelection } from "../nemeses/windows.ts";
import { formatCount, formatDurationNs } from "../reports/format.ts";
import { executeRun, type ExecuteResult } from "./execute.ts";
import { UsageError } from "./main.ts";
import { parseCommandLine } from "./options.ts";
import { plainWholeNumber } from "./numberArgs.ts";
import { prepareFolder, writeClosingFiles } from "./outputFolder.ts";
import { loadRunPlugins } from "./plugins.ts";
import {
  keyedWorkloads,
  peekOption,
  reproduceCommand,
  resolveRunConfig,
  type RunConfig,
} from "./runConfig.ts";
import { reportedClasses } from "./suite/judge.ts";
import { shrinkKnobs, type Knobs, type SearchResult } from "./shrinkSearch.ts";

export const shrinkUsage = `Usage: faultline shrink RUN_DIR [options]

Replays a failing simulated run and searches for a smaller run that fails with the same anomaly
class: fewer fault windows, a shorter time limit, fewer workers, a lower rate, fewer keys. Stores
the smallest failing run (with its reports) and prints the command that reproduces it.

  --store DIR          where the smallest run is stored (default: the store RUN_DIR is in)
  --anomaly C:CLASS    the anomaly class to keep (default: any class the run reported)
  --max-attempts N     runs at most (default 150)
  --time-budget S      real seconds at most (default 900)`;

const shrinkOptionSpec = {
  store: { type: "string" },
  anomaly: { type: "string" },
  "max-attempts": { type: "string" },
  "time-budget": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** The options shrinking sets itself; the rest of a run's reproduce command is kept as it is. */
const shrunkOptions = new Set(["time-limit", "concurrency", "rate", "keys", "nemesis-windows", "seed"]);

/** Words of a command as a POSIX shell reads them (plain words and single quotes, as shellWord writes). */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new UsageError(`unbalanced quote in "${command}"`);
      word += command.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === "\\" && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (c === " ") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** A run's arguments without the options shrinking sets (from its reproduce command). */
function baseArgs(config: RunConfig): string[] {
  const words = shellWords(reproduceCommand(config)).slice(3); // npx faultline run
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const name = word.startsWith("--") ? word.slice(2) : undefined;
    const takesValue = i + 1 < words.length && !words[i + 1]!.startsWith("--");
    if (name !== undefined && shrunkOptions.has(name)) {
      if (takesValue) i++;
      continue;
    }
    out.push(word);
  }
  return out;
}

export interface RunSize {
  readonly windows: number;
  readonly operations: number;
}

/**
 * A run's ops as far as `sizeOf` and `openedWindows` read them (types, processes, fs): the
 * report's history the run kept, without reading its history file back.
 */
function recordedOps(run: ExecuteResult): readonly Op[] {
  return run.reportInput?.history ?? run.history;
}

/** Fault windows opened (nemesis `start-…` invocations) and client operations invoked. */
export function sizeOf(history: readonly Op[]): RunSize {
  let windows = 0;
  let operations = 0;
  for (const op of history) {
    if (op.type !== "invoke") continue;
    if (op.process === "nemesis") {
      if (op.f.startsWith("start-")) windows++;
    } else operations++;
  }
  return { windows, operations };
}

/** The windows a run opened, per package, numbered as the schedule numbers them. */
function openedWindows(config: RunConfig, history: readonly Op[]): string[] {
  const packages = expandNemesisPackages(config.nemesis);
  const chosen =
    config["nemesis-windows"] !== undefined
      ? parseWindowSelection(config["nemesis-windows"], packages)
      : undefined;
  if (typeof chosen === "string") throw new UsageError(`--nemesis-windows: ${chosen}`);
  const count: Record<string, number> = {};
  const out: string[] = [];
  for (const op of history) {
    if (op.process !== "nemesis" || op.type !== "invoke" || !op.f.startsWith("start-")) continue;
    const name = op.f.slice("start-".length);
    if (!packages.includes(name)) continue;
    const k = (count[name] = (count[name] ?? 0) + 1);
    // Under a selection the k-th window opened is the k-th chosen number.
    out.push(`${name}:${chosen !== undefined ? chosen[name]![k - 1] : k}`);
  }
  return out;
}

function argsFor(
  base: readonly string[],
  original: Knobs,
  originalSelected: boolean,
  knobs: Knobs,
  seed: number,
): string[] {
  const args = [
    ...base,
    "--time-limit",
    String(knobs.timeLimitDs / 10),
    "--concurrency",
    String(knobs.concurrency),
    "--rate",
    String(knobs.rate),
    "--seed",
    String(seed),
  ];
  if (knobs.keys !== undefined) args.push("--keys", String(knobs.keys));
  // Every window the original opened is the original's own schedule: no selection at all.
  const all = knobs.windows.length === original.windows.length && !originalSelected;
  if (!all) args.push("--nemesis-windows", knobs.windows.length > 0 ? knobs.windows.join(",") : "none");
  return args;
}

function readTestConfig(runDir: string): RunConfig & { reproduceCommand?: string } {
  const path = join(runDir, "test.json");
  if (!existsSync(path)) throw new UsageError(`${runDir}: not a stored run (no test.json)`);
  const text = readInputFile(path, "the run's config", testJsonMaxBytes);
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path}:1: not JSON: ${(error as Error).message}`);
  }
  if (typeof config !== "object" || config === null || Array.isArray(config))
    throw new UsageError(`${path}: expected a JSON object (the resolved test config)`);
  const command = (config as { reproduceCommand?: unknown }).reproduceCommand;
  if (command !== undefined && typeof command !== "string")
    throw new UsageError(`${path}: expected "reproduceCommand" to be text; got ${JSON.stringify(command)}`);
  return config as RunConfig & { reproduceCommand?: string };
}

function parseWhole(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = plainWholeNumber(String(value));
  if (n === undefined || n < 1 || n > max)
    throw new UsageError(`--${name}: expected a whole number from 1 to ${max}, got "${String(value)}"`);
  return n;
}

export async function shrinkCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine("shrink", args, shrinkOptionSpec, true);
  if (values.help === true) {
    process.stdout.write(shrinkUsage + "\n");
    return ExitCode.valid;
  }
  if (positionals.length !== 1) throw new UsageError("expected one run folder: faultline shrink RUN_DIR");
  const runDir = realpathSync(existsSync(positionals[0]!) ? positionals[0]! : missing(positionals[0]!));
  const stored = readTestConfig(runDir);
  const maxAttempts = parseWhole("max-attempts", values["max-attempts"], 150, 10_000);
  const timeBudgetMs = parseWhole("time-budget", values["time-budget"], 900, 7 * 86_400) * 1000;
  const store = typeof values.store === "string" ? values.store : dirname(dirname(runDir));
  // Before the search, not after it: a store that cannot take the result would waste every run.
  prepareFolder("store", store);

  // The stored config, resolved again through the command line it printed: one path for both.
  const command = stored.reproduceCommand ?? "";
  const words = shellWords(command);
  if (words.slice(0, 3).join(" ") !== "npx faultline run")
    throw new UsageError(`${join(runDir, "test.json")}: no reproduceCommand to replay`);
  await loadRunPlugins(peekOption(words, "system"), peekOption(words, "workload"));
  const resolved = resolveRunConfig([...words.slice(3), "--quiet"]);
  if (resolved === "help") throw new UsageError(`${runDir}: its reproduce command asks for help`);
  if (resolved.mode !== "sim")
    throw new UsageError(
      `${runDir}: a ${resolved.mode}-mode run; shrink replays simulated runs only (--mode sim)`,
    );

  const scratch = mkdtempSync(join(tmpdir(), "faultline-shrink-"));
  try {
    return await shrinkRun(resolved, runDir, {
      store,
      scratch,
      maxAttempts,
      timeBudgetMs,
      anomaly: values.anomaly,
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function missing(path: string): never {
  throw new UsageError(`${path}: no such run folder`);
}

interface ShrinkSettings {
  readonly store: string;
  readonly scratch: string;
  readonly maxAttempts: number;
  readonly timeBudgetMs: number;
  readonly anomaly: unknown;
}

async function shrinkRun(config: RunConfig, runDir: string, settings: ShrinkSettings): Promise<number> {
  const started = Date.now();
  // Every run in the scratch store is removed once its verdict is read: no closing files (reports).
  const scratchRun = { discardedWith: () => true };
  const replay = await executeRun({ ...config, store: settings.scratch, quiet: true }, scratchRun);
  const failing = Object.entries(replay.results.checkers)
    .filter(([, r]) => r.valid === false)
    .map(([name]) => name);
  const reported = reportedClasses(replay.results).filter((c) => failing.includes(c.split(":")[0]!));
  if (replay.results.valid !== false || reported.length === 0)
    throw new UsageError(
      `${runDir}: its replay is ${replay.results.valid === true ? "valid" : replay.results.valid === false ? "invalid with no anomaly class" : "unknown"}: nothing to shrink`,
    );
  let target = reported;
  if (settings.anomaly !== undefined) {
    const wanted = String(settings.anomaly);
    if (!reported.includes(wanted))
      throw new UsageError(
        `--anomaly: the run did not report ${wanted} (it reported: ${reported.join(", ")})`,
      );
    target = [wanted];
  }

  const base = baseArgs(config);
  const keyed = Object.hasOwn(keyedWorkloads, config.workload);
  const original: Knobs = {
    timeLimitDs: Math.max(1, Math.round(config["time-limit"] * 10)),
    windows: openedWindows(config, recordedOps(replay)),
    concurrency: config.concurrency,
    rate: Math.max(1, Math.round(config.rate)),
    ...(keyed ? { keys: config.keys ?? 5 } : {}),
  };
  // The original run already had a window selection (a run shrunk before, say).
  const originalSelected = config["nemesis-windows"] !== undefined;
  const sameAsOriginal = (knobs: Knobs) => JSON.stringify(knobs) === JSON.stringify(original);
  const floors = { timeLimitDs: 10, concurrency: 1, rate: 1, keys: config.workload === "bank" ? 2 : 1 };
  const before = sizeOf(recordedOps(replay));
  rmSync(replay.storeDir, { recursive: true, force: true });

  const runKnobs = async (knobs: Knobs, store: string, name?: string) => {
    const args = argsFor(base, original, originalSelected, knobs, config.seed);
    const candidate = resolveRunConfig([
      ...args,
      "--store",
      store,
      "--quiet",
      ...(name !== undefined ? ["--name", name] : []),
    ]);
    if (candidate === "help") throw new Error("a candidate asked for help");
    return executeRun(candidate, store === settings.scratch ? scratchRun : {});
  };
  const failsSameWay = (run: Awaited<ReturnType<typeof executeRun>>) =>
    run.results.valid === false && reportedClasses(run.results).some((c) => target.includes(c));

  process.stdout.write(
    `shrink ${runDir}: replayed (seed ${config.seed}): fails with ${target.join(", ")}; searching (at most ${settings.maxAttempts} runs, ${settings.timeBudgetMs / 1000} s)\n`,
  );
  const result: SearchResult = await shrinkKnobs(
    original,
    async (knobs) => {
      // The replay already showed the original fails; the search's first attempt is that replay.
      if (sameAsOriginal(knobs)) return true;
      const run = await runKnobs(knobs, settings.scratch);
      rmSync(run.storeDir, { recursive: true, force: true });
      return failsSameWay(run);
    },
    {
      maxAttempts: settings.maxAttempts,
      timeBudgetMs: settings.timeBudgetMs,
      floors,
      onAttempt: (knobs, failed, attempt) =>
        process.stdout.write(
          `  [${attempt}] ${failed ? "fails" : "passes"}: ${knobs.windows.length} windows, ${knobs.timeLimitDs / 10} s, ${knobs.concurrency} workers, ${knobs.rate}/s${knobs.keys !== undefined ? `, ${knobs.keys} keys` : ""}\n`,
        ),
    },
  );

  // Stored: the smallest, with the windows it never reached left out when that changes nothing.
  const name = `${config.name}-shrunk`.slice(0, 200);
  let final = await runKnobs(result.smallest, settings.store, name);
  let smallest = result.smallest;
  const reached = openedWindows({ ...config, "nemesis-windows": undefined } as RunConfig, recordedOps(final));
  const pruned = {
    ...smallest,
    windows: smallest.windows.filter(
      (w) => reached.length === 0 || keptWindowReached(w, smallest.windows, reached),
    ),
  };
  if (pruned.windows.length < smallest.windows.length) {
    const tidy = await runKnobs(pruned, settings.scratch);
    if (failsSameWay(tidy)) {
      rmSync(final.storeDir, { recursive: true, force: true });
      final = await runKnobs(pruned, settings.store, name);
      smallest = pruned;
    }
    rmSync(tidy.storeDir, { recursive: true, force: true });
  }
  if (!failsSameWay(final))
    throw new Error(
      `the smallest failing run did not fail again when stored: determinism broken (${final.reproduceCommand})`,
    );
  const after = sizeOf(recordedOps(final));
  const elapsedMs = Date.now() - started;
  const summary = {
    shrunkFrom: runDir,
    anomalyClasses: target,
    before: {
      ...before,
      timeLimitS: original.timeLimitDs / 10,
      concurrency: original.concurrency,
      rate: original.rate,
      keys: original.keys,
      windowList: original.windows,
    },
    after: {
      ...after,
      timeLimitS: smallest.timeLimitDs / 10,
      concurrency: smallest.concurrency,
      rate: smallest.rate,
      keys: smallest.keys,
      windowList: smallest.windows,
    },
    attempts: result.attempts,
    stoppedBy: result.stoppedBy,
    elapsedMs,
    reproduceCommand: final.reproduceCommand,
  };
  const row = (what: string, a: string, b: string) => `  ${what.padEnd(12)} ${a.padStart(9)} → ${b}\n`;
  process.stdout.write(
    `\nsmallest failing run (${result.attempts} runs, ${formatDurationNs(elapsedMs * 1e6)}${result.stoppedBy !== "exhausted" ? `; stopped by the ${result.stoppedBy === "attempts" ? "attempt" : "time"} budget` : ""}):\n` +
      row(
        "windows",
        String(before.windows),
        `${after.windows}${smallest.windows.length > 0 && smallest.windows.length <= 6 ? ` (${smallest.windows.join(", ")})` : ""}`,
      ) +
      row("operations", formatCount(before.operations), formatCount(after.operations)) +
      row("time limit", `${original.timeLimitDs / 10} s`, `${smallest.timeLimitDs / 10} s`) +
      row("workers", String(original.concurrency), String(smallest.concurrency)) +
      row("rate", `${original.rate}/s`, `${smallest.rate}/s`) +
      (original.keys !== undefined ? row("keys", String(original.keys), String(smallest.keys)) : "") +
      `  fails with:  ${reportedClasses(final.results)
        .filter((c) => target.includes(c))
        .join(", ")}\n` +
      `stored: ${final.storeDir}\nreproduce: ${final.reproduceCommand}\n`,
  );
  // After the answer is printed: a disk that refuses shrink.json must not take a long search with it.
  writeClosingFiles("shrink", final.storeDir, [
    ["shrink.json", () => JSON.stringify(summary, null, 2) + "\n"],
  ]);
  return ExitCode.valid;
}

/** Whether a chosen window opened in the final run (the k-th chosen of a package opened if k ≤ opened). */
function keptWindowReached(window: string, chosen: readonly string[], reached: readonly string[]): boolean {
  const name = window.split(":")[0]!;
  const position = chosen.filter((w) => w.startsWith(`${name}:`)).indexOf(window);
  return position < reached.filter((w) => w.startsWith(`${name}:`)).length;
}
