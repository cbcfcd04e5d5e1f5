import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evenSample, htmlLimits, niceStep, renderHtmlReport, sampleOps } from "./html.ts";
import { analyzeRun } from "./input.ts";
import { hostileMarkup, rawControls, syntheticRun } from "./syntheticRun.ts";

const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0;

describe("renderHtmlReport", () => {
  it("holds the plots, fault windows, verdicts and anomaly explanations", () => {
    const input = syntheticRun({ ops: 2000, seed: 5 });
    const windows = analyzeRun(input).windows.length;
    expect(windows).toBeGreaterThan(1);
    const html = renderHtmlReport(input);
    for (const id of [
      "verdict",
      "timeline",
      "latency",
      "throughput",
      "stats",
      "faults",
      "anomalies",
      "config",
    ]) {
      expect(html).toContain(`<section id="${id}">`);
    }
    for (const id of ["timeline-plot", "latency-plot", "throughput-plot"])
      expect(html).toContain(`<svg id="${id}"`);
    // Shaded on the timeline (behind and over the operations), the scatter and the throughput plot.
    expect(count(html, /<rect class="fault[ "]/g)).toBe(4 * windows);
    // Every listed case: three of G2-item (of nine counted) and one lost-update.
    expect(count(html, /<pre class="explanation">/g)).toBe(3 + 1);
    expect(html).toContain('<span class="v-invalid">INVALID</span>');
    expect(html).not.toContain("Showing");
  });

  it("escapes hostile values and loads nothing from anywhere", () => {
    const html = renderHtmlReport(syntheticRun({ ops: 400, hostile: true }));
    expect(html).not.toContain(hostileMarkup);
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain("&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;");
    expect(html).not.toMatch(/<[^>]*\s(src|href)=/);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
  });

  it("shows NUL, controls and bidirectional overrides as escapes, never raw", () => {
    const html = renderHtmlReport(syntheticRun({ ops: 400, hostile: true }));
    expect(html).not.toMatch(rawControls);
    expect(html).toContain("nul\\x00 cls\\x1b[2J\\x1b[3J bell\\x07 csi\\x9b2J rlo\\u202etxt.exe\\u202c");
  });

  it("samples a 100,000-operation run, says so, and stays small", () => {
    const html = renderHtmlReport(syntheticRun({ ops: 100_000, faultEveryNs: 5e9 }));
    expect(html.length).toBeLessThan(3_000_000);
    expect(html).toContain(
      `Showing ${htmlLimits.timelineOpsMax.toLocaleString("en-US")} of 50,000 operations`,
    );
    expect(count(html, /<circle /g)).toBe(htmlLimits.scatterPointsMax);
  });

  it("picks 1, 2 or 5 × 10^k tick steps", () => {
    expect(niceStep(0.3)).toBe(0.5);
    expect(niceStep(1.2e9)).toBe(2e9);
    expect(niceStep(5e6)).toBe(5e6);
    expect(niceStep(0)).toBe(1);
  });

  it("property: a sample is bounded, ordered, proportional, and keeps rare outcomes visible", () => {
    const outcome = fc.constantFrom("ok" as const, "fail" as const, "info" as const, "pending" as const);
    fc.assert(
      fc.property(
        fc.array(outcome, { maxLength: 400 }),
        fc.integer({ min: 2, max: 100 }),
        (outcomes, max) => {
          const ops = outcomes.map((o, id) => ({ outcome: o, id }));
          const sample = sampleOps(ops, max);
          expect(sample.length).toBe(Math.min(ops.length, max));
          for (let i = 1; i < sample.length; i++) expect(sample[i]!.id).toBeGreaterThan(sample[i - 1]!.id);
          const floor = Math.floor(max * 0.05);
          for (const o of ["ok", "fail", "info", "pending"] as const) {
            const total = outcomes.filter((x) => x === o).length;
            const kept = sample.filter((x) => x.outcome === o).length;
            expect(kept).toBeGreaterThanOrEqual(Math.min(total, floor));
            const share = ops.length === 0 ? 0 : Math.ceil((max * total) / ops.length);
            expect(kept).toBeLessThanOrEqual(Math.max(share, floor) + 4);
          }
        },
      ),
      { numRuns: 200 },
    );
    expect(evenSample(10, 3)).toEqual([0, 3, 6]);
  });
});

const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const ci = process.env["CI"] === "true" || process.env["CI"] === "1";
if (chromium === undefined && !ci) {
  console.warn(
    "reports/html.test.ts: skipping the headless Chromium check: /usr/bin/chromium is not installed",
  );
}

describe.skipIf(chromium === undefined && !ci)("report.html in headless Chromium", () => {
  it("renders the expected elements and no injected markup", async () => {
    if (chromium === undefined)
      throw new Error("CI=true but /usr/bin/chromium is missing (apt-get install chromium)");
    const dir = await mkdtemp(join(tmpdir(), "faultline-html-"));
    try {
      const file = join(dir, "report.html");
      await writeFile(file, renderHtmlReport(syntheticRun({ ops: 1000, hostile: true })));
      const { stdout } = await execa(
        chromium,
        [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
          `--user-data-dir=${join(dir, "profile")}`,
          "--dump-dom",
          `file://${file}`,
        ],
        { timeout: 90_000 },
      );
      // The DOM as Chromium built it: our elements are there...
      for (const id of ["timeline-plot", "latency-plot", "throughput-plot"])
        expect(stdout).toContain(`<svg id="${id}"`);
      expect(count(stdout, /<rect class="fault"/g)).toBeGreaterThan(3);
      expect(stdout).toContain('<pre class="explanation">');
      expect(stdout).toContain('<details class="anomaly" open=""');
      expect(stdout).toMatch(/<h1>faultline: <span id="test-name">register &lt;script&gt;/);
      // ...and the hostile values stayed text: no script or img element, the title untouched.
      expect(stdout).not.toMatch(/<script|<img/i);
      expect(stdout).toMatch(/<title>faultline: register &lt;script&gt;document\.title="pwned"/);
      expect(stdout).toContain("&lt;script&gt;document.title=");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
