import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryState } from "./state.ts";

const init = (state: MemoryState, balances: number[]): void => {
  const r = state.apply({
    f: "txn",
    value: balances.map((balance, k) => ["w", k, { balance, writeId: -1 }]),
  });
  expect(r.type).toBe("ok");
};

const readAll = (state: MemoryState, n: number): { balance: number; writeId: number }[] => {
  const r = state.apply({
    f: "txn",
    value: Array.from({ length: n }, (_, k) => ["r", k, null]),
  });
  return (r.value as [string, number, { balance: number; writeId: number }][]).map((m) => m[2]);
};

describe("MemoryState transfer", () => {
  it("moves the amount atomically and completes with the micro-ops it executed", () => {
    const state = new MemoryState();
    init(state, [10, 5]);
    const r = state.apply({ f: "transfer", value: { from: 0, to: 1, amount: 3, writeId: 7 } });
    expect(r).toEqual({
      type: "ok",
      value: [
        ["r", 0, { balance: 10, writeId: -1 }],
        ["r", 1, { balance: 5, writeId: -1 }],
        ["w", 0, { balance: 7, writeId: 7 }],
        ["w", 1, { balance: 8, writeId: 7 }],
      ],
    });
    expect(readAll(state, 2)).toEqual([
      { balance: 7, writeId: 7 },
      { balance: 8, writeId: 7 },
    ]);
  });

  it("fails with insufficient-funds, or no-such-account, and then writes nothing", () => {
    const state = new MemoryState();
    init(state, [2, 5]);
    expect(state.apply({ f: "transfer", value: { from: 0, to: 1, amount: 3, writeId: 1 } })).toMatchObject({
      type: "fail",
      error: "insufficient-funds",
    });
    expect(state.apply({ f: "transfer", value: { from: 0, to: 9, amount: 1, writeId: 2 } })).toMatchObject({
      type: "fail",
      error: "no-such-account",
    });
    expect(state.apply({ f: "transfer", value: { from: 0, to: 0, amount: 1, writeId: 3 } }).type).toBe(
      "fail",
    );
    expect(readAll(state, 2).map((r) => r.balance)).toEqual([2, 5]);
  });

  it("keeps the total and never goes negative over any sequence of transfers", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(3), fc.nat(3), fc.nat(12)), { maxLength: 60 }), (transfers) => {
        const state = new MemoryState();
        init(state, [10, 10, 10, 10]);
        transfers.forEach(([from, to, amount], writeId) => {
          state.apply({ f: "transfer", value: { from, to, amount, writeId } });
        });
        const balances = readAll(state, 4).map((r) => r.balance);
        expect(balances.reduce((a, b) => a + b, 0)).toBe(40);
        expect(balances.every((b) => b >= 0)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe("MemoryState take-off-call", () => {
  const onCall = (writeId: number) => ({ onCall: true, writeId });
  it("takes the named doctor off call only when both are on call", () => {
    const state = new MemoryState();
    state.apply({
      f: "txn",
      value: [
        ["w", "a", onCall(0)],
        ["w", "b", onCall(0)],
      ],
    });
    const first = state.apply({
      f: "take-off-call",
      value: { doctors: ["a", "b"], doctor: "a", writeId: 1 },
    });
    expect(first).toEqual({
      type: "ok",
      value: [
        ["r", "a", onCall(0)],
        ["r", "b", onCall(0)],
        ["w", "a", { onCall: false, writeId: 1 }],
      ],
    });
    const second = state.apply({
      f: "take-off-call",
      value: { doctors: ["a", "b"], doctor: "b", writeId: 2 },
    });
    expect(second).toEqual({
      type: "ok",
      value: [
        ["r", "a", { onCall: false, writeId: 1 }],
        ["r", "b", onCall(0)],
      ],
    });
  });

  it("does nothing to doctors never put on call, and rejects a doctor not in the pair", () => {
    const state = new MemoryState();
    const r = state.apply({ f: "take-off-call", value: { doctors: [1, 2], doctor: 1, writeId: 1 } });
    expect(r).toEqual({
      type: "ok",
      value: [
        ["r", 1, null],
        ["r", 2, null],
      ],
    });
    expect(state.apply({ f: "take-off-call", value: { doctors: [1, 2], doctor: 3, writeId: 1 } }).type).toBe(
      "fail",
    );
  });
});
