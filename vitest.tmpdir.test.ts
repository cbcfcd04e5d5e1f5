/**
 * The run's leftover check (vitest.tmpdir.ts): it names what a test left in the temporary folder,
 * and does not name what a watchdog is still removing when the last test ends.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "./harness/testkit.ts";
import { settledLeftovers } from "./vitest.tmpdir.ts";

const fresh = scratchFolders("tmpdir-check");

describe("the run's leftover check", () => {
  it("runs this suite in a temporary folder of its own", () => {
    expect(process.env["FAULTLINE_TEST_TMPDIR"]).toBeDefined();
    expect(tmpdir()).toBe(process.env["FAULTLINE_TEST_TMPDIR"]);
  });

  it("names what is left, sorted, except what it was told to keep", async () => {
    const folder = fresh();
    mkdirSync(join(folder, "faultline-run-b"));
    writeFileSync(join(folder, "faultline-run-a"), "");
    mkdirSync(join(folder, "tsx-0"));
    expect(await settledLeftovers(folder, new Set(["tsx-0"]), 300)).toEqual([
      "faultline-run-a",
      "faultline-run-b",
    ]);
  });

  it("waits, a bounded time, for what is being removed as it looks", async () => {
    const folder = fresh();
    mkdirSync(join(folder, "faultline-initdb-x"));
    const removal = new Promise<void>((resolve) =>
      setTimeout(() => {
        rmSync(join(folder, "faultline-initdb-x"), { recursive: true });
        resolve();
      }, 300),
    );
    expect(await settledLeftovers(folder, new Set(), 10_000)).toEqual([]);
    await removal;
  });
});
