/**
 * The library's `checkHistory` on arguments the command line's parser would have refused: a
 * caller from JavaScript (or through a cast) gets an error naming what is wrong, never a TypeError
 * from deep inside and never a check without a bound. And `runTest`, which gives a run's history
 * only when asked for it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Op } from "../harness/history/op.ts";
import { scratchFolders } from "../harness/testkit.ts";
import * as api from "./api.ts";
import { checkHistory, checkLinearizableHistory, HistoryShapeError } from "./api.ts";

const scratch = scratchFolders("api-check");

/** A write of 5, then a read of 5: linearizable. */
const history: readonly Op[] = [
  { index: 0, time: 0, process: 0, type: "invoke", f: "write", value: 5 },
  { index: 1, time: 1, process: 0, type: "ok", f: "write", value: 5 },
  { index: 2, time: 2, process: 1, type: "invoke", f: "read", value: null },
  { index: 3, time: 3, process: 1, type: "ok", f: "read", value: 5 },
];

describe("checkHistory of a file whose last line is torn (a writer killed mid-line)", () => {
  it("checks the lines before it and names the line it left out, as faultline check does", async () => {
    // Before, the line was left out silently: the results did not say the file held more.
    const folder = scratch();
    const file = join(folder, "history.jsonl");
    const lines = history.map((op) => JSON.stringify(op) + "\n").join("");
    writeFileSync(file, lines);
    const whole = await checkHistory(file, { model: "register" });
    expect(whole.tornLastLine).toBeUndefined();
    writeFileSync(file, lines + '{"index":4,"time":4,"proc');
    const torn = await checkHistory(file, { model: "register" });
    expect(torn).toEqual({ ...whole, tornLastLine: 5 });
  });
});

describe("checkHistory refuses what it cannot check, saying what is wrong", () => {
  it("checks a well-formed history (the fixture is sound)", async () => {
    expect((await checkHistory(history, { model: "register" })).valid).toBe(true);
  });

  it("a history that is neither an array nor a path", async () => {
    for (const given of [null, undefined, 42, { ops: history }]) {
      await expect(checkHistory(given as never, { model: "register" })).rejects.toThrow(
        /^checkHistory: expected a history \(an array of operations\) or the path of a history file; got /,
      );
    }
  });

  it("an unknown workload, and a budget that bounds nothing", async () => {
    await expect(checkHistory(history, { workload: "nope" as never })).rejects.toThrow(
      'checkHistory: unknown workload "nope"; expected one of append, rw-register',
    );
    for (const timeLimitMs of [Number.NaN, "5" as unknown as number, null as unknown as number]) {
      await expect(checkHistory(history, { model: "register", budget: { timeLimitMs } })).rejects.toThrow(
        /^budget: expected timeLimitMs to be a number; got /,
      );
    }
    for (const check of [
      () => checkHistory(history, { model: "register", budget: { maxSteps: Number.NaN } }),
      async () => checkLinearizableHistory(history, { model: "register", budget: { maxSteps: Number.NaN } }),
    ]) {
      await expect(check()).rejects.toThrow("budget: expected maxSteps to be a number; got NaN");
    }
    // A limit at or below 0 is a bound: spent at once.
    const spent = await checkHistory(history, { model: "register", budget: { timeLimitMs: -1 } });
    expect(spent.valid).toBe("unknown");
  });

  it("every checker the library exports refuses a history that is not one", () => {
    const spoiled = [{ foo: 1 }] as unknown as Op[];
    const calls: [string, () => unknown][] = [
      ["checkLinearizable", () => api.checkLinearizable(spoiled, api.builtinModel("register", null))],
      ["checkLinearizableHistory", () => api.checkLinearizableHistory(spoiled, { model: "register" })],
      [
        "checkElleHistory",
        () => api.checkElleHistory(spoiled, { workload: "append", model: "serializable" }),
      ],
      ["checkBankHistory", () => api.checkBankHistory(spoiled, { accounts: ["a"] })],
      ["checkSetFullHistory", () => api.checkSetFullHistory(spoiled)],
      ["checkStatsHistory", () => api.checkStatsHistory(spoiled)],
    ];
    for (const [name, call] of calls) {
      expect(call, name).toThrow(HistoryShapeError);
      expect(call, name).toThrow(new RegExp(`^${name}: operation 0 of the history: expected "type"`));
      expect(() => (api as unknown as Record<string, (h: unknown) => unknown>)[name]!(null), name).toThrow(
        new RegExp(`^${name}: expected a history \\(an array of operations\\); got null`),
      );
    }
  });

  it("property: a history with one entry spoiled is a HistoryShapeError naming that entry", async () => {
    const spoilers: fc.Arbitrary<(op: Op) => unknown> = fc.constantFrom(
      () => null,
      () => "ok",
      (op: Op) => ({ ...op, type: "okay" }),
      (op: Op) => ({ ...op, index: undefined }),
      (op: Op) => ({ ...op, process: -1 }),
      (op: Op) => ({ ...op, time: 1.5 }),
      (op: Op) => ({ ...op, f: 7 }),
      (op: Op) => ({ ...op, index: op.index + 1 }),
      (op: Op) => ({ ...op, process: 9 }), // an invocation with no completion and a completion with none
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: history.length - 1 }), spoilers, async (at, spoil) => {
        const spoiled = history.map((op, i) => (i === at ? spoil(op) : op));
        const checked = checkHistory(spoiled as Op[], { model: "register" });
        await expect(checked).rejects.toThrow(HistoryShapeError);
        await expect(checked).rejects.toThrow(/^checkHistory: operation \d of the history: expected /);
      }),
      { numRuns: 60 },
    );
  });
});

describe("runTest", () => {
  it("runs a test as faultline run does, and reads its history from the store only when asked", async () => {
    const store = scratch();
    const run = await api.runTest({
      system: "memory",
      workload: "append",
      nemesis: "none",
      timeLimitS: 2,
      seed: 7,
      store,
    });
    expect(run.results.valid).toBe(true);
    expect(run.aborted).toBe(false);
    // The history is not read while the run returns: cut the file to its first two lines now, and
    // asking for it finds them (before, the whole file was read into the result before it
    // returned: a run of millions of operations held them all as op objects). Two lines are not
    // the run's history, so it is refused rather than given as the whole (wholeRunHistory).
    const file = join(run.storeDir, "history.jsonl");
    const lines = readFileSync(file, "utf8").split("\n").slice(0, -1);
    expect(lines.length).toBeGreaterThan(10);
    writeFileSync(file, lines.slice(0, 2).join("\n") + "\n");
    expect(() => run.history).toThrow(`holds 2 of the ${lines.length} entries the run recorded`);
    writeFileSync(file, lines.join("\n") + "\n");
    expect(run.history.map((op) => op.index)).toEqual(lines.map((_, i) => i));
  });
});
