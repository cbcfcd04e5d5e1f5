import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import { buildReportDocument } from "./document.ts";
import { ReportView } from "./ReportView.tsx";
import { syntheticRun } from "./syntheticRun.ts";
import { renderTextReport } from "./text.ts";

describe("ReportView", () => {
  it("renders the same report as the text renderer", () => {
    const input = syntheticRun({ ops: 600, seed: 9 });
    const { lastFrame, unmount } = render(<ReportView lines={buildReportDocument(input)} />);
    const frame = lastFrame() ?? "";
    unmount();
    expect(frame).toContain("Verdict: INVALID (anomalies found)");
    expect(frame).toContain("elle: G2-item (9)");
    expect(frame).toContain("Then:");
    expect(frame).toContain("Reproduce: faultline run --workload register --nemesis partition --seed 9");
    // The plain text report, word for word (Ink wraps long lines at the terminal's width).
    const words = (s: string): string => s.replace(/\s+/g, " ").trim();
    expect(words(frame)).toEqual(words(renderTextReport(input)));
  });

  it("keeps terminal controls from history text inert", () => {
    const { lastFrame, unmount } = render(<ReportView lines={[[{ text: "x\u001b[2Jy", tone: "fail" }]]} />);
    const frame = lastFrame() ?? "";
    unmount();
    expect(frame).toContain("x\\x1b[2Jy");
  });
});
