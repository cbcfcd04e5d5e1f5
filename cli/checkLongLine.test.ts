/**
 * A JSONL history's line is bounded in bytes (source.ts `historyLineBytesMax`), on both of
 * `faultline check`'s paths: the ordinary reader (`HistorySource.lines`) and the streamed one of
 * list-append histories (`scanJsonl`). Before, a line had no bound: one of 600 MB with no line
 * break was gathered whole and the check ended in an internal error (exit 255, "Invalid string
 * length", a stack trace), on the streamed path after three minutes of copying the line again at
 * every read. Now it is bad input (254) naming the file, the line and the bound. The files here
 * are sparse: the long line is zeros the file system does not store.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { historyLineBytesMax } from "../harness/history/source.ts";
import { ExitCode } from "../harness/results.ts";
import { scratchFolders } from "../harness/testkit.ts";
import { checkFile, parseCheckArgs } from "./check.ts";

const scratch = scratchFolders("check-long-line");

/**
 * A JSONL file whose first line is `first`, whose second begins with `second` and runs, with no
 * line break, past `historyLineBytesMax` bytes (zeros), followed by a line break and `third`.
 */
function withLongSecondLine(first: string, second: string, third: string): string {
  const path = join(scratch(), "history.jsonl");
  const fd = openSync(path, "w");
  try {
    writeSync(fd, `${first}\n${second}`, 0);
    // Written past the end: the bytes between are a hole, read as zeros.
    writeSync(fd, `\n${third}\n`, Buffer.byteLength(`${first}\n`) + historyLineBytesMax + 1);
  } finally {
    closeSync(fd);
  }
  return path;
}

const op = (index: number, type: string, f: string, value: unknown): string =>
  JSON.stringify({ index, time: index, process: 0, type, f, value });

describe("faultline check of a history with a line longer than the bound", () => {
  it("the ordinary reader: bad input naming the file and the line", async () => {
    const path = withLongSecondLine(
      op(0, "invoke", "write", 1),
      '{"index":1,"time":1,"process":0,"type":"ok","f":"write","value":"',
      op(2, "invoke", "read", null),
    );
    const outcome = await checkFile(path, await parseCheckArgs([path, "--model", "register", "--quiet"]));
    expect(outcome.exitCode).toBe(ExitCode.badInput);
    expect(outcome.line).toBe(
      `error    ${path}:2: expected a line of at most ${historyLineBytesMax} bytes (one operation's JSON); this one is longer, with no line break within its first ${historyLineBytesMax} bytes`,
    );
  });

  it("the streamed path of a list-append history: the same", async () => {
    const path = withLongSecondLine(
      op(0, "invoke", "txn", [["append", "x", 1]]),
      '{"index":1,"time":1,"process":0,"type":"ok","f":"txn","value":[["append","x","',
      op(2, "invoke", "txn", [["r", "x", null]]),
    );
    for (const args of [[], ["--workload", "append"]]) {
      const outcome = await checkFile(path, await parseCheckArgs([path, ...args, "--quiet"]));
      expect(outcome.exitCode).toBe(ExitCode.badInput);
      expect(outcome.json).toMatchObject({ line: 2 });
      expect(outcome.line).toContain(`${path}:2: expected a line of at most ${historyLineBytesMax} bytes`);
    }
  });
});
