/**
 * A run invokes at most `maxRunOperations` client operations (cli/execute.ts): its history is kept
 * in memory to be checked, and a long run at a high rate ran out of Node's heap (V8's fatal error,
 * a native stack, nothing checked). Reached, the bound stops the run as an interruption does: the
 * history recorded is checked, the verdict is at best unknown and says why, and the stop falls at
 * the same operation of the same seed every time.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { countClientOperations } from "../harness/history/historyStats.ts";
import { scratchFolders } from "../harness/testkit.ts";
import { executeRun } from "./execute.ts";
import { resolveRunConfig } from "./runConfig.ts";

const freshStore = scratchFolders("operation-bound");

async function boundedRun(maxOperations: number) {
  const config = resolveRunConfig(["--system", "memory", "--seed", "3", "--time-limit", "30", "--quiet"]);
  if (config === "help") throw new Error("asked for help");
  const result = await executeRun({ ...config, store: freshStore() }, { maxOperations });
  return { result, history: readFileSync(join(result.storeDir, "history.jsonl"), "utf8") };
}

describe("the bound on a run's operations", () => {
  it("stops the run there, checks what was recorded, and says unknown with why", async () => {
    const { result } = await boundedRun(200);
    const invoked = result.history.filter((op) => op.type === "invoke" && typeof op.process === "number");
    expect(invoked).toHaveLength(200);
    expect(countClientOperations(result.history)).toBe(200);
    expect(result.results.valid).toBe("unknown");
    expect(result.results.interrupted?.signal).toBe(
      "its bound of 200 operations (a run's history is kept in memory to be checked)",
    );
    // The checkers saw the prefix: valid on it (the memory system is correct), unknown as a whole.
    expect(result.results.checkers["elle"]?.valid).toBe(true);
    expect(result.results.checkers["interrupted"]?.reason).toMatch(
      /^interrupted by its bound of 200 operations/,
    );
  });

  it("stops a seed at the same operation every time: same seed, same history, byte for byte", async () => {
    const [a, b] = [await boundedRun(150), await boundedRun(150)];
    expect(a.history).toBe(b.history);
    expect(a.history.length).toBeGreaterThan(0);
  });

  it("leaves a run under the bound as it was (the fixture is sound)", async () => {
    const { result } = await boundedRun(1_000_000);
    expect(result.results.interrupted).toBeUndefined();
    expect(result.results.valid).toBe(true);
    expect(countClientOperations(result.history)).toBeGreaterThan(200);
  });
});
