/**
 * Progress of a gate or a sweep: many runs on several workers, rows settling as their last seed
 * ends. One state (`SuiteProgressState`), two views: plain lines (CI, or output piped: a line per
 * settled row and at most one progress line per `intervalMs`, no cursor movement) and the Ink view
 * (SuiteProgressView.tsx) in a terminal. The caller passes the elapsed time in, so the views read
 * no clock; both swallow their own errors, so a broken terminal never breaks a gate.
 */
import type { RowJudgment, SeedRun } from "./model.ts";
import { formatDurationNs, scrubControls } from "../format.ts";
import type { LiveObserverOptions } from "../live/terminal.ts";

export interface RowProgress {
  readonly name: string;
  readonly seedsTotal: number;
  seedsDone: number;
  judgment?: RowJudgment;
}

export interface SuiteProgressState {
  /** "gate matrix", "sweep matrix seeds 1..100 shard 2/4" */
  readonly title: string;
  readonly jobs: number;
  readonly totalRuns: number;
  doneRuns: number;
  /** Runs whose verdict was false or undecided so far. */
  notValidRuns: number;
  elapsedMs: number;
  readonly rows: RowProgress[];
}

export type SuiteProgressEvent =
  | { readonly kind: "start" }
  | { readonly kind: "run"; readonly run: SeedRun }
  | { readonly kind: "row"; readonly judgment: RowJudgment }
  | { readonly kind: "tick" };

export interface SuiteProgress {
  update(state: SuiteProgressState, event: SuiteProgressEvent): void;
  close(): Promise<void>;
}

export const verdictMark: Readonly<Record<RowJudgment["verdict"], string>> = {
  holds: "✓",
  fails: "✗",
  unknown: "?",
  skipped: "-",
};

export function progressHeadline(state: SuiteProgressState): string {
  const settled = state.rows.filter((r) => r.judgment !== undefined).length;
  return (
    `${state.title}: ${state.doneRuns}/${state.totalRuns} runs, ${settled}/${state.rows.length} rows settled, ` +
    `${state.jobs} worker${state.jobs === 1 ? "" : "s"}, ${formatDurationNs(state.elapsedMs * 1e6)}`
  );
}

export function rowLine(judgment: RowJudgment): string {
  return scrubControls(`${verdictMark[judgment.verdict]} ${judgment.row}: ${judgment.found}`);
}

export const defaultProgressIntervalMs = 10_000;

export function createPlainSuiteProgress(
  write: (text: string) => void,
  intervalMs = defaultProgressIntervalMs,
): SuiteProgress {
  let lastLineMs = -Infinity;
  return {
    update(state, event) {
      try {
        if (event.kind === "start") {
          write(`${progressHeadline(state)}\n`);
          lastLineMs = state.elapsedMs;
        } else if (event.kind === "row") {
          write(`${rowLine(event.judgment)}\n`);
        } else if (state.elapsedMs - lastLineMs >= intervalMs) {
          write(`[${progressHeadline(state)}]\n`);
          lastLineMs = state.elapsedMs;
        }
      } catch {
        // Never throw into the gate.
      }
    },
    async close() {},
  };
}

/** Where a suite's progress goes and how: the same choices as a run's live view. */
export type SuiteProgressOptions = LiveObserverOptions;

/**
 * Ink in an interactive terminal, plain lines otherwise (CI, a pipe, a file), loading Ink and
 * React (about half a second of CPU) only for the terminal: a gate in CI never loads them.
 */
export async function openSuiteProgress(options: SuiteProgressOptions): Promise<SuiteProgress> {
  if (!options.isTTY || options.ci)
    return createPlainSuiteProgress((text) => options.stdout.write(text), options.plainIntervalMs);
  return (await import("./SuiteProgressView.tsx")).createSuiteDashboard(options);
}
