/**
 * The simulation loop alone: `faultline run`'s own path (options resolved, parts built,
 * `executeRun`), timed from the start of the run to the moment checking begins (the `onChecking`
 * hook): the simulated world running, every operation recorded to the history file and the node
 * logs written; no module loading, no checking, no reports. CPU time is the process's (user +
 * system) over that span; the figures are simulated seconds per CPU second and per wall second.
 *
 * It runs in a process of its own (./simLoopChild.mjs) started with the bin's Node flags (read
 * from its first line) over the compiled build, as a `faultline run` process runs: measured in the
 * bench's own process (tsx, V8's default flags), the first, cold run was about 2.5 times slower
 * than in the bin's. The first run of a process is cold (the JIT compiles the simulation's code
 * during it), the later ones warm.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface SimLoopFigures {
  readonly simulatedS: number;
  readonly cpuS: number;
  readonly wallS: number;
  readonly operations: number;
}

const bin = fileURLToPath(new URL("../bin/faultline.js", import.meta.url));
const child = fileURLToPath(new URL("./simLoopChild.mjs", import.meta.url));

/** The Node flags of the bin's first line (`#!/usr/bin/env -S node FLAGS`). */
function binNodeFlags(): string[] {
  const shebang = readFileSync(bin, "utf8").split("\n", 1)[0]!;
  return shebang.split(/\s+/).filter((word) => word.startsWith("--"));
}

/**
 * Runs `faultline run ARGS` (plus a throwaway store) `runs` times in one fresh process; the
 * figures of each run's simulation, the first cold. Needs a current build (`npm run build`).
 */
export function simLoop(args: readonly string[], simulatedS: number, runs: number): SimLoopFigures[] {
  const result = spawnSync(
    process.execPath,
    [...binNodeFlags(), child, String(runs), ...args, "--time-limit", String(simulatedS)],
    { encoding: "utf8", maxBuffer: 1 << 20 },
  );
  if (result.status !== 0) throw new Error(`simLoop: the child failed (${result.status}): ${result.stderr}`);
  return result.stdout
    .trim()
    .split("\n")
    .map((line) => ({ simulatedS, ...(JSON.parse(line) as Omit<SimLoopFigures, "simulatedS">) }));
}
