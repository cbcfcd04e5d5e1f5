/**
 * What a run keeps of its history (cli/runHistory.ts): the counts and the report's history it
 * keeps in columns must say what the ops said, and the lines it reads back from history.jsonl
 * must be the ops written there, wherever a line falls across the reader's chunks.
 */
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { opToJsonLine } from "../harness/history/jsonl.ts";
import { countClientOperations, type Op } from "../harness/history/op.ts";
import { historyLineBytesMax } from "../harness/history/source.ts";
import { scratchFolders } from "../harness/testkit.ts";
import { ArtifactLog } from "../harness/store/atomic.ts";
import {
  HistoryNotAsRecorded,
  readHistoryLines,
  recordedOpsAt,
  RunTally,
  StreamedHistory,
  wholeRunHistory,
  withValuesOf,
} from "./runHistory.ts";

const freshFolder = scratchFolders("run-history");

/** A history with what the columns cannot hold: nemesis ops, errors, a lone completion. */
function sampleHistory(): Op[] {
  const drafts: Omit<Op, "index">[] = [
    { time: 5, process: 0, type: "invoke", f: "read", value: null },
    { time: 7, process: "nemesis", type: "invoke", f: "start-partition", value: { n1: ["n2"] } },
    { time: 9, process: 0, type: "ok", f: "read", value: 3, node: "n1" },
    { time: 11, process: 1, type: "invoke", f: "cas", value: [1, 2] },
    { time: 12, process: 1, type: "fail", f: "cas", value: [1, 2], error: "mismatch", node: "n2" },
    { time: 15, process: 2, type: "ok", f: "write", value: 4 },
    { time: 19, process: 11, type: "invoke", f: "txn", value: [["append", 1, 2]] },
    { time: 21, process: "nemesis", type: "info", f: "start-partition", value: "cut" },
  ];
  return drafts.map((d, index) => ({ index, ...d }) as Op);
}

describe("RunTally", () => {
  it("keeps a short history's ops whole (the timeline's values), and none once it grows past its bound", () => {
    const history = sampleHistory();
    const short = new RunTally(history.length);
    for (const op of history) short.add(op);
    expect(short.wholeOps).toEqual(history);
    const long = new RunTally(history.length - 1);
    for (const op of history) long.add(op);
    expect(long.wholeOps).toBeUndefined();
    // The counts and the report's history do not depend on it.
    expect(long.reportHistory).toEqual(short.reportHistory);
    expect(long.operations).toBe(short.operations);
  });

  it("counts as the history counts, and keeps every field a report reads", () => {
    const history = sampleHistory();
    const tally = new RunTally();
    for (const op of history) tally.add(op);
    expect(tally.entries).toBe(history.length);
    expect(tally.operations).toBe(countClientOperations(history));
    expect(tally.lastTimeNs).toBe(21);
    const kept = tally.reportHistory;
    expect(kept).toHaveLength(history.length);
    history.forEach((op, i) => {
      const seen = kept[i]!;
      expect([seen.index, seen.time, seen.process, seen.type, seen.f, seen.error]).toEqual([
        op.index,
        op.time,
        op.process,
        op.type,
        op.f,
        op.error,
      ]);
      // A nemesis op whole (fault windows read its value); a client op without its value.
      expect(seen.value).toEqual(op.process === "nemesis" ? op.value : undefined);
    });
  });

  it("fills in the values asked for, leaving the rest", () => {
    const history = sampleHistory();
    const tally = new RunTally();
    for (const op of history) tally.add(op);
    const filled = withValuesOf(tally.reportHistory, new Map([[2, history[2]!]]));
    expect(filled[2]).toBe(history[2]);
    expect(filled[0]!.value).toBeUndefined();
    expect(tally.reportHistory[2]!.value).toBeUndefined();
  });
});

describe("readHistoryLines", () => {
  it("reads the lines asked for, a line longer than a chunk included, and stops at maxLines", () => {
    const history = sampleHistory();
    // A value of 3 MiB: its line spans several of the reader's 1 MiB chunks.
    const long = { ...history[5]!, value: "x".repeat(3 << 20) } as Op;
    const ops = [...history.slice(0, 5), long, ...history.slice(6)];
    const path = join(freshFolder(), "history.jsonl");
    writeFileSync(path, ops.map((op) => opToJsonLine(op) + "\n").join(""));
    expect(readHistoryLines(path, () => true)).toEqual(ops);
    expect(readHistoryLines(path, (line) => line === 5 || line === 7)).toEqual([long, ops[7]]);
    expect(readHistoryLines(path, () => true, 6)).toEqual(ops.slice(0, 6));
  });
});

describe("wholeRunHistory", () => {
  /** A run's streamed history of `ops`, written and closed as a run leaves it. */
  async function streamed(ops: readonly Op[]): Promise<StreamedHistory> {
    const dir = freshFolder();
    const history = new StreamedHistory(join(dir, "history.jsonl"), new ArtifactLog(dir));
    for (const op of ops) history.append(op);
    await history.closeDurably();
    return history;
  }

  it("gives the entries the run recorded, from the file or from memory", async () => {
    const ops = sampleHistory();
    const history = await streamed(ops);
    expect(wholeRunHistory(history, ops.length)).toEqual(ops);
    history.inMemory = ops.slice();
    expect(wholeRunHistory(history, ops.length)).toEqual(ops);
  });

  it("refuses to pass a part of the history off as the whole", async () => {
    const ops = sampleHistory();
    const lines = ops.map((op) => opToJsonLine(op) + "\n");
    // The prefix the disk refused and no one read back: the ops kept after it start at index 5.
    // Before, those were the run's history, silently starting later.
    const refused = await streamed(ops);
    refused.prefixLost = "the file held 2 of its 5 lines";
    refused.inMemory = ops.slice(5);
    expect(() => wholeRunHistory(refused, ops.length)).toThrow(
      /^the run's history cannot be given whole: the disk refused .*history\.jsonl, and its lines before that were not read back \(the file held 2 of its 5 lines\)$/,
    );
    const history = await streamed(ops);
    // Its first lines lost (rotated, or cut from the front): it starts at index 3.
    writeFileSync(history.path, lines.slice(3).join(""));
    expect(() => wholeRunHistory(history, ops.length)).toThrow(/holds 5 of the 8 entries the run recorded/);
    writeFileSync(history.path, [...lines.slice(3), ...lines.slice(0, 3)].join(""));
    expect(() => wholeRunHistory(history, ops.length)).toThrow(
      /history\.jsonl:1: expected the entry of index 0, found 3 \(changed since\)$/,
    );
    // Cut short, with a torn last line (before, dropped without a word), and grown since.
    writeFileSync(history.path, lines.slice(0, 6).join("") + lines[6]!.slice(0, 10));
    expect(() => wholeRunHistory(history, ops.length)).toThrow(/holds 6 of the 8 entries/);
    writeFileSync(history.path, [...lines, ...lines].join(""));
    expect(() => wholeRunHistory(history, ops.length)).toThrow(
      /holds more than the 8 entries the run recorded/,
    );
    writeFileSync(history.path, lines.slice(0, 4).join("") + "not json\n" + lines.slice(5).join(""));
    expect(() => wholeRunHistory(history, ops.length)).toThrow(
      /^the run.s history cannot be given whole: [^ ]*history\.jsonl:5: /,
    );
  });
});

describe("recordedOpsAt (the report's timeline values)", () => {
  it("gives the wanted lines' ops while the file holds what the run recorded, and says why not", () => {
    const ops = sampleHistory();
    const lines = ops.map((op) => opToJsonLine(op) + "\n");
    const path = join(freshFolder(), "history.jsonl");
    const wanted = new Set([2, 5]);
    writeFileSync(path, lines.join(""));
    expect(recordedOpsAt(path, wanted, ops.length)).toEqual(
      new Map([
        [2, ops[2]],
        [5, ops[5]],
      ]),
    );
    const refused = (content: string, why: RegExp) => {
      writeFileSync(path, content);
      expect(() => recordedOpsAt(path, wanted, ops.length)).toThrow(HistoryNotAsRecorded);
      expect(() => recordedOpsAt(path, wanted, ops.length)).toThrow(why);
    };
    // Grown since: noticed at the line past the entries, not read to its end.
    refused([...lines, ...lines, "not json\n"].join(""), /holds more than the 8 entries the run recorded/);
    refused(lines.slice(0, 6).join(""), /holds 6 of the 8 entries the run recorded \(cut short since\)/);
    // Cut from the front and padded back to length: its third line holds the entry of index 3.
    refused(
      [...lines.slice(1), lines[0]!].join(""),
      /history\.jsonl:3: expected the entry of index 2, found 3/,
    );
    refused(lines.slice(0, 5).join("") + "not json\n" + lines.slice(6).join(""), /^[^ ]*history\.jsonl:6: /);
  });
});

describe("a run's history read back: a line is bounded in bytes, not only the lines", () => {
  /**
   * `lines` with the one at `at` replaced by a line past `historyLineBytesMax` bytes (a hole of
   * zeros in a sparse file), as a file changed since might hold: the same count of lines.
   */
  function withLongLine(path: string, lines: readonly string[], at: number): void {
    const before = lines.slice(0, at).join("");
    const fd = openSync(path, "w");
    try {
      writeSync(fd, `${before}{"index":${at},"value":"`, 0);
      writeSync(
        fd,
        `"}\n${lines.slice(at + 1).join("")}`,
        Buffer.byteLength(before) + historyLineBytesMax + 1,
      );
    } finally {
      closeSync(fd);
    }
  }

  it("wholeRunHistory and recordedOpsAt refuse it, naming the file and line; a wanted line or not", () => {
    // Before, the line was gathered whole whatever its size (the file's line count was bounded, its
    // bytes not): here 64 MiB; a file of gigabytes with no line break was read into memory.
    const ops = sampleHistory();
    const lines = ops.map((op) => opToJsonLine(op) + "\n");
    const dir = freshFolder();
    const history = new StreamedHistory(join(dir, "history.jsonl"), new ArtifactLog(dir));
    withLongLine(history.path, lines, 3);
    const why = `history.jsonl:4: expected a line of at most ${historyLineBytesMax} bytes (one operation's JSON)`;
    expect(() => wholeRunHistory(history, ops.length)).toThrow(why);
    // Line 4 is not among those wanted: before, it was gathered all the same, and the values given.
    expect(() => recordedOpsAt(history.path, new Set([2, 5]), ops.length)).toThrow(HistoryNotAsRecorded);
    expect(() => recordedOpsAt(history.path, new Set([2, 5]), ops.length)).toThrow(why);
    expect(() => readHistoryLines(history.path, () => false)).toThrow(why);
  });
});
