/**
 * The shrinking search on its own, with a stand-in for running (a predicate over the knobs): it
 * replays the original first, finds the smallest failing knobs of a monotone failure exactly, keeps
 * only candidates that fail, and stops at its attempt and time budgets with the best found so far.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { shrinkKnobs, type Knobs } from "./shrinkSearch.ts";

const original: Knobs = {
  timeLimitDs: 600,
  windows: ["crash:1", "partition:1", "crash:2", "partition:2", "partition:3", "crash:3"],
  concurrency: 10,
  rate: 100,
  keys: 5,
};

describe("shrinking the knobs of a failing run", () => {
  it("finds the least failing knobs of a monotone failure, trying the original first", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.subarray([...original.windows], { minLength: 1, maxLength: 2 }),
        fc.integer({ min: 10, max: 600 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 100 }),
        async (needed, minDs, minWorkers, minRate) => {
          const seen: Knobs[] = [];
          const fails = async (k: Knobs) => {
            seen.push(k);
            return (
              needed.every((w) => k.windows.includes(w)) &&
              k.timeLimitDs >= minDs &&
              k.concurrency >= minWorkers &&
              k.rate >= minRate
            );
          };
          const result = await shrinkKnobs(original, fails, { maxAttempts: 10_000, timeBudgetMs: 1e9 });
          expect(seen[0]).toEqual(original);
          expect(result.originalFailed).toBe(true);
          expect(result.stoppedBy).toBe("exhausted");
          expect(result.smallest).toEqual({
            windows: needed,
            timeLimitDs: Math.ceil(minDs / 10) * 10, // a whole-second original moves in whole seconds
            concurrency: minWorkers,
            rate: minRate,
            keys: 1,
          });
          expect(result.attempts).toBe(seen.length);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("moves the time limit in tenths of a second when the original has tenths", async () => {
    const result = await shrinkKnobs({ ...original, timeLimitDs: 605 }, async (k) => k.timeLimitDs >= 123, {
      maxAttempts: 1000,
      timeBudgetMs: 1e9,
    });
    expect(result.smallest.timeLimitDs).toBe(123);
  });

  it("returns the original, unshrunk, when its replay does not fail", async () => {
    const result = await shrinkKnobs(original, async () => false, { maxAttempts: 100, timeBudgetMs: 1e9 });
    expect(result).toEqual({
      smallest: original,
      originalFailed: false,
      attempts: 1,
      stoppedBy: "exhausted",
    });
  });

  it("stops at the attempt budget and at the time budget, with a candidate that did fail", async () => {
    const fails = async (k: Knobs) => k.timeLimitDs >= 77;
    const byAttempts = await shrinkKnobs(original, fails, { maxAttempts: 4, timeBudgetMs: 1e9 });
    expect(byAttempts.stoppedBy).toBe("attempts");
    expect(byAttempts.attempts).toBe(4);
    expect(await fails(byAttempts.smallest)).toBe(true);
    let now = 0;
    const byTime = await shrinkKnobs(
      original,
      async (k) => {
        now += 1000;
        return fails(k);
      },
      { maxAttempts: 1000, timeBudgetMs: 5000, nowMs: () => now },
    );
    expect(byTime.stoppedBy).toBe("time");
    expect(byTime.attempts).toBe(5);
    expect(await fails(byTime.smallest)).toBe(true);
  });

  it("shrinks only what a run has: no keys knob for a workload without keys", async () => {
    const { keys: _keys, ...noKeys } = original;
    const result = await shrinkKnobs(noKeys, async (k) => k.rate > 50, {
      maxAttempts: 1000,
      timeBudgetMs: 1e9,
    });
    expect(result.smallest).toEqual({ timeLimitDs: 10, windows: [], concurrency: 1, rate: 51 });
  });
});
