import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import { composeResults } from "../../harness/results.ts";
import { Dashboard } from "./Dashboard.tsx";
import { progressAt, startInfo } from "./fixtures.ts";

describe("Dashboard", () => {
  it("shows test, seed, times, progress bar, rate, counts per f, nodes and active faults", () => {
    const { lastFrame, unmount } = render(<Dashboard start={startInfo} progress={progressAt(15e9, 2500)} />);
    const frame = lastFrame() ?? "";
    unmount();
    expect(frame).toContain("faultline bank-async  seed 42  sim  running");
    expect(frame).toContain("real 2.50 s  test 15.00 s / 30.00 s");
    expect(frame).toContain("███████████████░░░░░░░░░░░░░░░ 50%");
    expect(frame).toContain("1,235 ops/s");
    expect(frame).toMatch(/transfer\s+900\s+850\s+30\s+12/);
    expect(frame).toMatch(/read\s+300\s+299\s+0\s+1/);
    expect(frame).toMatch(/all\s+1,200\s+1,149\s+30\s+13/);
    expect(frame).toContain("Nodes (1/3 up)");
    expect(frame).toMatch(/n1\s+up\s+writer\s+epoch 3\s+clock ±0\s+cut off from n2, n3/);
    expect(frame).toMatch(/n2\s+crashed\s+standby\s+epoch 2\s+clock \+5\.00 ms/);
    expect(frame).toMatch(/n3\s+paused\s+standby\s+clock -2\.00 s\s+cut off from n1/);
    expect(frame).toContain("Faults now: partition n1 | n2 n3; n2 crashed; n3 paused");
  });

  it("gives no rate in the test's first second (a rate over a few ms of it would be a guess)", () => {
    // Before: "1,235 ops/s" at test time 0.5 s, the fixture's rate over however little had passed.
    const { lastFrame, unmount } = render(<Dashboard start={startInfo} progress={progressAt(0.5e9, 300)} />);
    const frame = lastFrame() ?? "";
    unmount();
    expect(frame).toContain(" 2%  — ops/s");
    expect(frame).not.toContain("1,235 ops/s");
  });

  it("waits politely before the first progress report", () => {
    const { lastFrame, unmount } = render(<Dashboard start={startInfo} />);
    const frame = lastFrame() ?? "";
    unmount();
    expect(frame).toContain("waiting for the first progress report");
  });

  it("updates in place as progress arrives, and shows the verdict at the end", () => {
    const { lastFrame, rerender, unmount } = render(
      <Dashboard start={startInfo} progress={progressAt(3e9, 500)} />,
    );
    expect(lastFrame()).toContain(" 10%");
    const results = composeResults({
      bank: {
        valid: false,
        anomalies: { "wrong-total": [{ explanation: "read at index 17 totals 90, expected 100" }] },
        anomalyCounts: { "wrong-total": 4 },
      },
      stats: { valid: true },
    });
    rerender(
      <Dashboard start={startInfo} progress={progressAt(30e9, 6000, "checking")} ended results={results} />,
    );
    const frame = lastFrame() ?? "";
    unmount();
    expect(frame).toContain("100%");
    expect(frame).toContain("Verdict: INVALID (anomalies found)");
    expect(frame).toMatch(/✗ bank\s+invalid\s+wrong-total ×4/);
    expect(frame).toMatch(/✓ stats\s+valid/);
    expect(frame).toContain("read at index 17 totals 90, expected 100");
    expect(frame).toContain("… 3 more cases");
    expect(frame).toContain("store store/bank-async/20261122T031045.123");
  });

  it("says so when the run ended without a verdict", () => {
    const { lastFrame, unmount } = render(
      <Dashboard start={startInfo} progress={progressAt(1e9, 10)} ended />,
    );
    const frame = lastFrame() ?? "";
    unmount();
    expect(frame).toContain("The run ended without a verdict.");
  });
});
