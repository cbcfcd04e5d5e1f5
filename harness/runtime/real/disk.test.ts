import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileDisk } from "./disk.ts";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "faultline-disk-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const bytes = (...values: number[]) => new Uint8Array(values);

describe("FileDisk", () => {
  it("writes, appends, truncates, fsyncs, renames, lists and removes real files", async () => {
    const disk = new FileDisk(join(root, "n1"));
    expect(await disk.read("wal")).toBeUndefined();
    expect(await disk.size("wal")).toBeUndefined();
    await disk.append("wal", bytes(1, 2));
    await disk.append("wal", bytes(3));
    await disk.write("wal", 5, bytes(9));
    expect([...(await disk.read("wal"))!]).toEqual([1, 2, 3, 0, 0, 9]);
    await disk.truncate("wal", 2);
    await disk.fsync("wal");
    expect(await disk.size("wal")).toBe(2);
    await disk.rename("wal", "wal.old");
    await disk.fsyncDir();
    expect(await disk.list()).toEqual(["wal.old"]);
    await disk.remove("wal.old");
    expect(await disk.list()).toEqual([]);
    // A second disk over the same directory sees what the first left (state survives a restart).
    await disk.append("kept", bytes(7));
    await disk.fsync("kept");
    expect([...(await new FileDisk(join(root, "n1")).read("kept"))!]).toEqual([7]);
  });

  it("rejects path-like names and operations on missing files", async () => {
    const disk = new FileDisk(join(root, "n1"));
    await expect(disk.read("../escape")).rejects.toThrow(/bad file name/);
    await expect(disk.fsync("missing")).rejects.toThrow(/ENOENT/);
    await expect(disk.rename("missing", "x")).rejects.toThrow(/ENOENT/);
  });
});
