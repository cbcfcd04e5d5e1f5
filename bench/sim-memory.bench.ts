/**
 * How many times faster than real time a simulated test runs: the memory system, the register
 * workload, 10 workers, 1,000 simulated seconds, every operation recorded to a JSONL history on
 * disk as in a real run: in batches at most `historyBufferMs` late, as `faultline run` writes them
 * (one write per operation would measure system calls rather than the simulation). Checking is
 * not included. Printed for two client rates.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { historyBufferMs } from "../cli/execute.ts";
import { HistoryWriter } from "../harness/history/jsonl.ts";
import { runTest } from "../harness/runner/runner.ts";
import { SimWorld } from "../harness/runtime/sim/index.ts";
import { MemorySystem } from "../systems/memory/system.ts";
import { registerWorkload } from "../workloads/register.ts";

const simulatedS = 1000;

export async function run(): Promise<void> {
  for (const ratePerS of [100, 1000]) {
    const dir = mkdtempSync(join(tmpdir(), "faultline-bench-"));
    const writer = HistoryWriter.open(join(dir, "history.jsonl"), { bufferMs: historyBufferMs });
    const world = new SimWorld({
      seed: 1,
      budget: { maxEvents: 1e9, maxVirtualTimeNs: 10 * simulatedS * 1e9 },
    });
    const system = new MemorySystem(1);
    const workload = registerWorkload({ timeLimitNs: simulatedS * 1e9, ratePerS });
    const startMs = performance.now();
    const cpuStart = process.cpuUsage();
    const outcome = await world.run(async () => {
      await system.setup(world);
      return runTest(world, {
        concurrency: 10,
        system,
        clientGenerator: workload.generator,
        opTimeoutNs: 5e9,
        recoveryDelayNs: 0,
        record: (op) => writer.append(op),
      });
    });
    writer.close();
    const realS = (performance.now() - startMs) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const simS = world.nowNs() / 1e9;
    console.log(
      `memory/register, 10 workers, ${ratePerS} ops/s, ${simS.toFixed(0)} simulated s: ` +
        `${outcome.history.length} ops in ${realS.toFixed(2)} s real → ${(simS / realS).toFixed(0)}x real time ` +
        `(${(simS / cpuS).toFixed(0)} simulated s per CPU s; ${world.stats().eventsRun} events)`,
    );
    rmSync(dir, { recursive: true, force: true });
  }
}
