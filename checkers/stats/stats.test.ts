import { describe, expect, it } from "vitest";
import type { Op, OpType, Process } from "../../harness/history/op.ts";
import { statsFromChecker } from "../../harness/history/historyStats.ts";
import { checkStatsHistory, statsChecker, statsCheckerAnswering } from "./index.ts";

const op = (index: number, timeNs: number, process: Process, type: OpType, f: string): Op => ({
  index,
  time: timeNs,
  process,
  type,
  f,
  value: null,
});

describe("stats checker", () => {
  it("counts outcomes per f, latency quantiles of ok ops, and availability in and out of faults", () => {
    const h: Op[] = [
      op(0, 0, 0, "invoke", "read"),
      op(1, 10, 0, "ok", "read"),
      op(2, 20, "nemesis", "invoke", "start-partition"),
      op(3, 20, "nemesis", "info", "start-partition"),
      op(4, 30, 1, "invoke", "write"),
      op(5, 60, 1, "info", "write"),
      op(6, 70, "nemesis", "invoke", "stop-partition"),
      op(7, 70, "nemesis", "info", "stop-partition"),
      op(8, 80, 2, "invoke", "write"),
      op(9, 110, 2, "ok", "write"),
      op(10, 120, 3, "invoke", "read"),
      op(11, 130, 3, "fail", "read"),
    ];
    const r = checkStatsHistory(h);
    expect(r.valid).toBe(true);
    expect(r.byF).toEqual({
      read: { ok: 1, fail: 1, info: 0, answered: 1, latencyNs: { p50: 10, p95: 10, p99: 10, max: 10 } },
      write: { ok: 1, fail: 0, info: 1, answered: 1, latencyNs: { p50: 30, p95: 30, p99: 30, max: 30 } },
    });
    expect(r.availability).toEqual({ overall: 0.5, duringFaults: 0, outsideFaults: 2 / 3 });
    // The reports read the same figures back from the checker's result.
    expect(statsFromChecker(r)?.byF.read?.ok).toBe(1);
  });

  it("counts a refusal the workload names as an answer as available, any other fail as not", async () => {
    const h: Op[] = [
      op(0, 0, 0, "invoke", "cas"),
      { ...op(1, 10, 0, "fail", "cas"), error: "cas-mismatch" },
      op(2, 20, 1, "invoke", "cas"),
      { ...op(3, 30, 1, "fail", "cas"), error: "no-writer" },
      op(4, 40, 2, "invoke", "cas"),
      op(5, 50, 2, "ok", "cas"),
      op(6, 60, 3, "invoke", "cas"),
      { ...op(7, 70, 3, "info", "cas"), error: "cas-mismatch" },
    ];
    expect(statsFromChecker(checkStatsHistory(h))?.availability.overall).toBe(0.25);
    const answering = statsFromChecker(await statsCheckerAnswering(["cas-mismatch"]).check(h, {}));
    expect(answering?.availability.overall).toBe(0.5);
    expect(answering?.byF.cas).toEqual({ ...statsFromChecker(checkStatsHistory(h))?.byF.cas, answered: 2 });
  });

  it("fails when some kind of operation was never once answered, as Jepsen's stats checker does", () => {
    const h = [
      op(0, 0, 0, "invoke", "read"),
      op(1, 5, 0, "ok", "read"),
      op(2, 6, 0, "invoke", "cas"),
      { ...op(3, 9, 0, "fail", "cas"), error: "no-writer" },
      op(4, 10, 1, "invoke", "cas"),
      op(5, 12, 1, "info", "cas"),
    ];
    const r = checkStatsHistory(h);
    expect(r.valid).toBe(false);
    expect(r.anomalyCounts).toEqual({ "never-answered": 1 });
    expect(r.reason).toMatch(/"cas"/);
  });

  it("counts a refusal decided on the data as an answer: a run whose every cas mismatched is valid", async () => {
    const h: Op[] = [
      op(0, 0, 0, "invoke", "read"),
      op(1, 5, 0, "ok", "read"),
      op(2, 6, 0, "invoke", "cas"),
      { ...op(3, 9, 0, "fail", "cas"), error: "cas-mismatch" },
    ];
    // Without the workload naming cas-mismatch an answer, it is just a fail: never answered.
    expect(checkStatsHistory(h).valid).toBe(false);
    const answering = await statsCheckerAnswering(["cas-mismatch"]).check(h, {});
    expect(answering.valid).toBe(true);
    // Another error is still no answer.
    const refused = h.map((o) => (o.index === 3 ? { ...o, error: "no-writer" } : o));
    expect((await statsCheckerAnswering(["cas-mismatch"]).check(refused, {})).valid).toBe(false);
  });

  it("is unknown for a history without client operations, and is named stats", async () => {
    expect(checkStatsHistory([op(0, 0, "nemesis", "info", "start-partition")]).valid).toBe("unknown");
    expect(statsChecker.name).toBe("stats");
    expect((await statsChecker.check([], {})).valid).toBe("unknown");
  });

  it("says no rate for one operation, and gives one over the test's length when the context has it", async () => {
    // Before: "1 kind of operation, 163.9 ok/s", the read's own 6.1 ms taken for the test's length.
    const h = [op(0, 0, 0, "invoke", "read"), op(1, 6_100_000, 0, "ok", "read")];
    const alone = checkStatsHistory(h);
    expect(alone).toMatchObject({ valid: true, throughputPerS: null, throughputSpanNs: 6_100_000 });
    expect(alone.reason).toBe(
      "1 kind of operation, 1 ok in 6.1 ms (too short a span for a rate), availability 100.0%",
    );
    // A run's checkers are told how long its test ran: 1 ok in 5 s.
    const inRun = await statsChecker.check(h, { testLengthNs: 5e9 });
    expect(inRun).toMatchObject({ throughputPerS: 0.2, throughputSpanNs: 5e9 });
    expect(inRun.reason).toBe("1 kind of operation, 0.2 ok/s, availability 100.0%");
    const answering = await statsCheckerAnswering(["cas-mismatch"]).check(h, { testLengthNs: 5e9 });
    expect(answering).toMatchObject({ throughputPerS: 0.2 });
    // The reports read the figures back, null included.
    expect(statsFromChecker(alone)).toMatchObject({ throughputPerS: null, throughputSpanNs: 6_100_000 });
  });
});
