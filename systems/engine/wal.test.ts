import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Durability } from "./durability.ts";
import {
  NO_LSN,
  scanLog,
  truncateLogAbove,
  Wal,
  WalCorruptionError,
  type WalRecord,
  type WalRecordBody,
} from "./wal.ts";
import { MemoryDisk } from "./testkit.ts";

const body = (xid: number, value: unknown = xid): WalRecordBody => ({
  kind: "update",
  xid,
  txnPrevLsn: NO_LSN,
  pageId: 0,
  key: `k${xid}`,
  value,
});

async function logOf(bodies: WalRecordBody[]): Promise<{ disk: MemoryDisk; bytes: Uint8Array }> {
  const disk = new MemoryDisk();
  const { wal } = await Wal.open(disk);
  for (const b of bodies) wal.append(b);
  await wal.flush();
  return { disk, bytes: (await disk.read("wal"))! };
}

describe("wal", () => {
  it("numbers records by byte offset and chains prevLsn", async () => {
    const { bytes } = await logOf([body(1), body(2), body(3)]);
    const { records, validEnd } = scanLog(bytes);
    expect(validEnd).toBe(bytes.length);
    expect(records.map((r) => r.prevLsn)).toEqual([NO_LSN, records[0]!.lsn, records[1]!.lsn]);
    expect(records[1]!.lsn).toBe(records[0]!.sizeBytes);
    // Each record read back holds its frame's fields in the frame's order, its size last.
    expect(Object.entries(records[1]!)).toEqual([
      ["lsn", records[1]!.lsn],
      ["prevLsn", records[0]!.lsn],
      ...Object.entries(body(2)),
      ["sizeBytes", validEnd - records[1]!.lsn - records[2]!.sizeBytes],
    ]);
  });

  it("reads a frame it read before as the same frozen record, and never takes other bytes for it", async () => {
    const checkpoint: WalRecordBody = {
      kind: "checkpoint",
      nextXid: 3,
      running: [2],
      active: [[2, 40, 40]],
      dirty: [[0, 40]],
    };
    const { bytes } = await logOf([body(1), body(2, "two"), checkpoint, body(4, [4, { a: 4 }])]);
    const first = scanLog(bytes).records;
    const again = scanLog(bytes.slice()).records;
    expect(again).toEqual(first);
    // Flat records: the one frozen object, equal field for field (and in order) to a fresh parse.
    for (const i of [0, 1]) {
      expect(again[i]).toBe(first[i]);
      expect(Object.isFrozen(again[i])).toBe(true);
      const start = first[i]!.lsn + 8;
      const payload = new TextDecoder().decode(bytes.subarray(start, first[i]!.lsn + first[i]!.sizeBytes));
      expect(Object.entries(again[i]!)).toEqual(
        Object.entries({ ...(JSON.parse(payload) as object), sizeBytes: first[i]!.sizeBytes }),
      );
    }
    // A checkpoint too, frozen all through (its tables), so nobody can change what all share.
    expect(again[2]).toBe(first[2]);
    const tables = again[2] as Extract<WalRecord, { kind: "checkpoint" }>;
    for (const frozen of [
      tables,
      tables.running,
      tables.active,
      tables.active[0],
      tables.dirty,
      tables.dirty[0],
    ])
      expect(Object.isFrozen(frozen)).toBe(true);
    // Another record holding objects (a structured value) is parsed each time, as before.
    expect(again[3]).not.toBe(first[3]);
    expect(Object.isFrozen(again[3])).toBe(false);
    // A payload byte changed under the remembered checksum: not that record, and rot at rest.
    const rotted = bytes.slice();
    const at =
      first[1]!.lsn + 8 + new TextDecoder().decode(bytes.subarray(first[1]!.lsn + 8)).indexOf('"two"') + 1;
    rotted[at] = "T".charCodeAt(0);
    const scan = scanLog(rotted);
    expect(scan.records).toEqual([first[0]]);
    expect(scan.corruptLsn).toBe(first[1]!.lsn);
  });

  it("reads a log that begins with one read before (a restart, a peer's copy) as it would alone", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { maxLength: 6 }),
        fc.array(fc.boolean(), { maxLength: 6 }),
        fc.nat(),
        fc.nat(),
        async (first, more, cutAt, flipAt) => {
          // A record holding arrays: a checkpoint (frozen, handed out again like a flat one), or
          // an update of a structured value (never handed out twice: it is decoded again).
          const bodyOf = (i: number, flat: boolean): WalRecordBody =>
            flat
              ? body(i)
              : i % 2 === 0
                ? { kind: "checkpoint", nextXid: i, running: [i], active: [[i, i, i]], dirty: [] }
                : body(i, [i]);
          const disk = new MemoryDisk();
          const { wal } = await Wal.open(disk);
          const appended = first.map((flat, i) => wal.append(bodyOf(i, flat)));
          await wal.flush();
          const before = (await disk.read("wal"))!;
          const firstScan = scanLog(before).records;
          appended.push(...more.map((flat, i) => wal.append(bodyOf(first.length + i, flat))));
          await wal.flush();
          const after = (await disk.read("wal"))!;
          // Read after the shorter log: whole, cut anywhere (a torn tail), or with a byte rotted.
          const cut = cutAt % (after.length + 1);
          const whole = appended.filter((r) => r.lsn + r.sizeBytes <= cut);
          const end = whole.at(-1) === undefined ? 0 : whole.at(-1)!.lsn + whole.at(-1)!.sizeBytes;
          expect(scanLog(after.subarray(0, cut))).toEqual({ records: whole, validEnd: end });
          expect(scanLog(after)).toEqual({ records: appended, validEnd: after.length });
          if (after.length > 0) {
            const rotted = after.slice();
            const at = flipAt % rotted.length;
            rotted[at]! ^= 0x10;
            const hit = appended.filter((r) => r.lsn <= at).at(-1)!;
            const scan = scanLog(rotted);
            expect(scan.records).toEqual(appended.slice(0, appended.indexOf(hit)));
            expect(scan.corruptLsn).toBe(hit.lsn);
          }
          // And the shorter log read again after the longer: the same records as at first.
          const again = scanLog(before).records;
          expect(again).toEqual(firstScan);
          for (const [i, r] of again.entries()) {
            expect(Object.isFrozen(r)).toBe(r.kind !== "update" || !Array.isArray(r.value));
            if (Object.isFrozen(r)) expect(r).toBe(firstScan[i]);
            else expect(r).not.toBe(firstScan[i]);
          }
        },
      ),
      { numRuns: 200 },
    ));

  it("cuts a torn tail at every possible tear point and never misreads it", async () => {
    const { bytes } = await logOf([body(1), body(2, "x".repeat(50))]);
    const first = scanLog(bytes).records[0]!;
    for (let cut = first.sizeBytes; cut < bytes.length; cut++) {
      const { records, validEnd, corruptLsn } = scanLog(bytes.subarray(0, cut));
      expect(records.length).toBe(1);
      expect(validEnd).toBe(first.sizeBytes);
      expect(corruptLsn).toBeUndefined();
    }
  });

  it("tells a flipped byte anywhere in any record (rot at rest) from a torn tail", () =>
    fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 1, max: 255 }), async (at, flip) => {
        const { bytes } = await logOf([body(1), body(2), body(3, "y".repeat(20))]);
        const corrupt = bytes.slice();
        const i = at % corrupt.length;
        corrupt[i]! ^= flip;
        const records = scanLog(bytes).records;
        const hit = records.filter((r) => r.lsn <= i).at(-1)!;
        const scanned = scanLog(corrupt);
        expect(scanned.records.length).toBe(records.indexOf(hit));
        expect(scanned.corruptLsn).toBe(hit.lsn);
      }),
      { numRuns: 300 },
    ));

  it("ends the log at a header of zeros, as PostgreSQL does: what lies past a hole is cut", async () => {
    const { disk, bytes } = await logOf([body(1), body(2)]);
    const first = scanLog(bytes).records[0]!;
    const holed = bytes.slice();
    holed.fill(0, first.sizeBytes, first.sizeBytes + 8);
    expect(scanLog(holed)).toEqual({ records: [first], validEnd: first.sizeBytes });
    await disk.write("wal", 0, holed);
    await disk.fsync("wal");
    expect((await Wal.open(disk)).cutBytes).toBe(bytes.length - first.sizeBytes);
  });

  it("refuses to open a log with a record rotted at rest", async () => {
    const { disk, bytes } = await logOf([body(1), body(2)]);
    await disk.write("wal", bytes.length - 5, new Uint8Array([bytes[bytes.length - 5]! ^ 1]));
    await disk.fsync("wal");
    await expect(Wal.open(disk)).rejects.toThrow(WalCorruptionError);
  });

  it("open cuts the torn tail durably and appends continue after it", async () => {
    const { disk, bytes } = await logOf([body(1), body(2)]);
    await disk.truncate("wal", bytes.length - 3);
    await disk.fsync("wal");
    const { wal, cutBytes } = await Wal.open(disk);
    expect(cutBytes).toBeGreaterThan(0);
    expect(wal.recordCount).toBe(1);
    wal.append(body(3));
    await wal.flush();
    const again = await Wal.open(disk);
    expect(again.wal.recordsFrom(0).map((r) => (r.kind === "update" ? r.xid : 0))).toEqual([1, 3]);
  });

  it("group commit: concurrent flushes share fsyncs", async () => {
    const disk = new MemoryDisk();
    const { wal } = await Wal.open(disk);
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      const r = wal.append(body(i));
      waits.push(wal.flush(r.lsn + r.sizeBytes));
    }
    await Promise.all(waits);
    expect(wal.fsyncedEnd).toBe(wal.endLsn);
    expect(wal.fsyncCount).toBeLessThanOrEqual(2);
  });

  it("unflushed records are lost in a crash; flushed ones survive", async () => {
    const disk = new MemoryDisk();
    const { wal } = await Wal.open(disk);
    const a = wal.append(body(1));
    await wal.flush(a.lsn + a.sizeBytes);
    wal.append(body(2));
    expect(wal.isDurable(a)).toBe(true);
    disk.crash();
    expect((await Wal.open(disk)).wal.recordCount).toBe(1);
  });

  it("ships records verbatim: a replica log is byte-identical", async () => {
    const { disk, bytes } = await logOf([body(1), body(2, { nested: [1, "two"] })]);
    const source = (await Wal.open(disk)).wal;
    const replicaDisk = new MemoryDisk();
    const { wal: replica } = await Wal.open(replicaDisk);
    for (const r of JSON.parse(JSON.stringify(source.recordsFrom(0))) as ReturnType<Wal["recordsFrom"]>) {
      replica.appendShipped(r);
    }
    await replica.flush();
    expect(await replicaDisk.read("wal")).toEqual(bytes);
    expect(() => replica.appendShipped(source.recordsFrom(0)[0]!)).toThrow(/does not continue/);
  });

  it("truncateLogAbove keeps records up to and including the lsn", async () => {
    const { disk } = await logOf([body(1), body(2), body(3)]);
    const lsns = (await Wal.open(disk)).wal.recordsFrom(0).map((r) => r.lsn);
    await truncateLogAbove(disk, lsns[1]!);
    expect((await Wal.open(disk)).wal.recordsFrom(0).map((r) => r.lsn)).toEqual(lsns.slice(0, 2));
  });
});

describe("wal after a disk failure", () => {
  it("refuses every later flush: a failed fsync is never retried, and its records are gone", async () => {
    const disk = new MemoryDisk();
    const { wal } = await Wal.open(disk);
    const failures: unknown[] = [];
    wal.onFailure((error) => failures.push(error));
    disk.setFaults({ fsyncFails: "once" });
    const first = wal.append(body(1));
    await expect(wal.flush()).rejects.toThrow(/EIO/);
    expect(wal.isDurable(first)).toBe(false);
    wal.append(body(2));
    await expect(wal.flush()).rejects.toThrow(/failed earlier/);
    expect(failures).toHaveLength(1);
    // The failed fsync lost what it covered for good: the disk holds no record.
    expect((await Wal.open(disk)).wal.recordCount).toBe(0);
  });

  it("retry-fsync: the retry succeeds, the log believes its records durable, and they are gone", async () => {
    const disk = new MemoryDisk();
    const { wal } = await Wal.open(disk, new Durability(disk, new Set(["retry-fsync"])));
    disk.setFaults({ fsyncFails: "once" });
    const first = wal.append(body(1));
    await wal.flush();
    expect(wal.isDurable(first)).toBe(true);
    expect((await Wal.open(disk)).wal.recordCount).toBe(0);
  });
});
