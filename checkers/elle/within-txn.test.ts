import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { MicroOp, Op } from "../../harness/history/op.ts";
import { concurrentHistory, serialHistory, type TxnSpec } from "./fixtures.ts";
import { checkElleHistory } from "./index.ts";
import { withinTxnPaths } from "./list-append.ts";

/**
 * The within-transaction checks (internal, future-read, lost-update) have two paths: the numeric
 * one, over the table's columns, for transactions of int appends and number-list reads, and the
 * general one, over rebuilt micro-ops, for everything. Held to one another on histories made to
 * break them: few keys and values, so reads that contradict their own transaction's appends,
 * reads that show its later appends, and transactions that read one version and append to it
 * are common; now and then a value that is no number (the general path's case) and a transaction
 * too large for the numeric path.
 */
const keys = fc.constantFrom<string | number>("x", "y", 3);
const value = fc.integer({ min: 1, max: 6 });
const oddValue = fc.oneof({ weight: 12, arbitrary: value }, { weight: 1, arbitrary: fc.constant("s") });
const microOp: fc.Arbitrary<MicroOp> = fc.oneof(
  fc.tuple(fc.constant("append" as const), keys, oddValue),
  fc.tuple(fc.constant("r" as const), keys, fc.constant(null)),
  fc.tuple(fc.constant("r" as const), keys, fc.array(oddValue, { maxLength: 5 })),
);
const txn: fc.Arbitrary<TxnSpec> = fc.tuple(
  fc.integer({ min: 0, max: 3 }),
  fc.oneof(
    { weight: 20, arbitrary: fc.array(microOp, { minLength: 2, maxLength: 7 }) },
    { weight: 1, arbitrary: fc.array(microOp, { minLength: 33, maxLength: 36 }) },
  ),
  fc.constantFrom<"ok" | "ok" | "fail" | "info">("ok", "ok", "ok", "fail", "info"),
);
const histories: fc.Arbitrary<Op[]> = fc
  .tuple(fc.boolean(), fc.array(txn, { minLength: 1, maxLength: 12 }))
  .map(([serial, txns]) => (serial ? serialHistory(txns) : concurrentHistory(txns)));

const check = (history: Op[]) =>
  checkElleHistory(history, { workload: "append", model: "strict-serializable" });

function generalCheck(history: Op[]): ReturnType<typeof check> {
  withinTxnPaths.numeric = false;
  try {
    return check(history);
  } finally {
    withinTxnPaths.numeric = true;
  }
}

describe("within-transaction checks: the numeric path", () => {
  afterEach(() => {
    withinTxnPaths.numeric = true;
  });

  it("finds what the general path finds, in the same words and order", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(histories, (history) => {
        let numeric: ReturnType<typeof check> | undefined;
        let numericError: unknown;
        try {
          numeric = check(history);
        } catch (error) {
          numericError = error;
        }
        let general: ReturnType<typeof check> | undefined;
        let generalError: unknown;
        try {
          general = generalCheck(history);
        } catch (error) {
          generalError = error;
        }
        expect(numeric).toEqual(general);
        expect(String(numericError)).toEqual(String(generalError));
        for (const a of Object.keys(numeric?.anomalyCounts ?? {})) seen.add(a);
      }),
      { numRuns: 400, seed: 17 },
    );
    // The histories did make both paths report each class they check.
    expect([...seen]).toEqual(expect.arrayContaining(["internal", "future-read", "lost-update"]));
  });

  it("a read that contradicts the transaction's own append is internal on both paths", () => {
    const history = serialHistory([
      [
        0,
        [
          ["r", "x", [1]],
          ["append", "x", 2],
          ["r", "x", [1, 3]],
        ],
      ],
      [1, [["append", "x", 1]]],
    ]);
    for (const result of [check(history), generalCheck(history)]) {
      expect(result.anomalyTypes).toContain("internal");
      const text = (result.anomalies?.["internal"] ?? [])[0]?.explanation;
      expect(text).toContain("= [1,3] at micro-op 2, but its own earlier micro-ops imply [1,2]");
    }
  });
});
