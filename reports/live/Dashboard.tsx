/**
 * The live dashboard (Ink) while a test runs in a terminal: the test and seed; real and test time
 * with a progress bar against the time limit; operations per second; ok/fail/info per operation
 * kind; each node's state (up, crashed, paused, whom it is cut off from, clock offset, role,
 * epoch); the faults active now. At the end it shows the verdict per checker and the first case
 * of each anomaly class. A pure function of its props: the observer re-renders it on each update.
 * It never reads input, so Ink never puts the terminal in raw mode.
 */
import { Box, Text } from "ink";
import type { NodeStatus, RunProgress, RunStartInfo } from "../../harness/runner/events.ts";
import type { Results } from "../../harness/results.ts";
import { compareNames } from "../../harness/compareNames.ts";
import { anomalySection, verdictSection } from "../document.ts";
import { formatCount, formatDurationNs, scrubControls } from "../format.ts";
import { ReportView } from "../ReportView.tsx";
import {
  formatOffsetNs,
  formatOpsRate,
  fractionDone,
  nodeState,
  progressBar,
  totalCounts,
} from "./progressLine.ts";

export interface DashboardProps {
  readonly start?: RunStartInfo;
  readonly progress?: RunProgress;
  /** Set once the run has ended; undefined results then mean the run ended without a verdict. */
  readonly ended?: boolean;
  readonly results?: Results;
}

/** Rows shown per table before "… N more" (the terminal has only so many lines). */
export const dashboardRowsMax = 16;
const barWidth = 30;

const stateColor = { up: "green", crashed: "red", paused: "yellow" } as const;

function NodeRow({ node }: { readonly node: NodeStatus }) {
  const state = nodeState(node);
  return (
    <Text>
      {"  "}
      {scrubControls(node.name).padEnd(8)}
      <Text color={stateColor[state]}>{state.padEnd(8)}</Text>
      {scrubControls(node.role).padEnd(10)}
      {node.epoch === undefined ? "" : `epoch ${node.epoch}  `}
      {node.zone === undefined ? "" : `zone ${scrubControls(node.zone)}  `}
      {`clock ${formatOffsetNs(node.clockOffsetNs)}`}
      {node.cutOffFrom.length > 0 ? (
        <Text color="red">{`  cut off from ${scrubControls(node.cutOffFrom.join(", "))}`}</Text>
      ) : (
        ""
      )}
    </Text>
  );
}

function More({ count }: { readonly count: number }) {
  return count > 0 ? <Text dimColor>{`  … ${formatCount(count)} more`}</Text> : null;
}

export function Dashboard({ start, progress, ended = false, results }: DashboardProps) {
  const fraction = progress === undefined ? 0 : fractionDone(progress, start?.timeLimitNs);
  const counts =
    progress === undefined ? [] : Object.entries(progress.counts).sort(([a], [b]) => compareNames(a, b));
  const totals = progress === undefined ? undefined : totalCounts(progress.counts);
  const fWidth = Math.max(4, ...counts.map(([f]) => f.length));
  const nodes = progress?.nodes ?? [];
  const faults = progress?.activeFaults ?? [];
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>faultline </Text>
        <Text color="cyan">{scrubControls(start?.testName ?? "starting…")}</Text>
        {start === undefined ? "" : `  seed ${start.seed}  ${start.mode}`}
        {progress === undefined ? "" : `  ${scrubControls(progress.phase)}`}
      </Text>
      {progress === undefined ? (
        <Text dimColor>waiting for the first progress report…</Text>
      ) : (
        <>
          <Text>
            {`real ${formatDurationNs(progress.realElapsedMs * 1e6)}  test ${formatDurationNs(progress.testTimeNs)}`}
            {start === undefined ? "" : ` / ${formatDurationNs(start.timeLimitNs)}`}
            {"  "}
            <Text color="cyan">{progressBar(fraction, barWidth)}</Text>
            {` ${Math.round(fraction * 100)}%  ${formatOpsRate(progress)}`}
          </Text>
          <Text> </Text>
          <Text bold>{"  " + "f".padEnd(fWidth) + "     invoked         ok       fail       info"}</Text>
          {counts.slice(0, dashboardRowsMax).map(([f, c]) => (
            <Text key={f}>
              {"  " + scrubControls(f).padEnd(fWidth)}
              {formatCount(c.invoke).padStart(12)}
              <Text color="green">{formatCount(c.ok).padStart(11)}</Text>
              <Text color="red">{formatCount(c.fail).padStart(11)}</Text>
              <Text color="yellow">{formatCount(c.info).padStart(11)}</Text>
            </Text>
          ))}
          <More count={counts.length - dashboardRowsMax} />
          {totals !== undefined && counts.length > 1 ? (
            <Text dimColor>
              {"  " + "all".padEnd(fWidth)}
              {formatCount(totals.invoke).padStart(12)}
              {formatCount(totals.ok).padStart(11)}
              {formatCount(totals.fail).padStart(11)}
              {formatCount(totals.info).padStart(11)}
            </Text>
          ) : null}
          <Text> </Text>
          <Text bold>{`Nodes (${nodes.filter((n) => n.up && !n.paused).length}/${nodes.length} up)`}</Text>
          {nodes.slice(0, dashboardRowsMax).map((node) => (
            <NodeRow key={node.name} node={node} />
          ))}
          <More count={nodes.length - dashboardRowsMax} />
          <Text>
            <Text bold>Faults now: </Text>
            {faults.length === 0 ? (
              <Text dimColor>none</Text>
            ) : (
              <Text color="red">{scrubControls(faults.slice(0, dashboardRowsMax).join("; "))}</Text>
            )}
            {faults.length > dashboardRowsMax ? ` … ${faults.length - dashboardRowsMax} more` : ""}
          </Text>
        </>
      )}
      {ended ? (
        <Box flexDirection="column" marginTop={1}>
          {results === undefined ? (
            <Text color="yellow">The run ended without a verdict.</Text>
          ) : (
            <ReportView lines={[...verdictSection(results), ...anomalySection(results, 1)]} />
          )}
          {start === undefined ? null : <Text dimColor>{`store ${scrubControls(start.storeDir)}`}</Text>}
        </Box>
      ) : null}
    </Box>
  );
}
