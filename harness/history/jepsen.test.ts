import fc from "fast-check";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseJepsenEdn, parseJepsenJson, parseJepsenLog, parsePorcupineKv } from "./jepsen.ts";
import { HistoryFormatError } from "./validate.ts";

const formatError = (parse: () => unknown): HistoryFormatError => {
  try {
    parse();
  } catch (error) {
    if (error instanceof HistoryFormatError) return error;
    throw error;
  }
  throw new Error("expected a HistoryFormatError");
};

describe("parseJepsenLog (Porcupine's etcd logs)", () => {
  const log = (lines: string[]): string => lines.map((l) => `INFO  jepsen.util - ${l}`).join("\n") + "\n";

  it("maps invocations and completions, numbering index and time by position", () => {
    const ops = parseJepsenLog(
      log(["3\t:invoke\t:cas\t[1 4]", "0\t:invoke\t:read\tnil", "3\t:ok\t:cas\t[1 4]", "0\t:ok\t:read\t4"]),
      "e.log",
    );
    expect(ops).toEqual([
      { index: 0, time: 0, process: 3, type: "invoke", f: "cas", value: [1, 4] },
      { index: 1, time: 1, process: 0, type: "invoke", f: "read", value: null },
      { index: 2, time: 2, process: 3, type: "ok", f: "cas", value: [1, 4] },
      { index: 3, time: 3, process: 0, type: "ok", f: "read", value: 4 },
    ]);
  });

  it("reads space-separated lines too", () => {
    const ops = parseJepsenLog(log(["4   :invoke :cas    [1 2]", "4   :ok     :cas    [1 2]"]), "e.log");
    expect(ops.map((o) => [o.process, o.type, o.f, o.value])).toEqual([
      [4, "invoke", "cas", [1, 2]],
      [4, "ok", "cas", [1, 2]],
    ]);
  });

  it("makes a failed cas a completed mismatch, and keyword completions errors", () => {
    const ops = parseJepsenLog(
      log([
        "1\t:invoke\t:cas\t[2 3]",
        "2\t:invoke\t:read\tnil",
        "3\t:invoke\t:write\t4",
        "4\t:invoke\t:cas\t[0 1]",
        "1\t:fail\t:cas\t[2 3]",
        "2\t:fail\t:read\t:timed-out",
        "3\t:info\t:write\t:timed-out",
        "4\t:info\t:cas\t:timed-out",
      ]),
      "e.log",
    );
    expect(ops.slice(4)).toEqual([
      { index: 4, time: 4, process: 1, type: "fail", f: "cas", value: [2, 3], error: "cas-mismatch" },
      { index: 5, time: 5, process: 2, type: "info", f: "read", value: null, error: "timed-out" },
      { index: 6, time: 6, process: 3, type: "info", f: "write", value: 4, error: "timed-out" },
      { index: 7, time: 7, process: 4, type: "info", f: "cas", value: [0, 1], error: "timed-out" },
    ]);
  });

  it("reads an empty log as no ops", () => {
    expect(parseJepsenLog("", "e.log")).toEqual([]);
  });

  it.each<[string, string, number, string]>([
    [
      "a line of something else",
      log(["1\t:invoke\t:read\tnil"]) + "hello\n",
      2,
      "expected a Jepsen log line",
    ],
    ["an unknown type", log(["1\t:okay\t:read\tnil"]), 1, "one of :invoke, :ok, :fail, :info"],
    ["a bad value", log(["1\t:invoke\t:cas\t[1 2"]), 1, 'expected an EDN value after ":cas"'],
    [
      "a completion never invoked",
      log(["1\t:invoke\t:read\tnil", "2\t:ok\t:read\t3"]),
      2,
      "expected process 2 to have invoked",
    ],
  ])("rejects %s with its line", (_what, text, line, expected) => {
    const error = formatError(() => parseJepsenLog(text, "e.log"));
    expect(error.line).toBe(line);
    expect(error.message).toContain(`e.log:${line}: `);
    expect(error.message).toContain(expected);
  });
});

describe("parseJepsenEdn", () => {
  it("reads a vector of op maps, keeping unknown fields and using :time", () => {
    const ops = parseJepsenEdn(
      `; a comment
[{:process 0, :type :invoke, :f :txn, :value [[:append :x 1] [:r :y nil]], :time 120}
 {:process 0, :type :ok, :f :txn, :value [[:append :x 1] [:r :y [1 2]]], :time 540, :node "n1"}
 {:process :nemesis, :type :info, :f :start, :value nil, :error [:no-conns nil]}]`,
      "h.edn",
    );
    expect(ops).toEqual([
      {
        index: 0,
        time: 120,
        process: 0,
        type: "invoke",
        f: "txn",
        value: [
          ["append", "x", 1],
          ["r", "y", null],
        ],
      },
      {
        index: 1,
        time: 540,
        process: 0,
        type: "ok",
        f: "txn",
        value: [
          ["append", "x", 1],
          ["r", "y", [1, 2]],
        ],
        node: "n1",
      },
      {
        index: 2,
        time: 2,
        process: "nemesis",
        type: "info",
        f: "start",
        value: null,
        error: ["no-conns", null],
      },
    ]);
  });

  it("reads a list, one op map per line, and tagged Jepsen ops; a missing :value is null", () => {
    const list = parseJepsenEdn(
      "({:type :invoke, :f :acquire, :process 1}\n {:type :fail, :f :acquire, :process 1})",
      "h.edn",
    );
    expect(list.map((o) => [o.type, o.value])).toEqual([
      ["invoke", null],
      ["fail", null],
    ]);
    const lines = parseJepsenEdn(
      "#jepsen.history.Op{:index 0, :time 5, :type :invoke, :process 2, :f :read, :value nil}\n" +
        "#jepsen.history.Op{:index 1, :time 9, :type :ok, :process 2, :f :read, :value 3}\n",
      "h.edn",
    );
    expect(lines.map((o) => [o.index, o.time, o.value])).toEqual([
      [0, 5, null],
      [1, 9, 3],
    ]);
  });

  it("reads Porcupine kv lines with their :key", () => {
    const ops = parsePorcupineKv(
      '{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}\n{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}\n',
      "c.txt",
    );
    expect(ops[1]).toEqual({
      index: 1,
      time: 1,
      process: 0,
      type: "ok",
      f: "append",
      key: "0",
      value: "x 0 0 y",
    });
  });

  it.each<[string, string, number, string]>([
    [
      "a bad type",
      "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :okay, :f :read}]",
      2,
      'expected :type to be one of invoke, ok, fail, info; got "okay"',
    ],
    [
      "a string process",
      '{:process "a", :type :invoke, :f :read}',
      1,
      "expected :process to be a non-negative integer",
    ],
    ["a number for f", "{:process 1, :type :invoke, :f 3}", 1, "expected :f to be a string; got 3"],
    [
      "a negative time",
      "{:process 1, :type :invoke, :f :r, :time -4}",
      1,
      "expected :time to be a non-negative integer",
    ],
    ["an element that is not a map", "[{:process 1, :type :invoke, :f :r}\n\n 17]", 3, "expected an op map"],
    ["an unclosed vector", "[{:process 1, :type :invoke, :f :r}\n", 2, 'expected "]" to close the history'],
    ["broken EDN", '{:process 1, :type :invoke, :f :r}\n{:process 1 :type "abc}', 2, "close the string"],
    ["trailing forms after the vector", "[]\n[]", 2, "expected the end of the file"],
    [
      "a repeated :index",
      "{:index 4, :process 1, :type :invoke, :f :r}\n{:index 4, :process 1, :type :ok, :f :r}",
      2,
      "expected :index to be above 4, the :index of the operation on line 1",
    ],
    [
      "an :index that is no whole number",
      "{:index 1.5, :process 1, :type :invoke, :f :r}",
      1,
      "expected :index, when present, to be a non-negative integer; got 1.5",
    ],
    [
      "a second invocation",
      "{:process 1, :type :invoke, :f :r}\n{:process 1, :type :invoke, :f :r}",
      2,
      "before it invokes again",
    ],
  ])("rejects %s with its line", (_what, text, line, expected) => {
    const error = formatError(() => parseJepsenEdn(text, "h.edn"));
    expect(error.line).toBe(line);
    expect(error.message).toContain(`h.edn:${line}: `);
    expect(error.message).toContain(expected);
  });

  it("gives index = position and time = :time or the index, for any well-formed op sequence", () => {
    const opArb = fc.record({
      process: fc.integer({ min: 0, max: 3 }),
      time: fc.option(fc.integer({ min: 0, max: 1e12 }), { nil: undefined }),
      value: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 })),
    });
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 20 }), fc.boolean(), (steps, asVector) => {
        // Each step invokes then completes on its own, so the history is well formed.
        const maps = steps.flatMap((s) =>
          (["invoke", "ok"] as const).map((type) => {
            const value =
              s.value === null ? "nil" : Array.isArray(s.value) ? `[${s.value.join(" ")}]` : String(s.value);
            const time = s.time === undefined ? "" : `, :time ${s.time}`;
            return `{:process ${s.process}, :type :${type}, :f :write, :value ${value}${time}}`;
          }),
        );
        const text = asVector ? `[${maps.join("\n ")}]` : maps.join("\n");
        const ops = parseJepsenEdn(text, "p.edn");
        expect(ops.length).toBe(maps.length);
        ops.forEach((o, i) => {
          const step = steps[Math.floor(i / 2)]!;
          expect(o.index).toBe(i);
          expect(o.time).toBe(step.time ?? i);
          expect(o.process).toBe(step.process);
          expect(o.value).toEqual(step.value);
        });
      }),
      { numRuns: 100 },
    );
  });
});

describe("parseJepsenJson (elle-cli's form)", () => {
  it("reads an array of op objects: plain or colon-prefixed strings, numeric keys, a missing value", () => {
    const ops = parseJepsenJson(
      `[{"index":0,"process":1,"type":"invoke","f":"txn","value":[["append",253,1],["r",255,null]]},
 {"index":1,"process":1,"type":":ok","f":":txn","value":[[":append",253,1],["r",255,[2,3]]]},
 {"type":"invoke","f":"read","process":0,"time":11142323154,"index":2},
 {"type":"info","f":"pause","value":"all","process":"nemesis","time":14147109210,"index":3}]`,
      "h.json",
    );
    expect(ops.map((o) => [o.index, o.type, o.f, o.process])).toEqual([
      [0, "invoke", "txn", 1],
      [1, "ok", "txn", 1],
      [2, "invoke", "read", 0],
      [3, "info", "pause", "nemesis"],
    ]);
    expect(ops[1]!.value).toEqual([
      ["append", 253, 1],
      ["r", 255, [2, 3]],
    ]);
    expect(ops[2]!.value).toBe(null);
    expect(ops[2]!.time).toBe(11142323154);
  });

  it("reads one object per line too, and Elle's transactions without f", () => {
    const ops = parseJepsenJson(
      '{"index":0,"process":0,"type":"invoke","value":[["append",1,1]]}\n' +
        '{"index":1,"process":0,"type":"ok","value":[["append",1,1]]}\n',
      "h.json",
    );
    expect(ops.map((o) => [o.type, o.f])).toEqual([
      ["invoke", "txn"],
      ["ok", "txn"],
    ]);
  });

  it.each<[string, string, number, string]>([
    [
      "broken JSON",
      '[{"type":"invoke","f":"r","process":0},\n {"type":"ok",,}]',
      2,
      "expected a JSON op object",
    ],
    [
      "an element that is not an object",
      '[{"type":"invoke","f":"r","process":0},\n 7]',
      2,
      "expected an op map",
    ],
    ["an unclosed array", '[{"type":"invoke","f":"r","process":0}\n', 2, 'expected "]" to close'],
    [
      "a bad type",
      '[{"type":"invoke","f":"r","process":0},\n{"type":"okay","f":"r","process":0}]',
      2,
      '"type"',
    ],
  ])("rejects %s with its line", (_what, text, line, expected) => {
    const error = formatError(() => parseJepsenJson(text, "h.json"));
    expect(error.line).toBe(line);
    expect(error.message).toContain(`h.json:${line}: `);
    expect(error.message).toContain(expected);
  });
});

describe("completion-only histories (Elle's examples)", () => {
  it("gives every operation an invocation at the start, under a process of its own", () => {
    const ops = parseJepsenEdn(
      `[{:type :ok, :value [[:append :x 1] [:r :y [1]]]}
 {:process 3, :type :ok, :value [[:append :x 2] [:append :y 1]]}
 {:process :nemesis, :type :info, :f :kill, :value nil}
 {:process 3, :type :info, :value [[:r :x nil]]}]`,
      "elle.edn",
    );
    expect(ops.map((o) => [o.index, o.type, o.f, o.process])).toEqual([
      [0, "invoke", "txn", 4],
      [1, "invoke", "txn", 5],
      [2, "invoke", "txn", 6],
      [3, "ok", "txn", 4],
      [4, "ok", "txn", 5],
      [5, "info", "kill", "nemesis"],
      [6, "info", "txn", 6],
    ]);
    // Reads carry nothing at invocation; the recorded process is kept.
    expect(ops[0]!.value).toEqual([
      ["append", "x", 1],
      ["r", "y", null],
    ]);
    expect(ops[4]!["recordedProcess"]).toBe(3);
    expect(ops.slice(0, 3).every((o) => o.time === 0)).toBe(true);
  });

  it("reads elle-cli JSON without invocations the same way", () => {
    const ops = parseJepsenJson('[{"type":"ok","value":[["r","x",[1]]]}]', "e.json");
    expect(ops.map((o) => o.type)).toEqual(["invoke", "ok"]);
  });

  it("refuses an invocation in a history that began with a completion, naming its line", () => {
    const error = formatError(() =>
      parseJepsenEdn(
        "{:process 0, :type :ok, :f :read, :value 1}\n{:process 1, :type :invoke, :f :read}",
        "h.edn",
      ),
    );
    expect(error.line).toBe(2);
    expect(error.message).toContain("read as completion-only");
  });
});

describe("time within an operation", () => {
  it("refuses a completion timed before its invocation, in every format, naming its line", () => {
    const edn = formatError(() =>
      parseJepsenEdn(
        "{:process 0, :type :invoke, :f :read, :time 50}\n{:process 0, :type :ok, :f :read, :value 1, :time 20}",
        "h.edn",
      ),
    );
    expect(edn.line).toBe(2);
    expect(edn.message).toContain("not to be timed before its invocation (time 50); got time 20");
    const json = formatError(() =>
      parseJepsenJson(
        '[{"process":0,"type":"invoke","f":"read","time":50},\n {"process":0,"type":"ok","f":"read","time":49}]',
        "h.json",
      ),
    );
    expect(json.line).toBe(2);
  });
});

describe("parsePorcupineKv's line reader", () => {
  const corpusKv = join(import.meta.dirname, "../../../shared/corpus/porcupine/kv");

  it.skipIf(!existsSync(corpusKv))(
    "reads every Porcupine kv history of the corpus as the EDN reader does",
    () => {
      const files = readdirSync(corpusKv).filter((f) => f.endsWith(".txt"));
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        const text = readFileSync(join(corpusKv, f), "utf8");
        expect(parsePorcupineKv(text, f)).toEqual(parseJepsenEdn(text, f));
      }
    },
  );

  it("gives the EDN reader's ops and errors for any history, in its shape or not", () => {
    // Lines in Porcupine's shape, some bent out of it (an escape, an extra field, spacing, a
    // completion first, a process invoking twice): the line reader must hand those to the EDN
    // reader, or fail as it does, never answer differently.
    const line = fc
      .record({
        process: fc.integer({ min: 0, max: 3 }),
        type: fc.constantFrom("invoke", "ok", "ok", "invoke", "fail", "info"),
        f: fc.constantFrom("get", "put", "append"),
        key: fc.constantFrom("0", "1", "k"),
        value: fc.option(fc.constantFrom("x 0 0 y", "", 'a\\"b', "z"), { nil: null }),
        bend: fc.constantFrom("", "", "", "", " ", ", :time 3", "\r"),
      })
      .map(
        (r) =>
          `{:process ${r.process}, :type :${r.type}, :f :${r.f}, :key "${r.key}", :value ${r.value === null ? "nil" : `"${r.value}"`}${r.bend === " " || r.bend === "\r" ? "" : r.bend}}${r.bend === " " ? " " : r.bend === "\r" ? "\r" : ""}`,
      );
    const outcome = (parse: () => unknown): unknown => {
      try {
        return parse();
      } catch (error) {
        if (error instanceof HistoryFormatError) return `${error.message}`;
        throw error;
      }
    };
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
        const text = lines.join("\n") + "\n";
        expect(outcome(() => parsePorcupineKv(text, "kv.txt"))).toEqual(
          outcome(() => parseJepsenEdn(text, "kv.txt")),
        );
      }),
      { seed: 2026, numRuns: 400 },
    );
  });
});
