/**
 * Code faultline does not own (a user's model, a plugin's checker) cannot end the process with a
 * code that reads as a verdict, and cannot run past the time limit.
 *
 * Before: a model calling `process.exit(0)` (at import or inside `step`) made `faultline check`
 * exit 0, "valid", printing nothing; an error thrown from a model's timer, or a promise it left
 * rejected, exited 1, "invalid", with Node's stack trace; a `step` that never returned ran past
 * `--time-limit-ms` until the process was killed. The bin is run as a user runs it (its own
 * process, where `main` guards how the process ends); the checkers' bound is also held in process.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CallTimedOut, callWithin, settledWithin } from "../harness/boundedCall.ts";
import { Budget } from "../harness/budget.ts";
import { foreignChecker, runCheckers, type Checker } from "../harness/checker.ts";
import type { Op } from "../harness/history/op.ts";
import { scratchFolders } from "../harness/testkit.ts";

const bin = fileURLToPath(new URL("../bin/faultline.js", import.meta.url));
const scratch = scratchFolders("foreign-code");

/** A register model whose module runs `prelude` when imported and `inStep` at every step. */
const model = (prelude: string, inStep = ""): string => `${prelude}
export default {
  name: "odd",
  init: () => 0,
  step: (state, op) => { ${inStep}; return op.f === "write" ? op.value : op.value === state ? state : undefined; },
};
`;

/** A valid history: a write of 5, then a read of 5. */
const history = [
  { index: 0, time: 0, process: 0, type: "invoke", f: "write", value: 5 },
  { index: 1, time: 1, process: 0, type: "ok", f: "write", value: 5 },
  { index: 2, time: 2, process: 1, type: "invoke", f: "read", value: null },
  { index: 3, time: 3, process: 1, type: "ok", f: "read", value: 5 },
];

async function checkWith(modelSource: string, ...extra: string[]) {
  const folder = scratch();
  writeFileSync(join(folder, "model.mjs"), modelSource);
  writeFileSync(join(folder, "h.jsonl"), history.map((op) => JSON.stringify(op)).join("\n") + "\n");
  return await execa("node", [bin, "check", "h.jsonl", "--model", "./model.mjs", ...extra], {
    cwd: folder,
    reject: false,
    timeout: 60_000,
  });
}

describe("a user's model cannot end the process with a verdict's exit code", () => {
  it("checks the history when the model behaves (the fixture is sound)", async () => {
    const r = await checkWith(model(""));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^valid /);
  });

  it.each([
    [
      "process.exit(0) at import",
      model("process.exit(0);"),
      /ended \(exit code 0\) before the command finished/,
    ],
    [
      "process.exit(0) in step",
      model("", "process.exit(0)"),
      /ended \(exit code 0\) before the command finished/,
    ],
    [
      "process.exit(1) in step",
      model("", "process.exit(1)"),
      /ended \(exit code 1\) before the command finished/,
    ],
    [
      "an error thrown from a timer",
      model('setTimeout(() => { throw new Error("late"); }, 0);'),
      /thrown outside any call faultline awaits.*Error: late/,
    ],
    [
      "a promise left rejected",
      model('Promise.reject(new Error("forgotten"));'),
      /thrown outside any call faultline awaits.*Error: forgotten/,
    ],
  ])("%s is an internal error (255), said on stderr", async (_, source, said) => {
    const r = await checkWith(source);
    expect(r.exitCode, r.stderr).toBe(255);
    expect(r.stderr).toMatch(said);
  });

  it("a step that never returns is stopped at the time limit: unknown, with why", async () => {
    const r = await checkWith(model("", "for (;;) {}"), "--time-limit-ms", "300");
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stdout).toMatch(/^unknown .*did not return from one of its calls .* stopped after \d+ ms/);
  });
});

describe("runCheckers bounds a checker that is not faultline's by the budget's time limit", () => {
  const ops: readonly Op[] = [];
  const looping: Checker = foreignChecker({
    name: "looping",
    check: () => {
      for (;;) {
        // a checker that never reads its budget
      }
    },
  });
  const neverSettles: Checker = { name: "never", check: () => new Promise(() => undefined) };
  const honest: Checker = { name: "honest", check: () => ({ valid: true }) };

  it("a checker that loops or never settles is unknown; the others still answer", async () => {
    const results = await runCheckers([looping, honest], ops, { budget: new Budget({ timeLimitMs: 50 }) });
    expect(results["looping"]).toEqual({
      valid: "unknown",
      reason: expect.stringMatching(
        /^checker looping did not return within the time limit: stopped after \d+ ms$/,
      ),
    });
    // The looping checker spent the budget: the next one is told so, without running.
    expect(results["honest"]).toEqual({ valid: "unknown", reason: "time budget of 50 ms exhausted" });
    const settled = await runCheckers([honest, neverSettles], ops, {
      budget: new Budget({ timeLimitMs: 50 }),
    });
    expect(settled["honest"]).toEqual({ valid: true });
    expect(settled["never"]?.valid).toBe("unknown");
    expect(settled["never"]?.reason).toMatch(/^checker never did not return within the time limit/);
  });

  it("property: a call returns its value, rethrows its error, and is stopped only when it outruns the bound", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.boolean(), fc.boolean(), async (value, throws, async) => {
        const call = (): number | Promise<number> => {
          if (throws) throw new RangeError(String(value));
          return async ? Promise.resolve(value) : value;
        };
        if (throws) {
          expect(() => callWithin(call, 1_000)).toThrow(RangeError);
        } else {
          expect(await settledWithin(callWithin(call, 1_000), 1_000)).toBe(value);
        }
      }),
      { numRuns: 50 },
    );
    expect(() =>
      callWithin(() => {
        for (;;) {
          // never returns
        }
      }, 20),
    ).toThrow(CallTimedOut);
    await expect(settledWithin(new Promise(() => undefined), 20)).rejects.toThrow(CallTimedOut);
  });
});
