/**
 * One seed of one suite row, run in this process as `faultline run ARGS --seed SEED --store STORE`
 * would run it, summarised as a SeedRun. The gate's and the sweep's worker processes call this; so
 * does anything that wants a row's seed without a pool. A run that throws is summarised too (verdict
 * unknown, with the error), so one broken seed never loses the rest of a gate.
 */
import { rmSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { executeRun } from "../execute.ts";
import { resolveRunConfig } from "../run.ts";
import { peekOption, reproduceCommand } from "../runConfig.ts";
import { loadRunPlugins } from "../plugins.ts";
import type { Results } from "../../harness/results.ts";
import { reportedClasses, type SeedRun } from "./judge.ts";

export interface SeedJob {
  readonly row: string;
  /** `faultline run` arguments of the row, without --seed and --store. */
  readonly args: readonly string[];
  readonly seed: number;
  readonly store: string;
  /** Keep the run's store folder: "all", or only when the verdict is not valid ("failing"), or "none". */
  readonly keep: "all" | "failing" | "none";
}

/** The command that reproduces one seed of a row. */
export function reproduceOf(args: readonly string[], seed: number): string {
  try {
    const config = resolveRunConfig([...args, "--seed", String(seed)]);
    if (config !== "help") return reproduceCommand(config);
  } catch {
    // A row the suite check let through always resolves; say what we can anyway.
  }
  return `npx faultline run ${args.join(" ")} --seed ${seed}`;
}

export async function runSeed(job: SeedJob): Promise<SeedRun> {
  const started = performance.now();
  await loadRunPlugins(peekOption(job.args, "system"), peekOption(job.args, "workload"));
  const config = resolveRunConfig([...job.args, "--seed", String(job.seed), "--store", job.store, "--quiet"]);
  if (config === "help") throw new Error(`row ${job.row}: its arguments ask for help`);
  const base = { row: job.row, seed: job.seed, reproduceCommand: reproduceCommand(config) };
  const kept = (results: Results): boolean =>
    job.keep === "all" || (job.keep === "failing" && results.valid !== true);
  try {
    const run = await executeRun(config, { discardedWith: (results) => !kept(results) });
    const keep = kept(run.results);
    if (!keep) rmSync(run.storeDir, { recursive: true, force: true });
    return {
      ...base,
      valid: run.results.valid,
      reported: reportedClasses(run.results),
      ...(keep ? { storeDir: run.storeDir } : {}),
      elapsedMs: Math.round(performance.now() - started),
      operations: run.operations,
    };
  } catch (error) {
    return {
      ...base,
      valid: "unknown",
      reported: [],
      elapsedMs: Math.round(performance.now() - started),
      operations: 0,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    };
  }
}
