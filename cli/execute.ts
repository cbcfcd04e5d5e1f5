/**
 * One test, end to end: build the parts named by a resolved config, run them on a world, stream
 * the history into the store, check it, and write the results and reports. `faultline run` and
 * the expectation-matrix tests both come through here.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { writeReports, type ReportInput } from "../reports/index.ts";
import { elleReportFiles } from "../checkers/elle/index.ts";
import { join } from "node:path";
import { any } from "../harness/generator/index.ts";
import type { Op } from "../harness/history/op.ts";
import { composeNemeses } from "../harness/nemesis.ts";
import { HistoryWriter } from "../harness/history/jsonl.ts";
import { composeResults, type CheckResult, type Results } from "../harness/results.ts";
import type { RunObserver } from "../harness/runner/events.ts";
import { runTest } from "../harness/runner/runner.ts";
import { SimWorld, type NodeError } from "../harness/runtime/sim/index.ts";
import { createRunDir, writeJsonFile } from "../harness/store/store.ts";
import { NodeLogs } from "../harness/store/nodeLogs.ts";
import type { Workload } from "../harness/workload.ts";
import { lookupSystem, lookupWorkload } from "./plugins.ts";
import { nemeses, type BuildConfig } from "./registry.ts";
import { reproduceCommand, type RunConfig } from "./runConfig.ts";

export interface ExecuteOptions {
  readonly observer?: RunObserver;
  readonly signal?: AbortSignal;
  /** The wall-clock time the run folder is named after (tests pass a fixed one). */
  readonly startedAt?: Date;
  /** Per-checker budget. */
  readonly checkTimeLimitMs?: number;
}

export interface ExecuteResult {
  readonly results: Results;
  readonly storeDir: string;
  readonly history: readonly Op[];
  readonly aborted: boolean;
  readonly reproduceCommand: string;
  /** What the reports were rendered from (the terminal report renders it again). */
  readonly reportInput?: ReportInput;
}

const secondNs = 1e9;

export function buildConfigOf(config: RunConfig): BuildConfig {
  return {
    seed: config.seed,
    nodes: config.nodes,
    concurrency: config.concurrency,
    timeLimitNs: Math.round(config["time-limit"] * secondNs),
    ratePerS: config.rate,
    nemesisIntervalNs: Math.round(config["nemesis-interval"] * secondNs),
    replication: config.replication,
    isolation: config.isolation,
    readFrom: config["read-from"],
    leases: config.leases,
    bugs: config.bug,
    ...(config.model !== undefined ? { model: config.model } : {}),
    systemOptions: config.systemOptions,
    mode: config.mode,
  };
}

export async function executeRun(config: RunConfig, options: ExecuteOptions = {}): Promise<ExecuteResult> {
  const build = buildConfigOf(config);
  const system = lookupSystem(config.system).build(build);
  const workload: Workload = lookupWorkload(config.workload).build(build);
  const nemesisPackages = config.nemesis.map((n) => nemeses[n]!(build));
  const nemesis =
    nemesisPackages.length > 0 ? composeNemeses(nemesisPackages.map((p) => p.nemesis)) : undefined;
  const nemesisGenerator =
    nemesisPackages.length > 0 ? any(...nemesisPackages.map((p) => p.generator)) : undefined;

  const command = reproduceCommand(config);
  const runDir = createRunDir(config.store, config.name, options.startedAt ?? new Date());
  writeJsonFile(join(runDir.dir, "test.json"), { ...config, reproduceCommand: command });
  const writer = HistoryWriter.open(runDir.historyPath);
  const nodeLogs = new NodeLogs(runDir.dir);

  const world = new SimWorld({
    seed: config.seed,
    endpointLog: nodeLogs.sink,
    onNodeError: "stop-node",
    budget: {
      maxEvents: 200_000_000,
      // The main phase, healing, recovery and final reads, with generous slack.
      maxVirtualTimeNs: build.timeLimitNs * 3 + 3600 * secondNs,
    },
  });
  options.observer?.onStart?.({
    testName: config.name,
    seed: config.seed,
    mode: "sim",
    timeLimitNs: build.timeLimitNs,
    storeDir: runDir.dir,
    reproduceCommand: command,
  });

  // Everything recorded is kept here as well as in the file, so that a run the system under test
  // breaks (a node whose recovery throws, say) is still checked as far as it got.
  const recorded: Op[] = [];
  let aborted = false;
  let runFailure: string | undefined;
  try {
    const outcome = await world.run(async () => {
      await system.setup(world);
      const result = await runTest(world, {
        concurrency: config.concurrency,
        system,
        clientGenerator: workload.generator,
        ...(nemesis !== undefined ? { nemesis } : {}),
        ...(nemesisGenerator !== undefined ? { nemesisGenerator } : {}),
        ...(workload.finalGenerator !== undefined ? { finalGenerator: workload.finalGenerator } : {}),
        opTimeoutNs: 5 * secondNs,
        recoveryDelayNs: 10 * secondNs,
        record: (op) => {
          recorded.push(op);
          writer.append(op);
        },
        ...(options.observer !== undefined ? { observer: options.observer } : {}),
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      });
      await system.teardown(world);
      return result;
    });
    aborted = outcome.aborted;
  } catch (error) {
    runFailure = `the run stopped at ${(world.nowNs() / secondNs).toFixed(3)} s of test time: ${
      error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    }`;
  } finally {
    writer.close();
    nodeLogs.close();
  }

  const checkerResults: Record<string, CheckResult> = {};
  if (runFailure !== undefined) {
    checkerResults["run"] = {
      valid: "unknown",
      reason: `${runFailure}; the history up to there was checked`,
    };
  }
  const nodeErrors = nodeErrorsResult(world.nodeErrors());
  if (nodeErrors !== undefined) checkerResults["node-errors"] = nodeErrors;
  for (const checker of workload.checkers) {
    try {
      checkerResults[checker.name] = await checker.check(recorded, {
        budget: { timeLimitMs: options.checkTimeLimitMs ?? 120_000, memoryLimitBytes: 8 * 2 ** 30 },
      });
    } catch (error) {
      checkerResults[checker.name] = {
        valid: "unknown",
        reason: `checker ${checker.name} failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }
  const results = composeResults(checkerResults);
  writeAnomalyFiles(runDir.dir, checkerResults);
  const reportInput: ReportInput = {
    testName: config.name,
    seed: config.seed,
    storeDir: runDir.dir,
    reproduceCommand: command,
    config: { ...config, reproduceCommand: command },
    history: recorded,
    results,
    nodeLogs: nodeLogs.endpoints(),
  };
  await writeReports(runDir.dir, reportInput);
  return {
    results,
    storeDir: runDir.dir,
    history: recorded,
    aborted,
    reproduceCommand: command,
    reportInput,
  };
}

export function plainSummary(config: RunConfig, results: Results, storeDir: string, command: string): string {
  const lines = [`${config.name}: ${verdictWord(results.valid)}`];
  for (const [name, r] of Object.entries(results.checkers)) {
    lines.push(`  ${name}: ${verdictWord(r.valid)}${r.reason !== undefined ? ` (${r.reason})` : ""}`);
  }
  lines.push(`store: ${storeDir}`, `reproduce: ${command}`);
  return lines.join("\n") + "\n";
}

function verdictWord(v: Results["valid"]): string {
  return v === true ? "valid" : v === false ? "INVALID" : "unknown";
}

/**
 * One text file per anomaly class found, with every case kept in full: `elle/<anomaly>.txt` for
 * the Elle checkers (Elle's own layout), `<checker>/<anomaly>.txt` for the others.
 */
function writeAnomalyFiles(storeDir: string, checkerResults: Record<string, CheckResult>): void {
  for (const [name, result] of Object.entries(checkerResults)) {
    const files = elleReportFiles(result);
    if (Object.keys(files).length === 0) continue;
    const folder = join(storeDir, Array.isArray(result.not) ? "elle" : name.replace(/[^A-Za-z0-9._-]/g, "_"));
    mkdirSync(folder, { recursive: true });
    for (const [file, text] of Object.entries(files)) writeFileSync(join(folder, file), text);
  }
}

/**
 * Jepsen's log-file-pattern checker, for simulation: a node process that died on an error of its
 * own (a failed assertion, a recovery that found its data inconsistent) is a bug of the system
 * under test, whatever the history shows, so the verdict is false. None died: no result at all.
 */
export function nodeErrorsResult(found: {
  readonly errors: readonly NodeError[];
  readonly count: number;
}): CheckResult | undefined {
  if (found.count === 0) return undefined;
  const nodes = [...new Set(found.errors.map((e) => e.node))].sort();
  return {
    valid: false,
    reason: `${found.count} node process${found.count === 1 ? "" : "es"} died on an error of their own (${nodes.join(", ")}); see nodes/<node>.log`,
    anomalies: {
      "process-died": found.errors.map((e) => ({
        explanation: `${e.node} (incarnation ${e.incarnation}) at ${(e.timeNs / secondNs).toFixed(3)} s: ${e.message}`,
        node: e.node,
        incarnation: e.incarnation,
        timeNs: e.timeNs,
        message: e.message,
      })),
    },
    anomalyCounts: { "process-died": found.count },
  };
}
