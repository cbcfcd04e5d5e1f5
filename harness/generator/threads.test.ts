import { describe, expect, it } from "vitest";
import { GeneratorError } from "./context.ts";
import { fakeContext, simulate } from "./simulate.ts";
import { untilOk } from "./control.ts";
import { limit, repeat, toGenerator } from "./sources.ts";
import { clients, clientsAndNemesis, eachThread, nemesis, reserve } from "./threads.ts";
import type { Op } from "../history/op.ts";
import type { Generator } from "./types.ts";

const run = (gen: Generator, clientThreads: number, maxOps = 200) =>
  simulate(gen, { seed: 5, clientThreads, nemesis: true, maxOps, infoChance: 0 }).history.filter(
    (op) => op.type === "invoke",
  );
const threadOf = (op: Op, clientThreads: number) =>
  op.process === "nemesis" ? "nemesis" : (op.process as number) % clientThreads;

describe("routing", () => {
  it("clients never use the nemesis thread; nemesis uses nothing else", () => {
    expect(run(limit(50, clients(repeat({ f: "r" }))), 3).every((op) => op.process !== "nemesis")).toBe(true);
    const nemesisOps = run(limit(5, nemesis(repeat({ f: "kill" }))), 3);
    expect(nemesisOps).toHaveLength(5);
    expect(nemesisOps.every((op) => op.process === "nemesis")).toBe(true);
  });

  it("clientsAndNemesis runs both side by side and ends when both end", () => {
    const ops = run(clientsAndNemesis(limit(30, repeat({ f: "r" })), limit(3, repeat({ f: "kill" }))), 2);
    expect(ops.filter((op) => op.f === "r" && op.process !== "nemesis")).toHaveLength(30);
    expect(ops.filter((op) => op.f === "kill" && op.process === "nemesis")).toHaveLength(3);
    // The nemesis does not wait for the clients to finish.
    expect(ops.findIndex((op) => op.f === "kill")).toBeLessThan(10);
  });

  it("a restricted source is pending when only other threads are free", () => {
    const onlyNemesisFree = fakeContext({ clientThreads: 2, nemesis: true, busy: [0, 1] });
    expect(clients({ f: "r" }).op(onlyNemesisFree).kind).toBe("pending");
  });
});

describe("eachThread", () => {
  it("gives every thread its own copy of the generator", () => {
    const ops = run(clients(eachThread([{ f: "a" }, { f: "b" }, { f: "c" }])), 4);
    expect(ops).toHaveLength(12);
    for (let thread = 0; thread < 4; thread++) {
      expect(ops.filter((op) => threadOf(op, 4) === thread).map((op) => op.f)).toEqual(["a", "b", "c"]);
    }
  });

  it("is pending while a thread is busy and exhausted only when every copy is", () => {
    const gen = eachThread({ f: "a" });
    const first = gen.op(fakeContext({ clientThreads: 2, busy: [1] }));
    expect(first.kind).toBe("op");
    if (first.kind !== "op") return;
    expect(first.next.op(fakeContext({ clientThreads: 2, busy: [1] })).kind).toBe("pending");
    const second = first.next.op(fakeContext({ clientThreads: 2 }));
    expect(second.kind === "op" && second.op.process).toBe(1);
    if (second.kind !== "op") return;
    expect(second.next.op(fakeContext({ clientThreads: 2 })).kind).toBe("exhausted");
  });
});

describe("routing events", () => {
  it("routes a completion whose process has already moved on (info) to its thread", () => {
    const gen = clients(eachThread(untilOk(repeat({ f: "r" }))));
    const context = fakeContext({ clientThreads: 3, nemesis: true, busy: [0, 2] });
    const step = gen.op(context);
    expect(step.kind === "op" && step.op.process).toBe(1);
    if (step.kind !== "op") return;
    // Thread 1's op completed ok, but the context already shows thread 1 as process 4.
    const moved = fakeContext({
      clientThreads: 3,
      nemesis: true,
      busy: [0, 2],
      processes: new Map([[1, 4]]),
    });
    const event = { index: 1, time: 0, process: 1, type: "ok" as const, f: "r", value: null };
    const after = step.next.update(moved, event);
    expect(after.op(moved).kind).toBe("pending");
    expect(
      after.op(fakeContext({ clientThreads: 3, nemesis: true, processes: new Map([[1, 4]]) })).kind,
    ).toBe("op");
    const allDone = after.op(fakeContext({ clientThreads: 3, nemesis: true, busy: [0, 2] }));
    expect(allDone.kind).toBe("pending");
  });
});

describe("reserve", () => {
  it("gives each range its threads and the rest to the last source", () => {
    const gen = clients(reserve(1, repeat({ f: "w" }), 2, repeat({ f: "cas" }), repeat({ f: "r" })));
    const ops = run(limit(120, gen), 5);
    const fsOf = (thread: number) =>
      new Set(ops.filter((op) => threadOf(op, 5) === thread).map((op) => op.f));
    expect(fsOf(0)).toEqual(new Set(["w"]));
    expect(fsOf(1)).toEqual(new Set(["cas"]));
    expect(fsOf(2)).toEqual(new Set(["cas"]));
    expect(fsOf(3)).toEqual(new Set(["r"]));
    expect(fsOf(4)).toEqual(new Set(["r"]));
  });

  it("says so when it asks for more threads than there are", () => {
    const gen = reserve(3, repeat({ f: "w" }), repeat({ f: "r" }));
    expect(() => gen.op(fakeContext({ clientThreads: 2 }))).toThrow(GeneratorError);
    expect(() => reserve(1, { f: "w" })).toThrow(/pairs/);
    expect(() => reserve(-1, { f: "w" }, { f: "r" })).toThrow(/whole number/);
  });

  it("ends when every range has ended", () => {
    const ops = run(clients(reserve(1, limit(2, repeat({ f: "w" })), toGenerator([{ f: "r" }]))), 3);
    expect(ops.map((op) => op.f).sort()).toEqual(["r", "w", "w"]);
  });
});
