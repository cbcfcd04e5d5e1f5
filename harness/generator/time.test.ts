import { describe, expect, it } from "vitest";
import { clients, nemesis } from "./threads.ts";
import { any } from "./control.ts";
import { fakeContext, simulate } from "./simulate.ts";
import { limit, repeat, sequence, toGenerator } from "./sources.ts";
import { delay, sleep, stagger, timeLimit } from "./time.ts";
import type { Generator } from "./types.ts";

const invokes = (gen: Generator, clientThreads = 4, extra: { nemesis?: boolean } = {}) =>
  simulate(gen, {
    seed: 11,
    clientThreads,
    maxOps: 5000,
    minOpDurationNs: 10,
    maxOpDurationNs: 100,
    ...extra,
  }).history.filter((op) => op.type === "invoke");

describe("timeLimit", () => {
  it("lets ops through for the duration after the first op, then is exhausted", () => {
    const gen = sequence(sleep(1000), timeLimit(10_000, delay(1000, repeat({ f: "r" }))));
    const times = invokes(gen).map((op) => op.time);
    expect(times[0]).toBe(1000);
    expect(times).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
  });

  it("never emits an op timed at or past its cutoff, and stops once time reaches it", () => {
    const gen = timeLimit(100, repeat({ f: "r" }));
    const first = gen.op(fakeContext({ clientThreads: 1, timeNs: 50 }));
    expect(first.kind).toBe("op");
    if (first.kind !== "op") return;
    expect(first.next.op(fakeContext({ clientThreads: 1, timeNs: 149 })).kind).toBe("op");
    expect(first.next.op(fakeContext({ clientThreads: 1, timeNs: 150 })).kind).toBe("exhausted");
    // Pending while busy, but asks to be woken at the cutoff.
    const busy = first.next.op(fakeContext({ clientThreads: 1, timeNs: 60, busy: [0] }));
    expect(busy.kind === "pending" && busy.wakeAtNs).toBe(150);
  });

  it("ends a run even when its inner generator is stuck pending", () => {
    // The nemesis never gets an op (no nemesis thread), the clients stop at the limit.
    const gen = timeLimit(1_000_000, any(clients(repeat({ f: "r" })), nemesis(repeat({ f: "n" }))));
    const result = simulate(gen, { seed: 1, clientThreads: 2, maxOps: 1_000_000 });
    expect(result.end).toBe("exhausted");
    expect(result.history.every((op) => op.time < 1_000_000 || op.type !== "invoke")).toBe(true);
  });
});

describe("stagger", () => {
  it("spaces ops by intervals in [0, 2·mean), across all threads", () => {
    const times = invokes(limit(500, stagger(1000, repeat({ f: "r" }))), 8).map((op) => op.time);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...gaps)).toBeLessThan(2000);
    const meanGap = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(meanGap).toBeGreaterThan(850);
    expect(meanGap).toBeLessThan(1150);
  });

  it("needs a positive mean", () => {
    expect(() => stagger(0, repeat({ f: "r" }))).toThrow(/stagger needs/);
  });
});

describe("delay", () => {
  it("spaces ops by a fixed interval, starting at the first", () => {
    const times = invokes(limit(5, delay(300, repeat({ f: "r" })))).map((op) => op.time);
    expect(times).toEqual([0, 300, 600, 900, 1200]);
  });

  it("falls back to as-soon-as-possible when threads are busy longer than the interval", () => {
    const history = simulate(limit(4, delay(10, repeat({ f: "r" }))), {
      seed: 1,
      clientThreads: 1,
      minOpDurationNs: 100,
      maxOpDurationNs: 100,
    }).history;
    expect(history.filter((op) => op.type === "invoke").map((op) => op.time)).toEqual([0, 100, 200, 300]);
  });
});

describe("sleep", () => {
  it("is pending until its duration has passed since first asked, with a wake-up time", () => {
    const first = sleep(500).op(fakeContext({ clientThreads: 1, timeNs: 100 }));
    expect(first.kind === "pending" && first.wakeAtNs).toBe(600);
    if (first.kind !== "pending") return;
    expect(first.next.op(fakeContext({ clientThreads: 1, timeNs: 599 })).kind).toBe("pending");
    expect(first.next.op(fakeContext({ clientThreads: 1, timeNs: 600 })).kind).toBe("exhausted");
    expect(sleep(0).op(fakeContext({ clientThreads: 1 })).kind).toBe("exhausted");
  });

  it("pauses a sequence", () => {
    const gen = toGenerator([{ f: "a" }, sleep(5000), { f: "b" }]);
    const ops = invokes(gen);
    expect(ops.map((op) => [op.f, op.time])).toEqual([
      ["a", 0],
      ["b", 5000],
    ]);
  });
});
