/**
 * A stored run checked again: `faultline check store/<test>/<time>/history.jsonl` finds the run's
 * `test.json` beside the history and checks it exactly as the run did: the workload is rebuilt
 * from the stored config (a plugin workload or system is loaded from its path again), so its
 * checkers, their model (`--model`, else the model the system promised, as recorded)
 * and their parameters are the run's own. No guessing from the content.
 *
 * A run of the built-in append workload also gives its checkers in their gathered form (the same
 * checkers, fed from what `faultline check` gathered while the history streamed past), so its
 * history streams like any other list-append JSONL file instead of being held as objects.
 */
import { basename } from "node:path";
import type { GatheredTxns } from "../checkers/elle/index.ts";
import type { Checker } from "../harness/checker.ts";
import type { HistoryStatsGatherer } from "../harness/history/historyStats.ts";
import { gatheredAppendCheckers } from "../workloads/append.ts";
import { appendModelOf } from "../workloads/index.ts";
import { buildConfigOf, interruptedResult, timeLimitNsOf } from "./execute.ts";
import type { CheckResult, Interruption } from "../harness/results.ts";
import { formatCount } from "../reports/format.ts";
import { UsageError } from "./main.ts";
import { readInputFile } from "./inputFile.ts";
import { loadRunPlugins, lookupWorkload } from "./plugins.ts";
import type { RunConfig } from "./runConfig.ts";
import { runConfigSchema } from "./runConfigSchema.ts";
import type { z } from "zod";
import { describeFound } from "../harness/history/validate.ts";
import { ConfigError } from "../harness/configError.ts";
import type { Workload } from "../harness/workload.ts";
import type { BuildConfig } from "./registry.ts";

export interface StoredRunCheck {
  readonly description: string;
  readonly checkers: readonly Checker[];
  readonly testJsonPath: string;
  /** What the run recorded of itself, beside its history: its verdict depends on it too. */
  readonly record?: RunRecord;
  /**
   * `checkers` fed from a list-append history gathered while it streamed (the ones given are
   * ignored): present for the built-in append workload only.
   */
  readonly gatheredCheckers?: (txns: GatheredTxns, stats: HistoryStatsGatherer) => readonly Checker[];
}

/**
 * What a run says of itself in test.json's `recorded` (written once it ends), which its history
 * cannot say: whether it ended at all, how many history entries it wrote, and whether it was
 * interrupted or failed. A run's verdict counts these (execute.ts), so re-checking its history
 * must count them too: a history the run did not finish is a prefix of the test asked for, and
 * none of these is ever valid, whatever the prefix holds.
 */
export interface RunRecord {
  /** False when test.json has no `recorded`: the run was killed, or is still running. */
  readonly ended: boolean;
  /** The history entries the run wrote: its history.jsonl holds exactly these, or it changed since. */
  readonly entries?: number;
  readonly operations?: number;
  readonly interrupted?: Interruption;
  readonly failure?: string;
  /**
   * How long the test ran (the checkers' CheckContext.testLengthNs: a throughput is over it), when
   * the record tells (runTestLengthNs).
   */
  readonly testLengthNs?: number;
}

/**
 * How long a run's test ran, in test time from its start: where it was interrupted, else its time
 * limit; unknown (undefined) for a run that failed or never ended, which stopped somewhere before.
 */
export function runTestLengthNs(
  timeLimitNs: number,
  end: Pick<RunRecord, "ended" | "interrupted" | "failure">,
): number | undefined {
  if (!end.ended || end.failure !== undefined) return undefined;
  return end.interrupted?.atTestTimeNs ?? timeLimitNs;
}

/**
 * The results a run's record adds to its checkers' (none when it ended whole and its history holds
 * what it wrote), `entriesRead` the entries read from its history file: each unknown, saying why.
 * The run's own results are these (execute.ts adds `interrupted` and `run` as the run goes, and
 * this function's `history` once it has checked the file).
 */
export function recordResults(record: RunRecord, entriesRead: number): Record<string, CheckResult> {
  const results: Record<string, CheckResult> = {};
  if (!record.ended)
    results["run"] = {
      valid: "unknown",
      reason:
        "test.json holds no record of the run's end: the run was killed (or is still running), so its history is a prefix of the test asked for; the operations in it were checked",
    };
  else if (record.failure !== undefined)
    results["run"] = { valid: "unknown", reason: `${record.failure}; the history up to there was checked` };
  if (record.interrupted !== undefined)
    results["interrupted"] = interruptedResult(record.interrupted, record.operations ?? 0);
  const entries = record.entries;
  if (entries !== undefined && entriesRead !== entries)
    results["history"] = {
      valid: "unknown",
      reason:
        entriesRead < entries
          ? `history.jsonl holds ${formatCount(entriesRead)} of the ${formatCount(entries)} entries the run wrote (cut short since, or refused by its disk): only those were checked`
          : `history.jsonl holds ${formatCount(entriesRead)} entries, more than the ${formatCount(entries)} the run wrote: it was changed since, so it is not the history the run recorded`,
      entriesRead,
      entriesRecorded: entries,
    };
  return results;
}

/** test.json's `recorded`, held to the shape execute.ts writes; a UsageError naming the field if not. */
function runRecordOf(testJsonPath: string, config: Record<string, unknown>): RunRecord {
  const recorded = config["recorded"];
  if (recorded === undefined) return { ended: false };
  const bad = (field: string, expected: string, got: unknown): UsageError =>
    new UsageError(
      `${testJsonPath}: expected "recorded.${field}" to be ${expected}; got ${describeFound(got)}`,
    );
  if (!isRecord(recorded)) throw bad("", "what the run recorded, a JSON object", recorded);
  const count = (field: string): number | undefined => {
    const value = recorded[field];
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
      throw bad(field, "a whole number", value);
    return value;
  };
  const entries = count("historyEntries");
  const operations = count("operations");
  const failure = recorded["failure"];
  if (failure !== undefined && typeof failure !== "string") throw bad("failure", "a string", failure);
  const interrupted = recorded["interrupted"];
  if (interrupted !== undefined) {
    const i = isRecord(interrupted) ? interrupted : {};
    if (
      typeof i["signal"] !== "string" ||
      typeof i["atTestTimeNs"] !== "number" ||
      typeof i["timeLimitNs"] !== "number"
    )
      throw bad("interrupted", "{signal, atTestTimeNs, timeLimitNs}", interrupted);
  }
  const end = {
    ended: true,
    ...(interrupted !== undefined ? { interrupted: interrupted as unknown as Interruption } : {}),
    ...(failure !== undefined ? { failure } : {}),
  };
  const timeLimitS = config["time-limit"];
  const testLengthNs =
    typeof timeLimitS === "number" ? runTestLengthNs(timeLimitNsOf(timeLimitS), end) : undefined;
  return {
    ...end,
    ...(entries !== undefined ? { entries } : {}),
    ...(operations !== undefined ? { operations } : {}),
    ...(testLengthNs !== undefined ? { testLengthNs } : {}),
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The fields a stored config must have to rebuild its workload, with what each must be. */
const requiredFields: readonly [string, string][] = [
  ["system", "string"],
  ["workload", "string"],
  ["seed", "number"],
  ["nodes", "number"],
  ["concurrency", "number"],
  ["time-limit", "number"],
  ["rate", "number"],
  ["nemesis-interval", "number"],
  ["replication", "string"],
  ["isolation", "string"],
  ["read-from", "string"],
  ["leases", "boolean"],
];

/** The stored config's numbers, held to `faultline run`'s rules for the options they came from. */
const numberFields = [
  "seed",
  "nodes",
  "keys",
  "concurrency",
  "time-limit",
  "rate",
  "nemesis-interval",
] as const;

/**
 * Refuses a stored number no run could have written: its option's rule (runConfigSchema: a count
 * whole, every number finite and within its option's bounds) applied to it as the command line
 * would have given it. Before, 1e400 (read as Infinity) as the time limit or the rate was an
 * internal error deep in the workload's generator (exit 255, a stack trace), and as the node or
 * worker count was taken as given.
 */
function refuseStoredNumbersNoRunTakes(testJsonPath: string, config: Record<string, unknown>): void {
  const shape = runConfigSchema.shape as Record<string, z.ZodType>;
  for (const field of numberFields) {
    const value = config[field];
    if (typeof value !== "number") continue; // absent (optional), or refused above
    const parsed = shape[field]!.safeParse(Number.isFinite(value) ? String(value) : "Infinity");
    if (!parsed.success)
      throw new UsageError(
        `${testJsonPath}: expected "${field}" to be as faultline run takes it: ${parsed.error.issues[0]?.message ?? "out of bounds"}; got ${describeFound(value)}`,
      );
  }
}

/**
 * The largest test.json read (a run writes a few KB: its options and what it recorded). Before,
 * one was read whole whatever it was: a folder, a pipe (which waited for a writer), any size.
 */
export const testJsonMaxBytes = 16 << 20;

/** The run's config at `testJsonPath`, a JSON object; a UsageError naming the file if not. */
function readStoredConfig(testJsonPath: string): Record<string, unknown> {
  const text = readInputFile(testJsonPath, "the run's config", testJsonMaxBytes);
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${testJsonPath}: expected the run's config as JSON; ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!isRecord(config)) throw new UsageError(`${testJsonPath}: expected the run's config, a JSON object`);
  return config;
}

/**
 * What the run whose config is at `testJsonPath` recorded of itself, alone: for a stored run's
 * history checked with other checkers than its own (`--workload`, `--model`), which replace how it
 * is checked, not what the run says of the history (killed, interrupted, cut short since). The
 * config's other fields are not needed (a plugin it names need not load), but a number in it is
 * still held to faultline run's rules. A bad config is a UsageError naming it.
 */
export function storedRunRecord(testJsonPath: string): RunRecord {
  const config = readStoredConfig(testJsonPath);
  refuseStoredNumbersNoRunTakes(testJsonPath, config);
  return runRecordOf(testJsonPath, config);
}

/** Rebuilds the checkers of the run whose config is at `testJsonPath`; a bad config is a UsageError naming it. */
export async function storedRunCheck(testJsonPath: string): Promise<StoredRunCheck> {
  const config = readStoredConfig(testJsonPath);
  for (const [field, type] of requiredFields) {
    if (typeof config[field] !== type) {
      throw new UsageError(
        `${testJsonPath}: expected "${field}" to be a ${type} (the run's config); got ${describeFound(config[field])}`,
      );
    }
  }
  refuseStoredNumbersNoRunTakes(testJsonPath, config);
  const record = runRecordOf(testJsonPath, config);
  const stored = {
    bug: [],
    systemOptions: {},
    mode: "sim",
    ...config,
  } as unknown as RunConfig & { promisedModel?: unknown };
  await loadRunPlugins(stored.system, stored.workload);
  const build = buildConfigOf(
    stored,
    typeof stored.promisedModel === "string" ? stored.promisedModel : undefined,
  );
  const resolved = lookupWorkload(stored.workload);
  let workload: ReturnType<typeof resolved.build>;
  try {
    workload = resolved.build(build);
    return { ...runCheckOf(stored.workload, workload, build, testJsonPath), record };
  } catch (error) {
    // A config no run could have written (a model nobody knows): bad input, named, not a bug.
    if (error instanceof ConfigError) throw new UsageError(`${testJsonPath}: ${error.message}`);
    throw error;
  }
}

/**
 * The checkers of a run of `workloadName`, built as `workload` from `build`: what a stored run is
 * checked with (above), and what a run checks its own history with (execute.ts), one definition.
 */
export function runCheckOf(
  workloadName: string,
  workload: Workload,
  build: BuildConfig,
  testJsonPath: string,
): StoredRunCheck {
  const resolved = lookupWorkload(workloadName);
  const appendModel = resolved.builtIn && resolved.name === "append" ? appendModelOf(build) : undefined;
  const model = build.model ?? build.promisedModel;
  return {
    description: `stored run: ${workloadName} workload${model !== undefined ? `, model ${model}` : ""} (from ${basename(testJsonPath)})`,
    checkers: workload.checkers,
    testJsonPath,
    ...(appendModel !== undefined
      ? {
          gatheredCheckers: (txns: GatheredTxns, stats: HistoryStatsGatherer) =>
            gatheredAppendCheckers(txns, stats, { model: appendModel }),
        }
      : {}),
  };
}
