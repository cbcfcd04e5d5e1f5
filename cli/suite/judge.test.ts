/**
 * Judging rows: a seed finds a row's bug exactly when its verdict is false and the row's checker
 * reported one of its classes; a row holds, fails or is unknown by counting such seeds against
 * what it needs, undecided seeds never counting for it (properties over random seed outcomes).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Results, Verdict } from "../../harness/results.ts";
import { detected, judgeRow, reportedClasses, rowDecided, seedsNeeded, type SeedRun } from "./judge.ts";
import { seedRun } from "./testkit.ts";
import type { Expectation } from "./suite.ts";

const finds = (atLeast: number | "all" | undefined, rate?: number): Expectation => ({
  kind: "finds",
  anomalies: [
    { checker: "elle", anomaly: "G2-item" },
    { checker: "bank", anomaly: "wrong-total" },
  ],
  ...(atLeast !== undefined ? { atLeast } : {}),
  ...(rate !== undefined ? { rate } : {}),
});

const verdict = fc.constantFrom<Verdict>(true, false, "unknown");
const classes = fc.uniqueArray(
  fc.constantFrom("elle:G2-item", "bank:G2-item", "elle:wrong-total", "bank:wrong-total", "set-full:lost"),
  { maxLength: 4 },
);
const runs = fc
  .array(fc.tuple(verdict, classes, fc.boolean()), { minLength: 1, maxLength: 12 })
  .map((xs) =>
    xs.map(([v, c, broken], i) => seedRun(i + 1, broken ? "unknown" : v, c, broken ? "boom" : undefined)),
  );

describe("a seed", () => {
  it("finds the bug exactly when its verdict is false and the row's own checker reported one of its classes", () => {
    fc.assert(
      fc.property(verdict, classes, (valid, reported) => {
        const expected =
          valid === false && (reported.includes("elle:G2-item") || reported.includes("bank:wrong-total"));
        expect(detected(finds(1), seedRun(1, valid, reported))).toBe(expected);
      }),
    );
  });

  it("reads classes from cases and from counts alone, never from an empty class", () => {
    const results: Results = {
      valid: false,
      checkers: {
        bank: { valid: false, anomalyCounts: { "wrong-total": 3, other: 0 } },
        elle: { valid: false, anomalies: { "G2-item": [{ explanation: "x" }], G0: [] } },
      },
    };
    expect(reportedClasses(results)).toEqual(["bank:wrong-total", "elle:G2-item"]);
  });
});

describe("a row", () => {
  it("expecting finds: holds with enough finding seeds, fails when even the undecided could not make it up, else unknown", () => {
    const expectation = fc.oneof(
      fc.integer({ min: 1, max: 12 }).map((k) => finds(k)),
      fc.constant(finds("all")),
      fc.double({ min: 0.01, max: 1, noNaN: true }).map((p) => finds(undefined, p)),
    );
    fc.assert(
      fc.property(expectation, runs, (drawn, seeds) => {
        // A suite refuses at-least above its seed count (suite.test.ts): so is it drawn here.
        const expect_ =
          drawn.kind === "finds" && typeof drawn.atLeast === "number"
            ? finds(Math.min(drawn.atLeast, seeds.length))
            : drawn;
        const judgment = judgeRow({ name: "r", expect: expect_ }, seeds);
        const caught = seeds.filter((r) => r.error === undefined && detected(expect_, r)).length;
        const undecided = seeds.filter((r) => r.valid === "unknown").length;
        const needed = seedsNeeded(expect_, seeds.length);
        const want = caught >= needed ? "holds" : caught + undecided >= needed ? "unknown" : "fails";
        expect(judgment.verdict).toBe(want);
        expect(judgment.good).toBe(caught);
        if (want !== "holds") expect(judgment.badSeeds.length).toBeGreaterThan(0);
      }),
    );
  });

  it("expecting valid: fails on any false verdict, else unknown on any undecided seed, else holds", () => {
    fc.assert(
      fc.property(runs, (seeds) => {
        const judgment = judgeRow({ name: "r", expect: { kind: "valid" } }, seeds);
        const want = seeds.some((r) => r.valid === false)
          ? "fails"
          : seeds.some((r) => r.valid === "unknown")
            ? "unknown"
            : "holds";
        expect(judgment.verdict).toBe(want);
        // Every seed that counts against the row is named, with its reproduce command.
        expect(judgment.badSeeds.map((r) => r.seed)).toEqual(
          seeds.filter((r) => r.valid !== true).map((r) => r.seed),
        );
      }),
    );
  });

  it("needs ⌈rate·n⌉ seeds for a rate, all of them for all", () => {
    expect(seedsNeeded(finds(undefined, 0.5), 3)).toBe(2);
    expect(seedsNeeded(finds(undefined, 0.3), 10)).toBe(3);
    expect(seedsNeeded(finds(undefined, 0.01), 10)).toBe(1);
    expect(seedsNeeded(finds("all"), 7)).toBe(7);
    expect(seedsNeeded(finds(2), 7)).toBe(2);
  });

  it("a todo row is skipped, whatever its seeds showed", () => {
    const judgment = judgeRow({ name: "r", expect: { kind: "valid" }, todo: "not built" }, [
      seedRun(1, false, []),
    ]);
    expect(judgment.verdict).toBe("skipped");
  });
});

describe("deciding a row early (a gate's skipped seeds)", () => {
  const expectation = fc.oneof(
    fc.constant<Expectation>({ kind: "valid" }),
    fc.integer({ min: 1, max: 4 }).map((k) => finds(k)),
    fc.constant(finds("all")),
    fc.double({ min: 0.01, max: 1, noNaN: true }).map((p) => finds(undefined, p)),
  );
  const notRun = (run: SeedRun): SeedRun => ({ ...run, valid: "unknown", reported: [], notRun: "decided" });

  it("decides only when no outcome of the other seeds could change the verdict, and the verdict is that one", () => {
    let decidedCount = 0;
    fc.assert(
      fc.property(
        expectation,
        runs,
        fc.integer({ min: 0, max: 12 }),
        runs,
        (drawn, seeds, doneCount, other) => {
          const expect_ =
            drawn.kind === "finds" && typeof drawn.atLeast === "number"
              ? finds(Math.min(drawn.atLeast, seeds.length))
              : drawn;
          const row = { name: "r", expect: expect_ };
          const done = seeds.slice(0, doneCount);
          const rest = seeds.slice(doneCount);
          const decided = rowDecided(
            row,
            done,
            rest.map((r) => r.seed),
          );
          // The rest as they were, or as other seeds showed: a decided row's verdict is the same for both,
          // and the same as when the rest were never run.
          const alternative = rest.map((r, i) => ({ ...(other[i % other.length] ?? r), seed: r.seed }));
          const asRun = judgeRow(row, seeds).verdict;
          const asOther = judgeRow(row, [...done, ...alternative]).verdict;
          const skipped = judgeRow(row, [...done, ...rest.map(notRun)]);
          if (decided) {
            decidedCount++;
            expect(asRun).toBe(skipped.verdict);
            expect(asOther).toBe(skipped.verdict);
            expect(skipped.verdict === "holds" || skipped.verdict === "fails").toBe(true);
          }
          if (rest.length === 0) expect(decided).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
    // The property said something: many of the drawn rows were decided early.
    expect(decidedCount).toBeGreaterThan(50);
  });

  it("a seed not run counts for nothing: not good, not bad, named in what was found", () => {
    const row = { name: "r", expect: finds(1) };
    const judgment = judgeRow(row, [seedRun(1, false, ["elle:G2-item"]), notRun(seedRun(2, true, []))]);
    expect(judgment).toMatchObject({ verdict: "holds", good: 1, undecided: 0, notRun: 1, seeds: 2 });
    expect(judgment.badSeeds).toEqual([]);
    expect(judgment.found).toBe("found on 1 of 2 (seeds 1), 1 not run (decided by the others)");
    // Seeds not run can never make a row hold or fail: only the ones that ran do.
    expect(judgeRow({ name: "r", expect: { kind: "valid" } }, [notRun(seedRun(1, true, []))]).verdict).toBe(
      "unknown",
    );
    expect(judgeRow(row, [seedRun(1, true, []), notRun(seedRun(2, true, []))]).verdict).toBe("unknown");
    // A valid row decided by a false alarm; a bug row that found nothing is not decided while a seed is left.
    expect(rowDecided({ name: "r", expect: { kind: "valid" } }, [seedRun(1, false, [])], [2, 3])).toBe(true);
    expect(rowDecided({ name: "r", expect: { kind: "valid" } }, [seedRun(1, true, [])], [2])).toBe(false);
    expect(rowDecided(row, [seedRun(1, true, [])], [2])).toBe(false);
    expect(rowDecided(row, [seedRun(1, false, ["bank:wrong-total"])], [2])).toBe(true);
    expect(rowDecided({ ...row, todo: "later" }, [seedRun(1, false, ["bank:wrong-total"])], [2])).toBe(false);
  });
});
