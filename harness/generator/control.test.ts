import { describe, expect, it } from "vitest";
import { GeneratorError } from "./context.ts";
import { andThen, any, fMap, filter, flipFlop, map, phases, synchronize, untilOk } from "./control.ts";
import { fakeContext, simulate } from "./simulate.ts";
import { limit, repeat } from "./sources.ts";
import { clients, eachThread } from "./threads.ts";
import { delay } from "./time.ts";
import type { Generator } from "./types.ts";

const history = (gen: Generator, clientThreads = 3, extra = {}) =>
  simulate(gen, { seed: 9, clientThreads, maxOps: 500, ...extra }).history;
const invokedFs = (gen: Generator, clientThreads = 3) =>
  history(gen, clientThreads)
    .filter((op) => op.type === "invoke")
    .map((op) => op.f);

describe("synchronize, phases, andThen", () => {
  it("synchronize waits until every thread is free", () => {
    expect(synchronize({ f: "r" }).op(fakeContext({ clientThreads: 2, busy: [1] })).kind).toBe("pending");
    expect(synchronize({ f: "r" }).op(fakeContext({ clientThreads: 2 })).kind).toBe("op");
  });

  it("phases never overlap", () => {
    const ops = history(phases(limit(6, repeat({ f: "a" })), limit(6, repeat({ f: "b" }))));
    const lastA = Math.max(...ops.filter((op) => op.f === "a").map((op) => op.index));
    const firstB = Math.min(...ops.filter((op) => op.f === "b").map((op) => op.index));
    expect(lastA).toBeLessThan(firstB);
    expect(ops.filter((op) => op.type === "invoke")).toHaveLength(12);
  });

  it("andThen runs its arguments in reading order with a barrier", () => {
    const ops = history(andThen(limit(4, repeat({ f: "a" })), { f: "b" }));
    expect(ops.at(-2)?.f).toBe("b");
    expect(ops.findIndex((op) => op.f === "b")).toBe(ops.length - 2);
  });
});

describe("any", () => {
  it("takes the soonest op of its members", () => {
    const gen = limit(6, any(delay(300, repeat({ f: "a" })), delay(500, repeat({ f: "b" }))));
    const ops = simulate(gen, { seed: 2, clientThreads: 2, minOpDurationNs: 1, maxOpDurationNs: 1 })
      .history.filter((op) => op.type === "invoke")
      .map((op) => `${op.f}@${op.time}`);
    expect(ops.slice(2)).toEqual(["a@300", "b@500", "a@600", "a@900"]);
    expect(ops.slice(0, 2).sort()).toEqual(["a@0", "b@0"]);
  });

  it("is exhausted once every member is", () => {
    expect(invokedFs(any({ f: "a" }, { f: "b" })).sort()).toEqual(["a", "b"]);
  });
});

describe("flipFlop", () => {
  it("alternates and stops when either side ends", () => {
    expect(invokedFs(flipFlop(repeat({ f: "a" }), limit(2, repeat({ f: "b" }))))).toEqual([
      "a",
      "b",
      "a",
      "b",
      "a",
    ]);
  });
});

describe("untilOk", () => {
  it("keeps emitting until one of its ops completes ok, then stops", () => {
    const ops = simulate(clients(eachThread(untilOk(repeat({ f: "read" })))), {
      seed: 4,
      clientThreads: 3,
      failChance: 0.5,
      infoChance: 0.2,
      maxOps: 1000,
    }).history;
    // Each thread: its last completion is ok and every earlier one is not.
    for (let thread = 0; thread < 3; thread++) {
      const done = ops.filter((op) => op.type !== "invoke" && (op.process as number) % 3 === thread);
      expect(done.at(-1)?.type).toBe("ok");
      expect(done.slice(0, -1).every((op) => op.type !== "ok")).toBe(true);
    }
  });
});

describe("map, fMap, filter", () => {
  it("map and fMap reshape ops", () => {
    expect(invokedFs(map((op) => ({ ...op, f: op.f + "!" }), { f: "a" }))).toEqual(["a!"]);
    expect(invokedFs(fMap({ start: "start-partition" }, [{ f: "start" }, { f: "other" }]))).toEqual([
      "start-partition",
      "other",
    ]);
  });

  it("filter drops ops its predicate rejects", () => {
    let n = 0;
    const gen = limit(
      5,
      filter(
        (op) => (op.value as number) % 2 === 0,
        () => ({ f: "w", value: n++ }),
      ),
    );
    expect(
      history(gen)
        .filter((op) => op.type === "invoke")
        .map((op) => op.value),
    ).toEqual([0, 2, 4, 6, 8]);
  });

  it("filter gives up with a clear error instead of looping forever", () => {
    const gen = filter(() => false, repeat({ f: "w" }), 50);
    expect(() => gen.op(fakeContext({ clientThreads: 1 }))).toThrow(GeneratorError);
    expect(() => gen.op(fakeContext({ clientThreads: 1 }))).toThrow(/rejected 51 operations/);
  });
});
