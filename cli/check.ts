/**
 * `faultline check FILE...`: checks recorded histories, in any format `readHistoryFile` knows
 * (from files, pipes or standard input, `-`), one after another in this one process, and prints
 * one verdict line per file (or, with
 * `--json`, one JSON line holding the results object plus "file"). The exit code is the worst of
 * the files': a file that cannot be read counts 254 for itself while the others are still checked.
 *
 * What to check: a store's `history.jsonl` is checked as its run checked it (`test.json` beside
 * it: the same workload's checkers, model and parameters, through the same `runCheckers` and the
 * same default budget, so the results are the run's; an append run's history streams like any
 * other list-append JSONL file, below). Otherwise `--workload NAME` uses that
 * workload's checkers (workloads/checking.ts: parameters from options or inferred from the
 * history), `--model` alone checks linearizability against a model; with neither, the content
 * decides, and the verdict line says what it inferred: an etcd Jepsen log is a cas-register
 * starting at null, a Porcupine kv history is a kv store, transactions with append micro-ops are an
 * Elle list-append history; anything else asks for --model or --workload.
 *
 * Budgets: the run's defaults (steps first; time and memory as outer nets), `--step-limit` and
 * `--time-limit-ms` over them. The time limit covers reading as well as checking, and every long
 * loop charges it, so a check stops within a few milliseconds of it.
 */
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { Budget, BudgetExhausted, type BudgetLimits } from "../harness/budget.ts";
import { CallTimedOut, callWithin } from "../harness/boundedCall.ts";
import { defaultCheckLimits, runCheckers, type CheckContext, type Checker } from "../harness/checker.ts";
import type { HistoryFormat } from "../harness/history/read.ts";
import { detectHistoryFormat, readHistorySource } from "../harness/history/read.ts";
import type { Op } from "../harness/history/op.ts";
import {
  countClientOperations,
  HistoryShapeError,
  nothingToCheck,
  OperationTally,
} from "../harness/history/op.ts";
import { scanJsonl, TornTail, tornLineLeftOut } from "../harness/history/jsonl.ts";
import { ScannedKind, scannedOp, type MicroOpBuffer } from "../harness/history/jsonlScan.ts";
import { HistorySource, sourceName } from "../harness/history/source.ts";
import type { HistoryStatsGatherer } from "../harness/history/historyStats.ts";
import type { GatheredTxns, TxnTableBuilder } from "../checkers/elle/index.ts";
import type { RunRecord, StoredRunCheck } from "./storedRun.ts";
import { HistoryFormatError, visibleText } from "../harness/history/validate.ts";
import { bigintAsDigits, parseJsonExact } from "../harness/history/exactJson.ts";
import type { CheckResult, Results } from "../harness/results.ts";
import { ExitCode, composeResults, exitCodeFor, worstExitCode } from "../harness/results.ts";
import type { LinearizableModel } from "../checkers/linearizable/model.ts";
import {
  checkWorkloadNames,
  type CheckWorkloadName,
  type WorkloadCheckOptions,
} from "../workloads/checkNames.ts";
import { UsageError } from "./main.ts";
import { isModulePath } from "./modulePath.ts";
import { joinNegativeValues, plainWholeNumber } from "./numberArgs.ts";
import { repeatedOptionProblem } from "./repeatedOptions.ts";
import { ciFromEnv, defaultProgressMinBytes, FileProgress } from "./checkProgress.ts";

/**
 * The checkers are loaded when first needed, so that reading a bad file or a bad option never
 * depends on a checker module.
 */
const loadLinearizable = () => import("../checkers/linearizable/index.ts");

/** How long past the time limit a user's model call may run before it is stopped (see callWithin). */
const modelGraceMs = 1_000;
const loadElle = () => import("../checkers/elle/index.ts");
const loadWorkloadChecking = () => import("../workloads/checking.ts");

export const checkUsage = (
  linearizableModelNames: readonly string[],
): string => `Usage: faultline check FILE... [options]

Checks each history file (faultline JSONL, Jepsen history.edn or JSON, Jepsen/etcd logs,
Porcupine kv; "-" reads standard input, and pipes such as /dev/stdin work) and prints one verdict
line per file; exits with the worst code (0 valid, 1 invalid, 2 unknown, 254 bad arguments or
input, 255 internal error). A history with no completed operation is unknown.

A store's history.jsonl is checked as its run checked it: its test.json gives the workload, the
model and their parameters. Otherwise:

  --workload W             check with the checkers of workload W: ${checkWorkloadNamesText}
  --model M                with --workload append, rw-register, bank or write-skew: an Elle
                           consistency model (default strict-serializable); with register, or
                           alone: a linearizability model (${linearizableModelNames.join(", ")}),
                           or the path of a model module (./my-model.ts: see
                           checkers/linearizable/README.md)
  --init JSON              the linearizability model's initial state (e.g. null, 0, "")
  --no-partition           check linearizability on the whole history, not split by key
  --sequential-keys        rw-register: each key is sequentially consistent (Elle's default: off)
  --linearizable-keys      rw-register: each key is linearizable (default off)
  --wfr-keys               rw-register: writes follow reads within a transaction (default off)
  --accounts A,B,...       bank: the accounts (default: the keys every read shows)
  --total N                bank: what every read sums to (default: from the opening write, or
                           unknown, and then the reads must agree with each other)
  --linearizable           set: stale reads are errors (default: reported, as Jepsen's set-full)
  --group-size N           long-fork: keys per group (default: what every read reads)
  --json                   print one JSON line per file: the results plus "file"
  --progress               show progress on standard error for every file (by default only for
                           files of ${defaultProgressMinBytes >> 20} MiB or more): a bar on a terminal, plain lines under
                           CI or when standard error is not a terminal
  -q, --quiet              no progress
  --time-limit-ms N        give up on a file ("unknown") after N ms, reading included
  --step-limit N           give up on a file ("unknown") after N checker steps: the bound that
                           gives the same verdict on every machine
  -h, --help               show this help

With neither --model nor --workload, the content decides: an etcd Jepsen log is a cas-register
(init null), a Porcupine kv history is kv, transactions of append micro-ops are Elle append.`;

const checkWorkloadNamesText = checkWorkloadNames.join(", ");

/** A positive integer option's value, or a UsageError naming the option and what it wants. */
function positiveInteger(option: string, what: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = plainWholeNumber(value);
  // Digits beyond 2^53 − 1 were taken as their nearest double (1e400's 400 nines as Infinity).
  if (n === undefined || n < 1)
    throw new UsageError(
      `--${option}: expected a positive integer ${what} (at most ${Number.MAX_SAFE_INTEGER}); got ${JSON.stringify(value)}`,
    );
  return n;
}

/**
 * An account of `--accounts`: a number when written as one in its plain digits (`7`, `-2`), else
 * its text: `007`, and a number beyond 2^53 − 1, as the history readers keep such a key.
 */
function accountOf(text: string): number | string {
  const n = plainWholeNumber(text);
  return n !== undefined && String(n) === text ? n : text;
}

/**
 * A number in `value` (the parsed `--init`) that no JSON text means and no history holds as one:
 * `1e400` is read as Infinity, which the model then started from while the verdict line and the
 * JSON said "null". Undefined when every number is finite.
 */
function nonFiniteNumberIn(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : value;
  if (typeof value !== "object" || value === null) return undefined;
  for (const v of Object.values(value)) {
    const found = nonFiniteNumberIn(v);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The options that apply only to some workloads, and which. */
const workloadOnlyOptions: Readonly<Record<string, readonly CheckWorkloadName[]>> = {
  "sequential-keys": ["rw-register"],
  "linearizable-keys": ["rw-register"],
  "wfr-keys": ["rw-register"],
  accounts: ["bank"],
  total: ["bank"],
  linearizable: ["set"],
  "group-size": ["long-fork"],
};

interface CheckOptions {
  readonly files: readonly string[];
  readonly workload?: CheckWorkloadName;
  readonly model?: string;
  /** The user's model, when `--model` named a module by path. */
  readonly modelPlugin?: LinearizableModel;
  /** Parsed `--init`; `hasInit` tells null from absent. */
  readonly init?: unknown;
  readonly hasInit: boolean;
  readonly partition: boolean;
  readonly workloadOptions: WorkloadCheckOptions;
  readonly json: boolean;
  /** Progress on standard error: for large files (auto), for every file (always), never (--quiet). */
  readonly progress: "auto" | "always" | "never";
  readonly budget: BudgetLimits;
  readonly help: boolean;
}

const optionNames = [
  "--workload",
  "--model",
  "--init",
  "--no-partition",
  "--sequential-keys",
  "--linearizable-keys",
  "--wfr-keys",
  "--accounts",
  "--total",
  "--linearizable",
  "--group-size",
  "--json",
  "--progress",
  "--quiet",
  "--time-limit-ms",
  "--step-limit",
  "--help",
].join(", ");

/** Elle-checked workloads: --model names an Elle consistency model for them. */
const elleWorkloads: readonly CheckWorkloadName[] = ["append", "rw-register", "bank", "write-skew"];

/** Parses the arguments of `faultline check`; a mistake is a `UsageError` naming the choices. */
export async function parseCheckArgs(args: readonly string[]): Promise<CheckOptions> {
  let parsed: ReturnType<typeof parseCheckArgv>;
  try {
    parsed = parseCheckArgv(args);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /^Unknown option '([^']*)'/.exec(message);
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && unknown !== null) {
      throw new UsageError(`unknown option "${unknown[1]}"; the options are ${optionNames}`);
    }
    throw new UsageError(
      `${message.split("\n")[0]} (write --option=VALUE for a value that starts with "-"); the options are ${optionNames}`,
    );
  }
  const repeated = repeatedOptionProblem(parsed.tokens, checkOptionSpec);
  if (repeated !== undefined) throw new UsageError(repeated);
  // Checked by hand rather than with a schema: `check` starts in a fraction of the time without
  // loading a schema library, and parseArgs has already typed every value.
  const o = parsed.values;
  if (o.workload !== undefined && !(checkWorkloadNames as readonly string[]).includes(o.workload)) {
    throw new UsageError(
      `--workload: expected one of ${checkWorkloadNamesText}; got ${JSON.stringify(o.workload)}`,
    );
  }
  const workload = o.workload as CheckWorkloadName | undefined;
  const timeLimitMs = positiveInteger("time-limit-ms", "number of milliseconds", o["time-limit-ms"]);
  const stepLimit = positiveInteger("step-limit", "number of steps", o["step-limit"]);
  const groupSize = positiveInteger("group-size", "number of keys", o["group-size"]);
  if (o.accounts !== undefined && !/^[^,]+(,[^,]+)*$/.test(o.accounts)) {
    throw new UsageError(
      `--accounts: expected a comma-separated list of accounts, such as 0,1,2; got ${JSON.stringify(o.accounts)}`,
    );
  }
  const accounts = o.accounts?.split(",").map(accountOf);
  if (o.total !== undefined && !/^-?[0-9]+$/.test(o.total)) {
    throw new UsageError(`--total: expected a whole number; got ${JSON.stringify(o.total)}`);
  }
  // Beyond ±(2^53 − 1) a double rounds it (…993 reads as …992): no sum could be compared with it.
  const total = o.total === undefined ? undefined : plainWholeNumber(o.total);
  if (o.total !== undefined && total === undefined) {
    throw new UsageError(
      `--total: expected a whole number within ±${Number.MAX_SAFE_INTEGER}; got ${JSON.stringify(o.total)}`,
    );
  }
  const budget: BudgetLimits = {
    ...(timeLimitMs === undefined ? {} : { timeLimitMs }),
    ...(stepLimit === undefined ? {} : { maxSteps: stepLimit }),
  };
  if (o.help === true) {
    return {
      files: [],
      hasInit: false,
      partition: true,
      workloadOptions: {},
      json: false,
      progress: "never",
      budget,
      help: true,
    };
  }
  for (const [option, workloads] of Object.entries(workloadOnlyOptions)) {
    if ((o as Record<string, unknown>)[option] === undefined) continue;
    if (workload === undefined || !workloads.includes(workload)) {
      throw new UsageError(
        `--${option} applies only with --workload ${workloads.join(" or ")}${workload === undefined ? "" : `; got --workload ${workload}`}`,
      );
    }
  }
  const elleModel = workload !== undefined && elleWorkloads.includes(workload);
  if (o.model !== undefined && workload !== undefined && !elleModel && workload !== "register") {
    throw new UsageError(`--model does not apply with --workload ${workload}`);
  }
  if (elleModel && o.model !== undefined) {
    const { elleModelNames } = await loadElle();
    // The Elle checker lists its models once it knows them; until then any name goes through.
    if (elleModelNames.length > 0 && !elleModelNames.includes(o.model)) {
      throw new UsageError(
        `--model: expected one of ${elleModelNames.join(", ")} with --workload ${workload}; got "${o.model}"`,
      );
    }
  }
  if (elleModel && (o.init !== undefined || o["no-partition"] === true)) {
    throw new UsageError(
      `--init and --no-partition are linearizability options; they do not apply with --workload ${workload}`,
    );
  }
  let modelPlugin: LinearizableModel | undefined;
  if (!elleModel && o.model !== undefined && isModulePath(o.model)) {
    if (o.workload !== undefined)
      throw new UsageError(`--model ${o.model}: a model module applies only without --workload`);
    if (o.init !== undefined)
      throw new UsageError(
        `--init does not apply to a model loaded by path: its init() gives the initial state`,
      );
    // Loaded only for a model given by path: the plugin machinery brings every built-in system.
    modelPlugin = await (await import("./plugins.ts")).loadModelPlugin(o.model);
  } else if (!elleModel && o.model !== undefined) {
    const { linearizableModelNames } = await loadLinearizable();
    if (!linearizableModelNames.includes(o.model)) {
      throw new UsageError(
        `--model: expected one of ${linearizableModelNames.join(", ")}, the path of a model module (./my-model.ts), or an Elle consistency model with --workload ${elleWorkloads.join("|")}; got "${o.model}"`,
      );
    }
  }
  let init: unknown;
  if (o.init !== undefined) {
    try {
      init = parseJsonExact(o.init);
    } catch {
      throw new UsageError(
        `--init: expected a JSON value (e.g. null, 0, "", [1,2]); got ${JSON.stringify(o.init)}`,
      );
    }
    const nonFinite = nonFiniteNumberIn(init);
    if (nonFinite !== undefined)
      throw new UsageError(
        `--init: expected a JSON value whose numbers a double holds; got ${JSON.stringify(o.init)}, which holds a number beyond a double's range (read as ${String(nonFinite)})`,
      );
  }
  if (parsed.positionals.length === 0) {
    throw new UsageError(
      'expected at least one history FILE (or - for standard input); see "faultline check --help"',
    );
  }
  // Standard input can be read once: a second "-" read nothing, and was "unknown: empty".
  const stdinNames = parsed.positionals.filter((f) => f === "-" || f === "/dev/stdin");
  if (stdinNames.length > 1) {
    throw new UsageError(
      `standard input is given ${stdinNames.length} times (${stdinNames.join(", ")}); it can be read once`,
    );
  }
  const workloadOptions: WorkloadCheckOptions = {
    ...(o.model !== undefined ? { model: o.model } : {}),
    ...(o.init !== undefined ? { init, hasInit: true } : {}),
    partition: o["no-partition"] !== true,
    ...(o["sequential-keys"] === true ? { sequentialKeys: true } : {}),
    ...(o["linearizable-keys"] === true ? { linearizableKeys: true } : {}),
    ...(o["wfr-keys"] === true ? { wfrKeys: true } : {}),
    ...(accounts !== undefined ? { accounts } : {}),
    ...(total !== undefined ? { total } : {}),
    ...(o.linearizable === true ? { linearizable: true } : {}),
    ...(groupSize !== undefined ? { groupSize } : {}),
  };
  return {
    files: parsed.positionals,
    ...(workload === undefined ? {} : { workload }),
    ...(o.model === undefined ? {} : { model: o.model }),
    ...(modelPlugin === undefined ? {} : { modelPlugin }),
    init,
    hasInit: o.init !== undefined,
    partition: o["no-partition"] !== true,
    workloadOptions,
    json: o.json === true,
    progress: o.quiet === true ? "never" : o.progress === true ? "always" : "auto",
    budget,
    help: false,
  };
}

function parseCheckArgv(args: readonly string[]) {
  return parseArgs({
    args: joinNegativeValues(args, checkOptionSpec),
    allowPositionals: true,
    strict: true,
    options: checkOptionSpec,
    tokens: true,
  });
}

const checkOptionSpec = {
  workload: { type: "string" },
  model: { type: "string" },
  init: { type: "string" },
  "no-partition": { type: "boolean" },
  "sequential-keys": { type: "boolean" },
  "linearizable-keys": { type: "boolean" },
  "wfr-keys": { type: "boolean" },
  accounts: { type: "string" },
  total: { type: "string" },
  linearizable: { type: "boolean" },
  "group-size": { type: "string" },
  json: { type: "boolean" },
  progress: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  "time-limit-ms": { type: "string" },
  "step-limit": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** What a file is checked with, and how the verdict line says so. */
export interface CheckPlan {
  /** Shown in the verdict line: "cas-register", "append, elle strict-serializable", "stored run: …". */
  readonly description: string;
  readonly checkers: readonly Checker[];
  /** A stored run's record of itself (test.json's `recorded`): its results join the checkers'. */
  readonly record?: RunRecord;
}

const isAppendTxn = (op: Op): boolean =>
  op.f === "txn" &&
  Array.isArray(op.value) &&
  op.value.some((micro: unknown) => Array.isArray(micro) && micro[0] === "append");

/** The `test.json` of the run whose history `path` is, if it is one (a store's history.jsonl). */
function storedRunTestJson(path: string): string | undefined {
  if (basename(path) !== "history.jsonl") return undefined;
  const testJson = join(dirname(path), "test.json");
  return existsSync(testJson) ? testJson : undefined;
}

/**
 * The `test.json` of the run whose history `path` is, if it is one (a store's history.jsonl) and
 * the options leave the checking to it (no --workload, no --model).
 */
function storedRunConfigOf(path: string, options: CheckOptions): string | undefined {
  if (options.workload !== undefined || options.model !== undefined) return undefined;
  return storedRunTestJson(path);
}

/**
 * `plan` with the record of the run whose history `path` is, when it is a stored run's and the
 * plan has none: checked with other checkers than the run's own (`--workload`, `--model`), its
 * history is still the run's, and what the run says of it counts as it does with its own
 * checkers (killed, interrupted, cut short since: unknown, never valid). Before, the options
 * dropped the record with the checkers: a killed run's prefix checked valid.
 */
export async function withStoredRecord(plan: CheckPlan, path: string | undefined): Promise<CheckPlan> {
  if (plan.record !== undefined || path === undefined) return plan;
  const testJson = storedRunTestJson(path);
  if (testJson === undefined) return plan;
  const { storedRunRecord } = await import("./storedRun.ts");
  return { ...plan, record: storedRunRecord(testJson) };
}

/**
 * The results of a plan's checkers with what the stored run's record adds (recordResults:
 * killed, interrupted, cut short) and its interruption, as the run's own results say them
 * (execute.ts), `entriesRead` the history entries read.
 */
export async function resultsOfPlan(
  plan: CheckPlan,
  checkerResults: Record<string, CheckResult>,
  entriesRead: number,
): Promise<Results> {
  if (plan.record === undefined) return composeResults(checkerResults);
  const { recordResults } = await import("./storedRun.ts");
  const composed = composeResults({ ...recordResults(plan.record, entriesRead), ...checkerResults });
  const interrupted = plan.record.interrupted;
  return interrupted === undefined ? composed : { ...composed, interrupted };
}

/** runCheckers' options that come from a plan: the test's length, when its record gives it. */
export const planCheckOptions = (plan: CheckPlan): { testLengthNs?: number } =>
  plan.record?.testLengthNs !== undefined ? { testLengthNs: plan.record.testLengthNs } : {};

/** A linearizability check of the whole history as one checker, named "linearizable". */
function linearizablePlan(
  description: string,
  check: (history: readonly Op[], budget: CheckContext["budget"]) => CheckResult | Promise<CheckResult>,
): CheckPlan {
  return {
    description,
    checkers: [{ name: "linearizable", check: (h, context) => check(h, context.budget) }],
  };
}

/** The model a history inferred to be Elle list-append is checked against. */
const inferredElleModel = "strict-serializable";

/** The plan for a history whose append micro-ops make it an Elle list-append history. */
function inferredAppendPlan(
  check: (history: readonly Op[], budget: CheckContext["budget"]) => CheckResult | Promise<CheckResult>,
): CheckPlan {
  return {
    description: `elle append ${inferredElleModel} (inferred from append micro-ops)`,
    checkers: [{ name: "elle", check: (history, context) => check(history, context.budget) }],
  };
}

/**
 * Decides what to check a history as: a store's history by its test.json, else the options, else
 * the content. A `UsageError` when none of them tells.
 */
export async function planCheck(
  options: CheckOptions,
  format: HistoryFormat,
  ops: readonly Op[],
  path?: string,
  /** The stored run's checkers, if `path` is a stored run's history and they were built already. */
  stored?: StoredRunCheck,
): Promise<CheckPlan> {
  return await withStoredRecord(await planCheckOf(options, format, ops, path, stored), path);
}

/** `planCheck` but for the stored run's record, which it adds to any plan of a stored run's history. */
async function planCheckOf(
  options: CheckOptions,
  format: HistoryFormat,
  ops: readonly Op[],
  path: string | undefined,
  stored: StoredRunCheck | undefined,
): Promise<CheckPlan> {
  if (stored !== undefined) return stored;
  const storedConfig = path !== undefined ? storedRunConfigOf(path, options) : undefined;
  if (storedConfig !== undefined) {
    const { storedRunCheck } = await import("./storedRun.ts");
    return await storedRunCheck(storedConfig);
  }
  if (options.workload !== undefined) {
    const { planWorkloadCheck, CheckSetupError } = await loadWorkloadChecking();
    try {
      return planWorkloadCheck(options.workload, options.workloadOptions, ops);
    } catch (error) {
      if (error instanceof CheckSetupError) throw new UsageError(error.message);
      throw error;
    }
  }
  const linearizable = (model: string, init: unknown, hasInit: boolean, note: string): CheckPlan =>
    linearizablePlan(
      `${model}${hasInit ? ` init ${JSON.stringify(init)}` : ""}${note}`,
      async (history, budget) =>
        (await loadLinearizable()).checkLinearizableHistory(history, {
          model,
          ...(hasInit ? { init } : {}),
          partition: options.partition,
          ...(budget !== undefined ? { budget } : {}),
        }),
    );
  const plugin = options.modelPlugin;
  if (plugin !== undefined) {
    return linearizablePlan(`${plugin.name} (${options.model})`, async (history, budget) => {
      const { checkLinearizable, defaultLinearizableBudget, ModelInputError } = await loadLinearizable();
      // The budget bounds the search between the model's calls; a call of the model that never
      // returns is bounded by the same time limit here, plus a second for the budget to answer
      // first when it can.
      const timeLeftMs =
        budget instanceof Budget
          ? budget.timeLeftMs()
          : (budget?.timeLimitMs ?? defaultLinearizableBudget.timeLimitMs);
      try {
        return callWithin(
          () =>
            checkLinearizable(history, plugin, {
              partition: options.partition,
              ...(budget !== undefined ? { budget } : {}),
            }),
          timeLeftMs + modelGraceMs,
        );
      } catch (error) {
        if (error instanceof CallTimedOut) {
          return {
            valid: "unknown",
            reason:
              `the model ${options.model} did not return from one of its calls (step, partition, hash, ` +
              `equal, ...) within the time limit: stopped after ${error.timeoutMs} ms`,
          };
        }
        if (error instanceof ModelInputError || error instanceof HistoryShapeError) throw error;
        // The user's model failed: no verdict can be trusted, but the check does not crash.
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return { valid: "unknown", reason: `the model ${options.model} threw: ${message.split("\n")[0]}` };
      }
    });
  }
  if (options.model !== undefined) return linearizable(options.model, options.init, options.hasInit, "");
  if (format === "jepsen-log") {
    const init = options.hasInit ? options.init : null;
    return linearizable("cas-register", init, true, " (inferred from the etcd Jepsen log)");
  }
  if (format === "porcupine-kv") {
    return linearizable("kv", options.init, options.hasInit, " (inferred from the Porcupine kv history)");
  }
  if (ops.some(isAppendTxn)) {
    return inferredAppendPlan(async (history, budget) =>
      (await loadElle()).checkElleHistory(history, {
        workload: "append",
        model: inferredElleModel,
        ...(budget !== undefined ? { budget } : {}),
      }),
    );
  }
  const { linearizableModelNames } = await loadLinearizable();
  throw new UsageError(
    `cannot tell what to check this ${format} history as; pass --model (${linearizableModelNames.join(", ")}) ` +
      `or --workload (${checkWorkloadNamesText})`,
  );
}

/** The outcome for one file: what to print and the exit code it counts for. */
interface FileOutcome {
  readonly line: string;
  readonly json: Record<string, unknown>;
  readonly exitCode: number;
  /** The checkers' results, when the history was checked (a run takes its verdict from them). */
  readonly results?: Results;
}

const label = (text: string): string => text.padEnd(9);

function errorOutcome(file: string, message: string, exitCode: number, line?: number): FileOutcome {
  return {
    line: `${label("error")}${visibleText(message)}`,
    json: { file, valid: null, error: message, ...(line === undefined ? {} : { line }) },
    exitCode,
  };
}

function unknownOutcome(file: string, reason: string, format?: HistoryFormat): FileOutcome {
  return {
    line: `${label("unknown")}${visibleText(`${file}  ${reason}`)}`,
    json: { file, ...(format !== undefined ? { format } : {}), valid: "unknown", checkers: {}, reason },
    exitCode: ExitCode.unknown,
  };
}

/**
 * The limits checking a history works under: `faultline run`'s defaults (so a stored run checked
 * again gets the same verdict), the command line's where it gives them.
 */
function checkLimits(options: CheckOptions): Required<BudgetLimits> {
  return { ...defaultCheckLimits(), ...options.budget };
}

/**
 * Checks one file and says what to print. `ordinaryOnly` skips the streamed fast path (tests
 * compare the two: they must give the same outcome).
 */
export async function checkFile(
  path: string,
  options: CheckOptions,
  ordinaryOnly = false,
): Promise<FileOutcome> {
  const progress = progressFor(path, options);
  try {
    return await checkFileShowing(path, options, { ordinaryOnly, checkerErrors: "thrown" }, progress);
  } finally {
    progress?.end();
  }
}

/**
 * What a checker that throws gives: "thrown", the file's outcome is an error naming it (`faultline
 * check`: a history its checkers cannot read is bad input); "unknown", that checker's result is
 * unknown with the error as its reason and the others still run (a run: runCheckers' default).
 */
type CheckerErrors = "thrown" | "unknown";

/** How checkFileShowing checks a file, beside the options. */
interface CheckHow {
  /** Skip the streamed fast path (tests compare the two). */
  readonly ordinaryOnly: boolean;
  readonly checkerErrors: CheckerErrors;
  /** The run's own checkers, instead of those its test.json (if any) or the options name. */
  readonly run?: StoredRunCheck;
}

/**
 * A run's history checked once the run has written it whole (execute.ts): the path `faultline
 * check` takes on a stored run's history.jsonl, with the run's own checkers (built once, for the
 * run) and budget, so the run's verdict and check's are one computation. A list-append history
 * streams into Elle's table (`gatherStreamedAppend`) rather than being held as op objects.
 * The outcome's `results` are the checkers'; without them the outcome is an error (the file
 * could not be read as a history), its line saying why.
 */
export async function checkRunHistory(
  path: string,
  run: StoredRunCheck,
  budget: BudgetLimits,
): Promise<FileOutcome> {
  const options: CheckOptions = {
    files: [path],
    hasInit: false,
    partition: true,
    workloadOptions: {},
    json: true,
    progress: "never",
    budget,
    help: false,
  };
  return await checkFileShowing(
    path,
    options,
    { ordinaryOnly: false, checkerErrors: "unknown", run },
    undefined,
  );
}

/** The progress to show while checking `path`, if any: see checkProgress.ts. */
function progressFor(path: string, options: CheckOptions): FileProgress | undefined {
  if (options.progress === "never" || path === "-") return undefined;
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return undefined; // a pipe: no size to measure progress against
    size = stat.size;
  } catch {
    return undefined; // reading says why the file cannot be read
  }
  if (options.progress === "auto" && size < defaultProgressMinBytes) return undefined;
  const output = process.stderr;
  return new FileProgress(
    { output, interactive: output.isTTY === true && !ciFromEnv(process.env), nowMs: () => performance.now() },
    sourceName(path),
    size,
  );
}

async function checkFileShowing(
  path: string,
  options: CheckOptions,
  how: CheckHow,
  progress: FileProgress | undefined,
): Promise<FileOutcome> {
  const file = sourceName(path);
  const limits = checkLimits(options);
  // Reading counts against the time limit, not the steps (a run's checkers never read a file, and
  // steps must mean the same in both).
  const startMs = performance.now();
  const reading = new Budget({ timeLimitMs: limits.timeLimitMs, memoryLimitBytes: limits.memoryLimitBytes });
  let format: HistoryFormat;
  let ops: Op[];
  let tornLastLine: number | undefined;
  let source: HistorySource | undefined;
  /** The stored run's checkers, when the path is a stored run's history and they were built already. */
  let stored: StoredRunCheck | undefined;
  try {
    source = HistorySource.open(path, reading);
    source.onRead = progress === undefined ? undefined : (bytes) => progress.read(bytes);
    const streamedPlan = how.ordinaryOnly ? undefined : await streamedPlanFor(path, options, how.run);
    stored = streamedPlan?.stored;
    if (streamedPlan?.plan !== undefined) {
      const streamed = await gatherStreamedAppend(source, path, reading, streamedPlan.gathersStats);
      if (streamed === "read again") {
        source.close();
        source = HistorySource.open(path, reading);
        source.onRead = progress === undefined ? undefined : (bytes) => progress.read(bytes);
      } else if (streamed !== undefined) {
        source.close();
        progress?.checking(`${streamed.tally.clientOperations.toLocaleString("en-US")} operations`);
        return withTornLine(
          await checkGathered(path, streamed, streamedPlan.plan, limits, startMs, how.checkerErrors),
          streamed.tornLastLine,
        );
      }
    }
    ({ format, ops, tornLastLine } = await readHistorySource(source, path, reading));
  } catch (error) {
    if (error instanceof HistoryFormatError) {
      return errorOutcome(file, error.message, ExitCode.badInput, error.line > 0 ? error.line : undefined);
    }
    if (error instanceof BudgetExhausted)
      return unknownOutcome(file, `${error.reason} while reading the history`);
    throw error;
  } finally {
    source?.close();
  }
  let plan: CheckPlan;
  try {
    plan = await planCheck(options, format, ops, path, stored);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // Nothing in the history tells what to check it as, because nothing is in it: that is the answer.
    const empty = nothingToCheck(ops);
    if (empty === undefined) return errorOutcome(file, `${file}: ${error.message}`, ExitCode.badInput);
    return withTornLine(unknownOutcome(file, empty, format), tornLastLine);
  }
  // The time limit runs from the start of reading; steps count from here.
  const budget = new Budget(limits, undefined, startMs);
  progress?.checking(`${ops.length.toLocaleString("en-US")} history entries`);
  // The same count every report gives: operations, not history entries (two per operation).
  return withTornLine(
    await runPlan(
      file,
      format,
      plan,
      ops,
      budget,
      () => countClientOperations(ops),
      startMs,
      how.checkerErrors,
      ops.length,
    ),
    tornLastLine,
  );
}

/**
 * The outcome of a history whose torn last line was left out, saying so: on the verdict line, and
 * as `tornLastLine` in the JSON. The verdict is the one of the lines before it (a killed run's
 * history is a prefix of what ran; checking it is what "a killed run leaves a checkable prefix"
 * promises). Before, such a history was refused whole: `line N: expected one JSON object per
 * line`, exit 254, though `faultline report` tells the user to check it.
 */
function withTornLine(outcome: FileOutcome, tornLastLine: number | undefined): FileOutcome {
  if (tornLastLine === undefined || outcome.exitCode === ExitCode.badInput) return outcome;
  return {
    ...outcome,
    line: `${outcome.line}; ${tornLineLeftOut(tornLastLine)}`,
    json: { ...outcome.json, tornLastLine },
  };
}

/** Runs a plan's checkers on a history and makes the verdict line. */
async function runPlan(
  file: string,
  format: HistoryFormat,
  plan: CheckPlan,
  ops: readonly Op[],
  budget: Budget,
  operationCount: () => number,
  startMs: number,
  checkerErrors: CheckerErrors,
  /** The history entries read (the lines of a JSONL file), for a stored run's record to compare. */
  entriesRead: number,
): Promise<FileOutcome> {
  let checkerResults: Record<string, CheckResult>;
  try {
    checkerResults = await runCheckers(plan.checkers, ops, {
      budget,
      ...planCheckOptions(plan),
      ...(checkerErrors === "thrown"
        ? {
            onError: (_checker: Checker, error: unknown) => {
              throw error;
            },
          }
        : {}),
    });
  } catch (error) {
    // A history the checker cannot read as its workload, or an option it refuses: bad input.
    if (error instanceof HistoryShapeError || (error instanceof Error && error.name === "ElleOptionError"))
      return errorOutcome(file, `${file}: ${error.message}`, ExitCode.badInput);
    throw error;
  }
  // As the run's own results say it (execute.ts), so a stored run checked again gives them.
  const results = await resultsOfPlan(plan, checkerResults, entriesRead);
  const elapsedMs = Math.round(performance.now() - startMs);
  const operations = operationCount();
  const figures = `${operations} operation${operations === 1 ? "" : "s"}, ${elapsedMs} ms`;
  const verdictLabel = results.valid === true ? "valid" : results.valid === false ? "INVALID" : "unknown";
  const reason = describeVerdict(results);
  const detail =
    results.valid === true || reason === undefined
      ? `${plan.description}, ${figures}`
      : `${plan.description}: ${reason}, ${figures}`;
  return {
    line: `${label(verdictLabel)}${visibleText(`${file}  ${detail}`)}`,
    json: { file, format, ...results },
    exitCode: exitCodeFor(results.valid),
    results,
  };
}

/** How a streamed list-append history is checked, once gathered. */
type GatheredPlan = (gathered: GatheredTxns, stats: HistoryStatsGatherer | undefined) => Promise<CheckPlan>;

/**
 * Whether (and how) a file may take the streamed path, decided before reading it. `plan`, when the
 * file is regular (it can be read again if the path declines it) and checked by its content alone
 * (no --model), with `--workload append` (and any --model of Elle's), or as a stored run of the
 * built-in append workload (its test.json beside it); `gathersStats` when the checkers include
 * the stats checker (the append workload's do). `stored`: the stored run's checkers, built
 * already (the ordinary path takes them, not building them again); a stored run whose checkers
 * cannot be built is left to the ordinary path, which says why as it always did.
 */
async function streamedPlanFor(
  path: string,
  options: CheckOptions,
  run: StoredRunCheck | undefined,
): Promise<{ plan?: GatheredPlan; gathersStats: boolean; stored?: StoredRunCheck }> {
  const none = { gathersStats: false };
  if (run !== undefined) return storedStreamedPlan(run);
  if (options.workload !== undefined && options.workload !== "append") return none;
  if (options.workload === undefined && (options.model !== undefined || options.modelPlugin !== undefined))
    return none;
  if (path === "-") return none;
  try {
    if (!statSync(path).isFile()) return none;
  } catch {
    return none;
  }
  if (options.workload === "append") {
    return {
      gathersStats: true,
      plan: async (gathered, stats) =>
        (await loadWorkloadChecking()).planGatheredAppendCheck(options.workloadOptions, gathered, stats!),
    };
  }
  const storedConfig = storedRunConfigOf(path, options);
  if (storedConfig !== undefined) {
    let stored: StoredRunCheck;
    try {
      stored = await (await import("./storedRun.ts")).storedRunCheck(storedConfig);
    } catch {
      return none;
    }
    return storedStreamedPlan(stored);
  }
  return {
    gathersStats: false,
    plan: (gathered) =>
      Promise.resolve(
        inferredAppendPlan(async (_history, checkBudget) =>
          (await loadElle()).checkElleGathered(gathered, {
            workload: "append",
            model: inferredElleModel,
            ...(checkBudget !== undefined ? { budget: checkBudget } : {}),
          }),
        ),
      ),
  };
}

/** A stored run's plan: streamed when its checkers have their gathered form (see StoredRunCheck). */
function storedStreamedPlan(stored: StoredRunCheck): {
  plan?: GatheredPlan;
  gathersStats: boolean;
  stored: StoredRunCheck;
} {
  const { gatheredCheckers } = stored;
  if (gatheredCheckers === undefined) return { gathersStats: false, stored };
  return {
    gathersStats: true,
    stored,
    plan: (gathered, stats) =>
      Promise.resolve({
        description: stored.description,
        checkers: gatheredCheckers(gathered, stats!),
        ...(stored.record !== undefined ? { record: stored.record } : {}),
      }),
  };
}

/** Whether a line the scanner read as micro-ops has an append among them. */
function scannedHasAppend(mops: MicroOpBuffer): boolean {
  for (let i = 0; i < mops.count; i++) if (mops.kind[i] === ScannedKind.append) return true;
  return false;
}

/** A JSONL list-append history streamed into Elle's table, with the counts the verdict line needs. */
interface StreamedAppend {
  readonly builder: TxnTableBuilder;
  readonly tally: OperationTally;
  /** What the stats checker needs (with `--workload append`, whose checkers include it). */
  readonly stats: HistoryStatsGatherer | undefined;
  /** The first error Elle's table gives (the ordinary path gives it once Elle reads the history). */
  readonly shapeError: HistoryShapeError | undefined;
  /** The torn last line left out, if there was one (see `TornTail`). */
  readonly tornLastLine: number | undefined;
}

/**
 * The fast path from file to verdict for a JSONL history of transactions checked as Elle
 * list-append by its content: the file streams through the byte-level scanner (`scanJsonl`:
 * lines of any other shape, and every error, go through the ordinary reader) straight into Elle's
 * transaction table, so neither the file's text nor an object per operation is ever held. The
 * outcome is the ordinary path's in every respect (verdict, errors with their lines, budgets and
 * step counts, figures); a property test compares the two. Undefined when the head of the file
 * shows it is not such a history (not JSONL, no txn in its first lines): the source is still
 * whole for the ordinary reader. "read again" when the whole file was read and held no append:
 * the caller reads it again the ordinary way (only histories that are errors or unknown anyway).
 */
async function gatherStreamedAppend(
  source: HistorySource,
  path: string,
  reading: Budget,
  gathersStats: boolean,
): Promise<StreamedAppend | "read again" | undefined> {
  const head = await source.head();
  if (detectHistoryFormat(head, path) !== "jsonl" || !/"f"\s*:\s*"txn"/.test(head)) return undefined;
  const { TxnTableBuilder } = await loadElle();
  // Streamed only from a regular file (`streamable`): its size sizes the table's columns.
  const builder = new TxnTableBuilder(undefined, undefined, source.sizeBytes);
  // The append workload's checkers are Elle and stats; the one inferred from content is Elle alone.
  // (Loaded only then: its module brings a schema library that other checks need not load.)
  const stats = gathersStats
    ? new (await import("../harness/history/historyStats.ts")).HistoryStatsGatherer()
    : undefined;
  const tally = new OperationTally();
  const torn = new TornTail();
  let appends = false;
  let shapeError: HistoryShapeError | undefined;
  // The first malformed transaction's error is kept for Elle to give; the rest of the file is
  // still read, for its format errors, as the ordinary reader reads all of it first. (Each line's
  // adding is written out where it happens, not passed to a helper as a function: a closure per
  // line was most of what reading a large history allocated.)
  const keep = (error: unknown): void => {
    if (!(error instanceof HistoryShapeError)) throw error;
    shapeError = error;
  };
  await scanJsonl(
    source,
    {
      scanned(scanner) {
        tally.add(scanner.process, scanner.type);
        if (stats !== undefined) {
          if (scanner.process === "nemesis") stats.add(scannedOp(scanner));
          else
            stats.entry(
              scanner.process,
              scanner.type,
              scanner.f,
              scanner.time,
              stats.readsFailErrors && scanner.type === "fail" && scanner.hasError
                ? scanner.errorJson()
                : undefined,
            );
        }
        if (!appends && scanner.f === "txn")
          appends = scanner.isTxn ? scannedHasAppend(scanner.mops) : isAppendTxn(scannedOp(scanner));
        if (shapeError === undefined) {
          try {
            builder.addScanned(scanner);
          } catch (error) {
            keep(error);
          }
        }
      },
      op(op) {
        tally.add(op.process, op.type);
        stats?.add(op);
        if (!appends) appends = isAppendTxn(op);
        if (shapeError === undefined) {
          try {
            builder.addOp(op);
          } catch (error) {
            keep(error);
          }
        }
      },
    },
    reading,
    torn,
  );
  return appends ? { builder, tally, stats, shapeError, tornLastLine: torn.line } : "read again";
}

/**
 * Checks a streamed list-append history as `planCheck` plans it (`plan`: with a stored append
 * run's checkers, with `--workload append`'s, else as an inferred one).
 */
async function checkGathered(
  path: string,
  streamed: StreamedAppend,
  gatheredPlan: GatheredPlan,
  limits: Required<BudgetLimits>,
  startMs: number,
  checkerErrors: CheckerErrors,
): Promise<FileOutcome> {
  const { builder, tally, stats, shapeError } = streamed;
  const gathered: GatheredTxns = {
    build: () => {
      if (shapeError !== undefined) throw shapeError;
      return builder.build();
    },
    steps: () => builder.stepsTaken,
    opCount: tally.entries,
    nothingToCheck: tally.nothingToCheck(),
  };
  const plan = await withStoredRecord(await gatheredPlan(gathered, stats), path);
  // The time limit runs from the start of reading; steps count from here.
  const budget = new Budget(limits, undefined, startMs);
  return await runPlan(
    sourceName(path),
    "jsonl",
    plan,
    [],
    budget,
    () => tally.clientOperations,
    startMs,
    checkerErrors,
    tally.entries,
  );
}

/** Why the verdict is what it is: the reasons of the checkers that decide it, named when several ran. */
function describeVerdict(results: Results): string | undefined {
  const deciding = Object.entries(results.checkers).filter(([, r]) => r.valid === results.valid);
  const reasons = deciding
    .map(([name, r]) => {
      const reason = r.reason ?? describeAnomalies(r);
      if (reason === undefined) return undefined;
      return Object.keys(results.checkers).length > 1 ? `${name}: ${reason}` : reason;
    })
    .filter((r) => r !== undefined);
  return reasons.length > 0 ? reasons.join("; ") : undefined;
}

function describeAnomalies(result: CheckResult): string | undefined {
  const counts = result.anomalyCounts ?? {};
  const classes = Object.keys(result.anomalies ?? counts);
  if (classes.length === 0) return undefined;
  return classes.map((c) => `${c} x${counts[c] ?? result.anomalies?.[c]?.length ?? 0}`).join(", ");
}

const jsonLine = (value: unknown): string => JSON.stringify(value, bigintAsDigits);

export async function checkCommand(args: string[]): Promise<number> {
  const options = await parseCheckArgs(args);
  if (options.help) {
    process.stdout.write(checkUsage((await loadLinearizable()).linearizableModelNames) + "\n");
    return ExitCode.valid;
  }
  const codes: number[] = [];
  for (const file of options.files) {
    let outcome: FileOutcome;
    try {
      outcome = await checkFile(file, options);
    } catch (error) {
      if (error instanceof UsageError) {
        // A stored run whose test.json or plugin cannot be used: bad input for this file only.
        outcome = errorOutcome(file, error.message, ExitCode.badInput);
      } else {
        // A bug, not bad input: say so, keep the stack for whoever fixes it, go on with the others.
        const message = error instanceof Error ? error.message : String(error);
        process.stderr.write(
          `faultline check: internal error on ${file}: ${error instanceof Error ? (error.stack ?? message) : message}\n`,
        );
        outcome = errorOutcome(file, `${file}: internal error: ${message}`, ExitCode.internal);
      }
    }
    process.stdout.write((options.json ? jsonLine(outcome.json) : outcome.line) + "\n");
    codes.push(outcome.exitCode);
  }
  return worstExitCode(codes);
}
