import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { MicroOp, Op } from "../../harness/history/op.ts";
import { serialHistory, type TxnSpec } from "./fixtures.ts";
import { checkElleHistory } from "./index.ts";
import { ownOrderPaths } from "./list-append.ts";

/**
 * A transaction's own appends to one key keep their order: each key's longest read is checked
 * for that by the table's positions when it is the key's order (no repeats), else element by
 * element (`checkOwnAppendOrder`). Held to one another on histories made to break the order:
 * transactions that append to a key two or three times, and reads of a few of the values appended
 * so far in any order, now and then with a repeat or a value nobody appended. Some values are
 * strings, and some lists (a list read back is a new list, but the same value).
 */
const keys = fc.constantFrom<string | number>("x", "y", 3);
type Planned = readonly ["append", string | number] | readonly ["r", string | number, readonly number[]];
const planned: fc.Arbitrary<Planned> = fc.oneof(
  fc.tuple(fc.constant("append" as const), keys),
  fc.tuple(fc.constant("r" as const), keys, fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 8 })),
);
const txn = fc.tuple(
  fc.integer({ min: 0, max: 3 }),
  fc.array(planned, { minLength: 1, maxLength: 6 }),
  fc.constantFrom<"ok" | "fail" | "info">("ok", "ok", "ok", "ok", "fail", "info"),
);
/** Value n as appended and read: n, or now and then a list or a string. */
const shown = (n: number): unknown => (n % 3 === 0 ? [n] : n % 7 === 0 ? `s${n}` : n);
/** Appends take the values 1, 2, 3, … of their key in history order (unique per key). */
const histories: fc.Arbitrary<Op[]> = fc.array(txn, { minLength: 1, maxLength: 14 }).map((txns) => {
  const next = new Map<string | number, number>();
  const specs: TxnSpec[] = txns.map(([process, ops, type]) => {
    const mops: MicroOp[] = ops.map((op): MicroOp => {
      if (op[0] === "r") return ["r", op[1], op[2].map(shown)];
      const v = (next.get(op[1]) ?? 0) + 1;
      next.set(op[1], v);
      return ["append", op[1], shown(v)];
    });
    return [process, mops, type];
  });
  return serialHistory(specs);
});

const check = (history: Op[]) =>
  checkElleHistory(history, { workload: "append", model: "strict-serializable" });

function elementwiseCheck(history: Op[]): ReturnType<typeof check> {
  ownOrderPaths.placed = false;
  try {
    return check(history);
  } finally {
    ownOrderPaths.placed = true;
  }
}

describe("a key's longest read against its transactions' own orders", () => {
  afterEach(() => {
    ownOrderPaths.placed = true;
  });

  it("finds by the table's positions what the element-by-element check finds, in the same words", () => {
    let breaks = 0;
    fc.assert(
      fc.property(histories, (history) => {
        const placed = check(history);
        expect(placed).toEqual(elementwiseCheck(history));
        const cases = placed.anomalies?.["incompatible-order"] ?? [];
        if (cases.some((c) => c.explanation.startsWith("A read of key"))) breaks++;
      }),
      { numRuns: 300, seed: 5 },
    );
    // The histories did break transactions' own orders in the longest reads, often.
    expect(breaks).toBeGreaterThan(20);
  });

  it("an appended list read back is the same value: its transaction's order is kept or broken by value", () => {
    // A list read back is a new list each time; the appended [1] and the [1] a read shows are one
    // value all the same. Before, [[1], 2] was incompatible-order: "2 appears without [1]".
    const appendsThen = (first: unknown, second: unknown, read: unknown[]) =>
      serialHistory([
        [
          0,
          [
            ["append", "x", first],
            ["append", "x", second],
          ],
        ],
        [1, [["r", "x", read]]],
      ]);
    const cases: [history: Op[], explanation: string | undefined][] = [
      [appendsThen([1], 2, [[1], 2]), undefined],
      [appendsThen(1, [2], [1, [2]]), undefined],
      [appendsThen({ a: 1, b: 2 }, 3, [{ b: 2, a: 1 }, 3]), undefined],
      [appendsThen([1], 2, [2, [1]]), "appended [1] before 2 to it: 2 appears first"],
      [appendsThen([1], 2, [2]), "appended [1] before 2 to it: 2 appears without [1]"],
      [appendsThen(1, [2], [[2], 1]), "appended 1 before [2] to it: [2] appears first"],
      [appendsThen(1, [2], [[2]]), "appended 1 before [2] to it: [2] appears without 1"],
    ];
    for (const [history, explanation] of cases) {
      for (const result of [check(history), elementwiseCheck(history)]) {
        const found = result.anomalies?.["incompatible-order"] ?? [];
        if (explanation === undefined) expect(result.valid, JSON.stringify(found)).toBe(true);
        else expect(found[0]?.explanation).toContain(explanation);
      }
    }
  });

  it("a longest read showing a transaction's second append before its first is incompatible-order", () => {
    const history = serialHistory([
      [
        0,
        [
          ["append", "x", 1],
          ["append", "x", 2],
        ],
      ],
      [1, [["r", "x", [2, 1]]]],
    ]);
    for (const result of [check(history), elementwiseCheck(history)]) {
      const text = (result.anomalies?.["incompatible-order"] ?? [])[0]?.explanation;
      expect(text).toContain('A read of key "x" returned [2,1], but');
      expect(text).toContain("appended 1 before 2 to it: 2 appears first");
    }
  });
});
