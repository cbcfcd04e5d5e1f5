/**
 * The simulated disk against a model of what a power loss may leave: fast-check drives a sequence
 * of writes, appends, truncates, fsyncs, renames, removes and directory fsyncs over a few files,
 * crashes under generated model parameters, and checks the result against every outcome the
 * contract allows, enumerated by brute force: a prefix of the unsynced directory changes; per file,
 * its fsynced bytes plus any subset of its unsynced writes in any order (truncates kept as a prefix,
 * each a barrier), each whole or torn at a sector boundary. Then the faults: a failed fsync loses
 * its changes for good, a full disk writes nothing, rot flips exactly one byte at rest.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../random.ts";
import { DiskError, SimDiskState, type CrashModel } from "./disk.ts";
import { diskOpArbitrary } from "./testkit.ts";

const files = ["a", "b", "c"] as const;
const op = diskOpArbitrary({
  files,
  minByte: 1,
  maxDataBytes: 6,
  maxOffset: 8,
  maxTruncateSize: 10,
  weights: { write: 3, append: 3, truncate: 1, fsync: 3, rename: 1, remove: 1, fsyncDir: 2 },
});

const modelArbitrary: fc.Arbitrary<CrashModel> = fc.record({
  writeSurvivalProbability: fc.constantFrom(0, 0.5, 1),
  tornWriteProbability: fc.constantFrom(0, 0.5, 1),
  sectorBytes: fc.constantFrom(1, 2, 4),
  directoryChangesMaySurvive: fc.boolean(),
});

/** What the reference model knows of one file (an inode): its fsynced bytes and unsynced changes. */
interface RefFile {
  durable: number[];
  current: number[];
  unsynced: ({ kind: "write"; offset: number; data: number[] } | { kind: "truncate"; size: number })[];
}

function writeAt(bytes: readonly number[], offset: number, data: readonly number[]): number[] {
  const out = bytes.slice();
  while (out.length < offset) out.push(0);
  data.forEach((b, i) => (out[offset + i] = b));
  return out;
}

function truncateTo(bytes: readonly number[], size: number): number[] {
  const out = bytes.slice(0, size);
  while (out.length < size) out.push(0);
  return out;
}

/**
 * Every content a crash may leave of `f` (as strings), under sectors of `sector` bytes; with
 * `writesSurvive` false, only those where no unsynced write reached the platter.
 */
function outcomes(f: RefFile, sector: number, writesSurvive: boolean): Set<string> {
  const results = new Set<string>();
  const truncates = f.unsynced.filter((c) => c.kind === "truncate").length;
  for (let kept = 0; kept <= truncates; kept++) {
    // Groups of writes, each followed by its kept truncate (the last group has none).
    const groups: { writes: { offset: number; data: number[] }[]; size?: number }[] = [{ writes: [] }];
    let seen = 0;
    for (const c of f.unsynced) {
      if (c.kind === "truncate") {
        seen++;
        if (seen <= kept) groups.push({ writes: [] });
        if (seen <= kept) groups[groups.length - 2]!.size = c.size;
      } else groups.at(-1)!.writes.push(c);
    }
    const go = (g: number, bytes: number[]): void => {
      if (g === groups.length) {
        results.add(bytes.join(","));
        return;
      }
      const group = groups[g]!;
      const finish = (b: number[]): void =>
        go(g + 1, group.size === undefined ? b : truncateTo(b, group.size));
      // Any subset in any order: choose the next write among those not yet used, or stop.
      const place = (b: number[], used: ReadonlySet<number>): void => {
        finish(b);
        if (!writesSurvive) return;
        group.writes.forEach((w, i) => {
          if (used.has(i)) return;
          const next = new Set(used).add(i);
          const first = Math.floor(w.offset / sector);
          const last = Math.floor((w.offset + w.data.length - 1) / sector);
          place(writeAt(b, w.offset, w.data), next);
          for (let k = 1; k <= last - first; k++) {
            place(writeAt(b, w.offset, w.data.slice(0, (first + k) * sector - w.offset)), next);
          }
        });
      };
      place(bytes, new Set());
    };
    go(0, f.durable);
  }
  return results;
}

describe("the simulated disk at a power loss", () => {
  it("property: what survives is exactly what the contract allows", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 14 }), modelArbitrary, fc.nat(), (ops, model, seed) => {
        const disk = new SimDiskState();
        // The reference: the directory now and on the platter, the unsynced directory changes.
        let names = new Map<string, RefFile>();
        let durableNames = new Map<string, RefFile>();
        let changes: ((n: Map<string, RefFile>) => void)[] = [];
        const fileOf = (name: string): RefFile => {
          let f = names.get(name);
          if (f === undefined) {
            const created: RefFile = { durable: [], current: [], unsynced: [] };
            f = created;
            names.set(name, f);
            changes.push((n) => n.set(name, created));
          }
          return f;
        };
        for (const o of ops) {
          if (o.kind === "write" || o.kind === "append") {
            const f = fileOf(o.file);
            const offset = o.kind === "append" ? f.current.length : o.offset;
            if (o.kind === "append") disk.append(o.file, new Uint8Array(o.data));
            else disk.write(o.file, o.offset, new Uint8Array(o.data));
            f.current = writeAt(f.current, offset, o.data);
            f.unsynced.push({ kind: "write", offset, data: o.data });
          } else if (o.kind === "truncate") {
            const f = fileOf(o.file);
            disk.truncate(o.file, o.size);
            f.current = truncateTo(f.current, o.size);
            f.unsynced.push({ kind: "truncate", size: o.size });
          } else if (o.kind === "fsync") {
            const f = names.get(o.file);
            expect(disk.fsync(o.file)).toBe(f !== undefined);
            if (f !== undefined) {
              f.durable = f.current.slice();
              f.unsynced = [];
            }
          } else if (o.kind === "rename") {
            const f = names.get(o.from);
            expect(disk.rename(o.from, o.to)).toBe(f !== undefined);
            if (f !== undefined) {
              names.delete(o.from);
              names.set(o.to, f);
              changes.push((n) => {
                const moved = n.get(o.from);
                n.delete(o.from);
                if (moved !== undefined) n.set(o.to, moved);
              });
            }
          } else if (o.kind === "remove") {
            const had = names.delete(o.file);
            expect(disk.remove(o.file)).toBe(had);
            if (had) changes.push((n) => n.delete(o.file));
          } else {
            disk.fsyncDir();
            durableNames = new Map(names);
            changes = [];
          }
        }
        for (const name of files) {
          const f = names.get(name);
          expect(disk.read(name) === undefined ? undefined : [...disk.read(name)!]).toEqual(f?.current);
        }
        disk.crash(new SeededRandom(seed, "crash"), model);
        // The directory: a prefix of the unsynced changes (none when they may not survive).
        const prefixes: Map<string, RefFile>[] = [];
        for (let k = 0; k <= (model.directoryChangesMaySurvive ? changes.length : 0); k++) {
          const n = new Map(durableNames);
          for (const change of changes.slice(0, k)) change(n);
          prefixes.push(n);
        }
        const listed = disk.list().join(",");
        const matching = prefixes.filter((n) => [...n.keys()].sort().join(",") === listed);
        expect(matching.length).toBeGreaterThan(0);
        // Each file: one of the outcomes of its inode (the inode the listed name points at).
        for (const name of disk.list()) {
          const got = [...disk.read(name)!].join(",");
          const allowed = matching.some((n) => {
            const f = n.get(name)!;
            return outcomes(f, model.sectorBytes, model.writeSurvivalProbability > 0).has(got);
          });
          expect(allowed, `${name}: ${got}`).toBe(true);
        }
        names = new Map();
      }),
      { numRuns: 400 },
    );
  });

  it("replays a crash byte for byte from the same seed", () => {
    const run = (seed: number): string => {
      const disk = new SimDiskState();
      for (let i = 0; i < 20; i++) disk.append(i % 2 === 0 ? "x" : "y", new Uint8Array(300).fill(i + 1));
      disk.fsync("x");
      disk.fsyncDir();
      const report = disk.crash(new SeededRandom(seed, "crash"), {
        writeSurvivalProbability: 0.5,
        tornWriteProbability: 0.5,
        sectorBytes: 64,
        directoryChangesMaySurvive: true,
      });
      return JSON.stringify([report, disk.list(), disk.read("x")?.join(","), disk.read("y")?.join(",")]);
    };
    expect(run(7)).toBe(run(7));
    expect(run(7)).not.toBe(run(8));
  });

  it("after a crash, the page cache and the platter stay apart, whether the file had unsynced changes or none", () => {
    const lose: CrashModel = {
      writeSurvivalProbability: 0,
      tornWriteProbability: 0,
      sectorBytes: 512,
      directoryChangesMaySurvive: false,
    };
    const disk = new SimDiskState();
    disk.append("synced", new Uint8Array([1, 2]));
    disk.append("unsynced", new Uint8Array([1, 2]));
    disk.fsync("synced");
    disk.fsync("unsynced");
    disk.fsyncDir();
    disk.append("unsynced", new Uint8Array([9]));
    disk.crash(new SeededRandom(1), lose);
    expect([...disk.read("synced")!]).toEqual([1, 2]);
    expect([...disk.read("unsynced")!]).toEqual([1, 2]);
    // Written after the crash and never fsynced: the next crash loses it on both files.
    disk.append("synced", new Uint8Array([3]));
    disk.append("unsynced", new Uint8Array([3]));
    expect([...disk.read("synced")!]).toEqual([1, 2, 3]);
    disk.crash(new SeededRandom(2), lose);
    expect([...disk.read("synced")!]).toEqual([1, 2]);
    expect([...disk.read("unsynced")!]).toEqual([1, 2]);
    // Fsynced after a crash: it survives the next.
    disk.append("synced", new Uint8Array([4]));
    disk.fsync("synced");
    disk.crash(new SeededRandom(3), lose);
    expect([...disk.read("synced")!]).toEqual([1, 2, 4]);
  });
});

describe("the simulated disk's faults", () => {
  const harsh: CrashModel = {
    writeSurvivalProbability: 1,
    tornWriteProbability: 0,
    sectorBytes: 512,
    directoryChangesMaySurvive: true,
  };

  it("a failed fsync loses what it covered for good: a later fsync that succeeds brings none of it back", () => {
    const disk = new SimDiskState();
    disk.append("log", new Uint8Array([1, 2]));
    disk.fsync("log");
    disk.fsyncDir();
    disk.append("log", new Uint8Array([3, 4]));
    disk.setFaults({ fsyncFails: "once" });
    expect(() => disk.fsync("log")).toThrow(DiskError);
    expect([...disk.read("log")!]).toEqual([1, 2]);
    expect(disk.fsync("log")).toBe(true);
    disk.crash(new SeededRandom(1), harsh);
    expect([...disk.read("log")!]).toEqual([1, 2]);
  });

  it("every fsync fails while the fault is 'always', and succeeds once healed", () => {
    const disk = new SimDiskState();
    disk.append("log", new Uint8Array([1]));
    disk.setFaults({ fsyncFails: "always" });
    for (let i = 0; i < 3; i++) expect(() => disk.fsync("log")).toThrow(/EIO/);
    disk.setFaults({});
    disk.append("log", new Uint8Array([2]));
    expect(disk.fsync("log")).toBe(true);
    expect([...disk.read("log")!]).toEqual([2]);
  });

  it("a full disk fails every write that needs space, writing nothing; overwrites and removes go on", () => {
    const disk = new SimDiskState();
    disk.write("f", 0, new Uint8Array([1, 2, 3]));
    disk.setFaults({ full: true });
    expect(() => disk.append("f", new Uint8Array([4]))).toThrow(/ENOSPC/);
    expect(() => disk.write("g", 0, new Uint8Array([1]))).toThrow(/ENOSPC/);
    expect(() => disk.truncate("f", 9)).toThrow(/ENOSPC/);
    disk.write("f", 1, new Uint8Array([9, 9]));
    expect([...disk.read("f")!]).toEqual([1, 9, 9]);
    expect(disk.list()).toEqual(["f"]);
    expect(disk.remove("f")).toBe(true);
  });

  it("property: the platter under unsynced changes, failed fsyncs and rot is exactly what was fsynced, rot included", () => {
    // The disk keeps only the page cache and what each unsynced change replaced; this reference
    // keeps the platter's bytes themselves. Every read must be the reference's page cache, and at
    // the end the platter must be exactly the reference's: seen after a crash that loses every
    // unsynced write (when no truncate is unsynced: a crash keeps a prefix of those), or after a
    // failed fsync (which drops every unsynced change).
    const step = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant("write" as const),
          file: fc.constantFrom("a", "b"),
          offset: fc.nat(12),
          data: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 6 }),
        }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant("append" as const),
          file: fc.constantFrom("a", "b"),
          data: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 6 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant("truncate" as const),
          file: fc.constantFrom("a", "b"),
          size: fc.nat(14),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant("fsync" as const),
          file: fc.constantFrom("a", "b"),
          fails: fc.boolean(),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant("corrupt" as const), file: fc.constantFrom("a", "b") }),
      },
    );
    const loseAll: CrashModel = {
      writeSurvivalProbability: 0,
      tornWriteProbability: 0,
      sectorBytes: 1,
      directoryChangesMaySurvive: false,
    };
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 4, maxLength: 30 }),
        fc.nat(),
        fc.boolean(),
        (steps, seed, crash) => {
          const disk = new SimDiskState();
          const ref = new Map<string, { durable: number[]; current: number[]; truncated: boolean }>();
          // Each file starts with fsynced bytes (zeros among them), for rot to hit under later writes.
          const initial = [1, 2, 0, 3, 1, 2, 0, 3];
          for (const file of ["a", "b"]) {
            disk.write(file, 0, new Uint8Array(initial));
            disk.fsync(file);
            ref.set(file, { durable: initial.slice(), current: initial.slice(), truncated: false });
          }
          disk.fsyncDir();
          // The disk and the reference draw rot from random streams of the same seed.
          const diskRandom = new SeededRandom(seed, "rot");
          const refRandom = new SeededRandom(seed, "rot");
          for (const s of steps) {
            const f = ref.get(s.file)!;
            if (s.kind === "write") {
              disk.write(s.file, s.offset, new Uint8Array(s.data));
              f.current = writeAt(f.current, s.offset, s.data);
            } else if (s.kind === "append") {
              disk.append(s.file, new Uint8Array(s.data));
              f.current = writeAt(f.current, f.current.length, s.data);
            } else if (s.kind === "truncate") {
              disk.truncate(s.file, s.size);
              f.current = truncateTo(f.current, s.size);
              f.truncated = true;
            } else if (s.kind === "fsync") {
              if (s.fails) {
                disk.setFaults({ fsyncFails: "once" });
                expect(() => disk.fsync(s.file)).toThrow(DiskError);
                f.current = f.durable.slice();
              } else {
                expect(disk.fsync(s.file)).toBe(true);
                f.durable = f.current.slice();
              }
              f.truncated = false;
            } else {
              // The reference's rot: a non-zero byte of the platter, uniformly, xor a non-zero mask;
              // the page cache's byte too where it still equals the platter's.
              const offset = disk.corrupt(s.file, diskRandom);
              const nonZero = f.durable.flatMap((b, i) => (b === 0 ? [] : [i]));
              if (nonZero.length === 0) {
                expect(offset).toBeUndefined();
                continue;
              }
              const at = nonZero[refRandom.int(nonZero.length)]!;
              const mask = refRandom.intBetween(1, 255);
              expect(offset).toBe(at);
              const before = f.durable[at]!;
              f.durable[at] = before ^ mask;
              if (at < f.current.length && f.current[at] === before) f.current[at] = before ^ mask;
            }
            expect([...disk.read(s.file)!]).toEqual(f.current);
          }
          for (const [file, f] of ref) {
            if (crash && !f.truncated) continue;
            disk.setFaults({ fsyncFails: "once" });
            expect(() => disk.fsync(file)).toThrow(DiskError);
            expect([...disk.read(file)!], file).toEqual(f.durable);
          }
          disk.crash(new SeededRandom(seed, "crash"), loseAll);
          for (const [file, f] of ref) expect([...disk.read(file)!], file).toEqual(f.durable);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("rot at rest flips exactly one non-zero byte on the platter, and reads see it", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat(), (bytes, seed) => {
        const disk = new SimDiskState();
        disk.write("f", 0, bytes);
        disk.fsync("f");
        const offset = disk.corrupt("f", new SeededRandom(seed));
        const after = disk.read("f")!;
        if (bytes.every((b) => b === 0)) {
          expect(offset).toBeUndefined();
          return;
        }
        expect(bytes[offset!]).not.toBe(0);
        const differing = [...after].flatMap((b, i) => (b === bytes[i] ? [] : [i]));
        expect(differing).toEqual([offset]);
      }),
      { numRuns: 100 },
    );
  });
});
