/**
 * The client-facing operations: micro-op transactions and register read/write/cas, their results
 * and their definite failures on bad input.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MicroOp } from "../../harness/history/op.ts";
import { Database } from "./database.ts";
import { testRuntime } from "./testkit.ts";

const open = (): Promise<Database> => Database.open(testRuntime(), { background: false });

describe("operations", () => {
  it("register read, write and cas", async () => {
    const db = await open();
    expect(await db.register("read", "k", null)).toEqual({ type: "ok", value: null });
    expect(await db.register("cas", "k", [null, 1])).toEqual({ type: "ok", value: [null, 1] });
    expect(await db.register("write", "k", 2)).toEqual({ type: "ok", value: 2 });
    expect(await db.register("cas", "k", [1, 3])).toMatchObject({ type: "fail", error: "cas-mismatch" });
    expect(await db.register("cas", "k", [2, 3])).toMatchObject({ type: "ok" });
    expect(await db.register("read", "k", null)).toEqual({ type: "ok", value: 3 });
    expect(await db.register("cas", "k", 3)).toMatchObject({ type: "fail", error: "invalid-op" });
  });

  it("string and integer keys are distinct", async () => {
    const db = await open();
    await db.transact([
      ["w", 1, "int"],
      ["w", "1", "string"],
    ]);
    expect(await db.transact([["r", 1, null]])).toEqual({ type: "ok", value: [["r", 1, "int"]] });
    expect(await db.transact([["r", "1", null]])).toEqual({ type: "ok", value: [["r", "1", "string"]] });
  });

  it("bad micro-ops and appends to non-lists fail definitely and leave nothing behind", async () => {
    const db = await open();
    await db.transact([["w", "n", 5]]);
    const bad: MicroOp[][] = [
      [
        ["append", "l", 1],
        ["append", "n", 1],
      ],
      [["w", "x", 1], ["frob", "x", 1] as unknown as MicroOp],
      [["w", "y", 1], ["w", { not: "a key" }, 1] as unknown as MicroOp],
    ];
    const errors = [];
    for (const ops of bad) errors.push(await db.transact(ops));
    expect(errors.map((r) => (r.type === "fail" ? r.error : "ok"))).toEqual([
      "type-mismatch",
      "invalid-op",
      "invalid-op",
    ]);
    expect(db.dump()).toEqual(new Map([["n", 5]]));
  });

  it("a transaction reads its own writes and appends, in order", () =>
    fc.assert(
      fc.asyncProperty(fc.array(fc.integer(), { minLength: 1, maxLength: 10 }), async (elements) => {
        const db = await open();
        const ops: MicroOp[] = [...elements.map((e): MicroOp => ["append", "l", e]), ["r", "l", null]];
        const result = await db.transact(ops, "snapshot");
        expect(result).toEqual({ type: "ok", value: [...ops.slice(0, -1), ["r", "l", elements]] });
      }),
      { numRuns: 50 },
    ));

  it("rejects an unknown isolation level and a page size too small", async () => {
    const db = await open();
    expect(() => db.begin("chaos" as never)).toThrow(/unknown isolation level "chaos"/);
    await expect(Database.open(testRuntime(), { pageSizeBytes: 16 })).rejects.toThrow(/pageSizeBytes/);
  });
});
