import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SeededRandom } from "../random.ts";
import { SimDiskState } from "../sim/disk.ts";
import { diskOpArbitrary } from "../sim/testkit.ts";
import { BufferedFileDisk } from "./bufferedDisk.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "faultline-buffered-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array | undefined) =>
  data === undefined ? undefined : new TextDecoder().decode(data);

describe("BufferedFileDisk", () => {
  it("keeps unsynced writes in memory: a fresh disk over the same folder (a kill -9) sees only fsynced ones", async () => {
    const disk = new BufferedFileDisk(dir);
    await disk.append("log", bytes("one;"));
    await disk.fsync("log");
    await disk.fsyncDir();
    await disk.append("log", bytes("two;"));
    await disk.write("never-synced", 0, bytes("gone"));
    expect(text(await disk.read("log"))).toBe("one;two;");
    expect(await disk.list()).toEqual(["log", "never-synced"]);
    // Two unsynced writes, and one name not yet durable.
    expect(disk.unsyncedCount()).toBe(3);

    const after = new BufferedFileDisk(dir);
    expect(text(await after.read("log"))).toBe("one;");
    expect(await after.read("never-synced")).toBeUndefined();
    expect(await after.list()).toEqual(["log"]);
  });

  it("makes a creation, a rename or a remove durable only once the directory is fsynced", async () => {
    const disk = new BufferedFileDisk(dir);
    await disk.write("a", 0, bytes("A"));
    await disk.fsync("a");
    // Its bytes are durable, its name is not: a kill loses the file.
    expect(await new BufferedFileDisk(dir).list()).toEqual([]);
    await disk.write("b", 0, bytes("B"));
    await disk.fsync("b");
    await disk.fsyncDir();
    expect(text(await new BufferedFileDisk(dir).read("a"))).toBe("A");
    await disk.write("tmp", 0, bytes("T"));
    await disk.fsync("tmp");
    await disk.rename("tmp", "a"); // replaces the durable a
    expect(text(await disk.read("a"))).toBe("T");
    await disk.remove("b");
    await expect(disk.fsync("b")).rejects.toThrow(/no such file/);
    // Not yet: the rename and the remove are in memory only.
    const before = new BufferedFileDisk(dir);
    expect(await before.list()).toEqual(["a", "b"]);
    expect(text(await before.read("a"))).toBe("A");
    await disk.fsyncDir();
    const after = new BufferedFileDisk(dir);
    expect(await after.list()).toEqual(["a"]);
    expect(text(await after.read("a"))).toBe("T");
  });

  const op = diskOpArbitrary({
    files: ["a", "b", "c"],
    minByte: 0,
    maxDataBytes: 9000,
    maxOffset: 5000,
    maxTruncateSize: 6000,
  });

  it("matches the simulated disk: what a node sees, and what survives a kill (nothing not yet durable)", async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const folder = join(dir, `round-${round++}`);
        const disk = new BufferedFileDisk(folder);
        const model = new SimDiskState();
        for (const o of ops) {
          // The model says whether the operation is valid; the disk must agree.
          switch (o.kind) {
            case "write":
              model.write(o.file, o.offset, Uint8Array.from(o.data));
              await disk.write(o.file, o.offset, Uint8Array.from(o.data));
              break;
            case "append":
              model.append(o.file, Uint8Array.from(o.data));
              await disk.append(o.file, Uint8Array.from(o.data));
              break;
            case "truncate":
              if (model.size(o.file) === undefined) break;
              model.truncate(o.file, o.size);
              await disk.truncate(o.file, o.size);
              break;
            case "fsync":
              if (model.fsync(o.file)) await disk.fsync(o.file);
              else await expect(disk.fsync(o.file)).rejects.toThrow();
              break;
            case "rename":
              if (o.from === o.to) break;
              if (model.rename(o.from, o.to)) await disk.rename(o.from, o.to);
              else await expect(disk.rename(o.from, o.to)).rejects.toThrow();
              break;
            case "remove":
              if (model.remove(o.file)) await disk.remove(o.file);
              else await expect(disk.remove(o.file)).rejects.toThrow();
              break;
            case "fsyncDir":
              model.fsyncDir();
              await disk.fsyncDir();
              break;
          }
        }
        expect(await disk.list()).toEqual(model.list());
        for (const name of model.list()) {
          expect(await disk.size(name)).toBe(model.size(name));
          expect(await disk.read(name)).toEqual(model.read(name));
        }
        // A kill loses everything not yet durable: the crash of the model that keeps nothing.
        model.crash(new SeededRandom(1, "no tears"), {
          writeSurvivalProbability: 0,
          tornWriteProbability: 0,
          sectorBytes: 512,
          directoryChangesMaySurvive: false,
        });
        const after = new BufferedFileDisk(folder);
        expect(await after.list()).toEqual(model.list());
        for (const name of model.list()) expect(await after.read(name)).toEqual(model.read(name));
      }),
      { numRuns: 60, seed: 12 },
    );
  });
});
