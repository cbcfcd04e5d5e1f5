/**
 * Writes a run's reports into its store folder: report.txt (the terminal report without colour),
 * report.html, junit.xml and results.json. The shared analysis (fault windows, latency and
 * availability) is done once for all of them.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderHtmlReport } from "./html.ts";
import { analyzeRun, type ReportInput } from "./input.ts";
import { renderJunit } from "./junit.ts";
import { renderTextReport } from "./text.ts";

export const reportFiles = {
  text: "report.txt",
  html: "report.html",
  junit: "junit.xml",
  results: "results.json",
} as const;

export async function writeReports(storeDir: string, input: ReportInput): Promise<void> {
  const analysis = analyzeRun(input);
  await mkdir(storeDir, { recursive: true });
  await Promise.all([
    writeFile(join(storeDir, reportFiles.text), renderTextReport(input, { color: false }, analysis)),
    writeFile(join(storeDir, reportFiles.html), renderHtmlReport(input, analysis)),
    writeFile(join(storeDir, reportFiles.junit), renderJunit(input)),
    writeFile(join(storeDir, reportFiles.results), JSON.stringify(input.results, null, 2) + "\n"),
  ]);
}
