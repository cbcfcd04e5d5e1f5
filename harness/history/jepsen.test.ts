import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseJepsenEdn, parseJepsenLog, parsePorcupineKv } from "./jepsen.ts";
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
