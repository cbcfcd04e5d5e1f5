import { describe, expect, it } from "vitest";
import { checkBankHistory } from "../checkers/bank/index.ts";
import { checkElleHistory } from "../checkers/elle/index.ts";
import type { Op, OpType, Process } from "../harness/history/op.ts";
import { toRwRegisterHistory, versionOf } from "./rows.ts";

type Row = readonly [Process, OpType, string, unknown];
const history = (rows: readonly Row[]): Op[] =>
  rows.map(([process, type, f, value], index) => ({ index, time: index * 1e6, process, type, f, value }));
const acct = (balance: number, writeId: number) => ({ balance, writeId });

const opened: Row[] = [
  [
    0,
    "invoke",
    "txn",
    [
      ["w", 0, acct(10, -1)],
      ["w", 1, acct(10, -1)],
    ],
  ],
  [
    0,
    "ok",
    "txn",
    [
      ["w", 0, acct(10, -1)],
      ["w", 1, acct(10, -1)],
    ],
  ],
];

describe("stamped rows for Elle", () => {
  it("turns transfers into txns of write ids, keeping indexes, and planned micro-ops for fail and info", () => {
    const h = history([
      ...opened,
      [1, "invoke", "transfer", { from: 0, to: 1, amount: 3, writeId: 5 }],
      [
        1,
        "ok",
        "transfer",
        [
          ["r", 0, acct(10, -1)],
          ["r", 1, acct(10, -1)],
          ["w", 0, acct(7, 5)],
          ["w", 1, acct(13, 5)],
        ],
      ],
      [2, "invoke", "transfer", { from: 1, to: 0, amount: 1, writeId: 6 }],
      [2, "info", "transfer", { from: 1, to: 0, amount: 1, writeId: 6 }],
      ["nemesis", "info", "start-partition", null],
      [3, "invoke", "read", [0, null]],
    ]);
    const out = toRwRegisterHistory(h);
    expect(out.map((op) => [op.index, op.f])).toEqual([
      [0, "txn"],
      [1, "txn"],
      [2, "txn"],
      [3, "txn"],
      [4, "txn"],
      [5, "txn"],
      [6, "start-partition"],
      [7, "read"],
    ]);
    expect(out[3]!.value).toEqual([
      ["r", 0, -1],
      ["r", 1, -1],
      ["w", 0, 5],
      ["w", 1, 5],
    ]);
    expect(out[5]!.value).toEqual([
      ["r", 1, null],
      ["r", 0, null],
      ["w", 1, 6],
      ["w", 0, 6],
    ]);
    expect(versionOf(7)).toBe(7);
  });

  it("a read that sees half a transfer is a wrong total and, for Elle, read skew (G-single-item)", () => {
    const h = history([
      ...opened,
      [
        2,
        "invoke",
        "txn",
        [
          ["r", 0, null],
          ["r", 1, null],
        ],
      ],
      [1, "invoke", "transfer", { from: 0, to: 1, amount: 3, writeId: 5 }],
      [
        1,
        "ok",
        "transfer",
        [
          ["r", 0, acct(10, -1)],
          ["r", 1, acct(10, -1)],
          ["w", 0, acct(7, 5)],
          ["w", 1, acct(13, 5)],
        ],
      ],
      [
        2,
        "ok",
        "txn",
        [
          ["r", 0, acct(10, -1)],
          ["r", 1, acct(13, 5)],
        ],
      ],
    ]);
    expect(checkBankHistory(h, { accounts: [0, 1], total: 20 })).toMatchObject({
      valid: false,
      anomalyCounts: { "wrong-total": 1 },
    });
    const elle = checkElleHistory(toRwRegisterHistory(h), {
      workload: "rw-register",
      model: "serializable",
      wfrKeys: true,
    });
    expect(elle.valid).toBe(false);
    expect(elle.anomalyTypes).toContain("G-single-item");
  });

  it("an ok completion without its micro-ops is bad input, never its planned reads of nothing", () => {
    // The planned micro-ops read null: standing in for the completion, they would be reads of the
    // initial state, which no account holds after the opening write.
    for (const [f, planned] of [
      ["transfer", { from: 0, to: 1, amount: 3, writeId: 5 }],
      ["take-off-call", { doctors: [0, 1], doctor: 0, writeId: 5 }],
      ["txn", [["r", 0, null]]],
    ] as const) {
      const h = history([...opened, [1, "invoke", f, planned], [1, "ok", f, "done"]]);
      expect(toRwRegisterHistory(h)[3]!.value).toBe("done");
      expect(() =>
        checkElleHistory(toRwRegisterHistory(h), { workload: "rw-register", model: "serializable" }),
      ).toThrow(/index 3: a txn's value must be a list of micro-ops/);
    }
  });
});
