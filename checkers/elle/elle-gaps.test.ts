/**
 * The gaps a new user met against histories faultline did not write (issue 14), one test each:
 * every one of these histories passed (or was named with fewer anomalies than Elle names) before
 * list-append placed unobserved appends, checked a transaction's own appends, kept inferring on
 * keys with incompatible or duplicated reads, and rw-register looked for lost updates.
 */
import { describe, expect, it } from "vitest";
import type { Op } from "../../harness/history/op.ts";
import { concurrentHistory, historyOf, serialHistory } from "./fixtures.ts";
import { checkElleHistory, type ElleCheckOptions } from "./index.ts";

const append = (history: Op[], model: string) => checkElleHistory(history, { workload: "append", model });
const register = (history: Op[], model: string, extra: Partial<ElleCheckOptions> = {}) =>
  checkElleHistory(history, { workload: "rw-register", model, ...extra });
const explanations = (r: ReturnType<typeof append>, anomaly: string): string[] =>
  ((r.anomalies ?? {})[anomaly] ?? []).map((c) => c.explanation);

describe("list-append: unobserved appends are placed after the last element any read saw", () => {
  it("plain write skew, each transaction reading the empty list of a key the other appended to, is G2-item", () => {
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
          ["append", "x", 1],
        ],
      ],
    ]);
    const r = append(h, "serializable");
    expect(r.valid).toBe(false);
    expect(r.anomalyTypes).toEqual(["G2-item"]);
    expect(explanations(r, "G2-item")[0]).toContain("observed the initial (empty) state");
    expect(append(h, "snapshot-isolation").valid).toBe(true);
  });

  it("an acknowledged append a later read misses is a realtime anomaly under strict serializability", () => {
    const h = serialHistory([
      [0, [["append", "x", 1]]],
      [1, [["r", "x", []]]],
    ]);
    const r = append(h, "strict-serializable");
    expect(r.valid).toBe(false);
    expect(r.anomalyTypes).toEqual(["G-single-item-realtime"]);
    expect(append(h, "serializable").valid).toBe(true);
  });

  it("names G-single-item beside G1b, as Elle does, when a read ends in an intermediate append", () => {
    const h = serialHistory([
      [
        0,
        [
          ["append", "x", 1],
          ["append", "x", 2],
        ],
      ],
      [0, [["r", "x", [1]]]],
    ]);
    const r = append(h, "strict-serializable");
    expect(r.anomalyTypes).toEqual(expect.arrayContaining(["G1b", "G-single-item"]));
  });

  it("unobserved appends of an info transaction are not placed: it may never have happened", () => {
    const h = concurrentHistory([
      [0, [["r", "x", []]]],
      [1, [["append", "x", 1]], "info"],
      [2, [["r", "x", []]]],
    ]);
    // Only the readers of the empty list are related; nothing points into the info transaction.
    const r = append(h, "serializable");
    expect(r.anomalyTypes).toEqual([]);
  });
});

describe("list-append: a transaction's own appends keep their order", () => {
  it("appending 1 then 2, followed by a read of [2, 1, 3], is incompatible-order", () => {
    const h = serialHistory([
      [
        0,
        [
          ["append", "x", 1],
          ["append", "x", 2],
        ],
      ],
      [1, [["append", "x", 3]]],
      [2, [["r", "x", [2, 1, 3]]]],
    ]);
    const r = append(h, "strict-serializable");
    expect(r.valid).toBe(false);
    expect(r.anomalyTypes).toContain("incompatible-order");
    expect(explanations(r, "incompatible-order").join("\n")).toContain("appended 1 before 2");
  });

  it("a read showing the later append without the earlier one is incompatible-order too", () => {
    const h = serialHistory([
      [
        0,
        [
          ["append", "x", 1],
          ["append", "x", 2],
        ],
      ],
      [2, [["r", "x", [2]]]],
    ]);
    expect(append(h, "read-committed").anomalyTypes).toContain("incompatible-order");
  });
});

describe("list-append: inference goes on beside incompatible orders and duplicates, as Elle's does", () => {
  it("G1c beside incompatible-order (Elle's contradictory read orders)", () => {
    const h = serialHistory([
      [
        0,
        [
          ["append", "x", 1],
          ["r", "y", [1]],
        ],
      ],
      [0, [["append", "x", 2]]],
      [
        0,
        [
          ["append", "x", 3],
          ["append", "y", 1],
        ],
      ],
      [0, [["r", "x", [1, 3]]]],
      [0, [["r", "x", [1, 2, 3]]]],
    ]);
    const r = append(h, "read-committed");
    expect(r.anomalyTypes).toEqual(expect.arrayContaining(["G1c", "incompatible-order"]));
  });

  it("G1c beside duplicate-elements (Elle's duplicated elements)", () => {
    const h = serialHistory([
      [
        0,
        [
          ["append", "x", 1],
          ["r", "y", [1]],
        ],
      ],
      [
        0,
        [
          ["append", "x", 2],
          ["append", "y", 1],
        ],
      ],
      [0, [["r", "x", [1, 2, 1]]]],
    ]);
    const r = append(h, "read-committed");
    expect(r.anomalyTypes).toEqual(expect.arrayContaining(["G1c", "duplicate-elements"]));
  });
});

describe("nothing could be checked", () => {
  it("a history whose transactions share no dependency is unknown, and says so", () => {
    const h = serialHistory([
      [0, [["append", "x", 1]]],
      [1, [["append", "y", 1]]],
    ]);
    const r = append(h, "serializable");
    expect(r.valid).toBe("unknown");
    expect(r.reason).toContain("no ww, wr or rw dependency could be inferred between the 2 transactions");
  });
});

describe("rw-register: lost updates", () => {
  it("two committed transactions that read the same version and both write it: lost-update", () => {
    const h = historyOf([
      ["invoke", 0, [["w", "x", 0]]],
      ["ok", 0, [["w", "x", 0]]],
      [
        "invoke",
        1,
        [
          ["r", "x", null],
          ["w", "x", 1],
        ],
      ],
      [
        "invoke",
        2,
        [
          ["r", "x", null],
          ["w", "x", 2],
        ],
      ],
      [
        "ok",
        1,
        [
          ["r", "x", 0],
          ["w", "x", 1],
        ],
      ],
      [
        "ok",
        2,
        [
          ["r", "x", 0],
          ["w", "x", 2],
        ],
      ],
    ]);
    const r = register(h, "repeatable-read");
    expect(r.anomalyTypes).toContain("lost-update");
    expect(r.valid).toBe(false);
    expect(register(h, "read-committed").valid).toBe(true);
  });
});

describe("explanations take the shortest cycle", () => {
  it("a stale read long after the append it misses is explained in two steps, not through every transaction between", () => {
    const txns: [number, unknown][] = [[0, [["append", "x", 1]]]];
    for (let i = 1; i <= 15; i++) txns.push([i, [["append", `z${i}`, 1]]]);
    txns.push([20, [["r", "x", []]]]);
    txns.push([21, [["r", "x", [1]]]]);
    const r = append(serialHistory(txns), "strict-serializable");
    expect(r.anomalyTypes).toEqual(["G-single-item-realtime"]);
    const [c] = (r.anomalies!["G-single-item-realtime"] ?? []) as readonly { steps?: unknown }[];
    expect(c!.steps as unknown[]).toHaveLength(2);
  });
});
