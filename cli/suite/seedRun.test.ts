/**
 * One seed of a suite row: the run's folder is kept only as the row asks (all, failing, none), and
 * a run whose folder is removed afterwards never renders its closing files (the reports, the
 * anomaly files, test.json's final form), which nobody could read: the verdict is the same.
 */
import { existsSync, readdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../../harness/testkit.ts";
import { executeRun } from "../execute.ts";
import { resolveRunConfig } from "../run.ts";
import { runSeed } from "./seedRun.ts";

const freshStore = scratchFolders("seed-run");
const memoryRegister = [
  "--system",
  "memory",
  "--workload",
  "register",
  "--nemesis",
  "none",
  "--time-limit",
  "1",
];

describe("runSeed", () => {
  it("removes a folder it does not keep, and keeps one whole (reports too) when asked", async () => {
    const store = freshStore();
    const dropped = await runSeed({ row: "r", args: memoryRegister, seed: 1, store, keep: "failing" });
    expect(dropped.valid).toBe(true);
    expect(dropped.storeDir).toBeUndefined();
    const kept = await runSeed({ row: "r", args: memoryRegister, seed: 1, store, keep: "all" });
    expect(kept.valid).toBe(true);
    expect(readdirSync(kept.storeDir!)).toEqual(
      expect.arrayContaining(["history.jsonl", "test.json", "results.json", "report.html", "junit.xml"]),
    );
    expect(readdirSync(store).filter((name) => name !== "latest")).toHaveLength(1);
  });
});

describe("store/latest after a suite's seeds", () => {
  it("names the newest run kept, never a folder removed", async () => {
    // Before, every run pointed latest at itself as it started, and a seed that held was removed
    // after: a gate whose last seed held left latest naming a folder gone (faultline report
    // store/latest: "no such run folder").
    const store = freshStore();
    const kept = await runSeed({ row: "r", args: memoryRegister, seed: 1, store, keep: "all" });
    const dropped = await runSeed({ row: "r", args: memoryRegister, seed: 2, store, keep: "failing" });
    expect(dropped.storeDir).toBeUndefined();
    expect(realpathSync(join(store, "latest"))).toBe(realpathSync(kept.storeDir!));
    const none = freshStore();
    await runSeed({ row: "r", args: memoryRegister, seed: 2, store: none, keep: "none" });
    expect(existsSync(join(none, "latest"))).toBe(false);
  });
});

describe("executeRun's discardedWith", () => {
  async function run(discarded: boolean) {
    const config = resolveRunConfig([...memoryRegister, "--seed", "2", "--store", freshStore(), "--quiet"]);
    if (config === "help") throw new Error("unexpected help");
    let asked: unknown;
    const result = await executeRun(config, {
      discardedWith: (results) => {
        asked = results;
        return discarded;
      },
    });
    return { result, asked };
  }

  it("skips the closing files when the caller will remove the folder, with the same verdict", async () => {
    const discarded = await run(true);
    expect(discarded.asked).toBe(discarded.result.results);
    expect(existsSync(join(discarded.result.storeDir, "history.jsonl"))).toBe(true);
    for (const file of ["results.json", "report.html", "report.txt", "junit.xml"])
      expect(existsSync(join(discarded.result.storeDir, file)), file).toBe(false);
    const written = await run(false);
    for (const file of ["results.json", "report.html", "report.txt", "junit.xml"])
      expect(existsSync(join(written.result.storeDir, file)), file).toBe(true);
    expect(discarded.result.results).toEqual(written.result.results);
  });
});
