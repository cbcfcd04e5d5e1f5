/**
 * A run invokes at most so many client operations (cli/execute.ts): `maxRunOperations` while its
 * history is checked as op objects (kept in memory because the disk refused the file, or read
 * back from it for checkers that take the whole history), `maxStreamedRunOperations` while it
 * streams from the file into the checkers (the append workload). Reached, a bound stops the run
 * as an interruption does: the history recorded is checked, the verdict is at best unknown and
 * says why, and the stop falls at the same operation of the same seed every time.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { countClientOperations } from "../harness/history/historyStats.ts";
import { scratchFolders } from "../harness/testkit.ts";
import { executeRun, type ExecuteOptions } from "./execute.ts";
import { resolveRunConfig } from "./runConfig.ts";

const freshStore = scratchFolders("operation-bound");

async function boundedRun(
  bounds: Pick<ExecuteOptions, "maxOperations" | "maxStreamedOperations">,
  workload = "append",
) {
  const config = resolveRunConfig([
    "--system",
    "memory",
    "--workload",
    workload,
    "--seed",
    "3",
    "--time-limit",
    "30",
    "--quiet",
  ]);
  if (config === "help") throw new Error("asked for help");
  const result = await executeRun({ ...config, store: freshStore() }, bounds);
  return { result, history: readFileSync(join(result.storeDir, "history.jsonl"), "utf8") };
}

describe("the bound on a run's operations", () => {
  it("stops a streamed run at its bound, checks what was recorded, and says unknown with why", async () => {
    const { result } = await boundedRun({ maxStreamedOperations: 200 });
    const invoked = result.history.filter((op) => op.type === "invoke" && typeof op.process === "number");
    expect(invoked).toHaveLength(200);
    expect(countClientOperations(result.history)).toBe(200);
    expect(result.operations).toBe(200);
    expect(result.results.valid).toBe("unknown");
    expect(result.results.interrupted?.signal).toBe(
      "its bound of 200 operations (what checking a run's history as it streams from its file holds in memory)",
    );
    // The checkers saw the prefix: valid on it (the memory system is correct), unknown as a whole.
    expect(result.results.checkers["elle"]?.valid).toBe(true);
    expect(result.results.checkers["interrupted"]?.reason).toMatch(
      /^interrupted by its bound of 200 operations/,
    );
  });

  it("holds a run whose history streams from its file to the streamed bound, not the one for op objects", async () => {
    // Before, every run kept its history in memory and stopped at the one bound.
    const { result } = await boundedRun({ maxOperations: 200 });
    expect(result.results.interrupted).toBeUndefined();
    expect(result.results.valid).toBe(true);
    expect(result.operations).toBeGreaterThan(200);
    expect(countClientOperations(result.history)).toBe(result.operations);
  });

  it("holds a run whose checkers take the whole history to the bound for op objects", async () => {
    const { result } = await boundedRun({ maxOperations: 200 }, "register");
    expect(result.operations).toBe(200);
    expect(result.results.valid).toBe("unknown");
    expect(result.results.interrupted?.signal).toBe(
      "its bound of 200 operations (a run's history is read back into memory to be checked)",
    );
  });

  it("stops a seed at the same operation every time: same seed, same history, byte for byte", async () => {
    const [a, b] = [
      await boundedRun({ maxStreamedOperations: 150 }),
      await boundedRun({ maxStreamedOperations: 150 }),
    ];
    expect(a.history).toBe(b.history);
    expect(a.history.length).toBeGreaterThan(0);
  });

  it("leaves a run under the bound as it was (the fixture is sound)", async () => {
    const { result } = await boundedRun({});
    expect(result.results.interrupted).toBeUndefined();
    expect(result.results.valid).toBe(true);
    expect(countClientOperations(result.history)).toBeGreaterThan(200);
  });
});
