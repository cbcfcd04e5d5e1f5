/**
 * The transaction table keeps micro-op values in one int32 column read by their kind: int32
 * numbers as they are, lists of numbers as a start in the list elements, anything else aside.
 * Whatever the value, the table gives it back exactly (`valueAt`, `microOpsOf`): numbers beyond
 * int32, fractions and -0 included.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Op } from "../../harness/history/op.ts";
import { MopValue, readTxns } from "./txns.ts";

/** Deep equality that tells -0 from 0 (toEqual would not catch a -0 read back as 0). */
function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null)
    return JSON.stringify(a) === JSON.stringify(b);
  return Object.is(a, b);
}

const txn = (index: number, type: Op["type"], value: unknown): Op =>
  ({ index, time: index, process: 0, type, f: "txn", value }) as Op;

describe("TxnTable values", () => {
  it("keeps int32 numbers in the column, and every other value exactly", () => {
    const values: unknown[] = [7, -3, 2 ** 31 - 1, 2 ** 31, 2 ** 40, 1.5, -0, 0, [1, 2], [1, "a"], null, "x"];
    const mops = values.map((v, i) => ["append", i, v]);
    const t = readTxns([txn(0, "invoke", mops), txn(1, "ok", mops)]);
    expect(values.map((_, i) => same(t.valueAt(i), values[i]))).toEqual(values.map(() => true));
    const kinds = [...t.mopValueKind];
    expect(kinds.slice(0, 3)).toEqual([MopValue.int, MopValue.int, MopValue.int]);
    // Beyond int32, a fraction and -0 are kept aside, not truncated into the int32 column.
    expect(kinds.slice(3, 7)).toEqual([MopValue.other, MopValue.other, MopValue.other, MopValue.other]);
    expect(kinds[7]).toBe(MopValue.int);
    expect(kinds[8]).toBe(MopValue.list);
    expect(t.mopValue[0]).toBe(7);
  });

  it("rebuilds any JSON micro-op value as it was given", () => {
    const value = fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(null, -0, 2 ** 53, "s"),
      fc.array(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), { maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 6 }), (values) => {
        const mops = values.map((v, i) => ["r", i, v]);
        const t = readTxns([txn(0, "invoke", mops), txn(1, "ok", mops)]);
        return same(t.microOpsOf(0), mops);
      }),
      { seed: 17, numRuns: 200 },
    );
  });
});
