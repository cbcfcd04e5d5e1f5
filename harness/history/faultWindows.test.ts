import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Op, OpType } from "./op.ts";
import { closedKind, faultWindows, inAnyWindow, openedKind } from "./faultWindows.ts";

let index = 0;
const nem = (time: number, type: OpType, f: string, value: unknown = null): Op => ({
  index: index++,
  time,
  process: "nemesis",
  type,
  f,
  value,
});
const client = (time: number, type: OpType): Op => ({
  index: index++,
  time,
  process: 0,
  type,
  f: "read",
  value: null,
});

describe("faultWindows", () => {
  it("opens on start-X and closes on stop-X, an invoke/info pair counting once", () => {
    const windows = faultWindows([
      nem(100, "invoke", "start-partition", "majority"),
      nem(110, "info", "start-partition", [["n1"], ["n2", "n3"]]),
      client(150, "invoke"),
      client(160, "ok"),
      nem(500, "invoke", "stop-partition"),
      nem(510, "info", "stop-partition"),
    ]);
    expect(windows).toEqual([
      {
        kind: "partition",
        startNs: 100,
        endNs: 500,
        details: ['start-partition [["n1"],["n2","n3"]]'],
        openAtEnd: false,
      },
    ]);
  });

  it("pairs crash/restart, pause/resume, bump-clock/reset-clock and heal", () => {
    const windows = faultWindows([
      nem(10, "info", "crash", "n1"),
      nem(20, "info", "pause", "n2"),
      nem(30, "info", "bump-clock", { n3: 5e9 }),
      nem(35, "info", "partition", "n1"),
      nem(40, "info", "restart", "n1"),
      nem(50, "info", "resume", "n2"),
      nem(60, "info", "reset-clock"),
      nem(70, "info", "heal"),
    ]);
    expect(windows.map((w) => [w.kind, w.startNs, w.endNs])).toEqual([
      ["crash", 10, 40],
      ["pause", 20, 50],
      ["clock", 30, 60],
      ["partition", 35, 70],
    ]);
  });

  it("ignores failed nemesis ops and keeps a window open at the end", () => {
    const windows = faultWindows([
      nem(10, "invoke", "start-partition"),
      nem(11, "fail", "start-partition"),
      nem(20, "invoke", "crash", "n1"),
      nem(21, "info", "crash", "n1"),
      client(90, "invoke"),
      client(99, "ok"),
    ]);
    expect(windows).toEqual([
      { kind: "crash", startNs: 20, endNs: 99, details: ['crash "n1"'], openAtEnd: true },
    ]);
  });

  it("extends an open window on a second opener and closes every open fault of a kind at once", () => {
    const windows = faultWindows([
      nem(10, "info", "crash", "n1"),
      nem(20, "info", "crash", "n2"),
      nem(30, "info", "restart", "all"),
      nem(40, "info", "restart", "again"),
    ]);
    expect(windows).toEqual([
      { kind: "crash", startNs: 10, endNs: 30, details: ['crash "n1"', 'crash "n2"'], openAtEnd: false },
    ]);
  });

  it("knows Jepsen's kill/start and ignores notes", () => {
    expect(openedKind("kill")).toBe("crash");
    expect(closedKind("start")).toBe("crash");
    expect(openedKind("start-")).toBeUndefined();
    expect(faultWindows([nem(1, "info", "note", "hello")])).toEqual([]);
  });

  it("property: windows are well-formed, inside the history, and non-overlapping per kind", () => {
    const fs = ["start-partition", "stop-partition", "crash", "restart", "pause", "resume", "heal", "noise"];
    const arbitraryOps = fc.array(
      fc.record({
        gapNs: fc.integer({ min: 0, max: 1000 }),
        f: fc.constantFrom(...fs),
        type: fc.constantFrom<OpType>("invoke", "ok", "info", "fail"),
      }),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(arbitraryOps, (drafts) => {
        let time = 0;
        const history = drafts.map((d, i): Op => {
          time += d.gapNs;
          return { index: i, time, process: "nemesis", type: d.type, f: d.f, value: null };
        });
        const windows = faultWindows(history);
        const last = history.at(-1)?.time ?? 0;
        const byKind = new Map<string, number>();
        for (const w of windows) {
          expect(w.startNs).toBeLessThanOrEqual(w.endNs);
          expect(w.endNs).toBeLessThanOrEqual(last);
          expect(inAnyWindow(windows, w.startNs)).toBe(true);
          const previousEnd = byKind.get(w.kind);
          if (previousEnd !== undefined) expect(w.startNs).toBeGreaterThanOrEqual(previousEnd);
          byKind.set(w.kind, w.endNs);
        }
        expect(windows.filter((w) => w.openAtEnd).length).toBeLessThanOrEqual(3);
      }),
      { numRuns: 200 },
    );
  });
});
