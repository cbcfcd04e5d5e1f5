import { describe, expect, it } from "vitest";
import { Database } from "../database.ts";
import { testRuntime } from "../testkit.ts";
import { MemoryState } from "../../memory/state.ts";
import { executeOn } from "./ops.ts";

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
