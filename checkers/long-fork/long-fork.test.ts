import { describe, expect, it } from "vitest";
import type { Op } from "../../harness/history/op.ts";
import { checkLongForkHistory, hasGroupRead, inferGroupSize } from "./index.ts";

type Event = [type: Op["type"], process: number, f: string, value: unknown];
const history = (events: readonly Event[]): Op[] =>
  events.map(([type, process, f, value], index) => ({ index, time: index, process, type, f, value }));
const read = (...pairs: [number, unknown][]): unknown => pairs.map(([k, v]) => ["r", k, v]);
const unread = (...keys: number[]): unknown => keys.map((k) => ["r", k, null]);

describe("long-fork", () => {
  it("finds Jepsen's example: one read sees 0 and 1, the other 0 and 2 (group of 3)", () => {
    const h = history([
      ["invoke", 0, "read", unread(0, 1, 2)],
      ["invoke", 1, "read", unread(2, 0, 1)],
      ["ok", 0, "read", read([0, 1], [1, 1], [2, null])],
      ["ok", 1, "read", read([2, 1], [0, 1], [1, null])],
    ]);
    const r = checkLongForkHistory(h, { groupSize: 3 });
    expect(r).toMatchObject({ valid: false, readCount: 2, earlyReadCount: 0, lateReadCount: 0 });
    expect(r.anomalyCounts).toEqual({ "long-fork": 1 });
    expect(r.anomalies!["long-fork"]![0]!.explanation).toContain(
      "only the first saw 1; only the second saw 2",
    );
    // Inferred from the reads: both read three keys.
    expect(inferGroupSize(h)).toBe(3);
    expect(checkLongForkHistory(h).valid).toBe(false);
  });

  it("is valid when the reads of each group are ordered, and unknown when no group was read twice", () => {
    const writes: Event[] = [
      ["invoke", 2, "write", [["w", 0, 1]]],
      ["ok", 2, "write", [["w", 0, 1]]],
      ["invoke", 2, "write", [["w", 1, 1]]],
      ["ok", 2, "write", [["w", 1, 1]]],
    ];
    const ordered = history([
      ...writes,
      ["invoke", 0, "read", unread(0, 1)],
      ["ok", 0, "read", read([0, 1], [1, null])],
      ["invoke", 1, "read", unread(0, 1)],
      ["ok", 1, "read", read([0, 1], [1, 1])],
    ]);
    expect(checkLongForkHistory(ordered)).toMatchObject({ valid: true, comparedPairs: 1, lateReadCount: 1 });
    const alone = history([
      ...writes,
      ["invoke", 0, "read", unread(0, 1)],
      ["ok", 0, "read", read([0, 1], [1, 1])],
    ]);
    expect(checkLongForkHistory(alone).valid).toBe("unknown");
  });

  it("is unknown when a key is written twice, as Jepsen's multiple-writes", () => {
    const h = history([
      ["invoke", 0, "write", [["w", 0, 1]]],
      ["ok", 0, "write", [["w", 0, 1]]],
      ["invoke", 0, "write", [["w", 0, 2]]],
      ["ok", 0, "write", [["w", 0, 2]]],
      ["invoke", 1, "read", unread(0, 1)],
      ["ok", 1, "read", read([0, 2], [1, null])],
    ]);
    const r = checkLongForkHistory(h);
    expect(r.valid).toBe("unknown");
    expect(r.reason).toContain("written more than once");
  });

  it("reports (beyond Jepsen, which stops) a value never written and one whose write failed", () => {
    const h = history([
      ["invoke", 2, "write", [["w", 1, 1]]],
      ["fail", 2, "write", [["w", 1, 1]]],
      ["invoke", 0, "read", unread(0, 1)],
      ["ok", 0, "read", read([0, 7], [1, 1])],
    ]);
    expect(checkLongForkHistory(h).anomalyCounts).toEqual({ G1a: 1, "garbage-read": 1 });
  });

  it("takes a written object or list for the value read back, an object's keys in any order", () => {
    // Each value parsed on its own, as a history file gives them: equal, never the same object.
    const v = (json: string): unknown => JSON.parse(json);
    const h = (readBack: string) =>
      history([
        ["invoke", 2, "write", [["w", 0, v('{"a":1,"b":[1,2]}')]]],
        ["ok", 2, "write", [["w", 0, v('{"a":1,"b":[1,2]}')]]],
        ["invoke", 0, "read", unread(0, 1)],
        ["ok", 0, "read", read([0, v(readBack)], [1, null])],
        ["invoke", 1, "read", unread(0, 1)],
        ["ok", 1, "read", read([0, v('{"a":1,"b":[1,2]}')], [1, null])],
      ]);
    expect(checkLongForkHistory(h('{"b":[1,2],"a":1}'))).toMatchObject({ valid: true, comparedPairs: 1 });
    expect(checkLongForkHistory(h('{"b":[2,1],"a":1}')).anomalyCounts).toEqual({ "garbage-read": 1 });
  });

  it("refuses a read of another size than the group's, naming it", () => {
    const h = history([
      ["invoke", 0, "read", unread(0, 1)],
      ["ok", 0, "read", read([0, null], [1, null])],
      ["invoke", 0, "read", unread(0)],
      ["ok", 0, "read", read([0, null])],
    ]);
    expect(inferGroupSize(h)).toBeUndefined();
    expect(() => checkLongForkHistory(h, { groupSize: 2 })).toThrow(
      /index 3: every read .* reads exactly 2 keys/,
    );
  });

  it("refuses a transaction that is neither a read of a group nor one write, as Jepsen's legal-txn?", () => {
    // Such transactions were passed over in silence: a bank history checked as long-fork (its
    // writes are multi-key transactions, so no write was seen) was "valid".
    const reads: Event[] = [
      ["invoke", 0, "read", unread(0, 1)],
      ["ok", 0, "read", read([0, 1], [1, null])],
      ["invoke", 1, "read", unread(0, 1)],
      ["ok", 1, "read", read([0, 1], [1, 1])],
    ];
    expect(checkLongForkHistory(history(reads)).valid).toBe(true);
    const illegal: [string, Event[], RegExp][] = [
      [
        "a write of two keys",
        [
          [
            "invoke",
            2,
            "txn",
            [
              ["w", 0, 1],
              ["w", 1, 1],
            ],
          ],
          [
            "ok",
            2,
            "txn",
            [
              ["w", 0, 1],
              ["w", 1, 1],
            ],
          ],
        ],
        /index 0: a long-fork history holds reads/,
      ],
      [
        "a read then a write",
        [
          [
            "invoke",
            2,
            "txn",
            [
              ["r", 0, null],
              ["w", 1, 1],
            ],
          ],
          [
            "ok",
            2,
            "txn",
            [
              ["r", 0, 1],
              ["w", 1, 1],
            ],
          ],
        ],
        /index 0: a long-fork history holds reads/,
      ],
      [
        "an append",
        [
          ["invoke", 2, "txn", [["append", 0, 1]]],
          ["ok", 2, "txn", [["append", 0, 1]]],
        ],
        /index 0: a long-fork history holds reads/,
      ],
      [
        "no micro-ops at all",
        [
          ["invoke", 2, "write", 5],
          ["info", 2, "write", 5],
        ],
        /index 0: .*got 5/,
      ],
      [
        "an ok read without its reads",
        [
          ["invoke", 2, "read", unread(0, 1)],
          ["ok", 2, "read", null],
        ],
        /index 1: a long-fork history holds reads.*got null/,
      ],
      [
        "a write completed as a read",
        [
          ["invoke", 2, "write", [["w", 0, 1]]],
          ["ok", 2, "write", read([0, 1])],
        ],
        /index 1: an ok completion of a long-fork write is one too/,
      ],
    ];
    for (const [what, events, error] of illegal) {
      expect(() => checkLongForkHistory(history([...events, ...reads])), what).toThrow(error);
    }
  });

  it("with no read at all has nothing to compare: unknown, and no group size is needed", () => {
    const h = history([
      ["invoke", 0, "write", [["w", 0, 1]]],
      ["ok", 0, "write", [["w", 0, 1]]],
    ]);
    expect(hasGroupRead(h)).toBe(false);
    expect(inferGroupSize(h)).toBeUndefined();
    expect(checkLongForkHistory(h)).toMatchObject({ valid: "unknown", readCount: 0 });
  });
});
