/**
 * Process mode against simulation, per replication mode: committed transactions per second and
 * commit latency p50/p99 (8 clients homed on the writer adding set elements back to back for
 * 5 s; process mode in wall-clock ms, simulation in simulated ms), the cluster's start-up time
 * (world created → every node ready), and the time from a writer's kill -9 to the first commit
 * acknowledged by its successor. Process mode runs the engine with its process timing (failover
 * after 900 ms of silence). Printed, never asserted; the machine is shared, so read them as
 * orders of magnitude.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProcessWorld } from "../harness/runtime/process/world.ts";
import type { Client, Completion } from "../harness/system.ts";
import { engineProcessTiming, type ReplicationMode } from "../systems/engine/cluster/config.ts";
import { runScenario } from "../systems/engine/cluster/scenario.ts";
import { EngineSystem } from "../systems/engine/cluster/system.ts";

const clients = 8;
const loadNs = 5e9;
const failoverLimitNs = 30e9;

function percentileMs(sorted: readonly number[], p: number): string {
  if (sorted.length === 0) return "stalled";
  return (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! / 1e6).toFixed(2);
}

const configOf = (mode: ReplicationMode, process: boolean) => ({
  replication: mode,
  isolation: "serializable" as const,
  nodes: mode === "quorum" ? 8 : 3,
  readFrom: "writer" as const,
  leases: false,
  bugs: [],
  ...(process ? { timing: engineProcessTiming } : {}),
});

interface ProcessFigures {
  readonly startupMs: number;
  readonly commits: number;
  readonly latenciesNs: number[];
  readonly failoverMs: number | undefined;
}

async function processRun(mode: ReplicationMode): Promise<ProcessFigures> {
  const dir = mkdtempSync(join(tmpdir(), "faultline-process-bench-"));
  const world = new ProcessWorld({ seed: 1, runDir: dir });
  try {
    return await world.run(async () => {
      const system = new EngineSystem(configOf(mode, true));
      const startedMs = performance.now();
      await system.setup(world);
      await world.nodesStarted();
      const startupMs = performance.now() - startedMs;
      const writer = system.config.topology.initialWriter;
      const opened: Client[] = [];
      for (let i = 0; i < clients; i++)
        opened.push(await system.openClient(world, `c${i}`, { home: writer }));
      const latenciesNs: number[] = [];
      let commits = 0;
      let element = 0;
      let stopNs = world.nowNs() + loadNs;
      let failoverNs: number | undefined;
      const add = async (client: Client): Promise<Completion> =>
        client.invoke({ f: "add", value: element++ });
      // Phase 1: steady load. Phase 2: kill -9 the writer, wait for a commit on another node.
      await Promise.all(
        opened.map(async (client) => {
          while (world.nowNs() < stopNs) {
            const t0 = world.nowNs();
            const c = await add(client);
            if (c.type === "ok") {
              commits++;
              latenciesNs.push(world.nowNs() - t0);
            }
          }
        }),
      );
      const killedAtNs = world.nowNs();
      world.crash(writer);
      stopNs = killedAtNs + failoverLimitNs;
      await Promise.all(
        opened.map(async (client) => {
          while (failoverNs === undefined && world.nowNs() < stopNs) {
            const c = await add(client);
            if (c.type === "ok" && c.node !== writer) failoverNs ??= world.nowNs() - killedAtNs;
            if (c.type !== "ok") await world.sleep(10e6);
          }
        }),
      );
      return {
        startupMs,
        commits,
        latenciesNs: latenciesNs.sort((a, b) => a - b),
        failoverMs: failoverNs === undefined ? undefined : failoverNs / 1e6,
      };
    });
  } finally {
    await world.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  console.log(
    `${clients} clients homed on the writer adding set elements for ${loadNs / 1e9} s, no think time; then kill -9 of the writer`,
  );
  console.log(
    "mode    world    commits/s   p50 ms   p99 ms   start-up ms   kill -9 → first commit on successor ms",
  );
  for (const mode of ["async", "sync", "quorum"] as const) {
    const sim = await runScenario({
      config: configOf(mode, false),
      seed: 1,
      clients,
      durationNs: loadNs,
      thinkNs: 0,
      homeOnWriter: true,
    });
    const simSorted = [...sim.okLatenciesNs].sort((a, b) => a - b);
    console.log(
      [
        mode.padEnd(7),
        "sim".padEnd(7),
        (sim.ok / (loadNs / 1e9)).toFixed(0).padStart(10),
        percentileMs(simSorted, 50).padStart(8),
        percentileMs(simSorted, 99).padStart(8),
        "—".padStart(13),
        "—".padStart(8),
      ].join(" "),
    );
    const real = await processRun(mode);
    console.log(
      [
        mode.padEnd(7),
        "process".padEnd(7),
        (real.commits / (loadNs / 1e9)).toFixed(0).padStart(10),
        percentileMs(real.latenciesNs, 50).padStart(8),
        percentileMs(real.latenciesNs, 99).padStart(8),
        real.startupMs.toFixed(0).padStart(13),
        (real.failoverMs === undefined
          ? `none in ${failoverLimitNs / 1e9} s`
          : real.failoverMs.toFixed(0)
        ).padStart(8),
      ].join(" "),
    );
  }
}
