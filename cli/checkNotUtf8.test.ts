/**
 * A history with bytes that are not UTF-8 is bad input, named by file and line (exit 254). Before,
 * every reader decoded such a byte as U+FFFD and checked on: keys written as the bytes 0xFF and
 * 0xFE became one key, and a register history that is linearizable (a write to one key, a read of
 * the other that saw nothing) was reported INVALID; an append history, unknown ("the same value
 * twice"). Both readers are held to it: the streamed one (Elle's list-append inferred from content)
 * and the ordinary one.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../harness/testkit.ts";
import { checkFile, parseCheckArgs } from "./check.ts";

const scratch = scratchFolders("not-utf8");

/** JSONL lines with `KA` and `KB` (ASCII placeholders) replaced by the given bytes. */
function historyBytes(lines: readonly object[], keyA: Buffer, keyB: Buffer): Buffer {
  const text = lines.map((line) => JSON.stringify(line)).join("\n") + "\n";
  const parts = text.split(/(KA|KB)/);
  return Buffer.concat(
    parts.map((part) => (part === "KA" ? keyA : part === "KB" ? keyB : Buffer.from(part))),
  );
}

const op = (index: number, process: number, type: string, f: string, value: unknown) => ({
  index,
  time: index * 10,
  process,
  type,
  f,
  value,
});

/** A write of 1 to one key, then a read of the other that saw nothing: linearizable. */
const registerLines = [
  op(0, 0, "invoke", "write", ["KA", 1]),
  op(1, 0, "ok", "write", ["KA", 1]),
  op(2, 1, "invoke", "read", ["KB", null]),
  op(3, 1, "ok", "read", ["KB", null]),
];

/** 1 appended to each of two keys, then a read of both: strict-serializable. */
const appendLines = [
  op(0, 0, "invoke", "txn", [["append", "KA", 1]]),
  op(1, 0, "ok", "txn", [["append", "KA", 1]]),
  op(2, 1, "invoke", "txn", [["append", "KB", 1]]),
  op(3, 1, "ok", "txn", [["append", "KB", 1]]),
  op(4, 2, "invoke", "txn", [
    ["r", "KA", null],
    ["r", "KB", null],
  ]),
  op(5, 2, "ok", "txn", [
    ["r", "KA", [1]],
    ["r", "KB", [1]],
  ]),
];

async function check(bytes: Buffer, ordinaryOnly: boolean, ...flags: string[]) {
  const file = join(scratch(), "history.jsonl");
  writeFileSync(file, bytes);
  const outcome = await checkFile(file, await parseCheckArgs([file, "--quiet", ...flags]), ordinaryOnly);
  return { ...outcome, file };
}

const notUtf8 = (file: string, line: number, bytes: string): string =>
  `${file}:${line}: expected UTF-8 text (a history is read as UTF-8, as JSON is); got the byte ${bytes}, which is not UTF-8`;

describe.each([
  ["streamed", false],
  ["ordinary", true],
] as const)("bytes that are not UTF-8 (%s reader)", (_, ordinaryOnly) => {
  it("are bad input at their line, where two keys of such bytes were read as one", async () => {
    const [ff, fe] = [Buffer.from([0xff]), Buffer.from([0xfe])];
    // The same histories with two ASCII keys: what they are.
    const register = await check(
      historyBytes(registerLines, Buffer.from("a"), Buffer.from("b")),
      ordinaryOnly,
      "--workload",
      "register",
    );
    expect(register.exitCode, register.line).toBe(0);
    const append = await check(historyBytes(appendLines, Buffer.from("a"), Buffer.from("b")), ordinaryOnly);
    expect(append.exitCode, append.line).toBe(0);

    const registerBytes = await check(
      historyBytes(registerLines, ff, fe),
      ordinaryOnly,
      "--workload",
      "register",
    );
    expect(registerBytes.exitCode, registerBytes.line).toBe(254);
    expect(registerBytes.json["error"]).toBe(notUtf8(registerBytes.file, 1, "0xff"));
    expect(registerBytes.json["line"]).toBe(1);
    const appendBytes = await check(historyBytes(appendLines, ff, fe), ordinaryOnly);
    expect(appendBytes.exitCode, appendBytes.line).toBe(254);
    expect(appendBytes.json["error"]).toBe(notUtf8(appendBytes.file, 1, "0xff"));
    // Only the second key not UTF-8: its first line.
    const second = await check(historyBytes(appendLines, Buffer.from("a"), fe), ordinaryOnly);
    expect(second.json["error"]).toBe(notUtf8(second.file, 3, "0xfe"));
  });

  it("come after an earlier bad line, which is named first", async () => {
    const lines = [...appendLines.slice(0, 2), { index: 2 }, ...appendLines.slice(2)];
    const r = await check(historyBytes(lines, Buffer.from("a"), Buffer.from([0xfe])), ordinaryOnly);
    expect(r.exitCode, r.line).toBe(254);
    expect(r.json["line"]).toBe(3);
  });

  it("are named at their line in a later chunk of a file (its lines before counted again)", async () => {
    // 20,000 writes and reads of "a", then the two lines with the bad key: far past the first chunk.
    const lines = Array.from({ length: 20_000 }, (_, i) =>
      op(i, 0, i % 2 === 0 ? "invoke" : "ok", "write", ["a", 1]),
    );
    lines.push(op(20_000, 0, "invoke", "write", ["KA", 2]), op(20_001, 0, "ok", "write", ["KA", 2]));
    const r = await check(
      historyBytes(lines, Buffer.from([0xff]), Buffer.from("b")),
      ordinaryOnly,
      "--workload",
      "register",
    );
    expect(r.exitCode, r.line).toBe(254);
    expect(r.json["error"]).toBe(notUtf8(r.file, 20_001, "0xff"));
  });

  it("leave UTF-8 text alone, U+FFFD itself and a character cut by a torn last line included", async () => {
    const keys = [Buffer.from("\ufffd", "utf8"), Buffer.from("🦀", "utf8")] as const;
    const whole = await check(historyBytes(appendLines, ...keys), ordinaryOnly);
    expect(whole.exitCode, whole.line).toBe(0);
    // A last line cut inside a character (a writer killed mid-line): left out as torn.
    const cut = Buffer.concat([
      historyBytes(appendLines, ...keys),
      Buffer.from('{"index":6,"f":"'),
      keys[1].subarray(0, 2),
    ]);
    const torn = await check(cut, ordinaryOnly);
    expect(torn.exitCode, torn.line).toBe(0);
    expect(torn.json["tornLastLine"]).toBe(7);
  });
});
