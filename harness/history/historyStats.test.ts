import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Op, OpType, Process } from "./op.ts";
import {
  clientOps,
  countClientOperations,
  latencyQuantiles,
  quantile,
  statsFromChecker,
  summarizeHistory,
  throughputSpanMinNs,
} from "./historyStats.ts";

let index = 0;
const op = (time: number, process: Process, type: OpType, f = "read"): Op => ({
  index: index++,
  time,
  process,
  type,
  f,
  value: null,
});

describe("countClientOperations", () => {
  it("counts each client operation once: a pair, a lone completion, an open invocation; no nemesis", () => {
    const history = [
      op(1, 0, "invoke"),
      op(2, "nemesis", "invoke", "start-partition"),
      op(3, 0, "ok"),
      op(4, "nemesis", "info", "start-partition"),
      op(5, 1, "ok"), // completion-only
      op(6, 2, "invoke"), // never completed
      op(7, 3, "invoke"),
      op(8, 3, "info"),
    ];
    expect(countClientOperations(history)).toBe(4);
    expect(countClientOperations([])).toBe(0);
  });

  it("property: equals the number of paired client operations when every invocation completes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(3), fc.constantFrom<OpType>("ok", "fail", "info")), { maxLength: 40 }),
        (ops) => {
          const history = ops.flatMap(([p, type], i) => [op(2 * i, p, "invoke"), op(2 * i + 1, p, type)]);
          return countClientOperations(history) === ops.length && clientOps(history).length === ops.length;
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("historyStats", () => {
  it("nearest-rank quantiles", () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(quantile(xs, 0.5)).toBe(5);
    expect(quantile(xs, 0.95)).toBe(10);
    expect(quantile(xs, 0)).toBe(1);
    expect(latencyQuantiles([])).toBeNull();
    expect(latencyQuantiles([30, 10, 20])).toEqual({ p50: 20, p95: 30, p99: 30, max: 30 });
  });

  it("pairs leniently: stray completions skipped, unfinished ops pending", () => {
    const ops = clientOps([
      op(0, 1, "ok"),
      op(1, 0, "invoke"),
      op(2, "nemesis", "info", "crash"),
      op(3, 0, "ok"),
      op(4, 2, "invoke"),
    ]);
    expect(ops.map((o) => [o.process, o.outcome])).toEqual([
      [0, "ok"],
      [2, "pending"],
    ]);
  });

  it("summarizes counts, latency, throughput and availability split by fault windows", () => {
    const history = [
      op(0, 0, "invoke", "read"),
      op(1_000_000, 0, "ok", "read"),
      op(0, 1, "invoke", "write"),
      op(3_000_000, 1, "fail", "write"),
      op(500_000_000, 0, "invoke", "read"),
      op(600_000_000, 0, "info", "read"),
      op(900_000_000, 2, "invoke", "read"),
      op(1_000_000_000, 2, "ok", "read"),
    ];
    const stats = summarizeHistory(history, [
      { kind: "partition", startNs: 400e6, endNs: 700e6, details: [], openAtEnd: false },
    ]);
    expect(stats.byF["read"]).toEqual({
      ok: 2,
      fail: 0,
      info: 1,
      answered: 2,
      latencyNs: { p50: 1_000_000, p95: 100_000_000, p99: 100_000_000, max: 100_000_000 },
    });
    expect(stats.byF["write"]).toEqual({ ok: 0, fail: 1, info: 0, answered: 0, latencyNs: null });
    expect(stats.throughputPerS).toBeCloseTo(2, 9);
    expect(stats.availability).toEqual({ overall: 0.5, duringFaults: 0, outsideFaults: 2 / 3 });
  });

  it("says null, not NaN, where there is nothing to count", () => {
    const stats = summarizeHistory([], []);
    expect(stats).toEqual({
      byF: {},
      throughputPerS: null,
      throughputSpanNs: 0,
      availability: { overall: null, duringFaults: null, outsideFaults: null },
    });
  });

  it("gives no rate over one operation's span: one read in 6.1 ms is not 164 ok/s", () => {
    // Before: throughputPerS 163.9, the read's own latency taken for the test's length.
    const one = [op(0, 0, "invoke"), op(6_100_000, 0, "ok")];
    expect(summarizeHistory(one, [])).toMatchObject({ throughputPerS: null, throughputSpanNs: 6_100_000 });
    // Two operations a few ms apart: no rate either (under throughputSpanMinNs).
    const two = [op(0, 0, "invoke"), op(1e6, 0, "ok"), op(2e6, 1, "invoke"), op(3e6, 1, "ok")];
    expect(summarizeHistory(two, []).throughputPerS).toBeNull();
    // Over the test's length, when the caller knows it (a run's): 1 ok in 5 s.
    expect(summarizeHistory(one, [], { testLengthNs: 5e9 })).toMatchObject({
      throughputPerS: 0.2,
      throughputSpanNs: 5e9,
    });
    // Entries past the test's nominal end (healing, final reads) lengthen it.
    const late = [op(0, 0, "invoke"), op(1e6, 0, "ok"), op(7.9e9, 1, "invoke"), op(8e9, 1, "ok")];
    expect(summarizeHistory(late, [], { testLengthNs: 5e9 })).toMatchObject({
      throughputPerS: 2 / 8,
      throughputSpanNs: 8e9,
    });
    // A test shorter than the floor gives no rate, whatever it did.
    expect(summarizeHistory(two, [], { testLengthNs: 0.5e9 }).throughputPerS).toBeNull();
  });

  it("property: a rate is ok completions over a span of at least throughputSpanMinNs, else null", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gapNs: fc.nat({ max: 2e9 }),
            latencyNs: fc.nat({ max: 1e9 }),
            type: fc.constantFrom<OpType>("ok", "fail", "info"),
          }),
          { maxLength: 12 },
        ),
        fc.option(fc.nat({ max: 20e9 }), { nil: undefined }),
        (drafts, testLengthNs) => {
          const history: Op[] = [];
          let time = 0;
          // Each operation its own process: they may overlap.
          for (const [process, d] of drafts.entries()) {
            time += d.gapNs;
            history.push(op(time, process, "invoke"), op(time + d.latencyNs, process, d.type));
          }
          const stats = summarizeHistory(history, [], testLengthNs === undefined ? {} : { testLengthNs });
          const oks = drafts.filter((d) => d.type === "ok").length;
          const span = stats.throughputSpanNs!;
          const lastNs = Math.max(0, ...history.map((o) => o.time));
          if (testLengthNs !== undefined) expect(span).toBe(Math.max(testLengthNs, lastNs));
          else expect(span).toBeLessThanOrEqual(lastNs);
          const rated = span >= throughputSpanMinNs && (testLengthNs !== undefined || drafts.length >= 2);
          if (!rated) expect(stats.throughputPerS).toBeNull();
          else expect(stats.throughputPerS).toBeCloseTo(oks / (span / 1e9), 9);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads a stats checker result of the expected shape, and refuses others", () => {
    const result = {
      valid: true as const,
      byF: { read: { ok: 3, fail: 0, info: 1, latencyNs: { p50: 1, p95: 2, p99: 3, max: 4 } } },
      throughputPerS: 12.5,
      availability: { overall: 0.75, duringFaults: 0.5, outsideFaults: 1 },
    };
    // A result written before `answered` was counted reads as if only the ok ones were answers.
    expect(statsFromChecker(result)).toEqual({
      byF: { read: { ...result.byF.read, answered: 3 } },
      throughputPerS: 12.5,
      availability: result.availability,
    });
    expect(statsFromChecker({ valid: true, byF: "nope" })).toBeUndefined();
    expect(statsFromChecker(undefined)).toBeUndefined();
  });

  it("property: quantiles are ordered members of the sample; counts add up", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1e9 }), { minLength: 1, maxLength: 200 }), (xs) => {
        const q = latencyQuantiles(xs)!;
        expect(q.p50).toBeLessThanOrEqual(q.p95);
        expect(q.p95).toBeLessThanOrEqual(q.p99);
        expect(q.p99).toBeLessThanOrEqual(q.max);
        expect(xs).toContain(q.p50);
        expect(q.max).toBe(Math.max(...xs));
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ process: fc.nat(4), type: fc.constantFrom<OpType>("ok", "fail", "info") }), {
          maxLength: 50,
        }),
        (drafts) => {
          const history: Op[] = [];
          let time = 0;
          for (const d of drafts) {
            history.push(op(time++, d.process, "invoke"), op(time++, d.process, d.type));
          }
          const stats = summarizeHistory(history, []);
          const read = stats.byF["read"];
          const total = read === undefined ? 0 : read.ok + read.fail + read.info;
          expect(total).toBe(drafts.length);
          const oks = drafts.filter((d) => d.type === "ok").length;
          expect(stats.availability.overall).toBe(drafts.length === 0 ? null : oks / drafts.length);
        },
      ),
      { numRuns: 100 },
    );
  });
});
