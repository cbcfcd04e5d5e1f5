/**
 * Each bug knob causes the anomaly its header promises, and the engine without it does not.
 */
import { describe, expect, it } from "vitest";
import { Database, TxnAbortedError, type EngineOptions } from "./database.ts";
import { MemoryDisk, testRuntime } from "./testkit.ts";

const tick = (): Promise<void> => new Promise((r) => globalThis.setImmediate(r));

async function open(disk: MemoryDisk, bugs: string[], extra: EngineOptions = {}): Promise<Database> {
  return Database.open(testRuntime(disk), { background: false, bugs: new Set(bugs), ...extra });
}

function withAndWithout(bug: string, scenario: (bugs: string[]) => Promise<boolean>): void {
  it(`${bug}: causes its anomaly`, async () => {
    expect(await scenario([bug])).toBe(true);
  });
  it(`${bug}: without the knob, no anomaly`, async () => {
    expect(await scenario([])).toBe(false);
  });
}

describe("bug knobs", () => {
  // Lost acknowledged write: the commit is acknowledged, the node crashes, the write is gone.
  withAndWithout("ack-before-fsync", async (bugs) => {
    const disk = new MemoryDisk();
    const db = await open(disk, bugs);
    const result = await db.transact([["w", "x", 1]]);
    expect(result.type).toBe("ok");
    disk.crash();
    const after = await open(disk, bugs);
    return after.dump().get("x") !== 1;
  });

  // G1a: a read observes a write that is later rolled back.
  withAndWithout("dirty-read", async (bugs) => {
    const db = await open(new MemoryDisk(), bugs);
    await db.transact([["w", "x", 0]]);
    const t1 = db.begin("read-committed");
    const t2 = db.begin("read-committed");
    await db.write(t1, "x", 1);
    const seen = await db.read(t2, "x");
    db.abort(t1);
    await db.commit(t2);
    return seen === 1;
  });

  // P4 lost update: two snapshot transactions append to the same list; one append vanishes.
  withAndWithout("no-first-committer-wins", async (bugs) => {
    const db = await open(new MemoryDisk(), bugs);
    await db.transact([["append", "l", 0]]);
    const t1 = db.begin("snapshot");
    const t2 = db.begin("snapshot");
    await db.read(t1, "l");
    await db.read(t2, "l");
    await db.append(t1, "l", 1);
    const t2Append = db.append(t2, "l", 2).then(
      () => "ok",
      (e: unknown) => (e instanceof TxnAbortedError ? e.reason : "error"),
    );
    await db.commit(t1);
    const outcome = await t2Append;
    if (outcome === "ok") await db.commit(t2);
    else expect(outcome).toBe("write-conflict");
    const final = db.dump().get("l") as number[];
    const committed = outcome === "ok" ? [0, 1, 2] : [0, 1];
    return committed.some((e) => !final.includes(e));
  });

  // Uncommitted writes survive a crash: a transaction that never committed is visible afterwards.
  withAndWithout("skip-undo", async (bugs) => {
    const disk = new MemoryDisk();
    const db = await open(disk, bugs);
    const t = db.begin("snapshot");
    await db.write(t, "u", 1);
    await db.checkpoint(); // makes the uncommitted update durable in the log
    await db.flushDirtyPages(10); // and on its page
    disk.crash();
    const after = await open(disk, bugs);
    return after.dump().get("u") === 1;
  });

  // A torn page write read back as data: the page header (and its pageLsn) is new, the rest not.
  withAndWithout("torn-page", async (bugs) => {
    let anomaly = false;
    for (const tearBytes of [11, 30, 60]) {
      const disk = new MemoryDisk();
      const db = await open(disk, bugs, { pageSizeBytes: 4096 });
      await db.transact([
        ["w", "a", "first"],
        ["w", "b", "second"],
      ]);
      await db.flushDirtyPages(10);
      await db.transact([
        ["w", "a", "third"],
        ["w", "b", "fourth"],
      ]);
      await db.checkpoint();
      // Crash between the in-place page write and its fsync (the double write, if any, is durable).
      const opsBeforePageFsync = bugs.includes("torn-page") ? 1 : 3;
      disk.freezeAfter(opsBeforePageFsync);
      void db.flushDirtyPages(10);
      await tick();
      // The in-place page write, the only unsynced change, reaches the disk torn after tearBytes.
      disk.crash({
        writeSurvivalProbability: 1,
        tornWriteProbability: 1,
        sectorBytes: 1,
        exactTornBytes: tearBytes,
      });
      let state: Map<unknown, unknown>;
      try {
        const reopened = await open(disk, bugs, { pageSizeBytes: 4096 });
        // Without the knob the torn page is detected and restored from the double-write slot.
        if (!bugs.includes("torn-page")) expect(reopened.recovery?.repairedPages).toEqual([0]);
        state = reopened.dump();
      } catch {
        anomaly = true; // a torn page that cannot even be read back
        continue;
      }
      if (state.get("a") !== "third" || state.get("b") !== "fourth" || state.size !== 2) anomaly = true;
    }
    return anomaly;
  });
});
