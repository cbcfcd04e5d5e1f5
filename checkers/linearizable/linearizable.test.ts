/**
 * The checker end to end on small hand-written histories: what each outcome means (ok, fail, the
 * etcd CAS that found another value, info, no completion), keys and partitions, explanations,
 * budgets and bad input.
 */
import { describe, expect, it } from "vitest";
import { HistoryShapeError } from "../../harness/history/op.ts";
import type { LinearizableModel } from "./index.ts";
import {
  ModelInputError,
  checkLinearizable,
  checkLinearizableHistory,
  linearizableChecker,
} from "./index.ts";
import { history, type Row } from "./testHistory.ts";

const casRegister = { model: "cas-register" } as const;

describe("register semantics", () => {
  it("accepts a read that overlaps a write and sees either value", () => {
    // Porcupine's 6.824 quiz example: put 100 overlapping two gets, one seeing 100 and one 0.
    const h = history([
      [0, "invoke", "write", 100],
      [1, "invoke", "read", null],
      [2, "invoke", "read", null],
      [2, "ok", "read", 0],
      [1, "ok", "read", 100],
      [0, "ok", "write", 100],
    ]);
    expect(checkLinearizableHistory(h, { model: "register", init: 0 }).valid).toBe(true);
  });

  it("rejects a read of the old value after a read of the new one has completed", () => {
    const h = history([
      [0, "invoke", "write", 200],
      [1, "invoke", "read", null],
      [1, "ok", "read", 200],
      [2, "invoke", "read", null],
      [2, "ok", "read", 0],
      [0, "ok", "write", 200],
    ]);
    const result = checkLinearizableHistory(h, { model: "register", init: 0 });
    expect(result.valid).toBe(false);
    const [violation] = result.anomalies!["nonlinearizable"]!;
    expect(violation!["op"]).toMatchObject({ index: 3, completeIndex: 4, f: "read", value: 0 });
    expect(violation!["statesMet"]).toEqual(["200"]);
    expect(violation!.explanation).toContain("process 2's read → 0");
  });

  it("drops a fail: it did not happen", () => {
    const h = history([
      [0, "invoke", "write", 1],
      [0, "fail", "write", 1],
      [1, "invoke", "read", null],
      [1, "ok", "read", 1],
    ]);
    expect(checkLinearizableHistory(h, casRegister).valid).toBe(false);
    const readsNull = history([
      [0, "invoke", "write", 1],
      [0, "fail", "write", 1],
      [1, "invoke", "read", null],
      [1, "ok", "read", null],
    ]);
    expect(checkLinearizableHistory(readsNull, casRegister)).toMatchObject({ valid: true, droppedFailed: 1 });
  });

  it("takes a CAS that found another value (etcd's :fail :cas) as a completed no-op", () => {
    const mismatch = { error: "cas-mismatch" };
    const found1 = history([
      [0, "invoke", "write", 1],
      [0, "ok", "write", 1],
      [1, "invoke", "cas", [1, 2]],
      [1, "fail", "cas", [1, 2], mismatch],
    ]);
    expect(checkLinearizableHistory(found1, casRegister).valid).toBe(false);
    const found3 = history([
      [0, "invoke", "write", 3],
      [0, "ok", "write", 3],
      [1, "invoke", "cas", [1, 2]],
      [1, "fail", "cas", [1, 2], mismatch],
      [2, "invoke", "read", null],
      [2, "ok", "read", 3],
    ]);
    expect(checkLinearizableHistory(found3, casRegister).valid).toBe(true);
  });

  it("lets an info write take effect late, or never", () => {
    const late = history([
      [0, "invoke", "write", 5],
      [0, "info", "write", "timed-out"],
      [1, "invoke", "read", null],
      [1, "ok", "read", null],
      [2, "invoke", "read", null],
      [2, "ok", "read", 5],
    ]);
    expect(checkLinearizableHistory(late, casRegister).valid).toBe(true);
    const never = history([
      [0, "invoke", "write", 5],
      [1, "invoke", "read", null],
      [1, "ok", "read", null],
    ]);
    expect(checkLinearizableHistory(never, casRegister).valid).toBe(true);
    const butNotBefore = history([
      [1, "invoke", "read", null],
      [1, "ok", "read", 5],
      [0, "invoke", "write", 5],
      [0, "info", "write", 5],
    ]);
    expect(checkLinearizableHistory(butNotBefore, casRegister).valid).toBe(false);
  });

  it("is unknown, not valid, when no operation has a known result: it saw nothing to check", () => {
    // Each of these can be ordered by leaving every operation out, so a model accepts it whatever
    // the system did: a pipeline whose every operation failed or timed out must not pass a gate.
    const failedAndTimedOut: Row[] = [
      [0, "invoke", "write", 1],
      [0, "fail", "write", 1],
      [1, "invoke", "read", null],
      [1, "fail", "read", null],
      [2, "invoke", "read", null],
      [2, "info", "read", null],
      [3, "invoke", "write", 2],
      [3, "info", "write", 2],
    ];
    for (const model of ["register", "cas-register"]) {
      const result = checkLinearizableHistory(history(failedAndTimedOut), { model });
      expect(result, model).toMatchObject({ valid: "unknown", opCount: 4, droppedFailed: 2 });
      expect(result.reason, model).toBe(
        "no operation with a known result: of 4 operations, 2 failed (did not happen) and 2 of unknown outcome (may never have happened), so there is nothing to check",
      );
    }
    const locks = history([
      [0, "invoke", "acquire", null],
      [0, "fail", "acquire", null],
      [1, "invoke", "acquire", null],
      [1, "info", "acquire", null],
    ]);
    expect(checkLinearizableHistory(locks, { model: "mutex" }).valid).toBe("unknown");
    const onlyFailed = history([
      [1, "invoke", "read", null],
      [1, "fail", "read", null],
    ]);
    expect(checkLinearizableHistory(onlyFailed, casRegister).reason).toBe(
      "no operation with a known result: of 1 operation, 1 failed (did not happen), so there is nothing to check",
    );
    // One operation with a known result is something to check.
    const oneOk = history([...failedAndTimedOut, [4, "invoke", "read", null], [4, "ok", "read", null]]);
    expect(checkLinearizableHistory(oneOk, casRegister).valid).toBe(true);
  });

  it("reads null as unknown when the register starts with a value (Knossos)", () => {
    const h = history([
      [0, "invoke", "read", null],
      [0, "ok", "read", null],
    ]);
    expect(checkLinearizableHistory(h, { model: "cas-register", init: 0 }).valid).toBe(true);
    const h2 = history([
      [0, "invoke", "write", 1],
      [0, "ok", "write", 1],
      [1, "invoke", "read", null],
      [1, "ok", "read", null],
    ]);
    expect(checkLinearizableHistory(h2, casRegister).valid).toBe(false);
  });

  it("ignores nemesis operations", () => {
    const h = history([
      ["nemesis", "info", "start", null],
      [0, "invoke", "write", 1],
      ["nemesis", "info", "stop", null],
      [0, "ok", "write", 1],
    ]);
    expect(checkLinearizableHistory(h, casRegister)).toMatchObject({ valid: true, opCount: 1 });
  });
});

describe("keys and partitions", () => {
  // Key x is fine; key y reads a value nobody wrote.
  const keyed = history([
    [0, "invoke", "write", ["x", 1]],
    [0, "ok", "write", ["x", 1]],
    [1, "invoke", "read", ["x", null]],
    [1, "ok", "read", ["x", 1]],
    [2, "invoke", "cas", ["y", [null, 2]]],
    [2, "ok", "cas", ["y", [null, 2]]],
    [3, "invoke", "read", ["y", null]],
    [3, "ok", "read", ["y", 7]],
  ]);

  it("takes the key from [key, v] values and checks each key on its own", () => {
    const result = checkLinearizableHistory(keyed, casRegister);
    expect(result).toMatchObject({ valid: false, partitions: 2 });
    const [violation] = result.anomalies!["nonlinearizable"]!;
    expect(violation!["key"]).toBe("y");
    expect(violation!.explanation).toMatch(/^Key "y" is not linearizable/);
  });

  it("reaches the same verdict unsplit", () => {
    expect(checkLinearizableHistory(keyed, { ...casRegister, partition: false })).toMatchObject({
      valid: false,
      partitions: 1,
    });
  });

  it("takes the key from op.key (Jepsen's independent keys, Porcupine's kv)", () => {
    const h = history([
      [0, "invoke", "append", "a", { key: "k1" }],
      [0, "ok", "append", "a", { key: "k1" }],
      [1, "invoke", "append", "b", { key: "k2" }],
      [1, "ok", "append", "b", { key: "k2" }],
      [2, "invoke", "get", null, { key: "k1" }],
      [2, "ok", "get", "a", { key: "k1" }],
      [3, "invoke", "get", null, { key: "k3" }],
      [3, "ok", "get", "", { key: "k3" }],
    ]);
    expect(checkLinearizableHistory(h, { model: "kv" })).toMatchObject({ valid: true, partitions: 3 });
    expect(checkLinearizableHistory(h, { model: "kv", partition: false })).toMatchObject({
      valid: true,
      partitions: 1,
    });
  });
});

describe("budgets", () => {
  it("answers unknown, with the reason, when the memory budget runs out", () => {
    const h = history([
      [0, "invoke", "write", 1],
      [0, "ok", "write", 1],
    ]);
    const result = checkLinearizableHistory(h, { ...casRegister, budget: { memoryLimitBytes: 1 } });
    expect(result.valid).toBe("unknown");
    expect(result.reason).toMatch(/memory budget/);
  });

  // A strictly sequential history needs one pass; its configurations' keys must not grow with its
  // length (a bitset of every operation per configuration made 20,000 operations take 50 MB and
  // 600,000 exhaust 2 GiB).
  it("checks a long sequential history in memory that grows with its length, not its square", () => {
    const rows: Row[] = [];
    // An info write at the start that never takes effect keeps one operation open throughout.
    rows.push([999, "invoke", "write", -1], [999, "info", "write", -1]);
    for (let i = 0; i < 20_000; i++) {
      const write = i % 2 === 0;
      const value = write ? i : i - 1;
      rows.push([i % 7, "invoke", write ? "write" : "read", write ? value : null]);
      rows.push([i % 7, "ok", write ? "write" : "read", value]);
    }
    const budget = { memoryLimitBytes: 32 * 2 ** 20 };
    const valid = checkLinearizableHistory(history(rows), { ...casRegister, budget });
    expect(valid.valid).toBe(true);
    // Without the open write, a read no write explains is found after one pass back.
    rows.splice(0, 2);
    rows.push([5, "invoke", "read", null], [5, "ok", "read", 12345]);
    const invalid = checkLinearizableHistory(history(rows), { ...casRegister, budget });
    expect(invalid.valid).toBe(false);
  });

  it("answers unknown, with the reason, when the time budget runs out", () => {
    // 16 concurrent appends then a read that matches no order: the search must try every order.
    const rows: [number, "invoke" | "ok", string, unknown][] = [];
    for (let p = 0; p < 16; p++) rows.push([p, "invoke", "append", `${p} `]);
    for (let p = 0; p < 16; p++) rows.push([p, "ok", "append", `${p} `]);
    rows.push([99, "invoke", "get", null], [99, "ok", "get", "impossible"]);
    const result = checkLinearizableHistory(history(rows), { model: "kv", budget: { timeLimitMs: 50 } });
    expect(result.valid).toBe("unknown");
    expect(result.reason).toMatch(/time budget of 50 ms/);
  });
});

describe("bad input", () => {
  it("names an unknown model and the ones there are", () => {
    expect(() => checkLinearizableHistory([], { model: "queue" })).toThrow(ModelInputError);
    expect(() => checkLinearizableHistory([], { model: "queue" })).toThrow(/fifo-queue/);
  });

  it("names the index of an operation the model cannot take", () => {
    const h = history([
      [0, "invoke", "write", 1],
      [0, "ok", "write", 1],
      [1, "invoke", "increment", 1],
    ]);
    expect(() => checkLinearizableHistory(h, casRegister)).toThrow(HistoryShapeError);
    expect(() => checkLinearizableHistory(h, casRegister)).toThrow(/index 2: .*f "increment"/);
  });

  it("names the index of a completion with no invocation", () => {
    const h = history([[0, "ok", "write", 1]]);
    expect(() => checkLinearizableHistory(h, casRegister)).toThrow(
      /index 0: process 0 completed an operation it never invoked/,
    );
  });

  it("refuses an --init the model cannot take", () => {
    expect(() => checkLinearizableHistory([], { model: "multi-register", init: 3 })).toThrow(
      /\{"x":0,"y":0\}/,
    );
  });
});

describe("user-defined models", () => {
  // The README's example: a counter that only goes up, read by "get".
  const upCounter: LinearizableModel<number> = {
    name: "up-counter",
    init: () => 0,
    step: (count, op) => {
      if (op.f === "inc") return count + 1;
      if (op.outcome === "info") return count; // a get whose result is unknown
      return op.value === count ? count : undefined;
    },
    partition: (op) => op.key ?? "",
    readOnly: (op) => op.f === "get",
    hash: (count) => count,
    equal: (a, b) => a === b,
    describe: (count) => String(count),
    describeOp: (op) => (op.f === "inc" ? "inc" : `get → ${String(op.value)}`),
  };

  it("checks a history against it", () => {
    const h = history([
      [0, "invoke", "inc", null],
      [1, "invoke", "get", null],
      [1, "ok", "get", 1],
      [0, "ok", "inc", null],
      [1, "invoke", "get", null],
      [1, "ok", "get", 0],
    ]);
    expect(checkLinearizable(h.slice(0, 4), upCounter).valid).toBe(true);
    const result = checkLinearizable(h, upCounter);
    expect(result).toMatchObject({ valid: false, model: "up-counter" });
    expect(result.anomalies!["nonlinearizable"]![0]!["statesMet"]).toEqual(["1"]);
  });

  it("is a Checker for workloads", async () => {
    const checker = linearizableChecker({ model: "cas-register", init: 0 });
    expect(checker.name).toBe("linearizable");
    expect((await checker.check([], {})).valid).toBe("unknown");
  });
});
