/**
 * A gate's early decision per row (runRows' `EarlyDecision`): the same decision as judging the row
 * afresh whenever a seed's turn comes, for rows of up to 64 seeds, and a bounded number of
 * judgments for a row of any length (judging before every seed's start, each judgment a pass over
 * the row's seeds, made a gate of 100,000 seeds a row quadratic or worse).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Verdict } from "../../harness/results.ts";
import { rowDecided, type SeedRun } from "./judge.ts";
import { EarlyDecision } from "./runRows.ts";
import { seedRun } from "./testkit.ts";
import type { Expectation } from "./suite.ts";

const expectations: Expectation[] = [
  { kind: "finds", anomalies: [{ checker: "elle", anomaly: "G2-item" }], atLeast: 1 },
  { kind: "finds", anomalies: [{ checker: "elle", anomaly: "G2-item" }], atLeast: 3 },
  { kind: "finds", anomalies: [{ checker: "elle", anomaly: "G2-item" }], atLeast: "all" },
  { kind: "valid" },
];

describe("a gate row's early decision", () => {
  it("property: for up to 64 seeds, decided after each run exactly when judging it afresh decides it", () => {
    let decidedCount = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...expectations),
        fc.array(fc.tuple(fc.constantFrom<Verdict>(true, false, "unknown"), fc.boolean()), {
          minLength: 1,
          maxLength: 64,
        }),
        (expect_, outcomes) => {
          const row = { name: "r", expect: expect_ };
          const seeds = outcomes.map((_, i) => i + 1);
          const early = new EarlyDecision(row, seeds);
          const runs: SeedRun[] = [];
          for (const [i, [valid, found]] of outcomes.entries()) {
            // Once decided, the other seeds are not run: the decision is what the next turn sees.
            if (early.skipReason !== undefined) break;
            runs.push(seedRun(i + 1, valid, valid === false && found ? ["elle:G2-item"] : []));
            early.ended(runs.at(-1)!, runs);
            const fresh = rowDecided(row, runs, seeds.slice(i + 1));
            expect(early.skipReason !== undefined).toBe(fresh);
            if (fresh) {
              decidedCount++;
              expect(early.skipReason).toBe(
                `not run: seeds ${runs.map((r) => r.seed).join(", ")} decided the row`,
              );
            }
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(decidedCount).toBeGreaterThan(30);
  });

  it("judges a row of 10,000 seeds at most about 130 times, not once per seed", () => {
    const seeds = Array.from({ length: 10_000 }, (_, i) => i + 1);
    let judgments = 0;
    const early = new EarlyDecision({ name: "r", expect: expectations[0]! }, seeds, () => {
      judgments++;
      return false;
    });
    const runs: SeedRun[] = [];
    for (const seed of seeds) {
      runs.push(seedRun(seed, true, []));
      early.ended(runs.at(-1)!, runs);
    }
    expect(judgments).toBeGreaterThan(64);
    expect(judgments).toBeLessThanOrEqual(1 + 64 + 64);
  });
});
