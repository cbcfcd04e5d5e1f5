/**
 * The single-node engine: committed transactions per second on the simulated world (per simulated
 * second, where group commit shares the 0.5–2 ms simulated fsyncs, and per wall-clock second, the
 * engine's CPU cost), WAL bytes and fsyncs per committed transaction, and recovery time for a WAL
 * of 100,000 records. Figures are printed, never asserted; the machine is shared, so compare them
 * only with runs on the same machine under the same load.
 */
import { SimWorld } from "../harness/runtime/sim/index.ts";
import type { Runtime } from "../harness/runtime/types.ts";
import { Database, type IsolationLevel } from "../systems/engine/database.ts";
import { MemoryDisk, testRuntime } from "../systems/engine/testkit.ts";

const workers = 16;
const keys = 1000;
const virtualSeconds = 5;

async function throughput(isolation: IsolationLevel): Promise<void> {
  const world = new SimWorld({ seed: 7, budget: { maxEvents: 50_000_000, maxVirtualTimeNs: 3600e9 } });
  let db: Database | undefined;
  let stopped = false;
  let failed = 0;
  world.startNode("n1", (rt: Runtime) => {
    rt.spawn("main", async () => {
      const opened = await Database.open(rt, { isolation });
      db = opened;
      for (let w = 0; w < workers; w++) {
        rt.spawn(`worker-${w}`, async () => {
          for (let i = 0; !stopped && i < 10_000_000; i++) {
            const a = rt.random.int(keys);
            const b = rt.random.int(keys);
            const r = await opened.transact([
              ["r", a, null],
              ["append", b, i],
              ["w", `r${a}`, i],
            ]);
            if (r.type === "fail") failed++;
          }
        });
      }
    });
  });
  const wallStart = performance.now();
  await world.run(async () => {
    await world.sleep(virtualSeconds * 1e9);
    stopped = true;
    await world.sleep(0.1e9);
  });
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const stats = db!.stats();
  console.log(
    `${isolation.padEnd(15)} ${stats.commits} commits in ${virtualSeconds} simulated s: ` +
      `${Math.round(stats.commits / virtualSeconds)} txn/simulated s, ${Math.round(stats.commits / wallSeconds)} txn/wall s; ` +
      `${failed} aborted; ${Math.round(stats.walBytes / stats.commits)} WAL bytes/txn; ` +
      `${(stats.walFsyncs / stats.commits).toFixed(3)} fsyncs/txn; ${stats.pagesWritten} pages written, ` +
      `${stats.versionsVacuumed} versions vacuumed, ${stats.checkpoints} checkpoints`,
  );
}

async function recoveryTime(targetRecords: number): Promise<void> {
  const disk = new MemoryDisk();
  const db = await Database.open(testRuntime(disk), { background: false });
  // Transactions of 2 updates: begin, update, update, commit (4 records); a quarter stay open.
  for (let i = 0; db.wal.recordCount < targetRecords; i++) {
    const t = db.begin("read-committed");
    await db.write(t, i % keys, i);
    await db.append(t, `l${i % 97}`, i);
    if (i % 4 !== 3) await db.commit(t);
    else db.abort(t);
  }
  // Fifty transactions still running at the crash, their updates durable: losers to undo.
  for (let i = 0; i < 50; i++) await db.write(db.begin("read-committed"), `open${i}`, i);
  await db.close();
  const records = db.wal.recordCount;
  const bytes = db.wal.endLsn;
  disk.crash();
  const start = performance.now();
  const reopened = await Database.open(testRuntime(disk), { background: false });
  const ms = performance.now() - start;
  const r = reopened.recovery!;
  console.log(
    `recovery of a ${records}-record WAL (${(bytes / 2 ** 20).toFixed(1)} MiB, no page ever flushed): ` +
      `${ms.toFixed(0)} ms; ${r.recordsScanned} records analysed, ${r.recordsRedone} redone, ${r.losersUndone} losers undone`,
  );
}

export async function run(): Promise<void> {
  for (const level of ["read-committed", "snapshot", "serializable"] as const) await throughput(level);
  await recoveryTime(100_000);
}
