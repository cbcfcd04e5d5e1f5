/**
 * The Ink view of a gate or sweep in progress: a headline (runs done, rows settled, workers, time),
 * a bar, the rows still running with their seeds done, and the rows settled so far (failing and
 * unknown ones first, since those are what a reader waits for). A pure function of its props.
 */
import { Box, Text, render, type Instance } from "ink";
import { scrubControls } from "../format.ts";
import { progressHeadline, rowLine, type SuiteProgress, type SuiteProgressState } from "./progress.ts";
import type { RowJudgment } from "./model.ts";
import type { SuiteProgressOptions } from "./progress.ts";

export type { SuiteProgressOptions } from "./progress.ts";

/** Rows shown per list before "… N more". */
export const progressRowsMax = 12;
const barWidth = 30;

const colorOf: Readonly<Record<RowJudgment["verdict"], string>> = {
  holds: "green",
  fails: "red",
  unknown: "yellow",
  skipped: "gray",
};
const rank: Readonly<Record<RowJudgment["verdict"], number>> = { fails: 0, unknown: 1, holds: 2, skipped: 3 };

export function SuiteProgressView({ state }: { readonly state: SuiteProgressState }) {
  const fraction = state.totalRuns === 0 ? 1 : state.doneRuns / state.totalRuns;
  const filled = Math.round(fraction * barWidth);
  const running = state.rows.filter((r) => r.judgment === undefined && r.seedsDone > 0);
  const settled = state.rows
    .filter((r) => r.judgment !== undefined)
    .map((r) => r.judgment!)
    .sort((a, b) => rank[a.verdict] - rank[b.verdict]);
  return (
    <Box flexDirection="column">
      <Text bold>{scrubControls(progressHeadline(state))}</Text>
      <Text>
        {"█".repeat(filled)}
        {"░".repeat(barWidth - filled)} {Math.round(fraction * 100)}%
        {state.notValidRuns > 0 ? `  (${state.notValidRuns} runs not valid so far)` : ""}
      </Text>
      {running.slice(0, progressRowsMax).map((r) => (
        <Text key={r.name} dimColor>
          {"  … "}
          {scrubControls(r.name)} {r.seedsDone}/{r.seedsTotal} seeds
        </Text>
      ))}
      {settled.slice(0, progressRowsMax).map((j) => (
        <Text key={j.row} color={colorOf[j.verdict]}>
          {"  "}
          {rowLine(j)}
        </Text>
      ))}
      {settled.length > progressRowsMax ? (
        <Text dimColor>{`  … ${settled.length - progressRowsMax} more settled`}</Text>
      ) : null}
    </Box>
  );
}

/** The Ink dashboard of a suite's progress (`openSuiteProgress` decides when it is wanted). */
export function createSuiteDashboard(options: SuiteProgressOptions): SuiteProgress {
  let instance: Instance | undefined;
  let closed = false;
  return {
    update(state) {
      if (closed) return;
      try {
        const tree = <SuiteProgressView state={{ ...state, rows: state.rows.map((r) => ({ ...r })) }} />;
        if (instance === undefined) {
          instance = render(tree, {
            stdout: options.stdout,
            patchConsole: false,
            exitOnCtrlC: false,
            maxFps: 10,
          });
        } else {
          instance.rerender(tree);
        }
      } catch {
        // Never throw into the gate.
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (instance === undefined) return;
      try {
        instance.unmount();
        await instance.waitUntilExit();
      } catch {
        // Already unmounted.
      }
    },
  };
}
