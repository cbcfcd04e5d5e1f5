/**
 * The built-in models one by one, on histories small enough to check by hand: a sequential run
 * each model must accept, and one change to it that it must reject.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ModelOp } from "./model.ts";
import { jsonText } from "./model.ts";
import { builtinModel } from "./models.ts";
import { HistoryShapeError } from "../../harness/history/op.ts";
import { checkLinearizableHistory } from "./index.ts";
import type { Row } from "./testHistory.ts";
import { history } from "./testHistory.ts";

/** Each row's op invoked and completed ok in turn, by one process: a sequential run. */
function sequential(ops: readonly (readonly [string, unknown])[]): Row[] {
  return ops.flatMap(([f, value]): Row[] => [
    [0, "invoke", f, value],
    [0, "ok", f, value],
  ]);
}

const check = (model: string, rows: readonly Row[], init?: unknown): unknown =>
  checkLinearizableHistory(history(rows), { model, init }).valid;

describe("built-in models", () => {
  it("set: a read returns the whole set, in any order", () => {
    const run = sequential([
      ["add", 1],
      ["add", 2],
      ["read", [2, 1]],
    ]);
    expect(check("set", run)).toBe(true);
    expect(
      check(
        "set",
        sequential([
          ["add", 1],
          ["read", [1, 3]],
        ]),
      ),
    ).toBe(false);
    expect(check("set", sequential([["read", [5]]]), [5])).toBe(true);
  });

  it("set: a read that returns an element twice matches no set (as the set-full checker says)", () => {
    // Before, the read's elements were deduplicated first: [1, 1] read as {1}, linearizable,
    // while --workload set called the same history a "duplicated" anomaly.
    const twice = (read: unknown[]): unknown =>
      check(
        "set",
        sequential([
          ["add", 1],
          ["add", 2],
          ["read", read],
        ]),
      );
    expect(twice([2, 1])).toBe(true);
    expect(twice([1, 2, 1])).toBe(false);
    expect(twice([1, 1])).toBe(false);
    expect(twice([{ a: 1, b: 2 }, 1, 2])).toBe(false);
  });

  it("counter: reads see the sum of the adds", () => {
    expect(
      check(
        "counter",
        sequential([
          ["add", 2],
          ["inc", null],
          ["read", 3],
        ]),
      ),
    ).toBe(true);
    expect(
      check(
        "counter",
        sequential([
          ["add", 2],
          ["read", 1],
        ]),
      ),
    ).toBe(false);
    expect(check("counter", sequential([["read", 10]]), 10)).toBe(true);
    // Decimals add as written: as doubles 0.1 + 0.2 was 0.30000000000000004, and a read of 0.3 failed.
    const decimals = (read: number) =>
      sequential([
        ["add", 0.1],
        ["add", 0.2],
        ["read", read],
      ]);
    expect(check("counter", decimals(0.3))).toBe(true);
    expect(check("counter", decimals(0.1 + 0.2))).toBe(false);
    // A read of text is bad input, as an add of text is: compared as a count it never matched, and
    // a correct history (node-postgres answers a BIGINT as "3") was not linearizable.
    const text = sequential([
      ["add", 3],
      ["read", "3"],
    ]);
    expect(() => check("counter", text)).toThrow('expected a counter read to return a number; got "3"');
    expect(() => check("counter", sequential([["add", "3"]]))).toThrow('expected a number to add; got "3"');
  });

  it("counter: counts exactly past 2^53 − 1, where a double would round", () => {
    // 9007199254740000 + 993 is 9007199254740993, which a double rounds to …992; less 10 it is
    // …983 again, within the exact range. As doubles, a read of …982 passed and one of …983 failed.
    const run = (read: number) =>
      sequential([
        ["add", 9007199254740000],
        ["add", 993],
        ["add", -10],
        ["read", read],
      ]);
    expect(check("counter", run(9007199254740983))).toBe(true);
    expect(check("counter", run(9007199254740982))).toBe(false);
  });

  it("fifo-queue: dequeues in enqueue order, null when empty", () => {
    const run = sequential([
      ["dequeue", null],
      ["enqueue", "a"],
      ["enqueue", "b"],
      ["dequeue", "a"],
      ["dequeue", "b"],
    ]);
    expect(check("fifo-queue", run)).toBe(true);
    expect(
      check(
        "fifo-queue",
        sequential([
          ["enqueue", "a"],
          ["enqueue", "b"],
          ["dequeue", "b"],
        ]),
      ),
    ).toBe(false);
  });

  it("mutex: acquire when free, release when held", () => {
    expect(
      check(
        "mutex",
        sequential([
          ["acquire", null],
          ["release", null],
          ["acquire", null],
        ]),
      ),
    ).toBe(true);
    expect(
      check(
        "mutex",
        sequential([
          ["acquire", null],
          ["acquire", null],
        ]),
      ),
    ).toBe(false);
    expect(check("mutex", sequential([["release", null]]), true)).toBe(true);
  });

  it("multi-register: a txn reads and writes several keys at once", () => {
    const run = sequential([
      [
        "txn",
        [
          ["write", "x", 1],
          ["write", "y", 2],
        ],
      ],
      [
        "txn",
        [
          ["read", "x", 1],
          ["read", "y", 2],
        ],
      ],
      ["txn", [["read", "x", null]]],
    ]);
    expect(check("multi-register", run, { x: 0, y: 0 })).toBe(true);
    const torn = sequential([
      [
        "txn",
        [
          ["write", "x", 1],
          ["write", "y", 2],
        ],
      ],
      [
        "txn",
        [
          ["read", "x", 1],
          ["read", "y", 0],
        ],
      ],
    ]);
    expect(check("multi-register", torn, { x: 0, y: 0 })).toBe(false);
  });

  it("kv: append extends the value, put replaces it, a key never written reads the initial value", () => {
    const rows = (get: string): Row[] => [
      [0, "invoke", "append", "a", { key: "k" }],
      [0, "ok", "append", "a", { key: "k" }],
      [0, "invoke", "append", "b", { key: "k" }],
      [0, "ok", "append", "b", { key: "k" }],
      [0, "invoke", "get", null, { key: "k" }],
      [0, "ok", "get", get, { key: "k" }],
    ];
    expect(check("kv", rows("ab"))).toBe(true);
    expect(check("kv", rows("ba"))).toBe(false);
    expect(check("kv", rows("!ab"), "!")).toBe(true);
  });

  it("take a JSON object for the same value whatever the order of its keys", () => {
    // A database may hand a document back with its keys in another order (PostgreSQL's jsonb
    // does): the same value, not a read of a value nobody wrote.
    const ab = { a: 1, b: { c: [1, { d: 2, e: 3 }], f: null } };
    const ba = { b: { f: null, c: [1, { e: 3, d: 2 }] }, a: 1 };
    const other = { a: 1, b: { c: [1, { d: 2, e: 4 }], f: null } };
    for (const model of ["register", "cas-register"]) {
      expect(
        check(
          model,
          sequential([
            ["write", ab],
            ["read", ba],
          ]),
        ),
        model,
      ).toBe(true);
      expect(
        check(
          model,
          sequential([
            ["write", ab],
            ["read", other],
          ]),
        ),
        model,
      ).toBe(false);
    }
    expect(
      check(
        "cas-register",
        sequential([
          ["write", ab],
          ["cas", [ba, 2]],
          ["read", 2],
        ]),
      ),
    ).toBe(true);
    expect(
      check(
        "set",
        sequential([
          ["add", ab],
          ["read", [ba]],
        ]),
      ),
    ).toBe(true);
    expect(
      check(
        "set",
        sequential([
          ["add", ab],
          ["read", [other]],
        ]),
      ),
    ).toBe(false);
    expect(
      check(
        "fifo-queue",
        sequential([
          ["enqueue", ab],
          ["dequeue", ba],
        ]),
      ),
    ).toBe(true);
    expect(
      check(
        "multi-register",
        sequential([
          ["txn", [["w", "x", ab]]],
          ["txn", [["r", "x", ba]]],
        ]),
      ),
    ).toBe(true);
    // Text that spells an object is not that object.
    expect(
      check(
        "register",
        sequential([
          ["write", ab],
          ["read", JSON.stringify(ab)],
        ]),
      ),
    ).toBe(false);
  });

  it("set and fifo-queue: an element beyond a double's range (1e400, read as Infinity) is no null", () => {
    const infinite = JSON.parse("1e400") as number;
    expect(
      check(
        "set",
        sequential([
          ["add", infinite],
          ["read", [null]],
        ]),
      ),
    ).toBe(false);
    expect(
      check(
        "set",
        sequential([
          ["add", infinite],
          ["read", [infinite]],
        ]),
      ),
    ).toBe(true);
    expect(
      check(
        "fifo-queue",
        sequential([
          ["enqueue", infinite],
          ["dequeue", null],
        ]),
      ),
    ).toBe(false);
  });

  it("register-family states are equal however they were reached", () => {
    const kv = builtinModel("kv");
    const op = (f: string, value: string): ModelOp => ({
      f,
      value,
      key: "k",
      outcome: "ok",
      index: 0,
      process: 0,
    });
    const s0 = kv.init();
    const viaAppends = kv.step(kv.step(s0, op("append", "ab"))!, op("append", "c"))!;
    const viaPut = kv.step(s0, op("put", "abc"))!;
    expect(kv.hash!(viaAppends)).toBe(kv.hash!(viaPut));
    expect(kv.equal!(viaAppends, viaPut)).toBe(true);
    expect(kv.equal!(viaAppends, kv.step(s0, op("put", "abd"))!)).toBe(false);
    // Putting back the initial value is the initial state.
    expect(kv.equal!(kv.step(viaPut, op("put", ""))!, s0)).toBe(true);
  });
});

describe("a key met both as a number and as a string", () => {
  // The register models key their registers by the key's text: the number 1 and the string "1"
  // were one register, so a read of key "1" passed for a read of what was written to key 1 (a
  // false "valid"), where Elle keeps the two apart.
  it("is refused as bad input, naming both, never taken for one register", () => {
    for (const [model, rows] of [
      [
        "register",
        sequential([
          ["write", [1, 5]],
          ["read", ["1", 5]],
        ]),
      ],
      [
        "cas-register",
        sequential([
          ["write", ["1", 5]],
          ["cas", [1, [5, 6]]],
        ]),
      ],
      [
        "kv",
        sequential([
          ["put", [1, "a"]],
          ["get", ["1", "a"]],
        ]),
      ],
      [
        "multi-register",
        sequential([
          ["txn", [["w", 1, 5]]],
          ["txn", [["r", "1", 5]]],
        ]),
      ],
    ] as const) {
      const run = () => checkLinearizableHistory(history(rows), { model });
      expect(run, model).toThrow(HistoryShapeError);
      expect(run, model).toThrow(/key .* is a (string|number), and .*key .* a (number|string)/);
    }
  });

  it("keeps keys of one type working as before (the fixture is sound)", () => {
    const rows = sequential([
      ["write", [1, 5]],
      ["read", [1, 5]],
      ["write", ["x", 6]],
      ["read", ["x", 6]],
    ]);
    expect(check("register", rows)).toBe(true);
  });
});

describe("values in explanations", () => {
  it("a number beyond a double's range (1e400, read as Infinity) is named as itself, not as null", () => {
    // Before: "ending process 0's write null (index 0); the state is then null. After it, process
    // 1's read → null ... in the only state it could meet (null), it is impossible."
    const result = checkLinearizableHistory(
      history([
        [0, "invoke", "write", Infinity],
        [0, "ok", "write", Infinity],
        [1, "invoke", "read", null],
        [1, "ok", "read", null],
      ]),
      { model: "register" },
    );
    expect(result.valid).toBe(false);
    const explanation = String(
      (result.anomalies?.["nonlinearizable"]?.[0] as { explanation?: unknown } | undefined)?.explanation,
    );
    expect(explanation).toContain("write Infinity (index 0); the state is then Infinity");
    expect(explanation).toContain("could meet (Infinity)");
    expect(jsonText([1, -Infinity, { a: NaN, b: null }])).toBe('[1,-Infinity,{"a":NaN,"b":null}]');
  });

  it("any JSON value is written as JSON.stringify writes it", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(jsonText(value)).toBe(JSON.stringify(value));
      }),
      { numRuns: 300 },
    );
    expect(jsonText(undefined)).toBe("null");
    expect(jsonText([undefined, { a: undefined, b: 1 }])).toBe('[null,{"b":1}]');
  });
});
