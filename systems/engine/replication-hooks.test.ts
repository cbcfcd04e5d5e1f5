/**
 * The hooks the replicated engine builds on: shipping log records with their LSNs, installing
 * them on a replica, promoting a replica, and cutting a log above an LSN.
 */
import { describe, expect, it } from "vitest";
import { Database } from "./database.ts";
import type { WalRecord } from "./wal.ts";
import { MemoryDisk, testRuntime } from "./testkit.ts";

const ship = (records: WalRecord[]): WalRecord[] => JSON.parse(JSON.stringify(records)) as WalRecord[];

async function pair(): Promise<{ primary: Database; replica: Database; replicaDisk: MemoryDisk }> {
  const primary = await Database.open(testRuntime(), { background: false });
  primary.retainWalFrom(0); // keep every record in memory for the replica
  const replicaDisk = new MemoryDisk();
  const replica = await Database.open(testRuntime(replicaDisk), { background: false, role: "replica" });
  return { primary, replica, replicaDisk };
}

describe("replication hooks", () => {
  it("a replica applies the shipped log and sees only what committed", async () => {
    const { primary, replica } = await pair();
    // The replica's own log is empty; the primary's starts with its end-of-recovery checkpoint.
    await replica.applyShipped(ship(primary.walRecordsFrom(0)));
    await primary.transact([["w", "x", 1]]);
    const open = primary.begin("snapshot");
    await primary.write(open, "y", 2);
    await primary.checkpoint(); // makes the open transaction's update durable, hence shippable
    await replica.applyShipped(ship(primary.walRecordsFrom(replica.wal.endLsn)));
    expect(replica.wal.endLsn).toBe(primary.wal.fsyncedEnd);
    expect(
      await replica.transact([
        ["r", "x", null],
        ["r", "y", null],
      ]),
    ).toEqual({
      type: "ok",
      value: [
        ["r", "x", 1],
        ["r", "y", null],
      ],
    });
    expect(await replica.transact([["w", "x", 3]])).toMatchObject({ type: "fail", error: "read-only" });
    await primary.commit(open);
    await replica.applyShipped(ship(primary.walRecordsFrom(replica.wal.endLsn)));
    expect(replica.dump()).toEqual(
      new Map<string, number>([
        ["x", 1],
        ["y", 2],
      ]),
    );
  });

  it("a replica that restarts keeps unfinished shipped transactions pending; promote rolls them back", async () => {
    const { primary, replica, replicaDisk } = await pair();
    await primary.transact([["w", "x", 1]]);
    const open = primary.begin("snapshot");
    await primary.write(open, "x", 2);
    await primary.checkpoint();
    await replica.applyShipped(ship(primary.walRecordsFrom(0)));
    replicaDisk.crash();
    const restarted = await Database.open(testRuntime(replicaDisk), { background: false, role: "replica" });
    expect(restarted.dump().get("x")).toBe(1);
    await restarted.promote();
    expect(restarted.isReplica).toBe(false);
    expect(restarted.dump().get("x")).toBe(1);
    expect(await restarted.transact([["append", "l", 5]])).toMatchObject({ type: "ok" });
    replicaDisk.crash();
    const again = await Database.open(testRuntime(replicaDisk), { background: false });
    expect(again.dump()).toEqual(
      new Map<string, unknown>([
        ["x", 1],
        ["l", [5]],
      ]),
    );
  });

  /**
   * x = 1 (its commit at `keep`), then x = 2 and y = 2 above it, with pages flushed and a
   * checkpoint taken, so a cut at `keep` must drop pages, checkpoint and log records alike.
   */
  async function cutFixture(): Promise<{ disk: MemoryDisk; db: Database; keep: number }> {
    const disk = new MemoryDisk();
    const db = await Database.open(testRuntime(disk), { background: false });
    await db.transact([["w", "x", 1]]);
    const keep = db.wal.lastLsn;
    await db.transact([
      ["w", "x", 2],
      ["w", "y", 2],
    ]);
    await db.flushDirtyPages(10);
    await db.checkpoint();
    return { disk, db, keep };
  }

  it("truncateAbove drops every record past the lsn; the reopened node rebuilds from the log", async () => {
    const { disk, keep } = await cutFixture();
    disk.crash();
    await Database.truncateAbove(disk, keep);
    const reopened = await Database.open(testRuntime(disk), { background: false });
    expect(reopened.dump()).toEqual(new Map([["x", 1]]));
  });

  it("truncateAbove survives a crash at any step: a cut log never keeps pages of what it cut", async () => {
    for (let crashAfterOps = 0; crashAfterOps < 16; crashAfterOps++) {
      const { disk, db, keep } = await cutFixture();
      await db.close();
      disk.freezeAfter(crashAfterOps);
      void Database.truncateAbove(disk, keep); // hangs where the disk froze
      await new Promise((resolve) => setTimeout(resolve, 0));
      disk.crash();
      // It opens (a checkpoint naming a cut record would throw here), and shows either the state
      // before the cut, which the caller cuts again, or the state after it: never a mix.
      const reopened = await Database.open(testRuntime(disk), { background: false });
      const state = [...reopened.dump()];
      if (state.length === 2) {
        expect(state, `crash after ${crashAfterOps} ops`).toEqual([
          ["x", 2],
          ["y", 2],
        ]);
        await reopened.close();
        await Database.truncateAbove(disk, keep);
        const again = await Database.open(testRuntime(disk), { background: false });
        expect(again.dump(), `crash after ${crashAfterOps} ops, cut again`).toEqual(new Map([["x", 1]]));
      } else {
        expect(state, `crash after ${crashAfterOps} ops`).toEqual([["x", 1]]);
      }
    }
  });

  it("without a shipping floor, checkpoints drop old records from memory; the disk still has them", async () => {
    const disk = new MemoryDisk();
    const db = await Database.open(testRuntime(disk), { background: false });
    for (let i = 0; i < 20; i++) await db.transact([["append", "l", i]]);
    const open = db.begin("snapshot");
    await db.write(open, "x", 1);
    const firstOfOpen = db.wal.lastLsn - 1; // somewhere inside the open transaction's records
    await db.checkpoint();
    expect(db.wal.retainedFrom).toBeGreaterThan(0);
    expect(db.wal.retainedFrom).toBeLessThanOrEqual(firstOfOpen);
    expect(() => db.walRecordsFrom(0)).toThrow(/no longer in memory/);
    expect((await db.readLogFrom(0)).length).toBe(db.wal.recordCount);
    db.abort(open); // its records were kept: undo works
    expect(db.dump().get("x")).toBeUndefined();
    await db.checkpoint();
    expect(db.wal.retainedFrom).toBeGreaterThan(firstOfOpen);
    disk.crash();
    const reopened = await Database.open(testRuntime(disk), { background: false });
    expect((reopened.dump().get("l") as number[]).length).toBe(20);
  });
});
