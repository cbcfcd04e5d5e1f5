import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SeededRandom } from "./random.ts";

describe("SeededRandom", () => {
  it("gives the same stream for the same seed and label, another for another", () => {
    const draw = (seed: number, label = "") => {
      const r = new SeededRandom(seed, label);
      return Array.from({ length: 20 }, () => r.int(1_000_000));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(draw(7, "a")).not.toEqual(draw(7, "b"));
  });

  it("stays in range", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
        const r = new SeededRandom(seed);
        for (let i = 0; i < 50; i++) {
          const x = r.int(n);
          expect(x >= 0 && x < n && Number.isInteger(x)).toBe(true);
          const f = r.float();
          expect(f >= 0 && f < 1).toBe(true);
        }
      }),
    );
  });

  it("has a roughly uniform mean", () => {
    const r = new SeededRandom(42);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) sum += r.float();
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.01);
  });

  it("forks streams that do not depend on how much the parent drew", () => {
    const a = new SeededRandom(3);
    const b = new SeededRandom(3);
    b.float();
    expect(a.fork("n1").int(1e9)).toBe(b.fork("n1").int(1e9));
  });
});
