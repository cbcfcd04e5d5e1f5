/**
 * A history with no completed client operation (an empty file, blank lines, an empty EDN vector,
 * a lone invocation, nemesis operations alone) gives a checker nothing to check: every checker
 * answers "unknown" with the reason, never "valid".
 */
import { describe, expect, it } from "vitest";
import type { Op } from "../harness/history/op.ts";
import { nothingToCheck } from "../harness/history/op.ts";
import type { CheckResult } from "../harness/results.ts";
import { checkBankHistory } from "./bank/index.ts";
import { checkElleHistory } from "./elle/index.ts";
import { checkLinearizableHistory } from "./linearizable/index.ts";
import { checkSetFullHistory } from "./set-full/index.ts";
import { checkStatsHistory } from "./stats/index.ts";

const loneInvoke: Op[] = [
  { index: 0, time: 0, process: 0, type: "invoke", f: "txn", value: [["r", "x", null]] },
];
const nemesisOnly: Op[] = [
  { index: 0, time: 0, process: "nemesis", type: "info", f: "start-partition", value: "majority" },
  { index: 1, time: 5, process: "nemesis", type: "info", f: "stop-partition", value: null },
];
const histories: Record<string, Op[]> = {
  empty: [],
  "a lone invocation": loneInvoke,
  "nemesis only": nemesisOnly,
};

const checkers: Record<string, (history: readonly Op[]) => CheckResult> = {
  "elle append": (h) => checkElleHistory(h, { workload: "append", model: "strict-serializable" }),
  "elle rw-register": (h) => checkElleHistory(h, { workload: "rw-register", model: "serializable" }),
  "linearizable cas-register": (h) => checkLinearizableHistory(h, { model: "cas-register", init: null }),
  bank: (h) => checkBankHistory(h, { accounts: [0, 1], total: 10 }),
  "set-full": (h) => checkSetFullHistory(h),
  stats: (h) => checkStatsHistory(h),
};

describe("a history with nothing to check", () => {
  for (const [name, check] of Object.entries(checkers)) {
    it(`is unknown, with the reason, for ${name}`, () => {
      for (const [what, history] of Object.entries(histories)) {
        const result = check(history);
        expect(result.valid, `${name} on ${what}`).toBe("unknown");
        expect(result.reason, `${name} on ${what}`).toBe(nothingToCheck(history));
      }
    });
  }

  it("says what the history held", () => {
    expect(nothingToCheck([])).toContain("empty");
    expect(nothingToCheck(loneInvoke)).toContain("1 invocation");
    expect(nothingToCheck(nemesisOnly)).toContain("2 nemesis operations");
    expect(nothingToCheck([...loneInvoke, { ...loneInvoke[0]!, index: 1, type: "ok" }])).toBeUndefined();
  });
});
