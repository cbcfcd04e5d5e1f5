/**
 * Writes a run's reports into its store folder: results.json, report.txt (the terminal report
 * without colour), junit.xml and report.html. The shared analysis (fault windows, latency and
 * availability) is done once for all of them.
 *
 * Each file is written whole or not at all (harness/store/atomic.ts), the verdict first and the
 * largest file last, so a nearly full disk keeps what matters most; their folder is fsynced once,
 * after the last. A file the file system refuses is recorded in the run's `ArtifactLog`, not
 * thrown: the caller still has a verdict to print.
 */
import { mkdirSync } from "node:fs";
import { ArtifactLog, fileSystemReason, isFileSystemError } from "../harness/store/atomic.ts";
import { renderHtmlReport } from "./html.ts";
import { analyzeRun, type ReportInput } from "./input.ts";
import { renderJunit } from "./junit.ts";
import { renderTextReport } from "./text.ts";

export const reportFiles = {
  results: "results.json",
  text: "report.txt",
  junit: "junit.xml",
  html: "report.html",
} as const;

/** Writes every report file; returns the log of what could not be written (none, usually). */
export function writeReports(
  storeDir: string,
  input: ReportInput,
  artifacts: ArtifactLog = new ArtifactLog(storeDir),
): ArtifactLog {
  const analysis = analyzeRun(input);
  try {
    mkdirSync(storeDir, { recursive: true });
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    for (const file of Object.values(reportFiles))
      artifacts.record({ file, reason: fileSystemReason(error) });
    return artifacts;
  }
  // One folder fsync for the four (harness/store/atomic.ts: `together`).
  artifacts.together(() => {
    artifacts.write(reportFiles.results, JSON.stringify(input.results, null, 2) + "\n");
    artifacts.write(reportFiles.text, renderTextReport(input, { color: false }, analysis));
    artifacts.write(reportFiles.junit, renderJunit(input));
    artifacts.write(reportFiles.html, renderHtmlReport(input, analysis));
  });
  return artifacts;
}
