import { describe, expect, it } from "vitest";
import type { MicroOp, Op } from "../../harness/history/op.ts";
import { concurrentHistory, historyOf, serialHistory, type TxnSpec } from "./fixtures.ts";
import { checkElleHistory, elleReportFiles } from "./index.ts";

const check = (history: Op[], model: string) => checkElleHistory(history, { workload: "append", model });

/** The verdict under each model, and the anomaly classes found (the same under every model here). */
function verdicts(history: Op[], models: string[]): Record<string, unknown> {
  return Object.fromEntries(models.map((m) => [m, check(history, m).valid]));
}

describe("list-append: one minimal history per anomaly class", () => {
  it("G0: two writers append to x and y in opposite orders", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["append", "x", 1],
          ["append", "y", 1],
        ],
      ],
      [
        1,
        [
          ["append", "x", 2],
          ["append", "y", 2],
        ],
      ],
      [
        2,
        [
          ["r", "x", [1, 2]],
          ["r", "y", [2, 1]],
        ],
      ],
    ]);
    const r = check(h, "read-uncommitted");
    expect(r.anomalyTypes).toEqual(["G0"]);
    expect(r.not).toEqual(["read-uncommitted"]);
    expect(verdicts(h, ["read-uncommitted", "read-committed", "serializable"])).toEqual({
      "read-uncommitted": false,
      "read-committed": false,
      serializable: false,
    });
    const text = (r.anomalies as Record<string, { explanation: string }[]>)["G0"]![0]!.explanation;
    expect(text).toContain("Let:");
    expect(text).toMatch(
      /T2 < T1, because T1 appended 1 after T2 appended 2 to key "y": a contradiction!|T2 appended 2 after T1 appended 1 to key "x": a contradiction!/,
    );
  });

  it("G1a: a read of an aborted append", () => {
    const h = serialHistory([
      [0, [["append", "x", 1]], "fail"],
      [1, [["r", "x", [1]]]],
    ]);
    expect(check(h, "read-committed").anomalyTypes).toEqual(["G1a"]);
    // Read uncommitted allows G1a, and no dependency relates the two: nothing else was checked
    // (Elle says unknown too: its transaction graph is empty).
    expect(verdicts(h, ["read-uncommitted", "read-committed", "snapshot-isolation"])).toEqual({
      "read-uncommitted": "unknown",
      "read-committed": false,
      "snapshot-isolation": false,
    });
  });

  it("G1b: a read of an intermediate state", () => {
    const h = serialHistory([
      [
        0,
        [
          ["append", "x", 1],
          ["append", "x", 2],
        ],
      ],
      [1, [["r", "x", [1]]]],
    ]);
    // As in Elle: the read of [1] also missed the writer's own later append of 2 (a read that
    // shows the whole known order did not observe an append no read shows), so the two
    // transactions form a G-single-item cycle beside the G1b.
    expect(check(h, "read-committed").anomalyTypes).toEqual(["G1b", "G-single-item"]);
    expect(verdicts(h, ["read-uncommitted", "read-committed", "serializable"])).toEqual({
      "read-uncommitted": true,
      "read-committed": false,
      serializable: false,
    });
  });

  it("G1c: each transaction observes the other's append", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["append", "x", 1],
          ["r", "y", [1]],
        ],
      ],
      [
        1,
        [
          ["append", "y", 1],
          ["r", "x", [1]],
        ],
      ],
    ]);
    const r = check(h, "read-committed");
    expect(r.anomalyTypes).toEqual(["G1c"]);
    expect(r.not).toEqual(["read-committed"]);
    expect(verdicts(h, ["read-uncommitted", "read-committed", "serializable"])).toEqual({
      "read-uncommitted": true,
      "read-committed": false,
      serializable: false,
    });
  });

  it("G-single-item: read skew", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["append", "x", 1],
          ["append", "y", 1],
        ],
      ],
      [
        1,
        [
          ["r", "x", []],
          ["r", "y", [1]],
        ],
      ],
      [2, [["r", "x", [1]]]],
    ]);
    const r = check(h, "snapshot-isolation");
    expect(r.anomalyTypes).toEqual(["G-single-item"]);
    expect(r.not).toEqual(["consistent-view", "repeatable-read"]);
    expect(verdicts(h, ["read-committed", "repeatable-read", "snapshot-isolation", "serializable"])).toEqual({
      "read-committed": true,
      "repeatable-read": false,
      "snapshot-isolation": false,
      serializable: false,
    });
  });

  it("G-nonadjacent-item: two rw edges, never adjacent", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["r", "x", []],
          ["r", "w", [1]],
        ],
      ],
      [
        1,
        [
          ["append", "x", 1],
          ["append", "y", 1],
        ],
      ],
      [
        2,
        [
          ["r", "y", [1]],
          ["r", "z", []],
        ],
      ],
      [
        3,
        [
          ["append", "z", 1],
          ["append", "w", 1],
        ],
      ],
      [
        4,
        [
          ["r", "x", [1]],
          ["r", "z", [1]],
        ],
      ],
    ]);
    const r = check(h, "serializable");
    expect(r.anomalyTypes).toEqual(["G-nonadjacent-item"]);
    expect(verdicts(h, ["read-committed", "repeatable-read", "snapshot-isolation", "serializable"])).toEqual({
      "read-committed": true,
      "repeatable-read": false,
      "snapshot-isolation": false,
      serializable: false,
    });
  });

  it("G2-item: write skew", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["r", "x", []],
          ["append", "y", 1],
        ],
      ],
      [
        1,
        [
          ["r", "y", []],
          ["append", "x", 2],
        ],
      ],
      [
        2,
        [
          ["r", "x", [2]],
          ["r", "y", [1]],
        ],
      ],
    ]);
    const r = check(h, "snapshot-isolation");
    expect(r.anomalyTypes).toEqual(["G2-item"]);
    expect(r.not).toEqual(["repeatable-read"]);
    expect(r.alsoNot).toContain("serializable");
    expect(verdicts(h, ["snapshot-isolation", "repeatable-read", "serializable"])).toEqual({
      "snapshot-isolation": true,
      "repeatable-read": false,
      serializable: false,
    });
    const text = (r.anomalies as Record<string, { explanation: string }[]>)["G2-item"]![0]!.explanation;
    expect(text).toContain('observed the initial (empty) state of key "x", which T2 created by appending 2.');
    expect(text).toContain(": a contradiction!");
  });

  it("G-single-item-realtime: a stale read after a completed append", () => {
    const h = serialHistory([
      [0, [["append", "x", 1]]],
      [1, [["r", "x", []]]],
      [2, [["r", "x", [1]]]],
    ]);
    const r = check(h, "strict-serializable");
    expect(r.anomalyTypes).toEqual(["G-single-item-realtime"]);
    expect(r.not).toEqual(["strong-snapshot-isolation"]);
    expect(verdicts(h, ["serializable", "strong-session-serializable", "strict-serializable"])).toEqual({
      serializable: true,
      "strong-session-serializable": true,
      "strict-serializable": false,
    });
  });

  it("G-single-item-process: a process fails to read its own earlier append", () => {
    const h = serialHistory([
      [0, [["append", "x", 1]]],
      [0, [["r", "x", []]]],
      [1, [["r", "x", [1]]]],
    ]);
    const r = check(h, "strong-session-serializable");
    expect(r.anomalyTypes).toEqual(["G-single-item-process"]);
    expect(
      verdicts(h, ["serializable", "strong-session-snapshot-isolation", "strong-session-serializable"]),
    ).toEqual({
      serializable: true,
      "strong-session-snapshot-isolation": false,
      "strong-session-serializable": false,
    });
  });

  it("internal: a read contradicts the transaction's own append", () => {
    const h = serialHistory([
      [
        0,
        [
          ["append", "x", 1],
          ["r", "x", []],
        ],
      ],
    ]);
    expect(check(h, "read-uncommitted").anomalyTypes).toEqual(["internal"]);
    // One transaction alone: no dependency to check a cycle over, so "unknown" where internal is allowed.
    expect(verdicts(h, ["read-committed", "serializable", "snapshot-isolation"])).toEqual({
      "read-committed": "unknown",
      serializable: false,
      "snapshot-isolation": false,
    });
  });

  it("future-read: a read sees an append the transaction makes only later", () => {
    const h = serialHistory([
      [
        0,
        [
          ["r", "x", [1]],
          ["append", "x", 1],
        ],
      ],
    ]);
    const r = check(h, "read-committed");
    expect(r.anomalyTypes).toEqual(["future-read"]);
    expect(verdicts(h, ["read-uncommitted", "read-committed", "serializable"])).toEqual({
      "read-uncommitted": "unknown",
      "read-committed": false,
      serializable: false,
    });
  });

  it("lost-update: two transactions read the same version and both append", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["r", "x", []],
          ["append", "x", 1],
        ],
      ],
      [
        1,
        [
          ["r", "x", []],
          ["append", "x", 2],
        ],
      ],
      [2, [["r", "x", [1, 2]]]],
    ]);
    const r = check(h, "read-committed");
    expect(r.anomalyTypes).toEqual(["lost-update", "G-single-item"]);
    expect(verdicts(h, ["read-committed", "cursor-stability", "snapshot-isolation"])).toEqual({
      "read-committed": true,
      "cursor-stability": false,
      "snapshot-isolation": false,
    });
  });

  it("lost-update groups reads by their lists: compatible by length, incompatible by elements, never the two together", () => {
    const txn = (p: number, read: number[], append: number): [number, MicroOp[]] => [
      p,
      [
        ["r", "x", read],
        ["append", "x", append],
      ],
    ];
    const lostUpdates = (history: Op[]): unknown[] =>
      (check(history, "read-committed").anomalies?.["lost-update"] ?? []).map((a) => {
        const { value, txns } = a as unknown as { value: unknown; txns: unknown[] };
        return [value, txns.length];
      });
    // The order is [1, 2, 3, 4]: [1] and [1] are one version, [1, 2] another.
    const compatible = concurrentHistory([
      txn(0, [], 1),
      txn(1, [1], 2),
      txn(2, [1], 3),
      txn(3, [1, 2], 4),
      [4, [["r", "x", [1, 2, 3, 4]]]],
    ]);
    expect(lostUpdates(compatible)).toEqual([[[1], 2]]);
    // [2] is no prefix of the order: two reads of it are one version, not the version [1] (as long).
    const incompatible = concurrentHistory([
      txn(0, [], 1),
      txn(1, [2], 3),
      txn(2, [2], 4),
      txn(3, [1], 5),
      [4, [["r", "x", [1, 2]]]],
      [5, [["append", "x", 2]]],
    ]);
    expect(lostUpdates(incompatible)).toEqual([[[2], 2]]);
  });

  it("lost-update groups incompatible reads by value: an object's keys in any order, Infinity apart from null", () => {
    // [x] is no prefix of the order [y, z]: reads of it are grouped by their elements, by value.
    const lostUpdates = (x: unknown, xAgain: unknown): number => {
      const history = concurrentHistory([
        [0, [["append", "x", "y"]]],
        [
          1,
          [
            ["r", "x", [x]],
            ["append", "x", 3],
          ],
        ],
        [
          2,
          [
            ["r", "x", [xAgain]],
            ["append", "x", 4],
          ],
        ],
        [3, [["r", "x", ["y", "z"]]]],
        [4, [["append", "x", "z"]]],
      ]);
      return (check(history, "read-committed").anomalies?.["lost-update"] ?? []).length;
    };
    expect(lostUpdates({ a: 1, b: 2 }, { a: 1, b: 2 })).toBe(1);
    expect(lostUpdates({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(1);
    // 1e400 in a history is read as Infinity, which JSON writes as null: not the same value.
    expect(lostUpdates(Infinity, null)).toBe(0);
  });

  it("dirty-update: a committed append lands after an aborted one", () => {
    const h = concurrentHistory([
      [0, [["append", "x", 1]], "fail"],
      [1, [["append", "x", 2]]],
      [2, [["r", "x", [1, 2]]]],
    ]);
    expect(check(h, "read-committed").anomalyTypes).toEqual(["G1a", "dirty-update"]);
    expect(verdicts(h, ["read-uncommitted", "read-committed"])).toEqual({
      "read-uncommitted": true,
      "read-committed": false,
    });
  });

  it("dirty-update names the aborted append and the unknown ones after it, not those of an earlier stretch", () => {
    // Order 1 (ok) 2 3 (info) 4 (failed) 5 (info) 6 (ok): the report is 6 built on 4, with 5 between;
    // 2 and 3 came after a committed append, and belong to no dirty update.
    const h = concurrentHistory([
      [0, [["append", "x", 1]]],
      [1, [["append", "x", 2]], "info"],
      [2, [["append", "x", 3]], "info"],
      [3, [["append", "x", 4]], "fail"],
      [4, [["append", "x", 5]], "info"],
      [5, [["append", "x", 6]]],
      [6, [["r", "x", [1, 2, 3, 4, 5, 6]]]],
    ]);
    const r = check(h, "read-committed");
    const dirty = r.anomalies!["dirty-update"]!;
    expect(dirty.map((d) => d["values"])).toEqual([[4, 5, 6]]);
  });

  it("duplicate-elements: a value appended once, read twice", () => {
    const h = serialHistory([
      [0, [["append", "x", 1]]],
      [1, [["r", "x", [1, 1]]]],
    ]);
    expect(check(h, "read-uncommitted").anomalyTypes).toEqual(["duplicate-elements"]);
    expect(verdicts(h, ["read-uncommitted", "serializable"])).toEqual({
      "read-uncommitted": false,
      serializable: false,
    });
  });

  it("incompatible-order: two reads that are not prefixes of one another", () => {
    const h = concurrentHistory([
      [0, [["append", "x", 1]]],
      [1, [["append", "x", 2]]],
      [2, [["r", "x", [1]]]],
      [3, [["r", "x", [2]]]],
    ]);
    const r = check(h, "read-committed");
    expect(r.anomalyTypes).toEqual(["incompatible-order"]);
    expect(r.not).toEqual(["read-committed"]);
    expect(verdicts(h, ["read-uncommitted", "read-committed"])).toEqual({
      "read-uncommitted": true,
      "read-committed": false,
    });
  });

  it("garbage-read (beyond Elle): a value nobody appended", () => {
    const h = serialHistory([[0, [["r", "x", [9]]]]]);
    const r = check(h, "read-uncommitted");
    expect(r.anomalyTypes).toEqual(["garbage-read"]);
    expect(r.valid).toBe(false);
  });
});

describe("list-append: the rest of the contract", () => {
  it("a serial history is valid under every model, with no anomalies", () => {
    const h = serialHistory([
      [
        0,
        [
          ["append", "x", 1],
          ["r", "x", [1]],
        ],
      ],
      [
        1,
        [
          ["r", "x", [1]],
          ["append", "x", 2],
          ["append", "y", 1],
        ],
      ],
      [
        0,
        [
          ["r", "x", [1, 2]],
          ["r", "y", [1]],
        ],
      ],
    ]);
    for (const model of ["read-uncommitted", "snapshot-isolation", "strict-serializable"]) {
      const r = check(h, model);
      expect(r.valid).toBe(true);
      expect(r.anomalyTypes).toEqual([]);
    }
  });

  it("an info transaction whose append was observed is ordered like a committed one", () => {
    const h = historyOf([
      ["invoke", 0, [["append", "x", 1]]],
      ["info", 0, [["append", "x", 1]]],
      ["invoke", 1, [["r", "x", null]]],
      ["ok", 1, [["r", "x", [1]]]],
    ]);
    expect(check(h, "strict-serializable").valid).toBe(true);
  });

  it("values that are not small integers (strings, large numbers) are tracked the same way", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["r", "x", []],
          ["append", "y", "b"],
        ],
      ],
      [
        1,
        [
          ["r", "y", []],
          ["append", "x", 1e12],
        ],
      ],
      [
        2,
        [
          ["r", "x", [1e12]],
          ["r", "y", ["b"]],
        ],
      ],
    ]);
    expect(check(h, "serializable").anomalyTypes).toEqual(["G2-item"]);
    const aborted = serialHistory([
      [0, [["append", "x", "a"]], "fail"],
      [1, [["r", "x", ["a"]]]],
    ]);
    expect(check(aborted, "read-committed").anomalyTypes).toEqual(["G1a"]);
  });

  it("writes one report file per anomaly class", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["r", "x", []],
          ["append", "y", 1],
        ],
      ],
      [
        1,
        [
          ["r", "y", []],
          ["append", "x", 2],
        ],
      ],
      [
        2,
        [
          ["r", "x", [2]],
          ["r", "y", [1]],
        ],
      ],
    ]);
    const files = elleReportFiles(check(h, "serializable"));
    expect(Object.keys(files)).toEqual(["G2-item.txt"]);
    expect(files["G2-item.txt"]).toMatch(/^G2-item: 1 found\.\n\nLet:\n {2}T1 = /);
  });

  it("rejects an unknown model and a malformed micro-op with a clear message", () => {
    const h = serialHistory([[0, [["append", "x", 1]]]]);
    expect(() => check(h, "serialisable")).toThrow(/unknown consistency model "serialisable"/);
    const bad = serialHistory([[0, [["append", { k: 1 }, 1]]]]);
    expect(() => check(bad, "serializable")).toThrow(/index 1: micro-op 0 must be/);
  });

  it("answers unknown when the budget runs out, by steps first or by time", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["r", "x", []],
          ["append", "y", 1],
        ],
      ],
      [
        1,
        [
          ["r", "y", []],
          ["append", "x", 2],
        ],
      ],
      [
        2,
        [
          ["r", "x", [2]],
          ["r", "y", [1]],
        ],
      ],
    ]);
    const r = checkElleHistory(h, { workload: "append", model: "serializable", budget: { timeLimitMs: -1 } });
    expect(r.valid).toBe("unknown");
    expect(r.reason).toMatch(/time budget of -1 ms exhausted/);
    const steps = checkElleHistory(h, { workload: "append", model: "serializable", budget: { maxSteps: 5 } });
    expect(steps).toMatchObject({
      valid: "unknown",
      reason: "step budget of 5 steps exhausted while inferring dependencies",
    });
  });

  it("answers unknown, naming the component, when one component's step bound runs out", () => {
    const h = concurrentHistory([
      [
        0,
        [
          ["r", "x", []],
          ["append", "y", 1],
        ],
      ],
      [
        1,
        [
          ["r", "y", []],
          ["append", "x", 2],
        ],
      ],
      [
        2,
        [
          ["r", "x", [2]],
          ["r", "y", [1]],
        ],
      ],
    ]);
    const r = checkElleHistory(h, {
      workload: "append",
      model: "snapshot-isolation",
      componentStepLimit: 0,
    });
    expect(r.valid).toBe("unknown");
    // G0 and G1c need no search (no cycle of their edge kinds); G-single-item is the first that does.
    expect(r.reason).toMatch(
      /the search for G-single-item in a strongly connected component of 2 transactions stopped/,
    );
    // A found anomaly the model forbids still decides, whatever else was left unsearched.
    const bad = serialHistory([
      [0, [["append", "x", 1]], "fail"],
      [1, [["r", "x", [1]]]],
    ]);
    expect(
      checkElleHistory(bad, { workload: "append", model: "serializable", componentStepLimit: 0 }).valid,
    ).toBe(false);
  });
});

describe("list-append: a value appended twice to one key (Elle refuses the history)", () => {
  // Such a key's order cannot be recovered, and which append a read shows is unknown: the check
  // is at best unknown. It was INVALID on anomalies that assumed unique appends.
  it("is no duplicate-elements when both appends show", () => {
    const h = serialHistory([
      [0, [["append", "x", 1]]],
      [1, [["append", "x", 1]]],
      [2, [["r", "x", [1, 1]]]],
    ]);
    const r = check(h, "strict-serializable");
    expect(r.valid).toBe("unknown");
    expect(r.anomalyTypes).toEqual([]);
    expect(r.reason).toContain('1 key(s) received the same value twice (first: "x")');
  });

  it("is no G1a when the append kept in the table failed and the other committed", () => {
    const h = serialHistory([
      [0, [["append", "x", 1]]],
      [1, [["append", "x", 1]], "fail"],
      [2, [["r", "x", [1]]]],
    ]);
    expect(check(h, "strict-serializable")).toMatchObject({ valid: "unknown", anomalyTypes: [] });
  });

  it("still finds a garbage read and an incompatible order on that key, and anomalies elsewhere", () => {
    const twice: TxnSpec[] = [
      [0, [["append", "x", 1]]],
      [1, [["append", "x", 1]]],
    ];
    const garbage = check(serialHistory([...twice, [2, [["r", "x", [1, 5]]]]]), "strict-serializable");
    expect(garbage).toMatchObject({ valid: false, anomalyTypes: ["garbage-read"] });
    const orders = check(
      serialHistory([
        ...twice,
        [0, [["append", "x", 2]]],
        [2, [["r", "x", [1, 2]]]],
        [3, [["r", "x", [2, 1]]]],
      ]),
      "strict-serializable",
    );
    expect(orders.anomalyTypes).toContain("incompatible-order");
    const elsewhere = check(
      serialHistory([...twice, [0, [["append", "y", 1]]], [2, [["r", "y", [1, 1]]]]]),
      "strict-serializable",
    );
    expect(elsewhere).toMatchObject({ valid: false, anomalyTypes: ["duplicate-elements"] });
  });
});

describe("list-append: elements that are JSON objects or lists", () => {
  // Each value is parsed on its own, as a history file gives them: equal, never the same object.
  const v = (json: string): unknown => JSON.parse(json);
  const a = '{"a":1,"b":2}';
  const aReordered = '{"b":2,"a":1}';
  const b = "[1,2]";
  const appends: TxnSpec[] = [
    [0, [["append", "x", v(a)]]],
    [0, [["append", "x", v(b)]]],
  ];

  it("are compared by content, an object's keys in any order, not by reference", () => {
    const h = serialHistory([
      appends[0]!,
      [1, [["r", "x", v(`[${aReordered}]`)]]],
      appends[1]!,
      [1, [["r", "x", v(`[${a},${b}]`)]]],
      [2, [["r", "x", v(`[${aReordered},${b}]`)]]],
    ]);
    expect(check(h, "strict-serializable")).toMatchObject({ valid: true, anomalyTypes: [] });
  });

  it("still find reads in another order, duplicates and elements never appended", () => {
    const read = (list: string) => serialHistory([...appends, [1, [["r", "x", v(list)]]]]);
    expect(
      check(
        serialHistory([
          ...appends,
          [1, [["r", "x", v(`[${a},${b}]`)]]],
          [2, [["r", "x", v(`[${b},${aReordered}]`)]]],
        ]),
        "strict-serializable",
      ).anomalyTypes,
    ).toContain("incompatible-order");
    expect(check(read(`[${a},${b},${aReordered}]`), "strict-serializable").anomalyTypes).toContain(
      "duplicate-elements",
    );
    expect(check(read(`[${a},${b},{"a":3}]`), "strict-serializable").anomalyTypes).toContain("garbage-read");
  });
});
