import { describe, expect, it } from "vitest";
import type { Op } from "../../harness/history/op.ts";
import { checkCounterHistory } from "./index.ts";

type Event = [type: Op["type"], process: number, f: string, value: unknown];
const history = (events: readonly Event[]): Op[] =>
  events.map(([type, process, f, value], index) => ({ index, time: index, process, type, f, value }));

describe("counter", () => {
  it("takes a read between what certainly happened before it and what may have by its end", () => {
    const h = history([
      ["invoke", 0, "add", 1],
      ["ok", 0, "add", 1],
      ["invoke", 1, "read", null],
      ["invoke", 0, "add", 2],
      ["ok", 1, "read", 3],
      ["ok", 0, "add", 2],
    ]);
    expect(checkCounterHistory(h)).toMatchObject({ valid: true, readCount: 1 });
    for (const wrong of [0, 4]) {
      const bad = history([
        ["invoke", 0, "add", 1],
        ["ok", 0, "add", 1],
        ["invoke", 1, "read", null],
        ["invoke", 0, "add", 2],
        ["ok", 1, "read", wrong],
        ["ok", 0, "add", 2],
      ]);
      const r = checkCounterHistory(bad);
      expect(r.valid).toBe(false);
      expect(r.anomalies!["out-of-bounds"]![0]).toMatchObject({ lower: 1, upper: 3, value: wrong });
    }
  });

  it("counts an info add as maybe, a failed one as never", () => {
    const h = history([
      ["invoke", 0, "add", 5],
      ["info", 0, "add", 5],
      ["invoke", 1, "add", 7],
      ["fail", 1, "add", 7],
      ["invoke", 2, "read", null],
      ["ok", 2, "read", 5],
      ["invoke", 3, "read", null],
      ["ok", 3, "read", 7],
    ]);
    const r = checkCounterHistory(h);
    expect(r.anomalyCounts).toEqual({ "out-of-bounds": 1 });
    expect(r.anomalies!["out-of-bounds"]![0]).toMatchObject({ index: 7, lower: 0, upper: 5 });
  });

  it("finds a read that goes backwards after a later one completed (beyond Jepsen's bounds)", () => {
    const h = history([
      ["invoke", 0, "add", 1],
      ["invoke", 1, "read", null],
      ["ok", 1, "read", 1],
      ["invoke", 2, "read", null],
      ["ok", 2, "read", 0],
      ["ok", 0, "add", 1],
    ]);
    const r = checkCounterHistory(h);
    expect(r.anomalyCounts).toEqual({ "nonmonotonic-read": 1 });
  });

  it("bounds soundly with decrements", () => {
    const h = history([
      ["invoke", 0, "add", 10],
      ["ok", 0, "add", 10],
      ["invoke", 1, "add", -4],
      ["invoke", 2, "read", null],
      ["ok", 2, "read", 6],
      ["ok", 1, "add", -4],
      ["invoke", 2, "read", null],
      ["ok", 2, "read", 10],
    ]);
    const r = checkCounterHistory(h);
    expect(r.anomalyCounts).toEqual({ "out-of-bounds": 1 });
    expect(r.anomalies!["out-of-bounds"]![0]).toMatchObject({ index: 7, lower: 6, upper: 6 });
  });

  it("is unknown with no read", () => {
    const h = history([
      ["invoke", 0, "add", 1],
      ["ok", 0, "add", 1],
    ]);
    expect(checkCounterHistory(h).valid).toBe("unknown");
  });

  it("is unknown, never valid, when an add or a read is not an exact number", () => {
    // A read of "5" once was skipped in silence, so this history was "valid" with nothing bounded;
    // an integer beyond a double's range comes from the readers as its decimal string.
    for (const [addValue, readValue] of [
      [1, "1"],
      ["9007199254740993", "9007199254740993"],
      [1, 1e300],
    ] as const) {
      const h = history([
        ["invoke", 0, "add", addValue],
        ["ok", 0, "add", addValue],
        ["invoke", 1, "read", null],
        ["ok", 1, "read", readValue],
      ]);
      const r = checkCounterHistory(h);
      expect(r.valid, JSON.stringify(r)).toBe("unknown");
      expect(r.reason).toMatch(/not a number .*the first: the (add|read) at index [03]/);
    }
  });

  it("counts decimal adds exactly: 0.1 and 0.2 make a read of 0.3 within bounds", () => {
    // As doubles the bound was 0.30000000000000004, and the read of 0.3 was out of bounds.
    const h = history([
      ["invoke", 0, "add", 0.1],
      ["ok", 0, "add", 0.1],
      ["invoke", 0, "add", 0.2],
      ["ok", 0, "add", 0.2],
      ["invoke", 1, "read", null],
      ["ok", 1, "read", 0.3],
    ]);
    expect(checkCounterHistory(h)).toMatchObject({ valid: true, readCount: 1 });
    const low = history([
      ["invoke", 0, "add", 0.1],
      ["ok", 0, "add", 0.1],
      ["invoke", 0, "add", 0.25],
      ["ok", 0, "add", 0.25],
      ["invoke", 1, "read", null],
      ["ok", 1, "read", 0.3],
    ]);
    const r = checkCounterHistory(low);
    expect(r.valid).toBe(false);
    expect(r.anomalies!["out-of-bounds"]![0]).toMatchObject({ value: 0.3, lower: 0.35, upper: 0.35 });
  });

  it("is unknown when the adds sum beyond what a double counts exactly", () => {
    const big = 2 ** 52;
    const h = history([
      ["invoke", 0, "add", big],
      ["ok", 0, "add", big],
      ["invoke", 0, "add", big],
      ["ok", 0, "add", big],
      ["invoke", 1, "read", null],
      ["ok", 1, "read", 1],
    ]);
    const r = checkCounterHistory(h);
    expect(r.valid).toBe("unknown");
    expect(r.reason).toMatch(/adds sum to more than 9007199254740991/);
  });
});
