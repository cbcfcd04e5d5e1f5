import { describe, expect, it } from "vitest";
import type { Op } from "../../harness/history/op.ts";
import { concurrentHistory, serialHistory } from "./fixtures.ts";
import { checkElleHistory, type ElleCheckOptions } from "./index.ts";

const check = (history: Op[], model: string, extra: Partial<ElleCheckOptions> = {}) =>
  checkElleHistory(history, { workload: "rw-register", model, ...extra });

describe("rw-register: one minimal history per anomaly class", () => {
  it("G1a: a read of an aborted write", () => {
    const h = serialHistory([
      [0, [["w", "x", 1]], "fail"],
      [1, [["r", "x", 1]]],
    ]);
    const r = check(h, "read-committed");
    expect(r.anomalyTypes).toEqual(["G1a"]);
    // No dependency between the two can be inferred: where G1a is allowed, nothing was checked.
    expect([check(h, "read-uncommitted").valid, r.valid]).toEqual(["unknown", false]);
  });

  it("G1b: a read of an intermediate write", () => {
    const h = serialHistory([
      [
        0,
        [
          ["w", "x", 1],
          ["w", "x", 2],
        ],
      ],
      [1, [["r", "x", 1]]],
    ]);
    const r = check(h, "read-committed");
    expect(r.anomalyTypes).toEqual(["G1b"]);
    expect([check(h, "read-uncommitted").valid, r.valid]).toEqual(["unknown", false]);
  });

  it("internal: a read after the transaction's own write sees something else", () => {
    const h = serialHistory([
      [
        0,
        [
          ["w", "x", 1],
          ["r", "x", 2],
        ],
      ],
      [1, [["w", "x", 2]]],
    ]);
    const r = check(h, "read-committed");
    expect(r.anomalyTypes).toEqual(["internal"]);
    expect([r.valid, check(h, "serializable").valid]).toEqual(["unknown", false]);
  });

  it("garbage-read (beyond Elle): a value nobody wrote", () => {
    const h = serialHistory([[0, [["r", "x", 7]]]]);
    expect(check(h, "read-uncommitted").anomalyTypes).toEqual(["garbage-read"]);
    expect(check(h, "read-uncommitted").valid).toBe(false);
  });

  it("cyclic-versions: writes-follow-reads orders 1 before 2 and 2 before 1", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["r", "x", 1],
          ["w", "x", 2],
        ],
      ],
      [
        1,
        [
          ["r", "x", 2],
          ["w", "x", 1],
        ],
      ],
    ]);
    const r = check(h, "read-uncommitted", { wfrKeys: true });
    // Each also read the other's write: the wr edges, which need no version order, close a G1c.
    expect(r.anomalyTypes).toEqual(["cyclic-versions", "G1c"]);
    expect(check(h, "read-uncommitted").anomalyTypes).toEqual(["G1c"]);
    expect(r.valid).toBe(false);
    const text = (r.anomalies as Record<string, { explanation: string }[]>)["cyclic-versions"]![0]!
      .explanation;
    expect(text).toContain("read 1 and then wrote 2");
  });

  it("G1c: each transaction reads the other's write", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["w", "x", 1],
          ["r", "y", 1],
        ],
      ],
      [
        1,
        [
          ["w", "y", 1],
          ["r", "x", 1],
        ],
      ],
    ]);
    const r = check(h, "read-committed");
    expect(r.anomalyTypes).toEqual(["G1c"]);
    expect([check(h, "read-uncommitted").valid, r.valid]).toEqual([true, false]);
  });

  it("G-single-item: read skew, ordered through the initial state", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["w", "x", 1],
          ["w", "y", 1],
        ],
      ],
      [
        1,
        [
          ["r", "x", null],
          ["r", "y", 1],
        ],
      ],
    ]);
    const r = check(h, "snapshot-isolation");
    expect(r.anomalyTypes).toEqual(["G-single-item"]);
    expect([check(h, "read-committed").valid, r.valid]).toEqual([true, false]);
    const text = (r.anomalies as Record<string, { explanation: string }[]>)["G-single-item"]![0]!.explanation;
    expect(text).toContain('read the initial (null) state of key "x"');
  });

  it("G2-item: write skew", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["r", "x", null],
          ["w", "y", 1],
        ],
      ],
      [
        1,
        [
          ["r", "y", null],
          ["w", "x", 1],
        ],
      ],
    ]);
    const r = check(h, "serializable");
    expect(r.anomalyTypes).toEqual(["G2-item"]);
    expect([check(h, "snapshot-isolation").valid, r.valid]).toEqual([true, false]);
  });

  it("G0 with sequential keys: processes see x's and y's versions in opposite orders", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["w", "x", 1],
          ["w", "y", 1],
        ],
      ],
      [
        1,
        [
          ["w", "x", 2],
          ["w", "y", 2],
        ],
      ],
      [2, [["r", "x", 1]]],
      [3, [["r", "y", 2]]],
    ]);
    // Later reads by the same processes, after the first ones completed.
    const more = concurrentHistory([
      [2, [["r", "x", 2]]],
      [3, [["r", "y", 1]]],
    ]).map((op, i) => ({ ...op, index: h.length + i }));
    const history = [...h, ...more];
    expect(check(history, "read-uncommitted").anomalyTypes).toEqual([]);
    const r = check(history, "read-uncommitted", { sequentialKeys: true });
    // G0 comes first (worst); the same reads also order rw edges into further, milder cycles.
    expect((r.anomalyTypes as string[])[0]).toBe("G0");
    expect(r.valid).toBe(false);
  });

  it("a stale read of the initial state after a completed write: G-single-item-realtime", () => {
    const h = serialHistory([
      [0, [["w", "x", 1]]],
      [1, [["r", "x", 1]]],
      [2, [["r", "x", null]]],
    ]);
    const r = check(h, "strict-serializable");
    expect(r.anomalyTypes).toEqual(["G-single-item-realtime"]);
    expect(r.valid).toBe(false);
    expect(check(h, "serializable").valid).toBe(true);
  });

  it("linearizable keys: a read after a newer write completed orders versions backwards", () => {
    const h = serialHistory([
      [0, [["w", "x", 1]]],
      [1, [["w", "x", 2]]],
      [2, [["r", "x", 1]]],
    ]);
    expect(check(h, "read-uncommitted").anomalyTypes).toEqual([]);
    const r = check(h, "read-uncommitted", { linearizableKeys: true });
    expect(r.anomalyTypes).toEqual(["cyclic-versions"]);
    expect(r.valid).toBe(false);
  });

  it("a serial history is valid under strict-serializable", () => {
    const h = serialHistory([
      [
        0,
        [
          ["w", "x", 1],
          ["r", "x", 1],
        ],
      ],
      [
        1,
        [
          ["r", "x", 1],
          ["w", "x", 2],
          ["w", "y", 1],
        ],
      ],
      [
        0,
        [
          ["r", "x", 2],
          ["r", "y", 1],
        ],
      ],
    ]);
    const r = check(h, "strict-serializable", { linearizableKeys: true, sequentialKeys: true });
    expect(r.valid).toBe(true);
    expect(r.anomalyTypes).toEqual([]);
  });
});

describe("rw-register: a value written by two transactions", () => {
  // Which write a read of it saw is unknown: it was G1a when the last one failed, though the other
  // committed.
  it("is no G1a or G1b, while a value written once stays judged", () => {
    const failedLast = serialHistory([
      [0, [["w", "x", 1]]],
      [1, [["w", "x", 1]], "fail"],
      [2, [["r", "x", 1]]],
    ]);
    expect(check(failedLast, "read-committed")).toMatchObject({ valid: "unknown", anomalyTypes: [] });
    const intermediateLast = serialHistory([
      [0, [["w", "x", 1]]],
      [
        1,
        [
          ["w", "x", 1],
          ["w", "x", 2],
        ],
      ],
      [2, [["r", "x", 1]]],
    ]);
    expect(check(intermediateLast, "read-committed").anomalyTypes).toEqual([]);
    const otherValue = serialHistory([
      [0, [["w", "x", 1]]],
      [1, [["w", "x", 1]]],
      [3, [["w", "x", 2]], "fail"],
      [2, [["r", "x", 2]]],
    ]);
    expect(check(otherValue, "read-committed").anomalyTypes).toEqual(["G1a"]);
  });
});

describe("rw-register: values that are JSON objects or lists", () => {
  // Each value is parsed on its own, as a history file gives them: equal, never the same object.
  const v = (json: string): unknown => JSON.parse(json);

  it("are compared by content, an object's keys in any order, not by reference", () => {
    const h = serialHistory([
      [0, [["w", "x", v('{"a":1,"b":[1,{"c":2,"d":3}]}')]]],
      [1, [["r", "x", v('{"b":[1,{"d":3,"c":2}],"a":1}')]]],
      [0, [["w", "y", v("[1,2]")]]],
      [1, [["r", "y", v("[1,2]")]]],
      [0, [["w", "z", v('["s",{"e":1}]')]]],
      [1, [["r", "z", v('["s",{"e":1}]')]]],
    ]);
    expect(check(h, "strict-serializable")).toMatchObject({ valid: true, anomalyTypes: [] });
  });

  it("still tell different contents apart", () => {
    const h = serialHistory([
      [0, [["w", "x", v('{"a":1}')]]],
      [1, [["r", "x", v('{"a":2}')]]],
      [0, [["w", "y", v("[1,2]")]]],
      [1, [["r", "y", v("[2,1]")]]],
    ]);
    expect(check(h, "strict-serializable").anomalyTypes).toEqual(["garbage-read"]);
  });

  it("group a lost update by value: one object read with its keys in another order, never 1e400 with null", () => {
    // Reads were grouped by their JSON text: 1e400 (read as Infinity) and null are both "null", so
    // two updates of different versions were a lost-update (INVALID); one object written back with
    // its keys reordered was two versions, and the lost update went unseen.
    const apart = concurrentHistory([
      [0, [["w", "x", Infinity]]],
      [
        1,
        [
          ["r", "x", Infinity],
          ["w", "x", 2],
        ],
      ],
      [
        2,
        [
          ["r", "x", null],
          ["w", "x", 3],
        ],
      ],
    ]);
    expect(check(apart, "serializable")).toMatchObject({ valid: true, anomalyTypes: [] });
    // Explanations name 1e400 as itself: "T2's write of null (null is the initial state)" before.
    const stale = check(
      serialHistory([
        [0, [["w", "x", Infinity]]],
        [1, [["r", "x", null]]],
      ]),
      "strict-serializable",
    );
    const explanation = Object.values(stale.anomalies ?? {})
      .flat()
      .map((c) => String((c as { explanation?: unknown }).explanation))
      .join("\n");
    expect(explanation).toContain('["w","x",Infinity]');
    expect(explanation).not.toContain('["w","x",null]');
    const same = concurrentHistory([
      [0, [["w", "x", v('{"a":1,"b":2}')]]],
      [
        1,
        [
          ["r", "x", v('{"a":1,"b":2}')],
          ["w", "x", 2],
        ],
      ],
      [
        2,
        [
          ["r", "x", v('{"b":2,"a":1}')],
          ["w", "x", 3],
        ],
      ],
    ]);
    expect(check(same, "serializable").anomalyTypes).toEqual(["lost-update"]);
  });
});
