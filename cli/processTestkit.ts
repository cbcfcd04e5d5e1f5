/**
 * Helpers for the process-mode tests: the run folder under a test's own store, and the node
 * processes its logs name (`world: start #k (pid P, …)`), to look for leftovers by pid.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

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
