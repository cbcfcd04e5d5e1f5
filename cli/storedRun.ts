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
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { GatheredTxns } from "../checkers/elle/index.ts";
import type { Checker } from "../harness/checker.ts";
import type { HistoryStatsGatherer } from "../harness/history/historyStats.ts";
import { gatheredAppendCheckers } from "../workloads/append.ts";
import { appendModelOf } from "../workloads/index.ts";
import { buildConfigOf } from "./execute.ts";
import { UsageError } from "./main.ts";
import { loadRunPlugins, lookupWorkload } from "./plugins.ts";
import { runConfigSchema, type RunConfig } from "./runConfig.ts";
import type { z } from "zod";
import { describeFound } from "../harness/history/validate.ts";
import { ConfigError } from "../harness/configError.ts";
import type { Workload } from "../harness/workload.ts";
import type { BuildConfig } from "./registry.ts";

export interface StoredRunCheck {
  readonly description: string;
  readonly checkers: readonly Checker[];
  readonly testJsonPath: string;
  /**
   * `checkers` fed from a list-append history gathered while it streamed (the ones given are
   * ignored): present for the built-in append workload only.
   */
  readonly gatheredCheckers?: (txns: GatheredTxns, stats: HistoryStatsGatherer) => readonly Checker[];
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

/** Rebuilds the checkers of the run whose config is at `testJsonPath`; a bad config is a UsageError naming it. */
export async function storedRunCheck(testJsonPath: string): Promise<StoredRunCheck> {
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(testJsonPath, "utf8"));
  } catch (error) {
    throw new UsageError(
      `${testJsonPath}: expected the run's config as JSON; ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!isRecord(config)) throw new UsageError(`${testJsonPath}: expected the run's config, a JSON object`);
  for (const [field, type] of requiredFields) {
    if (typeof config[field] !== type) {
      throw new UsageError(
        `${testJsonPath}: expected "${field}" to be a ${type} (the run's config); got ${describeFound(config[field])}`,
      );
    }
  }
  refuseStoredNumbersNoRunTakes(testJsonPath, config);
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
    return runCheckOf(stored.workload, workload, build, testJsonPath);
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
