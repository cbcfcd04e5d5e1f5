/**
 * A run's throughput is over the run's length, not over the span of the few operations it did: a
 * 5 s run of the register workload at 0.1 operations a second did one read, answered in about 2
 * ms, and its stats said "496.1 ok/s" (1 ok over the read's own latency). Now the run's checkers
 * are told how long its test ran (CheckContext.testLengthNs): 0.2 ok/s over 5 s, in results.json,
 * report.txt and `faultline check` of the stored run alike; the same history checked away from its
 * run, whose length nothing then says, gives no rate at all rather than an invented one.
 */
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../harness/testkit.ts";
import { checkFile, parseCheckArgs } from "./check.ts";
import { executeRun } from "./execute.ts";
import { resolveRunConfig } from "./runConfig.ts";

const scratch = scratchFolders("stats-throughput");

async function sparseRun(workload: string, seed: number) {
  const config = resolveRunConfig([
    ...["--system", "memory", "--workload", workload, "--nemesis", "none"],
    ...["--rate", "0.1", "--time-limit", "5", "--seed", String(seed), "--quiet"],
  ]);
  if (config === "help") throw new Error("asked for help");
  return await executeRun({ ...config, store: scratch() });
}

async function check(path: string, ...args: string[]) {
  return await checkFile(path, await parseCheckArgs([path, ...args, "--json", "--quiet"]));
}

describe("a sparse run's throughput", () => {
  // register: the ordinary path; append: the streamed one (its stats gathered as the file streams).
  for (const [workload, seed] of [
    ["register", 4],
    ["append", 1],
  ] as const) {
    it(`${workload}: is over the run's 5 s, in the run and in check of the stored run; no rate away from it`, async () => {
      const result = await sparseRun(workload, seed);
      expect(result.results.checkers["run"]).toBeUndefined();
      const stats = result.results.checkers["stats"]!;
      const ok = Object.values(stats["byF"] as Record<string, { ok: number }>).reduce((n, s) => n + s.ok, 0);
      expect(ok).toBe(1);
      expect(stats["throughputSpanNs"]).toBe(5e9);
      expect(stats["throughputPerS"]).toBe(0.2);
      expect(stats.reason).toMatch(/, 0\.2 ok\/s,/);
      expect(readFileSync(join(result.storeDir, "report.txt"), "utf8")).toContain(
        "throughput 0.2 ok/s over 5.00 s;",
      );

      const stored = await check(join(result.storeDir, "history.jsonl"));
      expect(stored.results).toEqual(result.results);

      // Away from its run folder, the history alone cannot say how long the test ran.
      const alone = join(scratch(), "history.jsonl");
      copyFileSync(join(result.storeDir, "history.jsonl"), alone);
      const aloneStats = (await check(alone, "--workload", workload)).results?.checkers["stats"];
      expect(aloneStats?.["throughputPerS"]).toBeNull();
      expect(aloneStats?.reason).toMatch(/ ok in [\d.]+ ms \(too short a span for a rate\)/);
    });
  }
});
