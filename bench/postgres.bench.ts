/**
 * PostgreSQL under faultline: committed transactions per second and commit latency (p50/p99, ms)
 * for each isolation level on one server, and with a primary and two standbys in async and sync
 * replication. Every connection goes through the harness's proxy, as in `faultline run`. Clients
 * run list-append transactions (two reads and two appends over 1000 keys, so conflicts are rare
 * and the figures show what the isolation level and the replication mode cost, not contention)
 * in a closed loop with no think time, no faults. Also printed: transactions that failed
 * (serialization failures, deadlocks) and the cluster's start-up time. Real servers on a shared
 * machine: the figures are noisy. Printed, never asserted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RealWorld } from "../harness/runtime/real/world.ts";
import { PostgresSystem } from "../systems/postgres/system.ts";
import type { Isolation } from "../systems/postgres/sql.ts";

const clients = 8;
const durationMs = 5000;
const keyCount = 1000;

function percentileMs(sorted: readonly number[], p: number): string {
  if (sorted.length === 0) return "stalled";
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(2);
}

interface Figures {
  startupMs: number;
  ok: number;
  fail: number;
  info: number;
  readonly latenciesMs: number[];
}

async function measure(replication: "async" | "sync", nodes: number, isolation: Isolation): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), "faultline-pgbench-"));
  const world = new RealWorld({ seed: 1, dataDirectory: dir });
  const system = new PostgresSystem({
    replication,
    isolation,
    nodes,
    concurrency: clients,
    workload: "append",
    run: { dir, log: () => undefined },
  });
  const started = performance.now();
  const figures: Figures = { startupMs: 0, ok: 0, fail: 0, info: 0, latenciesMs: [] };
  try {
    await system.setup(world);
    figures.startupMs = performance.now() - started;
    const deadline = performance.now() + durationMs;
    let next = 0;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const client = await system.openClient(world, `c${c}`);
        try {
          while (performance.now() < deadline) {
            const n = next++;
            const key = (i: number) => (n * 7919 + i * 104_729) % keyCount;
            const value = [
              ["r", key(0), null],
              ["append", key(1), n * 2],
              ["r", key(2), null],
              ["append", key(3), n * 2 + 1],
            ];
            const t0 = performance.now();
            const done = await client.invoke({ f: "txn", value });
            if (done.type === "ok") {
              figures.ok += 1;
              figures.latenciesMs.push(performance.now() - t0);
            } else if (done.type === "fail") figures.fail += 1;
            else figures.info += 1;
          }
        } finally {
          await client.close();
        }
      }),
    );
  } finally {
    await system.teardown();
    await world.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

export async function run(): Promise<void> {
  console.log(
    `${clients} clients, list-append transactions (2 reads, 2 appends, ${keyCount} keys), ${durationMs / 1000} s each, no faults, through the proxy`,
  );
  console.log("setup           isolation        txn/s   p50 ms   p99 ms     ok  fail  info  start-up s");
  const setups = [
    { label: "1 node", replication: "async" as const, nodes: 1 },
    { label: "3 nodes async", replication: "async" as const, nodes: 3 },
    { label: "3 nodes sync", replication: "sync" as const, nodes: 3 },
  ];
  for (const setup of setups) {
    for (const isolation of ["read-committed", "snapshot", "serializable"] as const) {
      const f = await measure(setup.replication, setup.nodes, isolation);
      const sorted = f.latenciesMs.sort((a, b) => a - b);
      console.log(
        [
          setup.label.padEnd(15),
          isolation.padEnd(14),
          (f.ok / (durationMs / 1000)).toFixed(0).padStart(7),
          percentileMs(sorted, 50).padStart(8),
          percentileMs(sorted, 99).padStart(8),
          String(f.ok).padStart(6),
          String(f.fail).padStart(5),
          String(f.info).padStart(5),
          (f.startupMs / 1000).toFixed(1).padStart(11),
        ].join(" "),
      );
    }
  }
}
