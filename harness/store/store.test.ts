import { readFileSync, readlinkSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../testkit.ts";
import { createRunDir, runTimestamp } from "./store.ts";

const fresh = scratchFolders("store");

describe("store", () => {
  it("names run folders by UTC timestamp to the millisecond", () => {
    expect(runTimestamp(new Date(Date.UTC(2026, 10, 22, 3, 10, 45, 7)))).toBe("20261122T031045.007");
  });

  it("creates distinct folders for runs in the same millisecond and points latest at the newest", () => {
    const root = fresh();
    const at = new Date(Date.UTC(2026, 0, 1));
    const a = createRunDir(root, "memory-register", at);
    const b = createRunDir(root, "memory-register", at);
    expect(a.dir).not.toBe(b.dir);
    expect(existsSync(a.dir) && existsSync(b.dir)).toBe(true);
    expect(join(root, readlinkSync(join(root, "latest")))).toBe(b.dir);
    expect(() => readFileSync(join(root, "latest"))).toThrow(); // a folder, not a file
  });

  it("refuses test names that would escape the store", () => {
    const root = fresh();
    expect(() => createRunDir(root, "../evil", new Date())).toThrow(/test name/);
  });
});
