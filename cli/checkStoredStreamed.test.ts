/**
 * `faultline check` of a stored run's history.jsonl (test.json beside it) streams the file like
 * any other list-append JSONL history when the run's workload is the built-in append workload: the
 * ordinary reader, which holds every operation as an object, is never called, and the outcome is
 * the one the ordinary path gives (the run's own checkers, model and description; verdict line
 * but for the milliseconds, JSON, exit code). Other workloads' runs, and runs whose test.json
 * cannot be used, are read the ordinary way, as before.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import type * as read from "../harness/history/read.ts";
import { bothPaths } from "./fixtures/checkBothPaths.ts";
import { executeRun } from "./execute.ts";
import { resolveRunConfig } from "./run.ts";

// Counts the ordinary reader's calls (it still does the reading).
vi.mock("../harness/history/read.ts", async (importOriginal) => {
  const original = await importOriginal<typeof read>();
  return { ...original, readHistorySource: vi.fn(original.readHistorySource) };
});

const store = mkdtempSync(join(tmpdir(), "faultline-check-stored-streamed-"));
afterAll(() => rmSync(store, { recursive: true, force: true }));

/** Runs `faultline run ARGS` into the temporary store; the path of its history.jsonl. */
async function storedHistory(name: string, args: readonly string[]): Promise<string> {
  const config = resolveRunConfig([...args, "--store", store, "--name", name, "--quiet"]);
  if (config === "help") throw new Error("help");
  const run = await executeRun(config);
  return join(run.storeDir, "history.jsonl");
}

describe("a stored run's history", () => {
  it.each<[string, string[], string, boolean]>([
    [
      "append, anomalies found",
      ["--system", "engine", "--bug", "no-first-committer-wins", "--seed", "1"],
      "model strict-serializable",
      false,
    ],
    [
      "append under snapshot",
      ["--system", "engine", "--isolation", "snapshot", "--seed", "2"],
      "model strong-snapshot-isolation",
      true,
    ],
    [
      "append with the model given to the run",
      ["--system", "memory", "--model", "serializable", "--seed", "5"],
      "model serializable",
      true,
    ],
  ])(
    "streams for the append workload (%s), with the ordinary path's outcome",
    { timeout: 120_000 },
    async (name, args, described, valid) => {
      const history = await storedHistory(name.replace(/\W+/g, "-"), [
        ...args,
        "--workload",
        "append",
        "--time-limit",
        "5",
      ]);
      const { streamed, ordinary, ordinaryReads } = await bothPaths(history);
      expect(ordinaryReads).toBe(0);
      expect(streamed).toEqual(ordinary);
      expect(streamed.line).toContain(`stored run: append workload, ${described}`);
      expect(Object.keys(streamed.json["checkers"] as object)).toEqual(["elle", "stats"]);
      expect(streamed.json["valid"]).toBe(valid);
    },
  );

  it(
    "streams with --workload append, which checks it as any append history",
    { timeout: 120_000 },
    async () => {
      const history = await storedHistory("append-as-workload", [
        "--system",
        "engine",
        "--isolation",
        "snapshot",
        "--workload",
        "append",
        "--time-limit",
        "5",
        "--seed",
        "2",
      ]);
      const { streamed, ordinary, ordinaryReads } = await bothPaths(history, ["--workload", "append"]);
      expect(ordinaryReads).toBe(0);
      expect(streamed).toEqual(ordinary);
      expect(streamed.line).toContain("append, elle strict-serializable");
    },
  );

  it("is read the ordinary way for another workload, as before", { timeout: 120_000 }, async () => {
    const history = await storedHistory("bank", [
      "--system",
      "memory",
      "--workload",
      "bank",
      "--time-limit",
      "3",
      "--seed",
      "3",
    ]);
    const { streamed, ordinary, ordinaryReads } = await bothPaths(history);
    expect(ordinaryReads).toBe(1);
    expect(streamed).toEqual(ordinary);
    expect(streamed.line).toContain("stored run: bank workload");
  });

  it("whose test.json cannot be used gives the ordinary path's error", { timeout: 120_000 }, async () => {
    const history = await storedHistory("bad-config", [
      "--system",
      "memory",
      "--workload",
      "append",
      "--time-limit",
      "3",
      "--seed",
      "4",
    ]);
    writeFileSync(join(history, "../test.json"), '{"system": "memory"}');
    const { streamed, ordinary, ordinaryReads } = await bothPaths(history);
    expect(ordinaryReads).toBe(1);
    expect(streamed).toEqual(ordinary);
    expect(streamed.exitCode).toBe(254);
    expect(streamed.line).toContain('expected "workload" to be a string');
  });
});
