import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Op, OpType, Process } from "../../harness/history/op.ts";
import { MemoryState } from "../../systems/memory/state.ts";
import { checkBankHistory } from "./index.ts";

type Row = readonly [Process, OpType, string, unknown];
const history = (rows: readonly Row[]): Op[] =>
  rows.map(([process, type, f, value], index) => ({ index, time: index * 1e6, process, type, f, value }));

const row = (balance: number, writeId = 0) => ({ balance, writeId });
const readOf = (balances: (number | null)[]) => balances.map((b, k) => ["r", k, b === null ? null : row(b)]);
const read = (p: number, balances: (number | null)[]): Row[] => [
  [p, "invoke", "txn", balances.map((_, k) => ["r", k, null])],
  [p, "ok", "txn", readOf(balances)],
];
const options = { accounts: [0, 1, 2], total: 30 };

describe("bank checker", () => {
  it("accepts reads that all sum to the total", () => {
    const r = checkBankHistory(history([...read(0, [10, 10, 10]), ...read(1, [5, 15, 10])]), options);
    expect(r.valid).toBe(true);
    expect(r.readCount).toBe(2);
  });

  it("reports wrong totals with the first, worst and last cases and the true count", () => {
    const r = checkBankHistory(
      history([
        ...read(0, [10, 10, 10]),
        ...read(0, [10, 10, 11]), // first: +1
        ...read(1, [0, 10, 10]), // worst: −10
        ...read(1, [10, 10, 12]),
        ...read(2, [10, 9, 10]), // last: −1
      ]),
      options,
    );
    expect(r.valid).toBe(false);
    expect(r.anomalyCounts).toEqual({ "wrong-total": 4 });
    const wrong = r.wrongTotal as {
      first: { total: number };
      worst: { total: number };
      last: { total: number };
    };
    expect([wrong.first.total, wrong.worst.total, wrong.last.total]).toEqual([31, 20, 29]);
    expect(r.anomalies!["wrong-total"]!.map((c) => c.total)).toEqual([31, 20, 29]);
  });

  it("reports a negative balance, read or written, even when the total is right", () => {
    const readNegative = checkBankHistory(history(read(0, [-5, 25, 10])), options);
    expect(readNegative.valid).toBe(false);
    expect(readNegative.anomalyCounts).toEqual({ "negative-balance": 1 });
    const written = checkBankHistory(
      history([
        [0, "invoke", "transfer", { from: 0, to: 1, amount: 15, writeId: 3 }],
        [
          0,
          "ok",
          "transfer",
          [
            ["r", 0, row(10)],
            ["r", 1, row(10)],
            ["w", 0, row(-5, 3)],
            ["w", 1, row(25, 3)],
          ],
        ],
      ]),
      options,
    );
    expect(written.valid).toBe(false);
    expect(written.anomalies!["negative-balance"]![0]!.explanation).toMatch(/balance of -5 to account 0/);
  });

  it("flags a partly written bank, skips reads from before it opened, and says unknown with no reads", () => {
    const partial = checkBankHistory(history(read(0, [10, null, 20])), options);
    expect(partial.valid).toBe(false);
    expect(partial.anomalyCounts).toEqual({ "missing-balance": 1 });
    const before = checkBankHistory(
      history([...read(0, [null, null, null]), ...read(0, [10, 10, 10])]),
      options,
    );
    expect(before).toMatchObject({ valid: true, readCount: 1, uninitializedReadCount: 1 });
    expect(checkBankHistory(history(read(0, [null, null, null])), options).valid).toBe("unknown");
  });

  it("reads plain-number balances (Jepsen's histories) too", () => {
    const h = history([
      [
        0,
        "invoke",
        "txn",
        [
          ["r", 0, null],
          ["r", 1, null],
          ["r", 2, null],
        ],
      ],
      [
        0,
        "ok",
        "txn",
        [
          ["r", 0, 1],
          ["r", 1, 2],
          ["r", 2, 3],
        ],
      ],
    ]);
    expect(checkBankHistory(h, options)).toMatchObject({ valid: false, anomalyCounts: { "wrong-total": 1 } });
  });

  it("property: any serial run of transfers and reads on the reference store is valid", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.constant(null), fc.tuple(fc.nat(2), fc.nat(2), fc.integer({ min: 1, max: 12 }))),
          {
            maxLength: 40,
          },
        ),
        (steps) => {
          const state = new MemoryState();
          const rows: Row[] = [];
          const apply = (f: string, value: unknown): void => {
            rows.push([0, "invoke", f, value]);
            const c = state.apply({ f, value });
            rows.push([0, c.type, f, c.value]);
          };
          apply(
            "txn",
            [0, 1, 2].map((k) => ["w", k, row(10, -1)]),
          );
          steps.forEach((step, writeId) => {
            if (step === null)
              apply(
                "txn",
                [0, 1, 2].map((k) => ["r", k, null]),
              );
            else apply("transfer", { from: step[0], to: step[1], amount: step[2], writeId });
          });
          apply(
            "txn",
            [0, 1, 2].map((k) => ["r", k, null]),
          );
          expect(checkBankHistory(history(rows), options).valid).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("bank checker on Jepsen's read format", () => {
  it("reads a map from account to balance", () => {
    const h = history([
      [0, "invoke", "read", null],
      [0, "ok", "read", { "0": 10, "1": 10, "2": 10 }],
      [1, "invoke", "read", null],
      [1, "ok", "read", { "0": 10, "1": 10, "2": 9, "7": 1 }],
    ]);
    const r = checkBankHistory(h, options);
    expect(r.valid).toBe(false);
    expect(r.anomalyCounts).toEqual({ "unexpected-key": 1, "wrong-total": 1 });
  });

  it("sets aside a read with a balance beyond a double's exact integers, and is then unknown", () => {
    // The readers keep such an integer exact, as its decimal string; it was once a "missing balance".
    const rows: Row[] = [
      [0, "invoke", "read", null],
      [0, "ok", "read", { "0": 10, "1": 10, "2": 10 }],
      [1, "invoke", "read", null],
      [1, "ok", "read", { "0": "9007199254740993", "1": 10, "2": -9007199254740973 }],
    ];
    const h = history(rows);
    const r = checkBankHistory(h, options);
    expect(r.valid).toBe("unknown");
    expect(r.readCount).toBe(1);
    expect(r.reason).toMatch(/1 read saw a balance beyond ±9007199254740991.*account 0 at index 3/);
    // An anomaly elsewhere still makes the history invalid.
    const wrong: Row[] = [
      [2, "invoke", "read", null],
      [2, "ok", "read", { "0": 10, "1": 10, "2": 11 }],
    ];
    const bad = checkBankHistory(history([...rows, ...wrong]), options);
    expect(bad.valid).toBe(false);
    expect(bad.anomalyCounts).toEqual({ "wrong-total": 1 });
  });

  it("sets aside a read whose whole balances sum beyond a double's exact integers, and is then unknown", () => {
    // 9007199254740000 + 993 is 9007199254740993, which a double holds as …992: that read and one
    // summing to …992 would agree, and a wrong total would pass.
    const reads = (second: number): Row[] => [
      [0, "invoke", "read", null],
      [0, "ok", "read", { "0": 9007199254740000, "1": 993 }],
      [1, "invoke", "read", null],
      [1, "ok", "read", { "0": 9007199254740000, "1": second }],
    ];
    for (const total of [undefined, 9007199254740992]) {
      const r = checkBankHistory(history(reads(992)), { accounts: [0, 1], total });
      expect(r.valid, String(total)).toBe("unknown");
      expect(r.reason).toBe(
        "2 reads' balances sum beyond ±9007199254740991, which cannot be compared exactly (the first: index 1, 9007199254740993); the other 0 reads showed no anomaly",
      );
    }
    // Sums within the exact range are compared as before.
    const within = checkBankHistory(history(reads(991)), { accounts: [0, 1] });
    expect(within.valid).toBe("unknown"); // the …993 read is set aside; the other sums to …991
    expect(within.readCount).toBe(1);
  });

  it("sets aside a read with a balance given as text (node-postgres answers BIGINT and NUMERIC so)", () => {
    // It was a "missing-balance": INVALID, for a client that read its balances as strings.
    const rows: Row[] = [
      [0, "invoke", "read", null],
      [0, "ok", "read", { "0": 10, "1": 10, "2": 10 }],
      [1, "invoke", "read", null],
      [1, "ok", "read", { "0": "10", "1": "10.00", "2": "ten" }],
    ];
    const r = checkBankHistory(history(rows), options);
    expect(r.valid).toBe("unknown");
    expect(r.readCount).toBe(1);
    expect(r.reason).toBe(
      '1 read saw a balance given as text, which cannot be summed as a number (the first: account 0 at index 3, "10"; a client should answer numbers, parsing a BIGINT or NUMERIC column); the other 1 reads showed no anomaly',
    );
    // So is a stamped row's balance.
    const stamped = checkBankHistory(
      history([
        [
          0,
          "invoke",
          "txn",
          [
            ["r", 0, null],
            ["r", 1, null],
            ["r", 2, null],
          ],
        ],
        [
          0,
          "ok",
          "txn",
          [
            ["r", 0, { balance: "10", writeId: 1 }],
            ["r", 1, { balance: 10, writeId: 1 }],
            ["r", 2, { balance: 10, writeId: 1 }],
          ],
        ],
      ]),
      options,
    );
    expect(stamped.valid).toBe("unknown");
    // A null balance is still missing: INVALID.
    expect(
      checkBankHistory(
        history([
          ...rows.slice(0, 2),
          [1, "invoke", "read", null],
          [1, "ok", "read", { "0": null, "1": 10, "2": 20 }],
        ]),
        options,
      ).anomalyCounts,
    ).toEqual({ "missing-balance": 1 });
  });

  it("refuses a read that completed without what it read, naming it", () => {
    // It was passed over: a history whose other reads agreed was valid.
    for (const value of ["oops", null, [["r", 0, 5]], 30]) {
      const h = history([
        [0, "invoke", "read", null],
        [0, "ok", "read", { "0": 10, "1": 10, "2": 10 }],
        [1, "invoke", "read", null],
        [1, "ok", "read", value],
      ]);
      expect(() => checkBankHistory(h, options)).toThrow(
        /index 3: a bank read must complete with a map of accounts to balances/,
      );
    }
    const txn = history([
      [0, "invoke", "txn", [["r", 0, null]]],
      [0, "ok", "txn", "done"],
    ]);
    expect(() => checkBankHistory(txn, options)).toThrow(
      /index 1: a txn's value must be a list of micro-ops/,
    );
  });

  it("sums decimal balances as decimals: 0.1 and 0.2 agree with 0.3", () => {
    // Doubles once made 0.1 + 0.2 a wrong total beside 0.3: a false alarm on a NUMERIC balance.
    const rows: Row[] = [
      [0, "invoke", "read", null],
      [0, "ok", "read", { "0": 0.3, "1": 0, "2": 10.05 }],
      [1, "invoke", "read", null],
      [1, "ok", "read", { "0": 0.1, "1": 0.2, "2": 10.05 }],
    ];
    const accounts = { accounts: [0, 1, 2] };
    expect(checkBankHistory(history(rows), accounts)).toMatchObject({ valid: true, readCount: 2 });
    expect(checkBankHistory(history(rows), { ...accounts, total: 10.35 }).valid).toBe(true);
    const off: Row[] = [
      [2, "invoke", "read", null],
      [2, "ok", "read", { "0": 0.1, "1": 0.2, "2": 10.06 }],
    ];
    expect(checkBankHistory(history([...rows, ...off]), accounts).anomalyCounts).toEqual({
      "wrong-total": 1,
    });
  });
});
