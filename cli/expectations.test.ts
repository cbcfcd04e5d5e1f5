/**
 * The expectation matrix in CI: every row of cli/expectations.ts runs through `faultline run`
 * (in-process, simulated, short) over its fixed seeds. An invalid row must end `false` with one of
 * its anomaly classes reported, in every seed or in at least one (as the row says); a valid row
 * must be valid in every seed. Rows the engine cannot run yet are `todo`, with the reason.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckResult, Results } from "../harness/results.ts";
import { engineBugNames } from "../systems/engine/cluster/system.ts";
import {
  describeOutcomes,
  detected,
  expectationRows,
  falseAlarm,
  foundClasses,
  outcomeOf,
  runRow,
  type ExpectationRow,
  type SeedOutcome,
} from "./expectations.ts";
import { executeRun } from "./execute.ts";
import { nemesisNames } from "./registry.ts";
import { resolveRunConfig } from "./run.ts";

let store = "";
beforeAll(() => {
  store = mkdtempSync(join(tmpdir(), "faultline-matrix-"));
});
afterAll(() => {
  rmSync(store, { recursive: true, force: true });
});

async function outcomes(row: ExpectationRow): Promise<SeedOutcome[]> {
  const all: SeedOutcome[] = [];
  for (const seed of row.seeds) {
    const run = await runRow(row, seed, { store });
    all.push(outcomeOf(row, seed, run));
    rmSync(run.storeDir, { recursive: true, force: true });
  }
  return all;
}

const rowTimeoutMs = 120_000;

describe("the expectation matrix", () => {
  for (const row of expectationRows) {
    const title = `${row.id}: ${row.claim}`;
    if (row.todo !== undefined) {
      it.todo(`${title} (not yet: ${row.todo})`);
      continue;
    }
    if (row.expectValid) {
      it(
        `${title}; seeds ${row.seeds.join(", ")} all valid`,
        async () => {
          const seen = await outcomes(row);
          expect(seen.filter(falseAlarm), describeOutcomes(seen)).toEqual([]);
        },
        rowTimeoutMs,
      );
    } else {
      const how = row.catchIn === "every" ? "every seed" : "at least one seed";
      it(
        `${title}; caught in ${how} of ${row.seeds.join(", ")}`,
        async () => {
          const seen = await outcomes(row);
          const caught = seen.filter(detected);
          if (row.catchIn === "every") expect(caught.length, describeOutcomes(seen)).toBe(seen.length);
          else expect(caught.length, describeOutcomes(seen)).toBeGreaterThan(0);
        },
        rowTimeoutMs,
      );
    }
  }
});

describe("the table itself", () => {
  it("has unique ids, and every invalid row names the classes that must be reported", () => {
    const ids = expectationRows.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const row of expectationRows) {
      expect(row.seeds.length, row.id).toBeGreaterThan(0);
      if (!row.expectValid) expect(row.anomalies?.length ?? 0, row.id).toBeGreaterThan(0);
    }
  });

  it("covers every engine bug knob and the memory system under every nemesis", () => {
    const bugsWithRows = new Set(
      expectationRows.filter((r) => r.source === "bug").map((r) => r.args[r.args.indexOf("--bug") + 1]),
    );
    expect([...bugsWithRows].sort()).toEqual(Object.keys(engineBugNames).sort());
    const memoryNemeses = new Set(
      expectationRows
        .filter((r) => r.source === "memory")
        .map((r) => r.args[r.args.indexOf("--nemesis") + 1]),
    );
    for (const nemesis of nemesisNames) expect(memoryNemeses, nemesis).toContain(nemesis);
  });

  it("names system, workload and nemesis in every row, so a change of defaults cannot move the matrix", () => {
    for (const row of expectationRows) {
      for (const option of ["--system", "--workload", "--nemesis"])
        expect(row.args, row.id).toContain(option);
    }
  });

  it("holds only arguments `faultline run` accepts", () => {
    for (const row of expectationRows) {
      expect(() => resolveRunConfig([...row.args, "--seed", "1"]), row.id).not.toThrow();
    }
  });
});

describe("judging a seed", () => {
  const row: ExpectationRow = {
    id: "t",
    source: "design",
    claim: "t",
    args: [],
    expectValid: false,
    anomalies: [
      { checker: "elle", anomaly: "G2-item" },
      { checker: "bank", anomaly: "wrong-total" },
    ],
    seeds: [1],
  };
  const run = (results: Results) => ({
    results,
    storeDir: "",
    history: [],
    aborted: false,
    reproduceCommand: "npx faultline run",
    unwritten: [],
  });
  const verdict = fc.constantFrom<CheckResult["valid"]>(true, false, "unknown");
  const classes = fc.uniqueArray(fc.constantFrom("G2-item", "G1a", "wrong-total", "lost"), { maxLength: 4 });

  it("counts a seed as caught exactly when the verdict is false and an expected class is reported by its checker", () => {
    fc.assert(
      fc.property(verdict, classes, classes, (valid, elleClasses, bankClasses) => {
        const checkers: Record<string, CheckResult> = {
          elle: { valid, anomalies: Object.fromEntries(elleClasses.map((a) => [a, [{ explanation: a }]])) },
          bank: { valid, anomalies: Object.fromEntries(bankClasses.map((a) => [a, [{ explanation: a }]])) },
        };
        const outcome = outcomeOf(row, 1, run({ valid, checkers }));
        const expected =
          valid === false && (elleClasses.includes("G2-item") || bankClasses.includes("wrong-total"));
        expect(detected(outcome)).toBe(expected);
        // A class reported by another checker than the row names does not count.
        const swapped = outcomeOf(
          row,
          1,
          run({ valid, checkers: { elle: checkers.bank!, bank: checkers.elle! } }),
        );
        expect(detected(swapped)).toBe(
          valid === false && (bankClasses.includes("G2-item") || elleClasses.includes("wrong-total")),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("counts a class reported only by its count, and treats unknown as a false alarm on a valid row", () => {
    const results: Results = {
      valid: false,
      checkers: { bank: { valid: false, anomalyCounts: { "wrong-total": 3 } } },
    };
    expect(foundClasses(results, row.anomalies!)).toEqual([{ checker: "bank", anomaly: "wrong-total" }]);
    const valid = { ...row, expectValid: true };
    expect(falseAlarm(outcomeOf(valid, 1, run({ valid: "unknown", checkers: {} })))).toBe(true);
    expect(falseAlarm(outcomeOf(valid, 1, run({ valid: true, checkers: {} })))).toBe(false);
  });
});

describe("the memory reference system", () => {
  it(
    "is valid for any seed, workload and nemesis (property, short runs)",
    async () => {
      const memoryRow = (workload: string, nemesis: string): ExpectationRow => ({
        id: "memory-property",
        source: "memory",
        claim: "",
        args: ["--system", "memory", "--workload", workload, "--nemesis", nemesis, "--nemesis-interval", "1"],
        expectValid: true,
        seeds: [],
      });
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          fc.constantFrom("register", "bank", "write-skew", "append", "set"),
          fc.constantFrom(...nemesisNames),
          async (seed, workload, nemesis) => {
            const row = memoryRow(workload, nemesis);
            const result = await runRow(row, seed, { store, timeLimitS: 5 });
            rmSync(result.storeDir, { recursive: true, force: true });
            const outcome = outcomeOf(row, seed, result);
            expect(falseAlarm(outcome), describeOutcomes([outcome])).toBe(false);
          },
        ),
        { numRuns: 8 },
      );
    },
    rowTimeoutMs,
  );
});

describe("faultline run with no options", () => {
  it(
    "runs the engine (quorum, serializable) under list append with partitions and crashes for 30 s, valid",
    async () => {
      const config = resolveRunConfig(["--seed", "1", "--store", store, "--quiet"]);
      if (config === "help") throw new Error("unexpected help");
      expect({
        system: config.system,
        replication: config.replication,
        isolation: config.isolation,
        workload: config.workload,
        nemesis: config.nemesis,
        timeLimitS: config["time-limit"],
        nodes: config.nodes,
      }).toEqual({
        system: "engine",
        replication: "quorum",
        isolation: "serializable",
        workload: "append",
        nemesis: ["partition", "crash"],
        timeLimitS: 30,
        nodes: 8,
      });
      const result = await executeRun(config);
      rmSync(result.storeDir, { recursive: true, force: true });
      expect(result.reproduceCommand).toContain("--seed 1");
      expect(result.results.valid, JSON.stringify(result.results)).toBe(true);
    },
    rowTimeoutMs,
  );
});
