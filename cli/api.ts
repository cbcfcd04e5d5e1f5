/**
 * faultline as a library: the package's public API (`import … from "faultline"`). It is small on
 * purpose, in the spirit of Porcupine's four files: run a test, check a history, read and write
 * histories, call the checkers, and the interfaces a user implements to test their own database
 * (a system definition with its clients and node control, a workload, a linearizability model).
 *
 * Like the command line, this is a composition root: it assembles the parts the CLI assembles,
 * through the same code (`runTest` is `faultline run`, `checkHistory` is `faultline check`), so a
 * result from the API and one from the command line never differ.
 */
import { readHistoryFile, type HistoryFormat } from "../harness/history/read.ts";
import type { Op } from "../harness/history/op.ts";
import { Budget, BudgetExhausted, budgetMistake, type BudgetLimits } from "../harness/budget.ts";
import { defaultCheckLimits, runCheckers } from "../harness/checker.ts";
import {
  checkWorkloadNames,
  type CheckWorkloadName,
  type WorkloadCheckOptions,
} from "../workloads/checkNames.ts";
import { HistoryShapeError } from "../harness/history/op.ts";
import type { CheckResult } from "../harness/results.ts";
import * as bank from "../checkers/bank/index.ts";
import * as elle from "../checkers/elle/index.ts";
import * as linearizable from "../checkers/linearizable/index.ts";
import * as setFull from "../checkers/set-full/index.ts";
import * as stats from "../checkers/stats/index.ts";
import { describeFound, HistoryShapeTracker, opProblem } from "../harness/history/validate.ts";
import type { LinearizableModel } from "../checkers/linearizable/model.ts";
import { composeResults, type Results } from "../harness/results.ts";
import type { RunObserver } from "../harness/runner/events.ts";
import type { SystemDefinition, SystemOptionValue } from "../harness/systemDefinition.ts";
import type { WorkloadDefinition } from "../harness/workload.ts";
import { planCheck, planCheckOptions, resultsOfPlan } from "./check.ts";
import { isModulePath, loadRunPlugins, useSystem, useWorkload } from "./plugins.ts";
import { resolveRunConfig, type RunConfig } from "./runConfig.ts";

// ── The interfaces a user implements ─────────────────────────────────────────────────────────
export type {
  Client,
  Completion,
  Invocation,
  NodeControl,
  NodeInfo,
  SystemUnderTest,
} from "../harness/system.ts";
export { worldNodeControl } from "../harness/system.ts";
export type {
  RunMode,
  SystemConfig,
  SystemDefinition,
  SystemOption,
  SystemOptionValue,
} from "../harness/systemDefinition.ts";
export { defineSystem } from "../harness/systemDefinition.ts";
export type { Workload, WorkloadDefinition } from "../harness/workload.ts";
export { defineWorkload } from "../harness/workload.ts";
export type { BuildConfig } from "../harness/testConfig.ts";
export type { Checker, CheckContext } from "../harness/checker.ts";
export type { Nemesis, NemesisContext } from "../harness/nemesis.ts";
export type {
  Clock,
  ClockSetting,
  Disk,
  Grudge,
  LinkFaults,
  NetworkEndpoint,
  NodeProgram,
  Random,
  Runtime,
  World,
} from "../harness/runtime/types.ts";
export * as generators from "../harness/generator/index.ts";

// ── Real processes and links, for systems that run real servers ──────────────────────────────
export {
  ManagedProcess,
  ProcessSupervisor,
  type ProcessExit,
  type ProcessSpec,
} from "../harness/runtime/process/processes.ts";
export { ProxyNetwork, TcpProxy, type ProxyFaults } from "../harness/runtime/process/proxy.ts";
export { freeLoopbackPort, loopbackHost } from "../harness/runtime/process/ports.ts";
export type { GenContext, Generator, OpSpec } from "../harness/generator/index.ts";

// ── Histories ────────────────────────────────────────────────────────────────────────────────
export type { Key, MicroOp, Op, OpType, Process } from "../harness/history/op.ts";
export { HistoryShapeError } from "../harness/history/op.ts";
export type { HistoryFile, HistoryFormat } from "../harness/history/read.ts";
export { readHistoryFile } from "../harness/history/read.ts";
export { HistoryWriter, opToJsonLine, readJsonlHistory } from "../harness/history/jsonl.ts";
export { HistoryFormatError } from "../harness/history/validate.ts";

// ── Results and checkers ─────────────────────────────────────────────────────────────────────
export type { AnomalyCase, CheckResult, Results, Verdict } from "../harness/results.ts";
export { ExitCode, composeResults, exitCodeFor } from "../harness/results.ts";
export type { BudgetLimits } from "../harness/budget.ts";
export type { LinearizableModel, ModelOp } from "../checkers/linearizable/index.ts";
export {
  builtinModel,
  linearizableChecker,
  linearizableModelNames,
  ModelInputError,
} from "../checkers/linearizable/index.ts";
export { elleModelNames } from "../checkers/elle/index.ts";

// The checkers, each refusing a history that is not one (see `historyMistake`): inside faultline
// they are handed histories that were read and validated already; a library caller's array is not.

/** Checks a history against any linearizability model, built-in or the caller's. */
export function checkLinearizable<S>(
  history: readonly Op[],
  model: LinearizableModel<S>,
  options?: Parameters<typeof linearizable.checkLinearizable>[2],
): CheckResult {
  refuseMistake(historyMistake("checkLinearizable", history));
  return linearizable.checkLinearizable(history, model, options);
}

/**
 * `check` as the library exports it: the same function, refusing first a history that is not one,
 * under the name `name` in its errors.
 */
function refusingNonHistories<Rest extends unknown[]>(
  name: string,
  check: (history: readonly Op[], ...rest: Rest) => CheckResult,
): (history: readonly Op[], ...rest: Rest) => CheckResult {
  return (history, ...rest) => {
    refuseMistake(historyMistake(name, history));
    return check(history, ...rest);
  };
}

/** Checks a history against a built-in linearizability model by name. */
export const checkLinearizableHistory = refusingNonHistories(
  "checkLinearizableHistory",
  linearizable.checkLinearizableHistory,
);
/** Elle's transactional checks (list-append or rw-register) of a history. */
export const checkElleHistory = refusingNonHistories("checkElleHistory", elle.checkElleHistory);
/** The bank checker: every read sums to the total, no account negative (unless allowed). */
export const checkBankHistory = refusingNonHistories("checkBankHistory", bank.checkBankHistory);
/** Jepsen's set-full checker: every acknowledged add is read, and stays read. */
export const checkSetFullHistory = refusingNonHistories("checkSetFullHistory", setFull.checkSetFullHistory);
/** The stats checker: per operation, ok, fail and info counts, latencies, availability. */
export const checkStatsHistory = refusingNonHistories("checkStatsHistory", stats.checkStatsHistory);

/** Identity, for typing a model module: `export default defineModel<number>({ … })`. */
export function defineModel<S>(model: LinearizableModel<S>): LinearizableModel<S> {
  return model;
}

// ── Check a history ──────────────────────────────────────────────────────────────────────────

export interface CheckHistoryOptions {
  /**
   * A built-in linearizability model's name (`cas-register`, `kv`, …), a model object, or, with
   * `workload`, an Elle consistency model (`serializable`, `snapshot-isolation`, …).
   */
  readonly model?: string | LinearizableModel;
  /**
   * Check with a workload's checkers, as `faultline check --workload`: `append`, `rw-register`,
   * `bank`, `set`, `write-skew`, `register`, `long-fork`, `counter`.
   */
  readonly workload?: CheckWorkloadName;
  /** The parameters of a workload's checkers (bank accounts and total, group size, …). */
  readonly workloadOptions?: WorkloadCheckOptions;
  /** A built-in model's initial state. */
  readonly init?: unknown;
  /** Split a linearizability check by key (default true). */
  readonly partition?: boolean;
  readonly budget?: BudgetLimits;
}

/**
 * Why `history`, given to the library function `caller`, is not a history, as the error to throw:
 * not an array (a TypeError), or an entry that is not an operation or does not pair with the rest
 * (a HistoryShapeError naming the entry), as `faultline check` refuses such a file. Before, an
 * array of non-operations met misleading errors deep inside ("process undefined completed an
 * operation it never invoked"), TypeErrors, or answers: the stats checker called `[{}]` valid.
 */
function historyMistake(caller: string, history: unknown, orElse = ""): Error | undefined {
  if (!Array.isArray(history)) {
    return new TypeError(
      `${caller}: expected a history (an array of operations)${orElse}; got ${describeFound(history)}`,
    );
  }
  const shape = new HistoryShapeTracker();
  for (let i = 0; i < history.length; i++) {
    const problem = opProblem(history[i]) ?? shape.check(history[i] as Op);
    if (problem !== undefined)
      return new HistoryShapeError(`${caller}: operation ${i} of the history: ${problem}`);
  }
  return undefined;
}

function refuseMistake(mistake: Error | undefined): void {
  if (mistake !== undefined) throw mistake;
}

/**
 * What is wrong with `checkHistory`'s arguments, as the error to throw, or undefined. The
 * command line refuses these at its parser (and reads only well-formed files); a caller of the
 * API, from JavaScript or with a cast, reaches the checkers with whatever it passes. Before, an
 * unknown workload and a history of `null` were TypeErrors from deep inside ("Cannot read
 * properties of undefined"), and a budget of NaN no bound at all.
 */
function checkHistoryMistake(history: unknown, options: CheckHistoryOptions): Error | undefined {
  if (typeof history !== "string") {
    const mistake = historyMistake("checkHistory", history, " or the path of a history file");
    if (mistake !== undefined) return mistake;
  }
  const { workload, budget } = options;
  if (workload !== undefined && !(checkWorkloadNames as readonly unknown[]).includes(workload)) {
    return new RangeError(
      `checkHistory: unknown workload ${describeFound(workload)}; expected one of ${checkWorkloadNames.join(", ")}`,
    );
  }
  return budget === undefined ? undefined : budgetMistake(budget);
}

/** `checkHistory`'s answer: the results, and the torn last line of a file it left out, if any. */
export type CheckHistoryResults = Results & {
  /**
   * A JSONL file's torn last line (no line break after it, not JSON: a writer killed mid-line),
   * left out as `faultline check` leaves it out: the results are the lines' before it. `check
   * --json` says it by the same name.
   */
  readonly tornLastLine?: number;
};

/**
 * Checks a history (operations, or the path of a file in any format `faultline check` reads) as
 * `faultline check` does: a store's history.jsonl as its run checked it (test.json beside it);
 * with neither `model` nor `workload`, the content decides (an etcd log is a cas-register, append
 * micro-ops are Elle list-append) and an undecidable history throws.
 */
export async function checkHistory(
  history: readonly Op[] | string,
  options: CheckHistoryOptions = {},
): Promise<CheckHistoryResults> {
  refuseMistake(checkHistoryMistake(history, options));
  // `faultline check`'s limits: reading counts against the time, checking against steps too.
  const limits = { ...defaultCheckLimits(), ...options.budget };
  const budget = new Budget({ timeLimitMs: limits.timeLimitMs, memoryLimitBytes: limits.memoryLimitBytes });
  let ops: readonly Op[];
  let format: HistoryFormat = "jsonl";
  let tornLastLine: number | undefined;
  if (typeof history === "string") {
    try {
      ({ ops, format, tornLastLine } = await readHistoryFile(history, budget));
    } catch (error) {
      if (!(error instanceof BudgetExhausted)) throw error;
      return composeResults({
        read: { valid: "unknown", reason: `${error.reason} while reading the history` },
      });
    }
  } else ops = history;
  const modelPlugin = typeof options.model === "object" ? options.model : undefined;
  const plan = await planCheck(
    {
      files: [],
      ...(options.workload !== undefined ? { workload: options.workload } : {}),
      ...(typeof options.model === "string" ? { model: options.model } : {}),
      ...(modelPlugin !== undefined ? { model: modelPlugin.name, modelPlugin } : {}),
      init: options.init,
      hasInit: Object.hasOwn(options, "init"),
      partition: options.partition ?? true,
      workloadOptions: {
        ...(typeof options.model === "string" ? { model: options.model } : {}),
        ...(Object.hasOwn(options, "init") ? { init: options.init, hasInit: true } : {}),
        partition: options.partition ?? true,
        ...options.workloadOptions,
      },
      json: false,
      progress: "never",
      budget: options.budget ?? {},
      help: false,
    },
    format,
    ops,
    typeof history === "string" ? history : undefined,
  );
  // The time limit runs from the start of reading; steps count from here.
  const checking = new Budget(limits, undefined, performance.now() - budget.elapsedMs());
  // A stored run's history counts what its run recorded (killed, interrupted, cut short), as
  // `faultline check` counts it: before, the library gave such a prefix its checkers' verdict alone.
  const results = await resultsOfPlan(
    plan,
    await runCheckers(plan.checkers, ops, {
      budget: checking,
      ...planCheckOptions(plan),
      onError: (_c, error) => {
        throw error;
      },
    }),
    ops.length,
  );
  return tornLastLine === undefined ? results : { ...results, tornLastLine };
}

// ── Run a test ───────────────────────────────────────────────────────────────────────────────

export interface RunTestOptions {
  /** A built-in system's name, the path of a plugin module, or a definition (default: engine). */
  readonly system?: string | SystemDefinition;
  /** A built-in workload's name, the path of a plugin module, or a definition. */
  readonly workload?: string | WorkloadDefinition;
  /** Nemesis packages (`["partition", "crash"]`), or "none". */
  readonly nemesis?: string | readonly string[];
  readonly nemesisIntervalS?: number;
  readonly nodes?: number;
  readonly concurrency?: number;
  readonly timeLimitS?: number;
  readonly ratePerS?: number;
  readonly seed?: number;
  readonly mode?: "sim" | "process";
  /** Where runs are stored (default ./store). */
  readonly store?: string;
  readonly name?: string;
  /** The consistency model transactional workloads are checked against. */
  readonly model?: string;
  /** The system's options by name, as on the command line: `{ replication: "async" }`. */
  readonly systemOptions?: Readonly<Record<string, SystemOptionValue>>;
  readonly signal?: AbortSignal;
  readonly observer?: RunObserver;
}

export interface RunTestResult {
  readonly results: Results;
  readonly storeDir: string;
  /**
   * The run's history, read back from `storeDir`'s history.jsonl when first asked for (a run keeps
   * none in memory): a run of millions of operations costs nothing here until it is read. Exactly
   * the entries the run recorded; if the file no longer holds them (cut short, rotated, changed),
   * reading it throws an error saying so rather than giving a part as the whole.
   */
  readonly history: readonly Op[];
  readonly aborted: boolean;
  readonly reproduceCommand: string;
  readonly config: RunConfig;
}

/** The command-line arguments `faultline run` would take for these options. */
function argsOf(options: RunTestOptions, system: string | undefined, workload: string | undefined): string[] {
  const args: string[] = [];
  const add = (name: string, value: unknown) => {
    if (value !== undefined) args.push(`--${name}=${String(value)}`);
  };
  add("system", system);
  add("workload", workload);
  add(
    "nemesis",
    typeof options.nemesis === "string" ? options.nemesis : options.nemesis?.join(",") || undefined,
  );
  if (Array.isArray(options.nemesis) && options.nemesis.length === 0) add("nemesis", "none");
  add("nemesis-interval", options.nemesisIntervalS);
  add("nodes", options.nodes);
  add("concurrency", options.concurrency);
  add("time-limit", options.timeLimitS);
  add("rate", options.ratePerS);
  add("seed", options.seed);
  add("mode", options.mode);
  add("store", options.store);
  add("name", options.name);
  add("model", options.model);
  for (const [name, value] of Object.entries(options.systemOptions ?? {})) {
    if (value === true) args.push(`--${name}`);
    else if (value === false) continue;
    else if (Array.isArray(value)) for (const v of value) add(name, v);
    else add(name, value);
  }
  args.push("--quiet");
  return args;
}

/**
 * Runs a test as `faultline run` does: builds the system, workload and nemeses, runs them, stores
 * the history and reports under `store`, checks the history. Bad options throw one-line errors.
 */
export async function runTest(options: RunTestOptions = {}): Promise<RunTestResult> {
  const system = typeof options.system === "object" ? useSystem(options.system) : options.system;
  const workload = typeof options.workload === "object" ? useWorkload(options.workload) : options.workload;
  await loadRunPlugins(
    system !== undefined && isModulePath(system) ? system : undefined,
    workload !== undefined && isModulePath(workload) ? workload : undefined,
  );
  const config = resolveRunConfig(argsOf(options, system, workload));
  if (config === "help") throw new Error("internal: help asked for");
  const { executeRun } = await import("./execute.ts");
  const result = await executeRun(config, {
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.observer !== undefined ? { observer: options.observer } : {}),
  });
  return {
    results: result.results,
    storeDir: result.storeDir,
    // Read from the file when first asked for (executeRun's own getter), not here: a long run's
    // history as op objects can outgrow the heap the run itself never needed.
    get history() {
      return result.history;
    },
    aborted: result.aborted,
    reproduceCommand: result.reproduceCommand,
    config,
  };
}
