import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { Op } from "./op.ts";
import { pairOps } from "./op.ts";
import type { HistoryFormat } from "./read.ts";
import { detectHistoryFormat, readHistoryFile } from "./read.ts";
import { HistoryFormatError } from "./validate.ts";

/** The shared corpus sits beside the repository (CI clones it to ../shared). */
const corpus = fileURLToPath(new URL("../../../shared/corpus", import.meta.url));

const walk = (d: string): string[] =>
  readdirSync(d)
    .sort()
    .flatMap((n) => {
      const p = join(d, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });

const dir = mkdtempSync(join(tmpdir(), "faultline-read-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("readHistoryFile on every file of ../shared/corpus", () => {
  if (!existsSync(corpus)) throw new Error(`the shared corpus is missing: expected it at ${corpus}`);
  const files = walk(corpus).filter((f) => /\.(edn|log|txt)$/.test(f));
  const expectedFormat = (f: string): HistoryFormat =>
    f.endsWith(".log") ? "jepsen-log" : f.endsWith(".txt") ? "porcupine-kv" : "jepsen-edn";
  const read = new Map<string, Op[]>();

  it("finds every history that expected.json names", () => {
    const expected = JSON.parse(readFileSync(join(corpus, "expected.json"), "utf8")) as Record<
      string,
      Record<string, boolean>
    >;
    const named = Object.entries(expected).flatMap(([folder, verdicts]) =>
      Object.keys(verdicts).map((f) => join(corpus, folder, f)),
    );
    expect(named.length).toBe(230);
    for (const f of named) expect(files).toContain(f);
    expect(files.length).toBe(231); // and etcd_095.log, which has no verdict
  });

  it("reads each one without error, in the right format, with invocations and completions pairing up", async () => {
    for (const f of files) {
      const { format, ops } = await readHistoryFile(f);
      expect(format, relative(corpus, f)).toBe(expectedFormat(f));
      const pairs = pairOps(ops);
      expect(pairs.length, relative(corpus, f)).toBeGreaterThanOrEqual(
        ops.filter((o) => o.type === "invoke").length,
      );
      ops.forEach((o, i) => expect(o.index).toBe(i));
      read.set(f, ops);
    }
  });

  it("gives one op per line in the line formats, and etcd_095.log is empty", () => {
    for (const [f, ops] of read) {
      if (f.endsWith(".edn")) continue;
      const lines = readFileSync(f, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "");
      expect(ops.length, relative(corpus, f)).toBe(lines.length);
      const invokes = lines.filter((l) => /[\s,]:invoke[\s,]/.test(l)).length;
      expect(ops.filter((o) => o.type === "invoke").length).toBe(invokes);
    }
    expect(read.get(join(corpus, "porcupine/jepsen/etcd_095.log"))).toEqual([]);
  });

  it("sanity-checks the etcd logs: one register, cas values are pairs, failed cas are mismatches", () => {
    let failedCas = 0;
    let infos = 0;
    for (const [f, ops] of read) {
      if (!f.endsWith(".log")) continue;
      for (const o of ops) {
        expect(["read", "write", "cas"]).toContain(o.f);
        if (o.f === "cas") expect(Array.isArray(o.value) && o.value.length === 2).toBe(true);
        if (o.f === "cas" && o.type === "fail") {
          failedCas++;
          expect(o.error).toBe("cas-mismatch");
        }
        if (o.type === "info") {
          infos++;
          expect(o.error).toBe("timed-out");
        }
      }
    }
    // Counted in the files with awk: 1,748 ":fail :cas" lines; 657 ":info :cas" and 626
    // ":info :write" lines, plus 17 ":fail :read :timed-out" that become info reads.
    expect(failedCas).toBe(1748);
    expect(infos).toBe(657 + 626 + 17);
  });

  it("sanity-checks the kv and knossos histories", () => {
    const kv = read.get(join(corpus, "porcupine/kv/c01-ok.txt"))!;
    expect(kv.length).toBe(116);
    expect(kv.every((o) => typeof o["key"] === "string" && ["get", "put", "append"].includes(o.f))).toBe(
      true,
    );
    const mutex = read.get(join(corpus, "knossos/mutex/bad/etcd.edn"))!;
    expect(mutex.filter((o) => o.process === "nemesis").length).toBeGreaterThan(0);
    expect(mutex[1]).toMatchObject({ type: "fail", f: "release", error: "not-held", time: 342667129 });
    const multi = read.get(join(corpus, "knossos/multi-register/good/multi-register.edn"))!;
    expect(multi[0]).toMatchObject({ f: "txn", value: [["read", "x", null]], time: 7686455705 });
  });
});

describe("format detection and errors", () => {
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it.each<[string, string, HistoryFormat | undefined]>([
    ["h.jsonl", '{"index":0,"time":0,"process":0,"type":"invoke","f":"r","value":null}\n', "jsonl"],
    ["h.txt", '{"index":0}\n', "jsonl"],
    ["history.edn", "[{:process 0 :type :invoke}]", "jepsen-edn"],
    ["history.edn", "; comment\n\n({:process 0})", "jepsen-edn"],
    ["x", "#jepsen.history.Op{:index 0}", "jepsen-edn"],
    ["x", "{:process 0, :type :invoke, :f :read}", "jepsen-edn"],
    ["x", '{:process 0, :type :invoke, :f :get, :key "1", :value nil}', "porcupine-kv"],
    ["x.jsonl", "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]", "jepsen-log"],
    ["e.log", "", "jepsen-log"],
    ["e.edn", "\n", "jepsen-edn"],
    ["e.txt", "", "porcupine-kv"],
    ["e.jsonl", "", "jsonl"],
    ["x.jsonl", "hello world", undefined],
    ["h.json", '[{"type":"invoke","f":"read","process":0}]', "jepsen-json"],
    ["x", '[\n  {"index": 0, "type": "ok"}]', "jepsen-json"],
    ["h.json", '{"index":0,"type":"invoke","process":0}\n', "jepsen-json"],
    ["e.json", "", "jepsen-json"],
    ["e.json", "[]", "jepsen-json"],
    ["e.edn", "[]", "jepsen-edn"],
  ])("%s %j is %s", (name, text, format) => {
    expect(detectHistoryFormat(text, name)).toBe(format);
  });

  it("reads a JSONL file through the same door", async () => {
    const path = write("ok.jsonl", '{"index":0,"time":0,"process":0,"type":"invoke","f":"r","value":null}\n');
    expect(await readHistoryFile(path)).toEqual({
      format: "jsonl",
      ops: [{ index: 0, time: 0, process: 0, type: "invoke", f: "r", value: null }],
    });
  });

  const errorOf = async (path: string): Promise<HistoryFormatError> => {
    try {
      await readHistoryFile(path);
    } catch (error) {
      if (error instanceof HistoryFormatError) return error;
      throw error;
    }
    throw new Error("expected a HistoryFormatError");
  };

  it("names the file and line of content it cannot place", async () => {
    const path = write("junk.jsonl", "\n\nhello world\n");
    const error = await errorOf(path);
    expect(error.message).toBe(`${path}:3: ${error.detail}`);
    expect(error.detail).toContain("expected a history");
  });

  it("names a missing file or a directory", async () => {
    expect((await errorOf(join(dir, "nope.jsonl"))).message).toContain("no such file");
    expect((await errorOf(dir)).message).toContain("is a directory");
  });

  it("names the history in a run folder given in its place", async () => {
    // `faultline check store/latest` said only "is a directory, expected a history file".
    const run = join(dir, "run-folder");
    mkdirSync(run);
    expect((await errorOf(run)).message).toBe(`${run}: cannot read: is a directory, expected a history file`);
    write(join("run-folder", "history.jsonl"), "");
    expect((await errorOf(run)).message).toBe(
      `${run}: cannot read: is a directory, expected a history file (a run folder: its history is ${join(run, "history.jsonl")})`,
    );
  });

  it("reports a bad line of each format as file:line", async () => {
    const cases: [string, string, number][] = [
      [
        "bad.jsonl",
        '{"index":0,"time":0,"process":0,"type":"invoke","f":"r","value":null}\n{"index":1,"time":0,"process":0,"type":"okay","f":"r","value":1}\n',
        2,
      ],
      ["bad.edn", "[{:process 0, :type :invoke, :f :r}\n {:process 0, :type :ok, :f :r, :time -1}]", 2],
      ["bad.log", "INFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - x\n", 2],
      [
        "bad.txt",
        '{:process 0, :type :invoke, :f :get, :key "1"}\n{:process 0, :type :ok, :f :get, :key "1" :value}\n',
        2,
      ],
    ];
    for (const [name, text, line] of cases) {
      const path = write(name, text);
      const error = await errorOf(path);
      expect(error.line, name).toBe(line);
      expect(error.message.startsWith(`${path}:${line}: `), error.message).toBe(true);
    }
  });

  it("accepts a UTF-8 byte-order mark, in every format", async () => {
    const bom = "\ufeff";
    const jsonl = write(
      "bom.jsonl",
      bom + '{"index":0,"time":0,"process":0,"type":"invoke","f":"r","value":null}\n',
    );
    expect((await readHistoryFile(jsonl)).ops).toHaveLength(1);
    const edn = write("bom.edn", bom + "[{:process 0, :type :invoke, :f :r}]");
    expect(await readHistoryFile(edn)).toMatchObject({ format: "jepsen-edn", ops: [{ f: "r" }] });
    const log = write("bom.log", bom + "INFO  jepsen.util - 1\t:invoke\t:read\tnil\n");
    expect((await readHistoryFile(log)).ops).toHaveLength(1);
  });

  it("shows invisible characters escaped in its messages, never raw", async () => {
    const path = write(
      "hostile.jsonl",
      '{"index":0,"time":0,"process":0,"type":"in\u202evoke\\u0000","f":"r","value":null}\n',
    );
    const error = await errorOf(path);
    expect(error.message).toContain("\\u202e");
    expect(error.message).toContain("\\u0000");
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    expect(error.message).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u202a-\u202e\ufeff]/);
    // A byte-order mark in the middle of a file is shown too.
    const mid = write("mid-bom.jsonl", '\n\ufeff{"index":0}\n');
    expect((await errorOf(mid)).message).toContain("\\ufeff");
  });

  it("refuses a completion timed before its invocation, naming file and line", async () => {
    const path = write(
      "backwards.jsonl",
      '{"index":0,"time":900,"process":0,"type":"invoke","f":"r","value":null}\n' +
        '{"index":1,"time":100,"process":0,"type":"ok","f":"r","value":1}\n',
    );
    const error = await errorOf(path);
    expect(error.line).toBe(2);
    expect(error.message).toContain(`${path}:2: `);
    expect(error.message).toContain("not to be timed before its invocation");
  });
});

describe("a path node refuses outright", () => {
  it("is bad input naming the path, like a missing file, not an internal error", async () => {
    const read = readHistoryFile("a\u0000b.jsonl");
    await expect(read).rejects.toThrow(HistoryFormatError);
    await expect(readHistoryFile("a\u0000b.jsonl")).rejects.toThrow(
      /cannot read: not a file name \(it holds a NUL/,
    );
  });
});
