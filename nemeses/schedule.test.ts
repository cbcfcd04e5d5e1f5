import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { simulate, fakeContext } from "../harness/generator/simulate.ts";
import { any } from "../harness/generator/index.ts";
import { faultSchedule, firstStartNs } from "./schedule.ts";
import { partitionGenerator } from "./partition.ts";
import { crashGenerator } from "./crash.ts";

const invokes = (gen: Parameters<typeof simulate>[0], seed: number, maxTimeNs = 200e9) =>
  simulate(gen, { seed, clientThreads: 0, nemesis: true, maxTimeNs }).history.filter(
    (op) => op.type === "invoke",
  );

describe("fault schedule", () => {
  it("alternates start and stop, windows and gaps averaging the interval", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 10 }),
        (seed, intervalS) => {
          const intervalNs = intervalS * 1e9;
          const ops = invokes(
            partitionGenerator({ intervalNs, firstStartNs: 3e9, maxWindows: 40 }),
            seed,
            Infinity,
          );
          expect(ops.length).toBe(80);
          expect(ops[0]!.time).toBe(3e9);
          ops.forEach((op, i) => expect(op.f).toBe(i % 2 === 0 ? "start-partition" : "stop-partition"));
          const gaps = ops.slice(1).map((op, i) => op.time - ops[i]!.time);
          for (const gap of gaps) {
            expect(gap).toBeGreaterThanOrEqual(intervalNs / 2 - 1);
            expect(gap).toBeLessThan(intervalNs * 1.5 + 20e6); // + the previous op's duration
          }
          const meanNs = gaps.reduce((a, b) => a + b, 0) / gaps.length;
          expect(meanNs).toBeGreaterThan(intervalNs * 0.75);
          expect(meanNs).toBeLessThan(intervalNs * 1.25);
        },
      ),
      { numRuns: 20 },
    );
  });

  it("varies the target from window to window, from the context's random source", () => {
    const values = invokes(partitionGenerator({ intervalNs: 1e9, firstStartNs: 0, maxWindows: 30 }), 1)
      .filter((op) => op.f === "start-partition")
      .map((op) => op.value);
    expect(new Set(values).size).toBeGreaterThanOrEqual(4);
  });

  it("gives the same schedule for the same seed, another for another", () => {
    const gen = () =>
      any(
        partitionGenerator({ intervalNs: 2e9, firstStartNs: 1e9 }),
        crashGenerator({ intervalNs: 2e9, firstStartNs: 2.5e9 }),
      );
    const a = invokes(gen(), 7, 60e9);
    expect(a.length).toBeGreaterThan(20);
    expect(invokes(gen(), 7, 60e9)).toEqual(a);
    expect(invokes(gen(), 8, 60e9)).not.toEqual(a);
  });

  it("proposes the same op however often, and whenever, it is asked (a runner may re-ask)", () => {
    const gen = faultSchedule({
      intervalNs: 5e9,
      firstStartNs: 4e9,
      stop: { f: "stop-x" },
      plan: () => ({ start: { f: "start-x" } }),
    });
    const early = gen.op(fakeContext({ clientThreads: 0, nemesis: true, timeNs: 1e9, seed: 1 }));
    const later = gen.op(fakeContext({ clientThreads: 0, nemesis: true, timeNs: 3e9, seed: 2 }));
    expect(early.kind === "op" && early.op.timeNs).toBe(4e9);
    expect(later.kind === "op" && later.op.timeNs).toBe(4e9);
    const busy = gen.op(fakeContext({ clientThreads: 0, nemesis: true, busy: ["nemesis"] }));
    expect(busy.kind).toBe("pending");
  });

  it("sets the pace by the interval: half the interval, about twice the faults", () => {
    const count = (intervalNs: number) =>
      invokes(partitionGenerator({ intervalNs, firstStartNs: 0 }), 3, 400e9).filter(
        (op) => op.f === "start-partition",
      ).length;
    const slow = count(4e9);
    const fast = count(2e9);
    expect(fast / slow).toBeGreaterThan(1.6);
    expect(fast / slow).toBeLessThan(2.4);
  });

  it("starts packages apart: the first window's time depends on the package and the seed", () => {
    const a = firstStartNs(1, "partition", 5e9);
    expect(a).toBeGreaterThanOrEqual(2.5e9);
    expect(a).toBeLessThan(7.5e9);
    expect(firstStartNs(1, "partition", 5e9)).toBe(a);
    expect(firstStartNs(1, "crash", 5e9)).not.toBe(a);
  });

  it("refuses a non-positive interval with a clear error", () => {
    expect(() => partitionGenerator({ intervalNs: 0, firstStartNs: 0 })).toThrow(/positive/);
  });
});
