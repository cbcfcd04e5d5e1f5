/**
 * The single-node engine against disk faults: rot at rest in a page (rebuilt from the log) or in a
 * log record (refused, never cut off), a failed fsync (the database ends, never carries on), and the
 * three knobs that get each of these wrong: `no-checksum`, `retry-fsync`, `no-dir-fsync`. Also the
 * crash that loses directory changes: a log cut above an LSN stays cut with its pages gone.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../harness/runtime/random.ts";
import { Database, type EngineOptions } from "./database.ts";
import { canonical, LOSE_ALL_UNSYNCED, MemoryDisk, stateOf, testRuntime } from "./testkit.ts";
import { WalCorruptionError } from "./wal.ts";

const options = (bugs: string[] = []): EngineOptions => ({
  background: false,
  pageSizeBytes: 4096,
  bugs: new Set(bugs),
});

/** A database with committed state on flushed pages and a checkpoint; returns the disk and state. */
async function settled(bugs: string[] = []): Promise<{ disk: MemoryDisk; state: string }> {
  const disk = new MemoryDisk();
  const db = await Database.open(testRuntime(disk), options(bugs));
  for (let i = 0; i < 12; i++) {
    const r = await db.transact([
      ["append", `l${i % 3}`, i],
      ["w", `r${i % 4}`, `value ${i}`],
    ]);
    expect(r.type).toBe("ok");
  }
  await db.flushDirtyPages(100);
  await db.checkpoint();
  return { disk, state: stateOf(db) };
}

describe("rot at rest", () => {
  it("property: a page that fails its checksum is rebuilt from the log; the state is exact", () =>
    fc.assert(
      fc.asyncProperty(fc.nat(), async (seed) => {
        const { disk, state } = await settled();
        // The double-write slot holds the last page written: rot the slot too, so the page in
        // place can only come back from the log.
        expect(disk.state.corrupt("pages", new SeededRandom(seed, "rot"))).toBeDefined();
        disk.state.corrupt("dwb", new SeededRandom(seed, "slot"));
        disk.crash(LOSE_ALL_UNSYNCED);
        const db = await Database.open(testRuntime(disk), options());
        expect(stateOf(db)).toBe(state);
      }),
      { numRuns: 60 },
    ));

  it("no-checksum: the same rot is served as data for some byte", async () => {
    let wrong = 0;
    for (let seed = 0; seed < 20 && wrong === 0; seed++) {
      const { disk, state } = await settled(["no-checksum"]);
      disk.state.corrupt("pages", new SeededRandom(seed, "rot"));
      disk.crash(LOSE_ALL_UNSYNCED);
      const db = await Database.open(testRuntime(disk), options(["no-checksum"])).catch(() => undefined);
      if (db !== undefined && stateOf(db) !== state) wrong++;
    }
    expect(wrong).toBeGreaterThan(0);
  });

  it("property: a log record that fails its checksum is refused, whichever byte rots", () =>
    fc.assert(
      fc.asyncProperty(fc.nat(), async (seed) => {
        const { disk } = await settled();
        disk.state.corrupt("wal", new SeededRandom(seed, "rot"));
        disk.crash(LOSE_ALL_UNSYNCED);
        await expect(Database.open(testRuntime(disk), options())).rejects.toThrow(WalCorruptionError);
      }),
      { numRuns: 60 },
    ));
});

describe("a failed fsync", () => {
  it("ends the database once; the commit is not acknowledged; reopened, nothing acknowledged is lost", async () => {
    const disk = new MemoryDisk();
    const db = await Database.open(testRuntime(disk), options());
    const failures: unknown[] = [];
    db.onFailure((error) => failures.push(error));
    expect((await db.transact([["w", "a", 1]])).type).toBe("ok");
    disk.setFaults({ fsyncFails: "once" });
    await expect(db.transact([["w", "b", 2]])).rejects.toThrow(/EIO/);
    await expect(db.transact([["w", "c", 3]])).rejects.toThrow(/failed earlier/);
    expect(failures).toHaveLength(1);
    disk.crash();
    const reopened = await Database.open(testRuntime(disk), options());
    expect(stateOf(reopened)).toBe(canonical(new Map([["a", 1]])));
  });

  it("retry-fsync: the commit is acknowledged, and gone after a crash", async () => {
    const disk = new MemoryDisk();
    const db = await Database.open(testRuntime(disk), options(["retry-fsync"]));
    expect((await db.transact([["w", "a", 1]])).type).toBe("ok");
    disk.setFaults({ fsyncFails: "once" });
    expect((await db.transact([["w", "b", 2]])).type).toBe("ok");
    expect(stateOf(db)).toBe(
      canonical(
        new Map<string, number>([
          ["a", 1],
          ["b", 2],
        ]),
      ),
    );
    disk.crash();
    const reopened = await Database.open(testRuntime(disk), options(["retry-fsync"]));
    expect(stateOf(reopened)).toBe(canonical(new Map([["a", 1]])));
  });
});

describe("directory changes lost at a crash", () => {
  it("truncateAbove: the cut log stays cut and its pages and checkpoint stay gone", async () => {
    const { disk } = await settled();
    const db = await Database.open(testRuntime(disk), options());
    db.retainWalFrom(0);
    const cutAfter = (await db.readLogFrom(0)).find((r) => r.kind === "commit")!;
    await db.close();
    await Database.truncateAbove(disk, cutAfter.lsn);
    disk.crash(LOSE_ALL_UNSYNCED);
    const reopened = await Database.open(testRuntime(disk), options());
    const kept = await reopened.readLogFrom(0);
    expect(kept.every((r) => r.lsn <= cutAfter.lsn || r.kind === "checkpoint")).toBe(true);
    expect(stateOf(reopened)).toBe(
      canonical(
        new Map<string, unknown>([
          ["l0", [0]],
          ["r0", "value 0"],
        ]),
      ),
    );
  });

  it("a checkpoint renamed into place survives a crash; under no-dir-fsync the rename may not", async () => {
    for (const bugs of [[], ["no-dir-fsync"]]) {
      const disk = new MemoryDisk();
      const db = await Database.open(testRuntime(disk), options(bugs));
      await db.transact([["w", "a", 1]]);
      await db.checkpoint();
      const named = (await disk.read("control"))!;
      disk.crash(LOSE_ALL_UNSYNCED);
      const after = await disk.read("control");
      if (bugs.length === 0) expect(after).toEqual(named);
      else expect(after).not.toEqual(named);
    }
  });
});
