/**
 * A run checks its history from its file, through `faultline check`'s path (cli/runHistory.ts):
 * it keeps no op objects of its own to check. Shown by changing the file between the end of the
 * run and its checking (`onChecking`): the run's verdict is then `faultline check`'s on the file
 * as it is, not one on the ops the run recorded. Before, the run checked the copy it kept in
 * memory, whatever the file held. The run also compares the file with what it wrote: a file cut
 * short is checked as it is, and the verdict says so (unknown, not valid).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../harness/testkit.ts";
import { checkFile, parseCheckArgs } from "./check.ts";
import { executeRun } from "./execute.ts";
import { resolveRunConfig } from "./runConfig.ts";
import { wholeEntriesKeptMax } from "./runHistory.ts";

const freshStore = scratchFolders("run-checks-file");

/** Lines of the history the test leaves in the file: the first 30 operations' entries. */
const keptLines = 60;

async function runCuttingHistory(workload: string) {
  const config = resolveRunConfig(["--system", "memory", "--workload", workload, "--seed", "5", "--quiet"]);
  if (config === "help") throw new Error("asked for help");
  let historyPath = "";
  const result = await executeRun(
    { ...config, store: freshStore() },
    {
      observer: {
        onStart: ({ storeDir }) => {
          historyPath = join(storeDir, "history.jsonl");
        },
      },
      onChecking: () => {
        const lines = readFileSync(historyPath, "utf8").split("\n").slice(0, keptLines);
        writeFileSync(historyPath, lines.join("\n") + "\n");
      },
    },
  );
  return { result, historyPath };
}

describe("a run's verdict is faultline check's on its history file", () => {
  for (const [workload, path] of [
    ["append", "streamed"],
    ["register", "ordinary"],
  ] as const) {
    it(`${workload} (check's ${path} path): the file as it is when checking starts decides`, async () => {
      const { result, historyPath } = await runCuttingHistory(workload);
      const checked = await checkFile(historyPath, await parseCheckArgs([historyPath, "--json", "--quiet"]));
      expect(checked.results).toBeDefined();
      expect(result.results).toEqual(checked.results);
      // And the run knows the file no longer holds what it wrote: the verdict is on a part of its
      // history, so unknown at best, never valid (before, valid on the 60 lines kept).
      expect(result.results.valid).not.toBe(true);
      expect(result.results.checkers["history"]?.reason).toMatch(
        /^history\.jsonl holds 60 of the [\d,]+ entries the run wrote/,
      );
      // The run recorded more operations than the file now holds: its stats count the file's.
      const stats = result.results.checkers["stats"] as unknown as {
        byF: Record<string, { ok: number; fail: number; info: number }>;
      };
      const completed = Object.values(stats.byF).reduce((n, f) => n + f.ok + f.fail + f.info, 0);
      expect(completed).toBeGreaterThan(0);
      expect(completed).toBeLessThanOrEqual(keptLines / 2);
      expect(result.operations).toBeGreaterThan(keptLines);
    });
  }
});

describe("the report's timeline values, read back from a history too long to keep whole", () => {
  // More than RunTally keeps whole (wholeEntriesKeptMax): the values are read from the file.
  const longRun = ["--system", "memory", "--workload", "register", "--nemesis", "none"];
  const longRunTiming = ["--rate", "2000", "--time-limit", "6", "--seed", "3", "--quiet"];

  async function runChanging(change: (path: string) => void) {
    const config = resolveRunConfig([...longRun, ...longRunTiming]);
    if (config === "help") throw new Error("asked for help");
    let historyPath = "";
    const result = await executeRun(
      { ...config, store: freshStore() },
      {
        observer: {
          onStart: ({ storeDir }) => {
            historyPath = join(storeDir, "history.jsonl");
          },
        },
        onChecking: () => change(historyPath),
      },
    );
    return { result, historyPath };
  }

  it("come from the file only while it holds what the run recorded; else none, and the run still ends", async () => {
    // Every line made not JSON once the run ended. Before, the report's read-back threw on the
    // first line the timeline wanted, after the run was checked: executeRun rejected (faultline
    // run: an internal error, exit 255), and test.json and the reports were never written.
    const { result } = await runChanging((path) => {
      const lines = readFileSync(path, "utf8").split("\n");
      expect(lines.length).toBeGreaterThan(wholeEntriesKeptMax);
      writeFileSync(path, lines.map((line) => (line === "" ? line : `x${line}`)).join("\n"));
    });
    expect(result.results.checkers["run"]).toBeUndefined();
    expect(result.results.valid).toBe("unknown");
    const stored = JSON.parse(readFileSync(join(result.storeDir, "results.json"), "utf8")) as unknown;
    expect(stored).toEqual(JSON.parse(JSON.stringify(result.results)));
    expect(readFileSync(join(result.storeDir, "report.html"), "utf8")).toContain("<html");
  });
});
