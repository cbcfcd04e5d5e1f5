/**
 * The replicated engine: commit latency (simulated ms, p50/p99) and throughput (acknowledged
 * commits per simulated second) of each replication mode with zero, one and two faulty replicas.
 * A faulty replica is crashed for the whole run (async/sync: a standby; quorum: a storage replica),
 * so the figures show what each mode's durability rule costs: async never waits, sync waits for
 * the required standby (with the default ANY 1 of 2 it survives one lost standby and stalls at
 * two), quorum waits for 4 of 6 storage replicas. Every client is homed on the writer, so a dead
 * standby costs only what the durability rule makes it cost (spread over the nodes, as in
 * `faultline run`, clients homed on a dead node would also wait out their timeouts). A mode that
 * acknowledged nothing prints "stalled" instead of latencies. Printed, never asserted.
 */
import { runScenario, type NemesisContext } from "../systems/engine/cluster/scenario.ts";

const clients = 8;
const durationNs = 5e9;

/** The p-th percentile in ms, 2 decimals; "stalled" when nothing was acknowledged. */
function percentileMs(sorted: readonly number[], p: number): string {
  if (sorted.length === 0) return "stalled";
  return (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! / 1e6).toFixed(2);
}

export async function run(): Promise<void> {
  console.log(`${clients} clients adding set elements for ${durationNs / 1e9} simulated s, no think time`);
  console.log("mode    faulty  commits/s   p50 ms   p99 ms   ok  info  wall ms");
  for (const mode of ["async", "sync", "quorum"] as const) {
    for (const faulty of [0, 1, 2]) {
      const victims = mode === "quorum" ? ["s1", "s3"].slice(0, faulty) : ["n2", "n3"].slice(0, faulty);
      const started = performance.now();
      const out = await runScenario({
        config: {
          replication: mode,
          isolation: "serializable",
          nodes: mode === "quorum" ? 8 : 3,
          readFrom: "writer",
          leases: false,
          bugs: [],
        },
        seed: 1,
        clients,
        durationNs,
        thinkNs: 0,
        homeOnWriter: true,
        nemesis: async ({ world }: NemesisContext) => {
          for (const v of victims) world.crash(v);
        },
      });
      const wallMs = performance.now() - started;
      const sorted = [...out.okLatenciesNs].sort((a, b) => a - b);
      console.log(
        [
          mode.padEnd(7),
          String(faulty).padStart(6),
          (out.ok / (durationNs / 1e9)).toFixed(0).padStart(10),
          percentileMs(sorted, 50).padStart(8),
          percentileMs(sorted, 99).padStart(8),
          String(out.ok).padStart(5),
          String(out.info).padStart(5),
          wallMs.toFixed(0).padStart(8),
        ].join(" "),
      );
    }
  }
}
