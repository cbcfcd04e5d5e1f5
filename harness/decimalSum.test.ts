import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decimalSum } from "./decimalSum.ts";

describe("decimalSum", () => {
  it("adds decimals as written, not as doubles", () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(decimalSum([0.1, 0.2])).toBe(0.3);
    expect(decimalSum([10.1, 20.2, -0.3])).toBe(30);
    expect(decimalSum([1e-7, 2e-7])).toBe(3e-7);
    expect(decimalSum([1.5e21, 1])).toBe(1.5e21 + 1);
    expect(decimalSum([])).toBe(0);
    expect(decimalSum([3, 4, -2])).toBe(5);
    expect(decimalSum([Number.MAX_SAFE_INTEGER, 2])).toBe(Number.MAX_SAFE_INTEGER + 2);
    expect(decimalSum([Infinity, 1])).toBe(Infinity);
    expect(Number.isNaN(decimalSum([NaN, 1]))).toBe(true);
  });

  it("gives the same sum for any split of one amount in cents (property)", () => {
    // A bank total split across accounts in cents, read back as decimals: every split sums the same.
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1_000_000, max: 1_000_000 }), { minLength: 1, maxLength: 8 }),
        (cents) => {
          const total = cents.reduce((a, b) => a + b, 0);
          expect(decimalSum(cents.map((c) => c / 100))).toBe(total / 100);
          expect(decimalSum(cents)).toBe(total);
        },
      ),
      { numRuns: 500 },
    );
  });
});
