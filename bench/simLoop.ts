/**
 * The simulation loop alone, in this process: `faultline run`'s own path (options resolved, parts
 * built, `executeRun`), timed from the start of the run to the moment checking begins (the
 * `onChecking` hook): the simulated world running, every operation recorded to the history file
 * and the node logs written; no module loading, no checking, no reports. CPU time is this
 * process's (user + system) over that span; the figures are simulated seconds per CPU second and
 * per wall second.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { executeRun, prepareRun } from "../cli/execute.ts";
import { resolveRunConfig } from "../cli/runConfig.ts";

export interface SimLoopFigures {
  readonly simulatedS: number;
  readonly cpuS: number;
  readonly wallS: number;
  readonly operations: number;
}

/** Runs `faultline run ARGS` (plus a throwaway store) in this process; figures of its simulation. */
export async function simLoop(args: readonly string[], simulatedS: number): Promise<SimLoopFigures> {
  const store = mkdtempSync(join(tmpdir(), "faultline-bench-simloop-"));
  try {
    const config = resolveRunConfig([
      ...args,
      "--time-limit",
      String(simulatedS),
      "--quiet",
      "--store",
      store,
    ]);
    if (config === "help") throw new Error("simLoop: asked for help");
    const prepared = prepareRun(config);
    let figures: SimLoopFigures | undefined;
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    await executeRun(config, {
      prepared,
      onChecking: ({ operations }) => {
        const cpu = process.cpuUsage(cpuStart);
        figures = {
          simulatedS,
          cpuS: (cpu.user + cpu.system) / 1e6,
          wallS: (performance.now() - wallStart) / 1000,
          operations,
        };
      },
    });
    if (figures === undefined) throw new Error("simLoop: the run never reached checking");
    return figures;
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}
