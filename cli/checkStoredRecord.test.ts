/**
 * A stored run checked again gives the run's verdict, counting what test.json records of the run
 * beside its history (storedRun.ts's RunRecord): a run that did not end (killed: no `recorded`),
 * one interrupted, and a history file that no longer holds the entries the run wrote are each
 * unknown, never valid, on check's ordinary path (register) and its streamed one (append). Before,
 * `faultline check store/latest/history.jsonl` of a killed or interrupted run, or of one whose
 * history was cut short since, checked the prefix alone and said valid (exit 0), though the run
 * said unknown and `faultline report` sends the user to check. The record counts too when
 * `--workload` or `--model` (or the library's `checkHistory`) replaces the run's checkers.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExitCode } from "../harness/results.ts";
import { scratchFolders } from "../harness/testkit.ts";
import { checkHistory } from "./api.ts";
import { checkFile, parseCheckArgs } from "./check.ts";
import { executeRun, type ExecuteResult } from "./execute.ts";
import { resolveRunConfig } from "./runConfig.ts";

const freshStore = scratchFolders("check-stored-record");

async function run(workload: string, abortAfterOps?: number): Promise<ExecuteResult> {
  const config = resolveRunConfig([
    "--system",
    "memory",
    "--workload",
    workload,
    "--seed",
    "7",
    "--time-limit",
    "5",
    "--quiet",
  ]);
  if (config === "help") throw new Error("asked for help");
  const controller = new AbortController();
  let ops = 0;
  return await executeRun(
    { ...config, store: freshStore() },
    {
      signal: controller.signal,
      observer: {
        onOp: () => {
          if (abortAfterOps !== undefined && ++ops === abortAfterOps) controller.abort("SIGINT");
        },
      },
    },
  );
}

async function check(storeDir: string, ...args: string[]) {
  const path = join(storeDir, "history.jsonl");
  return await checkFile(path, await parseCheckArgs([path, ...args, "--json", "--quiet"]));
}

function editTestJson(storeDir: string, edit: (config: Record<string, unknown>) => void): void {
  const path = join(storeDir, "test.json");
  const config = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  edit(config);
  writeFileSync(path, JSON.stringify(config, null, 2) + "\n");
}

describe("faultline check of a stored run counts the run's record", () => {
  for (const workload of ["register", "append"]) {
    it(`${workload}: a whole run checks as the run did; killed, cut short or changed since, unknown`, async () => {
      const result = await run(workload);
      expect(result.results.checkers["run"]).toBeUndefined();
      expect(result.results.valid).toBe(true);
      const whole = await check(result.storeDir);
      expect(whole.results).toEqual(result.results);
      expect(whole.exitCode).toBe(ExitCode.valid);

      // The history cut at a whole line, as a copy or a rotation cut short might leave it.
      const historyPath = join(result.storeDir, "history.jsonl");
      const lines = readFileSync(historyPath, "utf8").split("\n").slice(0, -1);
      writeFileSync(historyPath, lines.slice(0, 40).join("\n") + "\n");
      const cut = await check(result.storeDir);
      expect(cut.exitCode).toBe(ExitCode.unknown);
      expect(cut.results?.checkers["history"]).toMatchObject({
        valid: "unknown",
        entriesRead: 40,
        entriesRecorded: lines.length,
      });
      expect(cut.results?.checkers["history"]?.reason).toMatch(
        /^history\.jsonl holds 40 of the [\d,]+ entries the run wrote \(cut short since, or refused by its disk\): only those were checked$/,
      );
      // Lines added since: not the run's history either.
      const extra = JSON.stringify({
        index: lines.length,
        time: 1,
        process: "nemesis",
        type: "info",
        f: "note",
        value: null,
      });
      writeFileSync(historyPath, [...lines, extra].join("\n") + "\n");
      const longer = await check(result.storeDir);
      expect(longer.results?.checkers["history"]?.reason).toMatch(/more than the [\d,]+ the run wrote/);

      // A killed run's test.json: what was asked, nothing recorded; its history a prefix.
      writeFileSync(historyPath, lines.join("\n") + "\n");
      editTestJson(result.storeDir, (config) => delete config["recorded"]);
      const killed = await check(result.storeDir);
      expect(killed.exitCode).toBe(ExitCode.unknown);
      expect(killed.results?.valid).toBe("unknown");
      expect(killed.results?.checkers["run"]?.reason).toMatch(/^test\.json holds no record of the run's end/);
      expect(killed.line).toMatch(/^unknown .*run: test\.json holds no record of the run's end/);
    });

    it(`${workload}: an interrupted run checks as the run did: unknown, interrupted`, async () => {
      const result = await run(workload, 60);
      expect(result.results.checkers["run"]).toBeUndefined();
      expect(result.results.interrupted?.signal).toBe("SIGINT");
      expect(result.results.valid).toBe("unknown");
      const checked = await check(result.storeDir);
      expect(checked.results).toEqual(result.results);
      expect(checked.exitCode).toBe(ExitCode.unknown);
    });
  }

  for (const workload of ["register", "append"]) {
    it(`${workload}: checked with --workload (its own checkers replaced), the record still counts`, async () => {
      // Before, --workload (or --model) dropped the record with the run's checkers: a killed,
      // interrupted or cut run's prefix checked valid, exit 0, where plain check said unknown.
      const result = await run(workload);
      const whole = await check(result.storeDir, "--workload", workload);
      expect(whole.exitCode).toBe(ExitCode.valid);
      // The same checkers as the run's, with the run's length for the throughput: the same results.
      expect(whole.results).toEqual(result.results);

      const historyPath = join(result.storeDir, "history.jsonl");
      const lines = readFileSync(historyPath, "utf8").split("\n").slice(0, -1);
      writeFileSync(historyPath, lines.slice(0, 40).join("\n") + "\n");
      const cut = await check(result.storeDir, "--workload", workload);
      expect(cut.exitCode).toBe(ExitCode.unknown);
      expect(cut.results?.checkers["history"]).toMatchObject({
        entriesRead: 40,
        entriesRecorded: lines.length,
      });

      writeFileSync(historyPath, lines.join("\n") + "\n");
      editTestJson(result.storeDir, (config) => delete config["recorded"]);
      const killed = await check(result.storeDir, "--workload", workload);
      expect(killed.exitCode).toBe(ExitCode.unknown);
      expect(killed.line).toMatch(/^unknown .*run: test\.json holds no record of the run's end/);
    });
  }

  it("register: an interrupted run checked with --workload or --model is unknown, interrupted", async () => {
    const result = await run("register", 60);
    expect(result.results.checkers["run"]).toBeUndefined();
    expect(result.results.interrupted?.signal).toBe("SIGINT");
    for (const args of [
      ["--workload", "register"],
      ["--model", "cas-register"],
    ]) {
      const checked = await check(result.storeDir, ...args);
      expect(checked.exitCode).toBe(ExitCode.unknown);
      expect(checked.results?.interrupted).toEqual(result.results.interrupted);
      expect(checked.results?.checkers["interrupted"]).toEqual(result.results.checkers["interrupted"]);
    }
  });

  it("the library's checkHistory of a stored run's history counts the record too", async () => {
    // Before, checkHistory(path) planned the stored run's checkers and dropped its record: a
    // killed run's prefix was valid.
    const result = await run("register");
    editTestJson(result.storeDir, (config) => delete config["recorded"]);
    const path = join(result.storeDir, "history.jsonl");
    for (const options of [{}, { workload: "rw-register" as const }, { model: "cas-register" }]) {
      const results = await checkHistory(path, options);
      expect(results.valid).toBe("unknown");
      expect(results.checkers["run"]?.reason).toMatch(/^test\.json holds no record of the run's end/);
    }
  });

  it("a bad test.json beside a history checked with --workload is bad input, named", async () => {
    const result = await run("register");
    writeFileSync(join(result.storeDir, "test.json"), "{ not json");
    const outcome = await check(result.storeDir, "--workload", "register");
    expect(outcome.exitCode).toBe(ExitCode.badInput);
    expect(outcome.line).toMatch(/test\.json: expected the run's config as JSON; /);
  });

  it("a run's history, asked for after its file lost its first lines, is refused, not given from later on", async () => {
    // executeRun's (and runTest's) `history` is read from the file when first asked for. Before,
    // it was whatever the file then held, read with no bound: here a history starting at index 30.
    const result = await run("register");
    const historyPath = join(result.storeDir, "history.jsonl");
    const lines = readFileSync(historyPath, "utf8").split("\n").slice(0, -1);
    writeFileSync(historyPath, lines.slice(30).join("\n") + "\n");
    expect(() => result.history).toThrow(
      new RegExp(
        `^the run's history cannot be given whole: .*history\\.jsonl holds ${lines.length - 30} of the ${lines.length} entries the run recorded \\(cut short since\\)$`,
      ),
    );
    writeFileSync(historyPath, lines.join("\n") + "\n");
    expect(result.history.map((op) => op.index)).toEqual(lines.map((_, i) => i));
  });

  it("a test.json whose record has the wrong shape is bad input, named", async () => {
    const result = await run("register");
    editTestJson(
      result.storeDir,
      (config) => ((config["recorded"] as Record<string, unknown>)["historyEntries"] = "many"),
    );
    const path = join(result.storeDir, "history.jsonl");
    const outcome = await checkFile(path, await parseCheckArgs([path, "--quiet"]));
    expect(outcome.exitCode).toBe(ExitCode.badInput);
    expect(outcome.line).toMatch(
      /test\.json: expected "recorded\.historyEntries" to be a whole number; got "many"$/,
    );
  });
});
