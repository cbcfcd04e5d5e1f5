/**
 * Progress of a gate: the Ink view (headline, bar, rows running, rows settled with failures first)
 * and the plain lines for CI (a line per settled row, a progress line at most once per interval),
 * and the JUnit of a gate (a test case per row, escaped, a failure naming the reproduce command).
 */
import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import { renderGateJunit, renderGateTable } from "./gate.ts";
import type { GateSummary, RowJudgment, SeedRun } from "./model.ts";
import { createPlainSuiteProgress, type SuiteProgressState } from "./progress.ts";
import { SuiteProgressView } from "./SuiteProgressView.tsx";

const run = (row: string, seed: number, valid: SeedRun["valid"]): SeedRun => ({
  row,
  seed,
  valid,
  reported: valid === false ? ["set-full:lost"] : [],
  reproduceCommand: `npx faultline run --seed ${seed}`,
  elapsedMs: 10,
  operations: 5,
});

const judged = (row: string, verdict: RowJudgment["verdict"], bad: SeedRun[] = []): RowJudgment => ({
  row,
  verdict,
  expected: "valid on all 2",
  found: verdict === "holds" ? "valid on 2 of 2" : "false alarm on 1 of 2",
  seeds: 2,
  good: 2 - bad.length,
  undecided: 0,
  badSeeds: bad,
});

function state(): SuiteProgressState {
  return {
    title: "gate tiny",
    jobs: 2,
    totalRuns: 6,
    doneRuns: 4,
    notValidRuns: 1,
    elapsedMs: 12_000,
    rows: [
      { name: "fine", seedsTotal: 2, seedsDone: 2, judgment: judged("fine", "holds") },
      {
        name: "alarm",
        seedsTotal: 2,
        seedsDone: 2,
        judgment: judged("alarm", "fails", [run("alarm", 2, false)]),
      },
      { name: "running", seedsTotal: 2, seedsDone: 0 },
    ],
  };
}

describe("gate progress", () => {
  it("in a terminal (Ink): headline, bar, failing rows before holding ones", () => {
    const { lastFrame, unmount } = render(
      <SuiteProgressView
        state={{
          ...state(),
          rows: [...state().rows.slice(0, 2), { name: "running", seedsTotal: 2, seedsDone: 1 }],
        }}
      />,
    );
    const frame = lastFrame() ?? "";
    unmount();
    expect(frame).toContain("gate tiny: 4/6 runs, 2/3 rows settled, 2 workers, 12.00 s");
    expect(frame).toMatch(/█{20}░{10} 67%\s+\(1 runs not valid so far\)/);
    expect(frame).toContain("… running 1/2 seeds");
    expect(frame.indexOf("✗ alarm")).toBeLessThan(frame.indexOf("✓ fine"));
  });

  it("under CI: a line per settled row, and a progress line at most once per interval", () => {
    const lines: string[] = [];
    const progress = createPlainSuiteProgress((t) => lines.push(t), 10_000);
    const s = state();
    progress.update({ ...s, elapsedMs: 0 }, { kind: "start" });
    progress.update({ ...s, elapsedMs: 3_000 }, { kind: "tick" });
    progress.update({ ...s, elapsedMs: 5_000 }, { kind: "row", judgment: judged("fine", "holds") });
    progress.update({ ...s, elapsedMs: 11_000 }, { kind: "tick" });
    progress.update({ ...s, elapsedMs: 12_000 }, { kind: "tick" });
    expect(lines).toEqual([
      "gate tiny: 4/6 runs, 2/3 rows settled, 2 workers, 0 ns\n",
      "✓ fine: valid on 2 of 2\n",
      "[gate tiny: 4/6 runs, 2/3 rows settled, 2 workers, 11.00 s]\n",
    ]);
  });
});

describe("a gate's JUnit and table", () => {
  const summary: GateSummary = {
    suite: "tiny",
    file: "tiny.yaml",
    verdict: "fails",
    exitCode: 1,
    jobs: 2,
    runs: 4,
    elapsedMs: 2000,
    rows: [
      { ...judged("fine", "holds"), elapsedMs: 20 },
      { ...judged("alarm<&>", "fails", [run("alarm", 2, false)]), claim: 'a "claim"', elapsedMs: 20 },
    ],
  };

  it("has one escaped test case per row; a failure names the failing seed's reproduce command", () => {
    const xml = renderGateJunit(summary);
    expect(xml.match(/<testcase /g)).toHaveLength(2);
    expect(xml).toContain('name="alarm&lt;&amp;&gt;"');
    expect(xml).toMatch(
      /<failure message="expected valid on all 2; false alarm on 1 of 2; reproduce: npx faultline run --seed 2" type="fails">a &quot;claim&quot;/,
    );
    expect(xml).toContain('tests="2" failures="1" errors="0"');
  });

  it("prints a row per suite row and the failing seeds with their commands", () => {
    const table = renderGateTable(summary);
    expect(table).toMatch(/^✓ fine\s+valid on all 2\s+valid on 2 of 2$/m);
    expect(table).toContain(
      "tiny: FAILED (1 hold, 1 fail, 0 unknown, 0 skipped; 4 runs on 2 workers in 2.00 s)",
    );
    expect(table).toContain("    reproduce: npx faultline run --seed 2");
  });

  it("says one run and one worker in the singular", () => {
    expect(renderGateTable({ ...summary, jobs: 1, runs: 1 })).toContain("; 1 run on 1 worker in 2.00 s)");
  });
});
