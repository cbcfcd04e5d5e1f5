/**
 * One test, end to end: build the parts named by a resolved config, run them on a world, stream
 * the history into the store, check it, and write the results and reports. `faultline run` and
 * the expectation-matrix tests both come through here.
 *
 * The history is checked from its file, once the file is whole and on stable storage, through
 * `faultline check`'s path (check.ts `checkRunHistory`): the run keeps no copy of it in memory,
 * only counts and a columnar history for the reports (runHistory.ts), unless the disk refused the
 * file. What bounds a run's length is then what checking holds (`maxStreamedRunOperations`).
 *
 * What the store gets, and when: `test.json` (what was asked) before the run starts, rewritten at
 * the end with what was recorded added; `history.jsonl` and the node logs streamed while it runs;
 * then the anomaly files, `results.json` and the reports (not for a run whose caller removes its
 * folder right after: `discardedWith`). Every file is written whole or not at all; one the disk
 * refuses is listed in `unwritten`, and the run still returns its verdict.
 *
 * An interrupted run (SIGINT, SIGTERM) is checked as far as it got, and says so everywhere: an
 * `interrupted` result of "unknown" (see harness/results.ts `Interruption`), `results.interrupted`,
 * and `recorded.interrupted` in test.json.
 */
import { mkdirSync } from "node:fs";
import type { ReportInput } from "../reports/input.ts";
import { writeReports } from "../reports/write.ts";
import { formatCount, formatDurationNs, scrubControls } from "../reports/format.ts";
import { elleReportFiles } from "../checkers/elle/index.ts";
import { join } from "node:path";
import { any } from "../harness/generator/index.ts";
import type { Op } from "../harness/history/op.ts";
import { composeNemeses, type Nemesis } from "../harness/nemesis.ts";
import type { BudgetLimits } from "../harness/budget.ts";
import { defaultCheckLimits, runCheckers } from "../harness/checker.ts";
import { composeResults, type CheckResult, type Interruption, type Results } from "../harness/results.ts";
import type { Generator } from "../harness/generator/types.ts";
import type { RunObserver } from "../harness/runner/events.ts";
import { runTest, type NemesisFailure } from "../harness/runner/runner.ts";
import { SimWorld, type NodeError } from "../harness/runtime/sim/index.ts";
import {
  ArtifactLog,
  fileSystemReason,
  isFileSystemError,
  unwrittenSummary,
  type UnwrittenArtifact,
} from "../harness/store/atomic.ts";
import {
  HistoryNotAsRecorded,
  recordedOpsAt,
  RunTally,
  StreamedHistory,
  wholeRunHistory,
  withValuesOf,
} from "./runHistory.ts";
import { timelineValueIndices } from "../reports/html.ts";
import { clientOps, type ClientOp } from "../harness/history/historyStats.ts";
import {
  createRunDir,
  pointLatestAt,
  StoreError,
  storeRootProblem,
  type RunDir,
} from "../harness/store/store.ts";
import type { NodeStartError } from "../harness/runtime/process/world.ts";
import { NodeLogs } from "../harness/store/nodeLogs.ts";
import type { SystemUnderTest } from "../harness/system.ts";
import type { Workload } from "../harness/workload.ts";
import { UsageError } from "./main.ts";
import { lookupSystem, lookupWorkload } from "./plugins.ts";
import { nemeses, systems, workloads, type BuildConfig, type NemesisPackage } from "./registry.ts";
import { armMainThreadWatch } from "../harness/mainThreadWatch.ts";
import { expandNemesisPackages } from "../nemeses/index.ts";
import { parseWindowSelection, type WindowSelection } from "../nemeses/windows.ts";
import { reproduceCommand, type RunConfig } from "./runConfig.ts";
import { runCheckOf, runTestLengthNs, type StoredRunCheck } from "./storedRun.ts";

export interface ExecuteOptions {
  readonly observer?: RunObserver;
  readonly signal?: AbortSignal;
  /** The wall-clock time the run folder is named after (tests pass a fixed one). */
  readonly startedAt?: Date;
  /** Limits on checking the history (default `defaultCheckLimits()`, as `faultline check`'s). */
  readonly checkBudget?: BudgetLimits;
  /** The parts, when the caller built them already (`prepareRun`); else they are built here. */
  readonly prepared?: PreparedRun;
  /** Quiet time between healing and the final reads; default 10 s (sim), 5 s (process). */
  readonly recoveryDelayNs?: number;
  /**
   * Called once the run is over (every process it started stopped) and before the checkers start:
   * from here to the end, checking and writing reports hold the event loop without a break, but
   * for the wait on the closing files' fsyncs (atomic.ts, `togetherOverlapping`).
   */
  readonly onChecking?: (info: {
    readonly operations: number;
    readonly interrupted: boolean;
  }) => void | Promise<void>;
  /**
   * True when the caller removes the run's folder once it has these results (a gate's or a
   * sweep's seed that is not kept): the closing files (test.json with what was recorded, the
   * anomaly files, the reports) are then not written, as nobody could read them. Rendering the
   * reports was about 5% of a gate's CPU. The history and node logs, streamed before the verdict
   * is known, are written as always.
   */
  readonly discardedWith?: (results: Results) => boolean;
  /**
   * Process mode: how long the system's setup and its teardown may take, real ms (default
   * `processSetupLimitMs`, `processTeardownLimitMs`). A simulated run needs none: a setup that
   * never finishes leaves the simulation without events, which ends it.
   */
  readonly setupLimitMs?: number;
  readonly teardownLimitMs?: number;
  /**
   * The most client operations a run invokes while its history is checked as op objects (default
   * `maxRunOperations`): kept in memory (the disk refused the file), or read back from the file
   * for checkers that take the whole history.
   */
  readonly maxOperations?: number;
  /**
   * The most client operations a run invokes when its history streams from the file into its
   * checkers (default `maxStreamedRunOperations`).
   */
  readonly maxStreamedOperations?: number;
}

/**
 * The most client operations a run invokes when its history is checked as op objects: held in
 * memory because the disk refused the file (cli/runHistory.ts), or read back from the file for a
 * workload whose checkers take the whole history (all but the built-in append workload's). When
 * a run kept its whole history in memory, a memory-system run of 600 simulated seconds at --rate
 * 1000000 recorded 1.18 million transactions and peaked at 2.7 GB; one of 1,800 s ran out of
 * Node's 4 GB heap after three minutes and died with V8's fatal error and a native stack, checking
 * nothing. Reached, the run stops as an interrupted one does: what was recorded is checked, and
 * the verdict is at best unknown (the test did not run to its end).
 */
export const maxRunOperations = 1_000_000;

/**
 * The most client operations a run invokes when its history streams from the file into its
 * checkers (the built-in append workload: `faultline check`'s streamed path, Elle's compact
 * table, no op objects). What still grows with the run: the report's history in columns (about 40
 * bytes an operation, off the heap); the system under test's data where it lives in this process
 * (the memory system's: about 1.1 GB of live heap at 3.83 million transactions); while checking,
 * Elle's table and graph (off the heap: 2.4 GB of RSS for `faultline check` alone on those 3.83
 * million); and, once checked, the report's history made into op objects to render the reports.
 * That last is where the heap peaks: 2.1 GB live at 3.83 million transactions, 3.0 GB at 5
 * million, against Node's 4 GB heap. Four million leaves about a third of the heap to larger
 * transactions and to the garbage between collections. Memory-system runs at --rate 1000000, peak
 * RSS: 1.5 GB at 955 thousand (450 s; 2.3 GB when a run kept its history in memory), 4.0 to 5.2 GB
 * at 3.7 to 3.8 million (1,800 and 1,850 s, under loads of 5 and 14; a run of 1,800 s ran out of
 * heap before), 5.1 GB at 5 million.
 */
export const maxStreamedRunOperations = 4_000_000;

/** How long a system of real processes may take to start and serve, real ms. */
export const processSetupLimitMs = 300_000;
/** How long a setup interrupted by SIGINT or SIGTERM may still take to finish, real ms. */
const setupAbortGraceMs = 10_000;
/** How long a system of real processes may take to stop, real ms; the harness then kills what is left. */
export const processTeardownLimitMs = 60_000;

export interface ExecuteResult {
  readonly results: Results;
  readonly storeDir: string;
  /**
   * The run's history, read from its history.jsonl when first asked for (the run itself keeps
   * none: cli/runHistory.ts); the history kept in memory when the disk refused the file. Exactly
   * the entries the run recorded, or a thrown error saying why they cannot be had (wholeRunHistory).
   */
  readonly history: readonly Op[];
  /** Client operations recorded (an invocation with its completion is one). */
  readonly operations: number;
  readonly aborted: boolean;
  readonly reproduceCommand: string;
  /** What the reports were rendered from (the terminal report renders it again). */
  readonly reportInput?: ReportInput;
  /** The run's files the file system refused (a full disk), and why; empty when all were written. */
  readonly unwritten: readonly UnwrittenArtifact[];
}

const secondNs = 1e9;

/** A run's time limit in test-time ns, from `--time-limit`'s seconds (a stored run's the same way). */
export const timeLimitNsOf = (timeLimitS: number): number => Math.round(timeLimitS * secondNs);

/**
 * The resolved config as builders read it. The model transactional workloads check is `--model`,
 * else the strongest model the system promises for these options (its definition says; a stored
 * run passes the one it recorded), else what the isolation level promises (the workload decides).
 */
export function buildConfigOf(config: RunConfig, promised?: string): BuildConfig {
  const build = buildConfigWithoutPromise(config);
  const promisedModel = promised ?? lookupSystem(config.system).promises?.(build);
  return { ...build, ...(promisedModel !== undefined ? { promisedModel } : {}) };
}

function buildConfigWithoutPromise(config: RunConfig): BuildConfig {
  return {
    seed: config.seed,
    nodes: config.nodes,
    concurrency: config.concurrency,
    timeLimitNs: timeLimitNsOf(config["time-limit"]),
    ratePerS: config.rate,
    ...(config.keys !== undefined ? { keys: config.keys } : {}),
    ...(config["nemesis-windows"] !== undefined
      ? { nemesisWindows: parsedWindows(config["nemesis-windows"], config.nemesis) }
      : {}),
    nemesisIntervalNs: Math.round(config["nemesis-interval"] * secondNs),
    replication: config.replication,
    isolation: config.isolation,
    readFrom: config["read-from"],
    leases: config.leases,
    bugs: config.bug,
    ...(config.model !== undefined ? { model: config.model } : {}),
    systemOptions: config.systemOptions,
    mode: config.mode,
    workload: config.workload,
  };
}

function parsedWindows(text: string, nemesis: readonly string[]): WindowSelection {
  const selection = parseWindowSelection(text, expandNemesisPackages(nemesis));
  if (typeof selection === "string") throw new Error(`--nemesis-windows ${text}: ${selection}`);
  return selection;
}

/** The parts of a test, built and ready to run. */
export interface PreparedRun {
  readonly build: BuildConfig;
  readonly system: SystemUnderTest;
  readonly workload: Workload;
  readonly nemesis?: Nemesis;
  readonly nemesisGenerator?: Generator;
  readonly command: string;
  /** Process mode: where the system's processes keep their files and logs (filled in by executeRun). */
  readonly runPlace?: RunPlace;
}

/** The `run` of a process-mode BuildConfig: the run folder and node-log sink, known once it exists. */
interface RunPlace {
  dir: string;
  nodeLogs?: NodeLogs;
  readonly log: (node: string, timeNs: number, line: string) => void;
}

/**
 * Builds the system, workload and nemeses a config names, without running anything. A
 * configuration a builder refuses (three nodes for quorum replication, an unknown model) throws
 * its ConfigError here, before the store is touched; main prints it as one line, exit 254.
 */
export function prepareRun(
  config: RunConfig,
  options: {
    /**
     * Nemesis packages to use instead of those `config.nemesis` names (tests that aim faults at
     * one target, the writer say, where a random target would make the outcome a matter of luck).
     */
    readonly nemesisPackages?: readonly NemesisPackage[];
  } = {},
): PreparedRun {
  // A system of real processes (process mode) gets the run's folder and the node-log sink.
  const runPlace: RunPlace | undefined =
    config.mode === "process"
      ? { dir: "", log: (node, timeNs, line) => runPlace?.nodeLogs?.write(node, timeNs, line) }
      : undefined;
  const build: BuildConfig = {
    ...buildConfigOf(config),
    ...(runPlace !== undefined ? { run: runPlace } : {}),
  };
  const system = lookupSystem(config.system).build(build);
  const workload: Workload = lookupWorkload(config.workload).build(build);
  const nemesisPackages = options.nemesisPackages ?? config.nemesis.map((n) => nemeses[n]!(build));
  return {
    build,
    system,
    workload,
    ...(nemesisPackages.length > 0
      ? {
          nemesis: composeNemeses(nemesisPackages.map((p) => p.nemesis)),
          nemesisGenerator: any(...nemesisPackages.map((p) => p.generator)),
        }
      : {}),
    command: reproduceCommand(config),
    ...(runPlace !== undefined ? { runPlace } : {}),
  };
}

/** Everything `prepareRun` checks, and that the store could hold a run folder: `run --dry-run`. */
export function checkRun(config: RunConfig): PreparedRun {
  const prepared = prepareRun(config);
  const problem = storeRootProblem(config.store);
  if (problem !== undefined) throw new UsageError(`--store ${config.store}: cannot hold runs: ${problem}`);
  return prepared;
}

function openRunDir(config: RunConfig, startedAt: Date, pointLatest: boolean): RunDir {
  try {
    return createRunDir(config.store, config.name, startedAt, pointLatest);
  } catch (error) {
    if (error instanceof StoreError) throw new UsageError(`--store ${config.store}: ${error.message}`);
    throw error;
  }
}

export async function executeRun(config: RunConfig, options: ExecuteOptions = {}): Promise<ExecuteResult> {
  const { build, system, workload, nemesis, nemesisGenerator, command, runPlace } =
    options.prepared ?? prepareRun(config);
  // A run its caller may remove once it has the verdict (discardedWith) becomes store/latest only
  // once it is kept, below: a gate's last seed that held left `latest` naming a folder gone.
  const runDir = openRunDir(config, options.startedAt ?? new Date(), options.discardedWith === undefined);
  const artifacts = new ArtifactLog(runDir.dir);
  const asked = {
    ...config,
    reproduceCommand: command,
    // What the system promised with these options (faultline check reads it back).
    ...(build.promisedModel !== undefined ? { promisedModel: build.promisedModel } : {}),
  };
  artifacts.write("test.json", JSON.stringify(asked, null, 2) + "\n");
  // A simulated run records thousands of ops per real millisecond: lines are written in batches
  // at most 50 real ms late (a SIGKILL loses no more; see HistoryWriter).
  const history = new StreamedHistory(
    runDir.historyPath,
    artifacts,
    historyBufferMs,
    // Read back only as much as the bound for op objects lets a run hold (two entries an operation).
    2 * (options.maxOperations ?? maxRunOperations),
  );
  const nodeLogs = new NodeLogs(runDir.dir);
  if (runPlace !== undefined) {
    runPlace.dir = runDir.dir;
    runPlace.nodeLogs = nodeLogs;
  }

  // Process mode: every node of a portable program its own OS process, the wall clock and the
  // seeded randomness of a real world; a system that runs its own processes (PostgreSQL) uses the
  // same world's clock and stops its processes in its teardown.
  // The process world (and execa with it) is loaded only for a run in process mode.
  const processMode =
    config.mode === "process" ? await import("../harness/runtime/process/world.ts") : undefined;
  const processWorld =
    processMode === undefined
      ? undefined
      : new processMode.ProcessWorld({ seed: config.seed, runDir: runDir.dir, endpointLog: nodeLogs.sink });
  const world =
    processWorld !== undefined
      ? processWorld
      : new SimWorld({
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
    mode: config.mode,
    timeLimitNs: build.timeLimitNs,
    storeDir: runDir.dir,
    reproduceCommand: command,
  });

  // What the run keeps of its history: counts and the report's history (client values left out).
  // The history itself is the file, checked once complete; in memory only if the disk refuses it.
  const recorded = new RunTally();
  let abortedAtNs: number | undefined;
  let runFailure: string | undefined;
  let startFailure: NodeStartError | undefined;
  let durable: Promise<unknown> = Promise.resolve();
  let historyDurable: Promise<void> = Promise.resolve();
  let tornDown = false;
  const teardown = async (): Promise<void> => {
    if (tornDown) return;
    tornDown = true;
    const stopping = system.teardown(world);
    if (processWorld === undefined) return stopping;
    // Every process the world or a process supervisor started is killed after this anyway
    // (processWorld.close, the supervisors' exit hook and reaper): past the limit, stop waiting.
    const limitMs = options.teardownLimitMs ?? processTeardownLimitMs;
    if ((await settledWithin(stopping, limitMs, undefined)) === "late")
      throw new Error(
        `the system's teardown did not finish within ${limitMs / 1000} s; every process the run started was killed`,
      );
  };
  let nemesisFailures: readonly NemesisFailure[] = [];
  // The bound on client operations stops the run as a signal does (see `maxRunOperations`): the
  // streamed one while the file takes the history and the checkers stream it, else the other.
  const runCheck = runCheckOf(config.workload, workload, build, join(runDir.dir, "test.json"));
  const streams = runCheck.gatheredCheckers !== undefined;
  const operationBound = boundOnOperations(options, streams);
  const signal =
    options.signal === undefined
      ? operationBound.signal
      : AbortSignal.any([options.signal, operationBound.signal]);
  let invoked = 0;
  // A plugin's client, generator or node control that loops for good would hold the process for
  // good: watched until the checkers start (harness/mainThreadWatch.ts; the bin's process only).
  const foreignCode = !Object.hasOwn(systems, config.system) || !Object.hasOwn(workloads, config.workload);
  const releaseWatch = foreignCode
    ? armMainThreadWatch(() => {
        history.flushNow();
        return `the history recorded up to there is in ${runDir.historyPath}`;
      })
    : () => {};
  try {
    const outcome = await world.run(async () => {
      if (processWorld === undefined) await system.setup(world);
      else {
        const limitMs = options.setupLimitMs ?? processSetupLimitMs;
        const setup = system.setup(world);
        const started = await settledWithin(setup, limitMs, options.signal);
        if (started === "aborted") {
          // Interrupted while starting: a setup that is getting on may finish first, so that the
          // teardown stops every server it started rather than race it; one that does not is left
          // (its processes die with the harness: exit hook, reaper, watchdog).
          abortedAtNs = world.nowNs();
          await settledWithin(setup, Math.min(setupAbortGraceMs, limitMs), undefined);
          return undefined;
        }
        if (started === "late")
          throw new Error(
            `the system's setup did not finish within ${limitMs / 1000} s (is a server not starting? see nodes/)`,
          );
      }
      if (processWorld !== undefined) {
        await processWorld.nodesStarted();
        // Real servers a system started itself (PostgreSQL) take seconds to start; the test's
        // time starts once they serve, so the start-up counts neither against the time limit nor
        // in the nemesis schedule. (The world's own nodes share its clock: it stays then.)
        const setupNs = processWorld.restartClockIfNoNodes();
        if (setupNs !== undefined)
          for (const endpoint of nodeLogs.endpoints())
            nodeLogs.write(
              endpoint,
              0,
              `setup took ${(setupNs / secondNs).toFixed(3)} s; test time starts here`,
            );
      }
      const result = await runTest(world, {
        concurrency: config.concurrency,
        system,
        clientGenerator: workload.generator,
        ...(nemesis !== undefined ? { nemesis } : {}),
        ...(nemesisGenerator !== undefined ? { nemesisGenerator } : {}),
        ...(workload.finalGenerator !== undefined ? { finalGenerator: workload.finalGenerator } : {}),
        opTimeoutNs: 5 * secondNs,
        recoveryDelayNs: options.recoveryDelayNs ?? (config.mode === "process" ? 5 : 10) * secondNs,
        keepHistory: false,
        record: (op) => {
          recorded.add(op);
          history.append(op);
          if (op.type === "invoke" && typeof op.process === "number")
            operationBound.invoked(++invoked, history.inMemory !== undefined);
        },
        ...(options.observer !== undefined ? { observer: options.observer } : {}),
        signal,
      });
      await teardown();
      return result;
    });
    if (outcome !== undefined) {
      abortedAtNs = outcome.abortedAtNs;
      nemesisFailures = outcome.nemesisFailures;
    }
  } catch (error) {
    if (processMode !== undefined && error instanceof processMode.NodeStartError) startFailure = error;
    runFailure = `the run stopped at ${(world.nowNs() / secondNs).toFixed(3)} s of test time: ${
      error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    }`;
  } finally {
    // Real processes are stopped whatever happened; a simulated world simply ends.
    try {
      if (processWorld !== undefined) {
        await teardown().catch(() => undefined);
        await processWorld.close();
      }
    } finally {
      releaseWatch();
    }
    // The history is checked from its file once the file is on stable storage; the node logs reach
    // the disk meanwhile. The closing files wait for both (below), so a results.json never
    // survives a power cut its history did not.
    historyDurable = history.closeDurably();
    durable = Promise.all([historyDurable, nodeLogs.closeDurably()]);
  }
  // A node that could not start is the harness's failure, not the system's: no verdict.
  if (startFailure !== undefined) {
    await durable.catch(() => undefined);
    throw startFailure;
  }

  const interrupted: Interruption | undefined =
    abortedAtNs === undefined
      ? undefined
      : { signal: abortReason(signal), atTestTimeNs: abortedAtNs, timeLimitNs: build.timeLimitNs };
  const operations = recorded.operations;
  await options.onChecking?.({ operations, interrupted: interrupted !== undefined });
  const checkerResults: Record<string, CheckResult> = {};
  if (runFailure !== undefined) {
    checkerResults["run"] = {
      valid: "unknown",
      reason: `${runFailure}; the history up to there was checked`,
    };
  }
  if (interrupted !== undefined) checkerResults["interrupted"] = interruptedResult(interrupted, operations);
  if (nemesisFailures.length > 0) checkerResults["nemesis"] = nemesisFailuresResult(nemesisFailures);
  const nodeErrors = nodeErrorsResult(world.nodeErrors());
  if (nodeErrors !== undefined) checkerResults["node-errors"] = nodeErrors;
  // The one checking path: the history file, once whole and on stable storage, checked as
  // `faultline check` checks a stored run (its checkers rebuilt from test.json are these), with
  // the same default budget: the same results, the same computation.
  await historyDurable;
  const testLengthNs = runTestLengthNs(build.timeLimitNs, {
    ended: true,
    ...(interrupted !== undefined ? { interrupted } : {}),
    ...(runFailure !== undefined ? { failure: runFailure } : {}),
  });
  Object.assign(
    checkerResults,
    await checkHistory(history, recorded, runCheck, options.checkBudget, testLengthNs),
  );
  const composed = composeResults(checkerResults);
  const results: Results = interrupted === undefined ? composed : { ...composed, interrupted };

  // test.json: what was asked, and now what was recorded.
  const testJson = {
    ...asked,
    recorded: {
      operations,
      historyEntries: recorded.entries,
      testTimeNs: recorded.lastTimeNs,
      ...(interrupted !== undefined ? { interrupted } : {}),
      ...(runFailure !== undefined ? { failure: runFailure } : {}),
      ...(history.complete ? {} : { historyCutShort: true }),
    },
  };
  const reportInput: ReportInput = {
    testName: config.name,
    seed: config.seed,
    storeDir: runDir.dir,
    reproduceCommand: command,
    config: testJson,
    // Made into op objects only when a report is rendered (not for a discarded seed's run).
    get history() {
      return recorded.reportHistory;
    },
    results,
    nodeLogs: nodeLogs.endpoints(),
  };
  await durable;
  // The closing files together: their fsyncs overlapping, each folder fsynced once, after its last
  // file (see atomic.ts).
  if (options.discardedWith?.(results) !== true) {
    const shown: ReportInput = { ...reportInput, ...reportHistoryShown(history, recorded) };
    await artifacts.togetherOverlapping(() => {
      artifacts.write("test.json", JSON.stringify(testJson, null, 2) + "\n");
      writeAnomalyFiles(artifacts, checkerResults);
      writeReports(runDir.dir, shown, artifacts);
    });
    if (options.discardedWith !== undefined) pointLatestOnceKept(runDir, artifacts);
  }
  let whole: readonly Op[] | undefined;
  return {
    results,
    storeDir: runDir.dir,
    get history() {
      return (whole ??= wholeRunHistory(history, recorded.entries));
    },
    operations,
    aborted: interrupted !== undefined,
    reproduceCommand: command,
    reportInput,
    unwritten: [...artifacts.unwritten(), ...nodeLogs.unwritten()],
  };
}

/** Points store/latest at a kept run that did not at its start (see `openRunDir`'s caller). */
function pointLatestOnceKept(runDir: RunDir, artifacts: ArtifactLog): void {
  try {
    pointLatestAt(runDir.root, runDir.dir);
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    artifacts.record({ file: join("..", "..", "latest"), reason: fileSystemReason(error) });
  }
}

/** How late (real ms) a run's history lines may reach the file: they are written in batches. */
export const historyBufferMs = 50;

/**
 * The bound on a run's client operations, as an abort: the streamed bound while the run's history
 * streams from its file into checkers that take it so, else (`inMemory`: the disk refused the
 * file; or checkers that take the whole history) the bound for op objects.
 */
function boundOnOperations(
  options: ExecuteOptions,
  streams: boolean,
): { readonly signal: AbortSignal; invoked(count: number, inMemory: boolean): void } {
  const objectsBound = options.maxOperations ?? maxRunOperations;
  const streamedBound = options.maxStreamedOperations ?? maxStreamedRunOperations;
  const controller = new AbortController();
  return {
    signal: controller.signal,
    invoked(count, inMemory) {
      const bound = inMemory || !streams ? objectsBound : streamedBound;
      if (controller.signal.aborted || count < bound) return;
      controller.abort(
        `its bound of ${formatCount(bound)} operations (${
          inMemory
            ? "a run's history is kept in memory to be checked"
            : streams
              ? "what checking a run's history as it streams from its file holds in memory"
              : "a run's history is read back into memory to be checked"
        })`,
      );
    },
  };
}

/**
 * The checkers' results on the run's history: from its file, through `faultline check`'s path,
 * when the file holds it all; else on the history kept in memory (the disk refused the file).
 */
async function checkHistory(
  history: StreamedHistory,
  recorded: RunTally,
  runCheck: StoredRunCheck,
  checkBudget: BudgetLimits | undefined,
  /** How long the test ran, when that is known (runTestLengthNs): a throughput is over it. */
  testLengthNs: number | undefined,
): Promise<Record<string, CheckResult>> {
  const length = testLengthNs !== undefined ? { testLengthNs } : {};
  const budget = { ...defaultCheckLimits(), ...(checkBudget ?? {}) };
  if (history.prefixLost !== undefined)
    return {
      history: {
        valid: "unknown",
        reason: `the disk refused history.jsonl, and the lines written to it before were not read back to be checked (${history.prefixLost}): the history was not checked`,
      },
    };
  // Nothing recorded: no file worth reading (an empty file is no history to `faultline check`).
  const inMemory = history.inMemory ?? (recorded.entries === 0 ? [] : undefined);
  if (inMemory !== undefined) return await runCheckers(runCheck.checkers, inMemory, { budget, ...length });
  const { checkRunHistory } = await import("./check.ts");
  // The file must hold the entries the run wrote (its own record, as test.json will say): one cut
  // short or changed since is checked as it is, and the verdict says so (unknown, never valid).
  const recordedCheck = { ...runCheck, record: { ended: true, entries: recorded.entries, ...length } };
  const outcome = await checkRunHistory(history.path, recordedCheck, budget);
  if (outcome.results !== undefined) return outcome.results.checkers;
  return {
    history: {
      valid: "unknown",
      reason: `history.jsonl could not be checked: ${String(outcome.json["error"] ?? outcome.json["reason"])}`,
    },
  };
}

/**
 * The report's history with the values its HTML timeline shows: read back from the file (or
 * taken from the history kept in memory, or from the ops a short history's tally kept whole); and,
 * but for the history kept in memory, its client operations, paired once here for both the choice
 * of those values and the report.
 */
function reportHistoryShown(
  history: StreamedHistory,
  recorded: RunTally,
): Pick<ReportInput, "history" | "clientOps"> {
  if (history.inMemory !== undefined && history.prefixLost === undefined)
    return { history: history.inMemory };
  const paired = clientOps(recorded.reportHistory);
  const wanted = new Set(timelineValueIndices(paired));
  const valueless = { history: recorded.reportHistory, clientOps: paired };
  if (wanted.size === 0) return valueless;
  let full: Map<number, Op>;
  const whole = recorded.wholeOps;
  if (whole !== undefined) full = new Map([...wanted].map((index) => [index, whole[index]!]));
  else {
    try {
      full = recordedOpsAt(history.path, wanted, recorded.entries);
    } catch (error) {
      // A file the disk refuses, or one that no longer holds what the run recorded (which the
      // verdict says: checkHistory compared them), gives the timeline no values, not others.
      if (!isFileSystemError(error) && !(error instanceof HistoryNotAsRecorded)) throw error;
      return valueless;
    }
  }
  return { history: withValuesOf(recorded.reportHistory, full), clientOps: withClientValuesOf(paired, full) };
}

/**
 * `ops` with the invocations and completions at `fullOps`' indices replaced by theirs: the pairs
 * `clientOps` would make of the history with those ops replaced (pairing reads no value).
 */
function withClientValuesOf(ops: readonly ClientOp[], fullOps: ReadonlyMap<number, Op>): ClientOp[] {
  return ops.map((op) => {
    const invoke = fullOps.get(op.invoke.index);
    const complete = op.complete === undefined ? undefined : fullOps.get(op.complete.index);
    if (invoke === undefined && complete === undefined) return op;
    return op.complete === undefined
      ? { process: op.process, f: op.f, invoke: invoke ?? op.invoke, outcome: op.outcome }
      : {
          process: op.process,
          f: op.f,
          invoke: invoke ?? op.invoke,
          outcome: op.outcome,
          complete: complete ?? op.complete,
        };
  });
}

/** The name of what aborted the run: the reason given to `abort` when it is a string. */
function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  return typeof reason === "string" ? reason : "an abort";
}

/**
 * The verdict of an interrupted run, as its own result: "unknown", because the test asked for was
 * not run to its end. It composes with the checkers' verdicts on the recorded prefix: an anomaly
 * there is real and keeps the run invalid; none found leaves it unknown, never valid.
 */
export function interruptedResult(interruption: Interruption, operations: number): CheckResult {
  return {
    valid: "unknown",
    reason:
      `interrupted by ${interruption.signal} at ${formatDurationNs(interruption.atTestTimeNs)} of test time ` +
      `(${formatDurationNs(interruption.timeLimitNs)} asked); the ${formatCount(operations)} operations ` +
      `recorded were checked, but the test did not run to its end`,
    signal: interruption.signal,
    atTestTimeNs: interruption.atTestTimeNs,
    timeLimitNs: interruption.timeLimitNs,
  };
}

/** "interrupted by SIGINT at 3.19 s of test time: 327 operations recorded and checked", or undefined. */
export function interruptionLine(result: ExecuteResult): string | undefined {
  const i = result.results.interrupted;
  if (i === undefined) return undefined;
  return (
    `interrupted by ${i.signal} at ${formatDurationNs(i.atTestTimeNs)} of test time: ` +
    `${formatCount(result.operations)} operations recorded and checked`
  );
}

/** One line saying what of the run folder could not be written, or undefined when all was. */
export function unwrittenLine(result: ExecuteResult): string | undefined {
  const line = unwrittenSummary(result.storeDir, result.unwritten);
  return line === undefined ? undefined : scrubControls(line);
}

/**
 * `--quiet`'s output: the verdict per checker, the store folder and the reproduce command, with
 * control characters from a history, a reason or a path shown as escapes, as in every report.
 */
export function plainSummary(config: RunConfig, results: Results, storeDir: string, command: string): string {
  const lines = [`${config.name}: ${verdictWord(results.valid)}`];
  for (const [name, r] of Object.entries(results.checkers)) {
    lines.push(`  ${name}: ${verdictWord(r.valid)}${typeof r.reason === "string" ? ` (${r.reason})` : ""}`);
  }
  lines.push(`store: ${storeDir}`, `reproduce: ${command}`);
  return lines.map((line) => scrubControls(line.replace(/[\r\n]+/g, " "))).join("\n") + "\n";
}

function verdictWord(v: Results["valid"]): string {
  return v === true ? "valid" : v === false ? "INVALID" : "unknown";
}

/**
 * One text file per anomaly class found, with every case kept in full: `elle/<anomaly>.txt` for
 * the Elle checkers (Elle's own layout), `<checker>/<anomaly>.txt` for the others.
 */
function writeAnomalyFiles(artifacts: ArtifactLog, checkerResults: Record<string, CheckResult>): void {
  for (const [name, result] of Object.entries(checkerResults)) {
    const files = elleReportFiles(result);
    if (Object.keys(files).length === 0) continue;
    const folder = Array.isArray(result.not) ? "elle" : name.replace(/[^A-Za-z0-9._-]/g, "_");
    try {
      mkdirSync(join(artifacts.dir, folder), { recursive: true });
    } catch (error) {
      if (!isFileSystemError(error)) throw error;
      artifacts.record({ file: `${folder}/`, reason: fileSystemReason(error) });
      continue;
    }
    for (const [file, text] of Object.entries(files)) artifacts.write(`${folder}/${file}`, text);
  }
}

/**
 * A nemesis that failed (an invocation threw, a node control call's promise was rejected) did not
 * apply the faults the test asked for, so the run did not test what it says: "unknown", never
 * valid. An anomaly found all the same is real and keeps the run invalid.
 */
export function nemesisFailuresResult(failures: readonly NemesisFailure[]): CheckResult {
  const shown = failures
    .slice(0, 3)
    .map((f) => `${f.what} at ${(f.timeNs / secondNs).toFixed(3)} s: ${f.error}`)
    .join("; ");
  const more = failures.length > 3 ? `; and ${failures.length - 3} more` : "";
  return {
    valid: "unknown",
    reason: `the nemesis failed ${failures.length} time${failures.length === 1 ? "" : "s"} (${shown}${more}), so the faults asked for were not all applied`,
    failures: failures.map((f) => ({ ...f })),
  };
}

/**
 * Waits for `work` at most `limitMs` real ms, and no longer than until `signal` aborts: "done"
 * (a rejection is thrown), "late" or "aborted".
 */
async function settledWithin(
  work: Promise<unknown>,
  limitMs: number,
  signal: AbortSignal | undefined,
): Promise<"done" | "late" | "aborted"> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const late = new Promise<"late" | "aborted">((resolve) => {
    timer = setTimeout(() => resolve("late"), limitMs);
    onAbort = () => resolve("aborted");
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
  // A teardown abandoned after its limit may still fail: that must not go unhandled.
  work.catch(() => undefined);
  try {
    return await Promise.race([work.then(() => "done" as const), late]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}

/** The one anomaly class of the node-errors result: a node process that died on its own error. */
export const nodeErrorsAnomalyClasses = ["process-died"] as const;

/**
 * Jepsen's log-file-pattern checker: a node process that died on an error of its
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
