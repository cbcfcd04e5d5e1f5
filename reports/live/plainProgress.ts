/**
 * Progress without a terminal (CI=true, or output piped): plain lines at a low rate, no cursor
 * movement, no colour, and nothing read from stdin. A line goes out when the run starts, on the
 * first progress report, whenever the phase changes, and otherwise at most once per
 * `intervalMs` of real time (measured by the runner's `realElapsedMs`, so the printer itself reads
 * no clock), and a summary when the run ends.
 */
import type { RunObserver, RunProgress, RunStartInfo } from "../../harness/runner/events.ts";
import type { Results } from "../../harness/results.ts";
import { verdictSection } from "../document.ts";
import { formatCount, formatDurationNs, scrubControls } from "../format.ts";
import { renderLines } from "../text.ts";
import { describeNode, formatOpsRate, fractionDone, totalCounts } from "./progressLine.ts";

export interface PlainProgressOptions {
  /** Least real time between two periodic lines, ms. Default 10 s. */
  readonly intervalMs?: number;
}

export const defaultPlainIntervalMs = 10_000;

export function progressText(progress: RunProgress, start: RunStartInfo | undefined): string {
  const t = totalCounts(progress.counts);
  const limit = start === undefined ? "" : ` / ${formatDurationNs(start.timeLimitNs)}`;
  const percent =
    start === undefined ? "" : ` (${Math.round(fractionDone(progress, start.timeLimitNs) * 100)}%)`;
  const down = progress.nodes.filter((n) => !n.up || n.paused || n.cutOffFrom.length > 0);
  const nodes =
    progress.nodes.length === 0
      ? ""
      : `  nodes ${progress.nodes.filter((n) => n.up && !n.paused).length}/${progress.nodes.length} up` +
        (down.length === 0
          ? ""
          : ` [${down.slice(0, 8).map(describeNode).join("; ")}${down.length > 8 ? "; …" : ""}]`);
  const faults = progress.activeFaults.length === 0 ? "" : `  faults: ${progress.activeFaults.join("; ")}`;
  return scrubControls(
    `[real ${formatDurationNs(progress.realElapsedMs * 1e6)}] ${progress.phase}: test ${formatDurationNs(progress.testTimeNs)}${limit}${percent}` +
      `  ${formatOpsRate(progress)}  ok ${formatCount(t.ok)} fail ${formatCount(t.fail)} info ${formatCount(t.info)}` +
      nodes +
      faults,
  );
}

export function createPlainProgress(
  write: (text: string) => void,
  options: PlainProgressOptions = {},
): RunObserver & { close(): Promise<void> } {
  const intervalMs = options.intervalMs ?? defaultPlainIntervalMs;
  let start: RunStartInfo | undefined;
  let lastPrintedMs: number | undefined;
  let lastPhase: string | undefined;
  const safely = (action: () => void): void => {
    try {
      action();
    } catch {
      // An observer must never throw into the runner; a broken pipe loses progress lines only.
    }
  };
  return {
    onStart(info) {
      safely(() => {
        start = info;
        write(
          scrubControls(
            `faultline: ${info.testName} seed ${info.seed} (${info.mode}), time limit ${formatDurationNs(info.timeLimitNs)}, store ${info.storeDir}`,
          ) + "\n",
        );
      });
    },
    onProgress(progress) {
      safely(() => {
        const due =
          lastPrintedMs === undefined ||
          progress.phase !== lastPhase ||
          progress.realElapsedMs - lastPrintedMs >= intervalMs;
        if (!due) return;
        lastPrintedMs = progress.realElapsedMs;
        lastPhase = progress.phase;
        write(progressText(progress, start) + "\n");
      });
    },
    onEnd(results: Results | undefined, progress: RunProgress) {
      safely(() => {
        write(progressText(progress, start) + "\n");
        if (results === undefined) write("faultline: the run ended without a verdict\n");
        else write(renderLines(verdictSection(results), { color: false }));
      });
    },
    close: () => Promise.resolve(),
  };
}
