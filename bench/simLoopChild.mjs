// The simulation loop alone, in a process of its own started as the bin starts one (its Node
// flags, its tier-up budget for `run`) over the compiled build (dist/), so "cold" is what a
// `faultline run` process sees: see ./simLoop.ts, which starts this. Arguments: the number of
// runs, then `faultline run`'s arguments. Prints one JSON line of figures per run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { setFlagsFromString } from "node:v8";

if (process.versions.v8.startsWith("11.")) setFlagsFromString("--interrupt-budget=540672");
const { executeRun, prepareRun } = await import("../dist/cli/execute.js");
const { resolveRunConfig } = await import("../dist/cli/runConfig.js");

const [runsText, ...args] = process.argv.slice(2);
for (let run = 0; run < Number(runsText); run++) {
  const store = mkdtempSync(join(tmpdir(), "faultline-bench-simloop-"));
  try {
    const config = resolveRunConfig([...args, "--quiet", "--store", store]);
    const prepared = prepareRun(config);
    let figures;
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    await executeRun(config, {
      prepared,
      onChecking: ({ operations }) => {
        const cpu = process.cpuUsage(cpuStart);
        figures = {
          cpuS: (cpu.user + cpu.system) / 1e6,
          wallS: (performance.now() - wallStart) / 1000,
          operations,
        };
      },
    });
    if (figures === undefined) throw new Error("simLoopChild: the run never reached checking");
    process.stdout.write(JSON.stringify(figures) + "\n");
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}
