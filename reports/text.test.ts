import { describe, expect, it } from "vitest";
import { composeResults } from "../harness/results.ts";
import { formatDurationNs } from "./format.ts";
import { hostileControls, rawControls, syntheticRun } from "./syntheticRun.ts";
import { colorWanted, renderTextReport } from "./text.ts";

// eslint-disable-next-line no-control-regex
const ansiPattern = /\u001b\[/;

describe("renderTextReport", () => {
  const input = syntheticRun({ ops: 2000, seed: 7 });

  it("gives verdicts, anomalies with their first cases, stats, faults, store and reproduce command", () => {
    const text = renderTextReport(input);
    expect(text).not.toMatch(ansiPattern);
    expect(text).toContain("Verdict: INVALID (anomalies found)");
    expect(text).toMatch(/✗ elle\s+invalid\s+G2-item ×9, lost-update ×1/);
    expect(text).toMatch(/\? linearizable\s+unknown\s+search budget/);
    expect(text).toMatch(/✓ timeline\s+valid/);
    expect(text).toContain("elle: G2-item (9)");
    expect(text).toContain("case 3 of 9:");
    expect(text).not.toContain("case 4 of 9:");
    expect(text).toContain("… 6 more cases");
    expect(text).toContain("    Then:");
    expect(text).toContain("Latency and availability (computed from the history)");
    expect(text).toMatch(/during faults/);
    expect(text).toMatch(/ {2}partition \d/);
    expect(text).toContain("Store:     store/register/20261122T031045.123");
    expect(text).toContain("Reproduce: faultline run --workload register --nemesis partition --seed 7");
    expect(text).not.toContain("Node logs:");
    expect(renderTextReport({ ...input, nodeLogs: ["cp", "n1"] })).toContain("Node logs: nodes/ (cp, n1)");
  });

  it("colours only when asked, and scrubs terminal controls from history text either way", () => {
    const hostile = {
      ...input,
      results: composeResults({
        evil: { valid: false, anomalies: { x: [{ explanation: "a\u001b[2Jb\u009bc" }] } },
      }),
    };
    const plain = renderTextReport(hostile);
    expect(plain).toContain("a\\x1b[2Jb\\x9bc");
    const coloured = renderTextReport(hostile, { color: true });
    expect(coloured).toMatch(ansiPattern);
    expect(coloured).not.toContain("\u001b[2J");
    expect(coloured).not.toContain("\u009b");
  });

  it("shows NUL, screen clears and bidirectional overrides from a history as escapes", () => {
    const text = renderTextReport(syntheticRun({ ops: 200, hostile: true }));
    expect(text).not.toMatch(rawControls);
    expect(text).toContain("nul\\x00 cls\\x1b[2J\\x1b[3J bell\\x07 csi\\x9b2J rlo\\u202etxt.exe\\u202c");
    expect(hostileControls).toMatch(rawControls);
  });

  it("prefers the stats checker's figures when present", () => {
    const withStats = {
      ...input,
      results: composeResults({
        ...input.results.checkers,
        stats: {
          valid: true,
          byF: { txn: { ok: 12, fail: 3, info: 1, latencyNs: { p50: 1e6, p95: 2e6, p99: 3e6, max: 4e6 } } },
          throughputPerS: 42,
          availability: { overall: 0.75, duringFaults: 0.25, outsideFaults: 1 },
        },
      }),
    };
    const text = renderTextReport(withStats);
    expect(text).toContain("(from the stats checker)");
    expect(text).toMatch(/txn\s+12\s+3\s+1\s+1\.00 ms\s+2\.00 ms\s+3\.00 ms\s+4\.00 ms/);
    expect(text).toContain("availability 75.0% overall, 25.0% during faults, 100% outside");
  });

  it("handles a run with no checkers and no operations", () => {
    const text = renderTextReport({ ...input, history: [], results: composeResults({}) });
    expect(text).toContain("Verdict: VALID");
    expect(text).toContain("(no checkers ran)");
    expect(text).toContain("no client operations");
    expect(text).toContain("Faults: none recorded");
  });

  it("colours only a TTY without NO_COLOR", () => {
    expect(colorWanted({ isTTY: true }, {})).toBe(true);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(colorWanted({ isTTY: false }, {})).toBe(false);
    expect(colorWanted({}, {})).toBe(false);
  });

  it("formats durations with their unit", () => {
    expect(formatDurationNs(850)).toBe("850 ns");
    expect(formatDurationNs(1_250_000)).toBe("1.25 ms");
    expect(formatDurationNs(2.5e9)).toBe("2.50 s");
    expect(formatDurationNs(125e9)).toBe("2m 5s");
  });
});
