/**
 * Every history of ../shared/corpus, checked and compared with its expected verdict
 * (expected.json): Porcupine's etcd logs (cas-register from nil), its kv logs split by key and
 * unsplit, and Knossos's cas-register (--init 0), multi-register (--init {"x":0,"y":0}) and
 * mutex histories.
 *
 * One deliberate difference: a history with no completed client operation (Knossos's
 * `mongodb-v0-ack-rollback-.edn` holds only nemesis operations) is "unknown" here, where Knossos
 * calls it linearizable: nothing was checked, and a gate must not pass on nothing. So is one whose
 * every operation failed (`mongodb-v0-ack-rollback-9`, `-10`, `-11`): a failed operation did not
 * happen, so there too nothing was left to check.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nothingToCheck } from "../../harness/history/op.ts";
import { readHistoryFile } from "../../harness/history/read.ts";
import type { LinearizableCheckOptions } from "./index.ts";
import { checkLinearizableHistory } from "./index.ts";
import { hasKnownResult } from "./testHistory.ts";

const corpus = join(import.meta.dirname, "../../../shared/corpus");
const expected = existsSync(join(corpus, "expected.json"))
  ? (JSON.parse(readFileSync(join(corpus, "expected.json"), "utf8")) as Record<
      string,
      Record<string, boolean>
    >)
  : {};

function optionsFor(dir: string, file: string): LinearizableCheckOptions {
  if (dir === "knossos") {
    if (file.startsWith("cas-register/")) return { model: "cas-register", init: 0 };
    if (file.startsWith("multi-register/")) return { model: "multi-register", init: { x: 0, y: 0 } };
    return { model: "mutex" };
  }
  return dir.endsWith("kv") ? { model: "kv" } : { model: "cas-register" };
}

/**
 * The unsplit 50-client kv histories are beyond any exhaustive search we know of (Porcupine's
 * tests check them only split by key): within a small budget the only acceptable answers there
 * are the expected one or "unknown", never the wrong one.
 */
const undecidableUnsplit = new Set(["c50-ok.txt", "c50-bad.txt"]);

describe.skipIf(Object.keys(expected).length === 0)("the shared corpus", () => {
  for (const [dir, files] of Object.entries(expected)) {
    it(`${dir}: every history gets its expected verdict`, async () => {
      const mismatches: string[] = [];
      for (const [file, want] of Object.entries(files)) {
        const { ops } = await readHistoryFile(join(corpus, dir, file));
        const options = optionsFor(dir, file);
        const result = checkLinearizableHistory(ops, options);
        const empty = nothingToCheck(ops);
        if (empty !== undefined) {
          if (result.valid !== "unknown" || result.reason !== empty)
            mismatches.push(`${file}: nothing to check, expected unknown, got ${String(result.valid)}`);
          continue;
        }
        if (!hasKnownResult(ops)) {
          if (result.valid !== "unknown" || !result.reason!.startsWith("no operation with a known result"))
            mismatches.push(
              `${file}: no operation with a known result, expected unknown, got ${String(result.valid)}`,
            );
          continue;
        }
        if (result.valid !== want)
          mismatches.push(`${file}: expected ${want}, got ${String(result.valid)} (${result.reason})`);
        if (dir.endsWith("kv")) {
          const budget = undecidableUnsplit.has(file) ? { timeLimitMs: 1_000 } : undefined;
          const whole = checkLinearizableHistory(ops, { ...options, partition: false, budget });
          const acceptable = undecidableUnsplit.has(file) ? [want, "unknown"] : [want];
          if (!acceptable.includes(whole.valid)) {
            mismatches.push(
              `${file} unsplit: expected ${want}, got ${String(whole.valid)} (${whole.reason})`,
            );
          }
        }
      }
      expect(mismatches).toEqual([]);
    });
  }

  it("explains a violation in the etcd logs with its op, prefix and states", async () => {
    const { ops } = await readHistoryFile(join(corpus, "porcupine/jepsen/etcd_000.log"));
    const result = checkLinearizableHistory(ops, { model: "cas-register" });
    expect(result.valid).toBe(false);
    const [violation] = (result.anomalies?.["nonlinearizable"] ?? []) as readonly Record<string, unknown>[];
    expect(violation).toBeDefined();
    const op = violation!["op"] as { index: number; completeIndex: number };
    expect(ops[op.index]!.type).toBe("invoke");
    expect(ops[op.completeIndex]!.process).toBe(ops[op.index]!.process);
    expect((violation!["statesMet"] as unknown[]).length).toBeGreaterThan(0);
    for (const index of violation!["prefix"] as number[]) expect(ops[index]!.type).toBe("invoke");
    expect(violation!["explanation"]).toContain("cannot be placed");
  });
});
