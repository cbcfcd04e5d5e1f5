import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { parseJsonExact } from "./exactJson.ts";
import { HistoryWriter, parseJsonlLines, readJsonlHistoryAll } from "./jsonl.ts";
import type { Op } from "./op.ts";
import { pairOps } from "./op.ts";
import { HistoryFormatError } from "./validate.ts";

const dir = mkdtempSync(join(tmpdir(), "faultline-jsonl-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCounter = 0;
const tempPath = (): string => join(dir, `h${fileCounter++}.jsonl`);

const op = (
  index: number,
  process: Op["process"],
  type: Op["type"],
  f = "read",
  value: unknown = null,
): Op => ({
  index,
  time: index * 10,
  process,
  type,
  f,
  value,
});

/** A well-formed history: each process alternates invoke and completion; some stay open. */
const historyArbitrary: fc.Arbitrary<Op[]> = fc
  .array(
    fc.record({
      process: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant("nemesis" as const)),
      f: fc.constantFrom("read", "write", "cas", "txn"),
      value: fc.jsonValue({ maxDepth: 2 }),
      completion: fc.constantFrom("ok", "fail", "info" as const),
      node: fc.option(fc.constantFrom("n1", "n2"), { nil: undefined }),
    }),
    { maxLength: 40 },
  )
  .map((steps) => {
    const open = new Map<Op["process"], string>();
    const ops: Op[] = [];
    for (const step of steps) {
      const index = ops.length;
      const base = { index, time: index * 1000, process: step.process, value: step.value };
      const node = step.node === undefined ? {} : { node: step.node };
      const openF = open.get(step.process);
      if (openF === undefined) {
        open.set(step.process, step.f);
        ops.push({ ...base, ...node, type: "invoke", f: step.f });
      } else {
        open.delete(step.process);
        ops.push({ ...base, ...node, type: step.completion, f: openF });
      }
    }
    return ops;
  });

describe("HistoryWriter and readJsonlHistory", () => {
  it("round-trips any well-formed history", async () => {
    await fc.assert(
      fc.asyncProperty(historyArbitrary, async (ops) => {
        const path = tempPath();
        const writer = HistoryWriter.open(path);
        for (const o of ops) writer.append(o);
        writer.close();
        const text = readFileSync(path, "utf8");
        expect(text.split("\n").length).toBe(ops.length + 1);
        // JSON drops -0 and undefined exactly as the writer does, so compare with that.
        expect(await readJsonlHistoryAll(path)).toEqual(parseJsonExact(JSON.stringify(ops)));
      }),
      { numRuns: 60 },
    );
  });

  it("writes a bigint as its decimal string", async () => {
    const path = tempPath();
    const writer = HistoryWriter.open(path);
    writer.append(op(0, 0, "invoke", "write", 2n ** 70n));
    writer.close();
    expect((await readJsonlHistoryAll(path))[0]!.value).toBe((2n ** 70n).toString());
  });

  it("closes durably: the buffered lines written, then fsynced, then closed; an fsync's failure rejects", async () => {
    // A run's history was only closed: a power cut could keep results.json and lose the history.
    const path = tempPath();
    const writer = HistoryWriter.open(path, { bufferMs: 60_000 });
    writer.append(op(0, 0, "invoke"));
    let release: (error?: NodeJS.ErrnoException) => void = () => undefined;
    const synced: string[] = [];
    const closing = writer.closeDurably(
      (fd) =>
        new Promise((resolve) => {
          synced.push(readFileSync(path, "utf8"));
          expect(fd).toBeGreaterThan(2);
          release = resolve;
        }),
    );
    let settled = false;
    void closing.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 10));
    // The line was written before the fsync began, and closing waits for the fsync.
    expect(synced).toEqual([readFileSync(path, "utf8")]);
    expect(synced[0]).toMatch(/"index":0/);
    expect(settled).toBe(false);
    release();
    await closing;
    expect(() => writer.append(op(1, 0, "ok"))).toThrow(/closed/);

    const failing = HistoryWriter.open(tempPath());
    failing.append(op(0, 0, "invoke"));
    const eio = Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" });
    await expect(failing.closeDurably(() => Promise.resolve(eio))).rejects.toThrow(/EIO/);
    // The real fsync, end to end.
    const real = HistoryWriter.open(tempPath());
    real.append(op(0, 0, "invoke"));
    await real.closeDurably();
  });

  it("refuses to append after close", () => {
    const writer = HistoryWriter.open(tempPath());
    writer.close();
    expect(() => writer.append(op(0, 0, "invoke"))).toThrow(/closed/);
  });

  it("buffered, writes every line by close, and waiting lines within bufferMs without more appends", async () => {
    await fc.assert(
      fc.asyncProperty(historyArbitrary, async (ops) => {
        const path = tempPath();
        const writer = HistoryWriter.open(path, { bufferMs: 60_000 });
        for (const o of ops) writer.append(o);
        writer.close();
        expect(await readJsonlHistoryAll(path)).toEqual(parseJsonExact(JSON.stringify(ops)));
      }),
      { numRuns: 20 },
    );
    const path = tempPath();
    const writer = HistoryWriter.open(path, { bufferMs: 20 });
    writer.append(op(0, 0, "invoke"));
    writer.append(op(1, 0, "ok"));
    expect(readFileSync(path, "utf8")).toBe("");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(readFileSync(path, "utf8").split("\n")).toHaveLength(3);
    writer.close();
  });

  it.each([0, 20])(
    "leaves whole lines readable when the writing process is killed with SIGKILL (bufferMs %i)",
    async (bufferMs) => {
      const path = tempPath();
      const child = fileURLToPath(new URL("./fixtures/append-until-killed.ts", import.meta.url));
      const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
      const subprocess = execa(process.execPath, ["--import", "tsx", child, path, String(bufferMs)], {
        cwd: repoRoot,
        reject: false,
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the child never said ready")), 60_000);
        subprocess.stdout?.on("data", (chunk: Buffer) => {
          if (chunk.toString().includes("ready")) {
            clearTimeout(timer);
            resolve();
          }
        });
        subprocess.on("exit", () => {
          clearTimeout(timer);
          resolve();
        });
      });
      subprocess.kill("SIGKILL");
      const result = await subprocess;
      expect(result.signal).toBe("SIGKILL");
      const text = readFileSync(path, "utf8");
      const lines = text.split("\n").filter((l) => l !== "");
      expect(lines.length).toBeGreaterThan(2_000);
      expect(lines.length).toBeLessThan(200_000); // killed before it finished
      // Every write was one syscall, so no line is torn: the file ends in a newline and every
      // line reads back, in order.
      expect(text.endsWith("\n")).toBe(true);
      const ops = await readJsonlHistoryAll(path);
      expect(ops.length).toBe(lines.length);
      expect(ops.map((o) => o.index)).toEqual(ops.map((_o, i) => i));
      expect(() => pairOps(ops)).not.toThrow();
    },
  );
});

describe("readJsonlHistory: a bad line names file, line and what was expected", () => {
  const line = (o: Record<string, unknown>): string => JSON.stringify(o);
  const good0 = line({ ...op(0, 0, "invoke") });
  const good1 = line({ ...op(1, 0, "ok", "read", 3) });

  const errorFor = async (lines: string[]): Promise<HistoryFormatError> => {
    const path = tempPath();
    writeFileSync(path, lines.join("\n") + "\n");
    try {
      await readJsonlHistoryAll(path);
    } catch (error) {
      if (error instanceof HistoryFormatError) {
        expect(error.file).toBe(path);
        expect(error.message.startsWith(`${path}:${error.line}: `)).toBe(true);
        return error;
      }
      throw error;
    }
    throw new Error("expected the history to be rejected");
  };

  it.each<[string, string[], number, string]>([
    [
      "a bad type",
      [good0, line({ ...op(1, 0, "ok"), type: "okay" })],
      2,
      'expected "type" to be one of invoke, ok, fail, info; got "okay"',
    ],
    [
      "a missing field",
      [good0, line({ index: 1, time: 1, process: 0, type: "ok", value: 1 })],
      2,
      'expected "f" to be a string; got nothing',
    ],
    [
      "a bad process",
      [line({ ...op(0, 0, "invoke"), process: -1 })],
      1,
      'expected "process" to be a non-negative integer or "nemesis"; got -1',
    ],
    [
      "a fractional time",
      [line({ ...op(0, 0, "invoke"), time: 1.5 })],
      1,
      'expected "time" to be a non-negative integer',
    ],
    [
      // JSON.parse reads it as Infinity, which the message once wrote as null.
      "a time too large for a double",
      [line(op(0, 0, "invoke")).replace('"time":0', '"time":1e400')],
      1,
      'expected "time" to be a non-negative integer (nanoseconds); got Infinity (a number beyond a double\'s range)',
    ],
    [
      // Read as it was, it overflowed the checkers' stack: an internal error (exit 255).
      "a value nested 200,000 deep",
      [
        line({ ...op(0, 0, "invoke"), value: 0 }).replace(
          '"value":0',
          '"value":' + "[".repeat(200_000) + "]".repeat(200_000),
        ),
      ],
      1,
      "expected one JSON object per line; arrays and objects nested deeper than 1000",
    ],
    [
      "no value",
      [line({ index: 0, time: 0, process: 0, type: "invoke", f: "read" })],
      1,
      'expected a "value" field',
    ],
    ["not JSON", [good0, "{index: 1"], 2, "expected one JSON object per line"],
    ["not an object", ["[1,2]"], 1, "expected an operation"],
    ["a skipped index", [good0, line(op(2, 0, "ok"))], 2, 'expected "index" to be 1'],
    ["a completion never invoked", [line(op(0, 3, "ok"))], 1, "expected process 3 to have invoked"],
    ["a double invoke", [good0, line(op(1, 0, "invoke"))], 2, "before it invokes again"],
    ["a completion of another f", [good0, line(op(1, 0, "ok", "write"))], 2, 'to have f "read"'],
  ])("rejects %s", async (_what, lines, lineNumber, expected) => {
    const error = await errorFor(lines);
    expect(error.line).toBe(lineNumber);
    expect(error.message).toContain(expected);
  });

  it("accepts blank lines, nemesis completions alone and unknown extra fields", async () => {
    const nemesis = line({ ...op(2, "nemesis", "info", "start"), extra: { a: 1 } });
    const ops = await parseAll([good0, "", good1, nemesis, ""]);
    expect(ops.map((o) => o.index)).toEqual([0, 1, 2]);
    expect(ops[2]!["extra"]).toEqual({ a: 1 });
  });

  it("reports a torn last line by its number", async () => {
    const error = await errorFor([good0, good1, good0.slice(0, 10)]);
    expect(error.line).toBe(3);
  });
});

async function parseAll(lines: string[]): Promise<Op[]> {
  const ops: Op[] = [];
  for await (const o of parseJsonlLines(lines, "mem.jsonl")) ops.push(o);
  return ops;
}
