/**
 * A stored run's test.json whose numbers no run could have written (1e400, which JSON reads as
 * Infinity; a fraction of a worker) is bad input naming the file and the field (exit 254), for
 * `faultline check` of its history and for `faultline report`. Before, `check` failed with an
 * internal error and a stack trace (exit 255) on a time limit or rate of 1e400, and took a node
 * or worker count of 1e400 as given (exit 0); `report` said a seed of 1e400 was "null".
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { scratchFolders } from "../harness/testkit.ts";
import { checkFile, parseCheckArgs } from "./check.ts";
import { executeRun } from "./execute.ts";
import { main } from "./main.ts";
import { captured } from "./testkit.ts";
import { resolveRunConfig } from "./run.ts";

const scratch = scratchFolders("stored-numbers");
let runDir = "";
let original = "";

beforeAll(async () => {
  const config = resolveRunConfig([
    ...["--system", "memory", "--workload", "register", "--time-limit", "1", "--seed", "3"],
    ...["--store", scratch(), "--quiet"],
  ]);
  if (config === "help") throw new Error("help");
  runDir = (await executeRun(config)).storeDir;
  original = readFileSync(join(runDir, "test.json"), "utf8");
});

/** test.json with `field`'s number replaced by the text `number` (JSON.stringify writes no 1e400). */
function storeWith(field: string, number: string): void {
  const pattern = new RegExp(`("${field}":\\s*)[-0-9.e+]+`);
  expect(original).toMatch(pattern);
  writeFileSync(join(runDir, "test.json"), original.replace(pattern, `$1${number}`));
}

async function checkStored() {
  const history = join(runDir, "history.jsonl");
  return checkFile(history, await parseCheckArgs([history, "--quiet"]));
}

describe("a stored run's numbers", () => {
  it("are checked as the run's options are: one no run could have written is bad input naming it", async () => {
    writeFileSync(join(runDir, "test.json"), original);
    expect((await checkStored()).exitCode).toBe(0);
    for (const [field, number, message] of [
      [
        "time-limit",
        "1e400",
        'expected "time-limit" to be as faultline run takes it: expected a number of seconds',
      ],
      ["rate", "1e400", 'expected "rate" to be as faultline run takes it: expected operations per second'],
      [
        "concurrency",
        "1e400",
        'expected "concurrency" to be as faultline run takes it: expected a worker count',
      ],
      ["concurrency", "2.5", "expected a worker count (a whole number); got 2.5"],
      ["seed", "-1", 'expected "seed" to be as faultline run takes it: must be at least 0; got -1'],
    ] as const) {
      storeWith(field, number);
      const outcome = await checkStored();
      expect(outcome.exitCode, `${field} ${number}: ${outcome.line}`).toBe(254);
      expect(outcome.line).toContain(
        `${join(runDir, "test.json")}: expected "${field}" to be as faultline run`,
      );
      expect(outcome.line).toContain(message);
    }
    storeWith("time-limit", "1e400");
    expect((await checkStored()).line).toMatch(/got Infinity \(a number beyond a double's range\)$/);
  });

  it("report names a seed of 1e400 as it was read, not as null", async () => {
    storeWith("seed", "1e400");
    const { code, stderr } = await captured(() => main(["report", runDir]));
    expect(code).toBe(254);
    expect(stderr).toContain(
      `expected "seed" to be a whole number (the run's seed); got Infinity (a number beyond a double's range)`,
    );
  });
});
