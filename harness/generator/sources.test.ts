import { describe, expect, it } from "vitest";
import { GeneratorError } from "./context.ts";
import { fakeContext, simulate } from "./simulate.ts";
import { cycle, fromArray, limit, mix, nothing, once, repeat, sequence, toGenerator } from "./sources.ts";
import type { GenSource } from "./sources.ts";
import type { GenContext, Generator, PlannedOp } from "./types.ts";

/** Asks a generator for ops in a fixed context, taking each op's `next`, until not an op (bounded). */
function drain(gen: Generator, context: GenContext, max = 100): { ops: PlannedOp[]; end: string } {
  const ops: PlannedOp[] = [];
  let current = gen;
  for (let i = 0; i < max; i++) {
    const step = current.op(context);
    if (step.kind !== "op") return { ops, end: step.kind };
    ops.push(step.op);
    current = step.next;
  }
  return { ops, end: "max" };
}

const fs = (source: GenSource, threads = 2) =>
  simulate(toGenerator(source), { seed: 3, clientThreads: threads, maxOps: 200 })
    .history.filter((op) => op.type === "invoke")
    .map((op) => op.f);

describe("sources", () => {
  const context = fakeContext({ clientThreads: 3, timeNs: 500 });

  it("an op spec is one op, for the first free thread, at the context's time", () => {
    const { ops, end } = drain(toGenerator({ f: "read" }), context);
    expect(ops).toEqual([{ f: "read", value: null, process: 0, timeNs: 500 }]);
    expect(end).toBe("exhausted");
  });

  it("fills in the process of the first free thread, and is pending when none is free", () => {
    const busy01 = fakeContext({ clientThreads: 3, busy: [0, 1], processes: new Map([[2, 5]]) });
    const step = toGenerator({ f: "w", value: 1 }).op(busy01);
    expect(step.kind === "op" && step.op.process).toBe(5);
    expect(toGenerator({ f: "w" }).op(fakeContext({ clientThreads: 2, busy: [0, 1] })).kind).toBe("pending");
  });

  it("a function is called afresh per op until it returns undefined", () => {
    let calls = 0;
    const gen = toGenerator(() => (calls < 4 ? { f: "inc", value: calls++ } : undefined));
    const { ops, end } = drain(gen, context);
    expect(ops.map((op) => op.value)).toEqual([0, 1, 2, 3]);
    expect(end).toBe("exhausted");
  });

  it("an array runs its elements in order, skipping exhausted ones", () => {
    expect(fs([{ f: "a" }, nothing, [{ f: "b" }, { f: "c" }], limit(2, repeat({ f: "d" }))])).toEqual([
      "a",
      "b",
      "c",
      "d",
      "d",
    ]);
    expect(drain(sequence(), context).end).toBe("exhausted");
    expect(fromArray([{ f: "x" }]).op(context).kind).toBe("op");
  });

  it("limit and once count ops, not asks", () => {
    expect(fs(limit(3, repeat({ f: "r" })))).toEqual(["r", "r", "r"]);
    expect(fs(limit(5, [{ f: "a" }, { f: "b" }]))).toEqual(["a", "b"]);
    expect(fs(once(repeat({ f: "r" })))).toEqual(["r"]);
    expect(fs(limit(0, repeat({ f: "r" })))).toEqual([]);
    // Pending answers do not use up the limit.
    const busy = fakeContext({ clientThreads: 1, busy: [0] });
    const step = limit(1, repeat({ f: "r" })).op(busy);
    expect(step.kind).toBe("pending");
    if (step.kind === "pending") expect(drain(step.next, context).ops).toHaveLength(1);
  });

  it("repeat asks the original again; with a count, that many times", () => {
    expect(fs(repeat(3, [{ f: "a" }, { f: "b" }]))).toEqual(["a", "a", "a"]);
    expect(fs(limit(4, repeat({ f: "x" })))).toEqual(["x", "x", "x", "x"]);
    expect(fs(repeat(2, nothing))).toEqual([]);
  });

  it("cycle reruns a finite generator from the start", () => {
    expect(fs(cycle(2, [{ f: "a" }, { f: "b" }]))).toEqual(["a", "b", "a", "b"]);
    expect(fs(limit(5, cycle([{ f: "a" }, { f: "b" }])))).toEqual(["a", "b", "a", "b", "a"]);
    // A generator with nothing in it ends the cycle instead of spinning.
    expect(drain(cycle(nothing), context).end).toBe("exhausted");
  });

  it("mix draws from every member, drops exhausted ones, and depends only on the seed", () => {
    const gen = mix([repeat(20, { f: "a" }), repeat(20, { f: "b" }), { f: "c" }]);
    const run = fs(gen);
    expect(run.filter((f) => f === "a")).toHaveLength(20);
    expect(run.filter((f) => f === "b")).toHaveLength(20);
    expect(run.filter((f) => f === "c")).toHaveLength(1);
    expect(run.slice(0, 20)).toContain("a");
    expect(run.slice(0, 20)).toContain("b");
    expect(fs(gen)).toEqual(run);
    expect(drain(mix([]), context).end).toBe("exhausted");
  });

  it("rejects what is not a generator, saying what it got", () => {
    expect(() => toGenerator({ g: 1 } as unknown as GenSource)).toThrow(GeneratorError);
    expect(() => toGenerator(42 as unknown as GenSource)).toThrow(/got 42/);
    expect(() => limit(-1, nothing)).toThrow(/limit needs/);
    expect(() => repeat(1.5, nothing)).toThrow(/repeat needs/);
  });
});
