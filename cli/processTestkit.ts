/**
 * Helpers for the process-mode tests: the run folder under a test's own store, the node
 * processes its logs name (`world: start #k (pid P, …)`), to look for leftovers by pid, and a run
 * in process mode that must leave none, tried over seeds until it finds a given anomaly.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { waitUntilGone } from "../harness/runtime/process/procfs.ts";
import { executeRun, type ExecuteResult } from "./execute.ts";
import { resolveRunConfig } from "./runConfig.ts";

/** `faultline run ARGS --mode process` into `store`; throws if a node process outlives it. */
export async function runInProcessMode(store: string, args: readonly string[]): Promise<ExecuteResult> {
  const config = resolveRunConfig([...args, "--mode", "process", "--store", store, "--quiet"]);
  if (config === "help") throw new Error("unexpected help");
  const result = await executeRun(config, { recoveryDelayNs: 2e9, checkBudget: { timeLimitMs: 60_000 } });
  const left = await waitUntilGone(nodePidsOf(result.storeDir));
  if (left.length > 0) throw new Error(`node processes outlived the run: ${left.join(", ")}`);
  return result;
}

/**
 * Runs `args` with each seed in turn until a run is invalid with `anomaly` from `checker`; the
 * seeds tried, with their verdicts. Throws, naming every seed's verdict, if none finds it.
 */
export async function catchesInProcessMode(
  run: (args: string[]) => Promise<ExecuteResult>,
  args: readonly string[],
  checker: string,
  anomaly: string,
  seeds: readonly number[],
): Promise<string[]> {
  const tried: string[] = [];
  for (const seed of seeds) {
    const result = await run([...args, "--seed", String(seed)]);
    const found = result.results.checkers[checker]?.anomalies?.[anomaly];
    tried.push(`seed ${seed}: ${result.results.valid} (${result.results.checkers[checker]?.reason ?? ""})`);
    if (result.results.valid === false && found !== undefined) return tried;
  }
  throw new Error(`${anomaly} not found by ${checker} in process mode:\n${tried.join("\n")}`);
}

/** Every node process a run folder's logs name: `world: start #k (pid P, …)`. */
export function nodePidsOf(runDir: string): number[] {
  const folder = join(runDir, "nodes");
  if (!existsSync(folder)) return [];
  const pids: number[] = [];
  for (const file of readdirSync(folder).filter((f) => f.endsWith(".log"))) {
    for (const match of readFileSync(join(folder, file), "utf8").matchAll(/world: start #\d+ \(pid (\d+)/g))
      pids.push(Number(match[1]));
  }
  return pids;
}

/** The only run folder under `root` (the test's own store), once it exists. */
export function runDirOf(root: string): string | undefined {
  if (!existsSync(root)) return undefined;
  for (const test of readdirSync(root)) {
    if (test === "latest") continue;
    const testDir = join(root, test);
    if (!statSync(testDir).isDirectory()) continue;
    const runs = readdirSync(testDir).filter((r) => r !== "latest");
    if (runs.length > 0) return join(testDir, runs[0]!);
  }
  return undefined;
}
