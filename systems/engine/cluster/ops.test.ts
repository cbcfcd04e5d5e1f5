import { describe, expect, it } from "vitest";
import { Database } from "../database.ts";
import { testRuntime } from "../testkit.ts";
import { MemoryState } from "../../memory/state.ts";
import { answerDependsOnReads, executeOn, keysReadBy } from "./ops.ts";

async function openDb(isolation: "snapshot" | "serializable" = "serializable") {
  return Database.open(testRuntime(), { background: false, isolation });
}

describe("engine client operations", () => {
  it("runs transfer and take-off-call exactly as the reference memory system does", async () => {
    const db = await openDb();
    const memory = new MemoryState();
    const script = [
      {
        f: "txn",
        value: [
          ["w", "a", { balance: 10, writeId: 1 }],
          ["w", "b", { balance: 0, writeId: 1 }],
        ],
      },
      { f: "transfer", value: { from: "a", to: "b", amount: 4, writeId: 2 } },
      { f: "transfer", value: { from: "b", to: "a", amount: 9, writeId: 3 } },
      { f: "transfer", value: { from: "a", to: "zz", amount: 1, writeId: 4 } },
      { f: "transfer", value: { from: "a", to: "a", amount: 1, writeId: 5 } },
      {
        f: "txn",
        value: [
          ["w", "d1", { onCall: true, writeId: 6 }],
          ["w", "d2", { onCall: true, writeId: 6 }],
        ],
      },
      { f: "take-off-call", value: { doctors: ["d1", "d2"], doctor: "d1", writeId: 7 } },
      { f: "take-off-call", value: { doctors: ["d1", "d2"], doctor: "d2", writeId: 8 } },
      {
        f: "txn",
        value: [
          ["r", "a", null],
          ["r", "b", null],
          ["r", "d1", null],
          ["r", "d2", null],
        ],
      },
    ];
    for (const invocation of script) {
      const engine = await executeOn(db, invocation);
      const reference = memory.apply(invocation);
      expect({ type: engine.type, value: engine.value, error: engine.error }).toEqual({
        type: reference.type,
        value: reference.value,
        error: reference.error,
      });
    }
  });

  it("rolls a failed transfer back: nothing it read or would have written changes", async () => {
    const db = await openDb();
    await executeOn(db, {
      f: "txn",
      value: [
        ["w", "a", { balance: 1, writeId: 1 }],
        ["w", "b", { balance: 1, writeId: 1 }],
      ],
    });
    const r = await executeOn(db, { f: "transfer", value: { from: "a", to: "b", amount: 5, writeId: 2 } });
    expect(r).toMatchObject({ type: "fail", error: "insufficient-funds" });
    const read = await executeOn(db, {
      f: "txn",
      value: [
        ["r", "a", null],
        ["r", "b", null],
      ],
    });
    expect(read.value).toEqual([
      ["r", "a", { balance: 1, writeId: 1 }],
      ["r", "b", { balance: 1, writeId: 1 }],
    ]);
  });
});

describe("what a writer must confirm before it answers", () => {
  it("treats refusals that report what they read as reads, and engine aborts as data-free", async () => {
    const db = await openDb();
    await executeOn(db, { f: "write", value: ["k", 1] });
    const mismatch = await executeOn(db, { f: "cas", value: ["k", [2, 3]] });
    expect(mismatch).toMatchObject({ type: "fail", error: "cas-mismatch" });
    expect(answerDependsOnReads(mismatch)).toBe(true);
    expect(answerDependsOnReads({ type: "fail", value: null, error: "insufficient-funds" })).toBe(true);
    for (const error of ["serialization-failure", "write-conflict", "deadlock", "lock-timeout"]) {
      expect(answerDependsOnReads({ type: "fail", value: null, error })).toBe(false);
    }
    expect(answerDependsOnReads({ type: "ok", value: null })).toBe(false);
  });

  it("names the keys an answer depends on, and no fixed set for a whole-set read", () => {
    expect(keysReadBy({ f: "cas", value: [7, [1, 2]] })).toEqual([7]);
    expect(
      keysReadBy({
        f: "txn",
        value: [
          ["r", "x", null],
          ["append", "y", 3],
        ],
      }),
    ).toEqual(["x", "y"]);
    expect(keysReadBy({ f: "transfer", value: { from: "a", to: "b", amount: 1, writeId: 1 } })).toEqual([
      "a",
      "b",
    ]);
    expect(keysReadBy({ f: "read-set", value: null })).toBeUndefined();
  });

  it("a read of a key waits only for the newest commit to that key (or what was recovered)", async () => {
    const db = await openDb();
    const floor = db.commitEndOfKeys([]);
    await executeOn(db, { f: "write", value: ["a", 1] });
    const afterA = db.commitEndOfKeys(["a"]);
    expect(afterA).toBeGreaterThan(floor);
    await executeOn(db, { f: "write", value: ["b", 1] });
    expect(db.commitEndOfKeys(["a"])).toBe(afterA);
    expect(db.commitEndOfKeys(["b"])).toBeGreaterThan(afterA);
    expect(db.commitEndOfKeys(["a", "b"])).toBe(db.commitEndOfKeys(["b"]));
    expect(db.commitEndOfKeys(["never-written"])).toBe(floor);
    // A failed cas commits nothing: it moves no key's commit end.
    await executeOn(db, { f: "cas", value: ["a", [9, 9]] });
    expect(db.commitEndOfKeys(["a"])).toBe(afterA);
  });
});
