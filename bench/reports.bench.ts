/**
 * Reports on a large run: a synthetic 100,000-entry history (50,000 client operations, partitions
 * every 5 s of test time, anomalies listed) rendered as the terminal report and as report.html,
 * then all reports written to a temporary store folder. Prints the times and the sizes.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderHtmlReport } from "../reports/html.ts";
import { analyzeRun } from "../reports/input.ts";
import { syntheticRun } from "../reports/syntheticRun.ts";
import { renderTextReport } from "../reports/text.ts";
import { writeReports } from "../reports/write.ts";

function timed<T>(label: string, action: () => T): T {
  const startMs = performance.now();
  const result = action();
  console.log(`${label.padEnd(36)} ${(performance.now() - startMs).toFixed(0).padStart(6)} ms`);
  return result;
}

export async function run(): Promise<void> {
  const input = timed("build synthetic 100,000-op history", () =>
    syntheticRun({ ops: 100_000, faultEveryNs: 5e9, anomalyCases: 40 }),
  );
  const windows = analyzeRun(input).windows.length;
  console.log(`history entries                      ${input.history.length} (${windows} fault windows)`);
  timed("analyzeRun (windows, stats)", () => analyzeRun(input));
  const text = timed("renderTextReport", () => renderTextReport(input));
  const html = timed("renderHtmlReport", () => renderHtmlReport(input));
  console.log(`report.txt size                      ${(Buffer.byteLength(text) / 1024).toFixed(1)} KiB`);
  console.log(
    `report.html size                     ${(Buffer.byteLength(html) / 1024 / 1024).toFixed(2)} MiB`,
  );
  const dir = await mkdtemp(join(tmpdir(), "faultline-bench-reports-"));
  try {
    const startMs = performance.now();
    writeReports(dir, input);
    console.log(
      `${"writeReports (all four files)".padEnd(36)} ${(performance.now() - startMs).toFixed(0).padStart(6)} ms`,
    );
    const written = (await stat(join(dir, "report.html"))).size;
    console.log(`report.html on disk                  ${(written / 1024 / 1024).toFixed(2)} MiB`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
