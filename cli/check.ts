/**
 * `faultline check FILE...`: checks recorded histories, in any format `readHistoryFile` knows
 * (from files, pipes or standard input, `-`), one after another in this one process, and prints
 * one verdict line per file (or, with
 * `--json`, one JSON line holding the results object plus "file"). The exit code is the worst of
 * the files': a file that cannot be read counts 254 for itself while the others are still checked.
 *
 * What to check: `--model` in `linearizableModelNames` checks linearizability against that
 * model; `--workload append|rw-register` runs Elle for `--model` (default strict-serializable).
 * With neither, the content decides, and the verdict line says what it inferred: an etcd Jepsen
 * log is a cas-register starting at null, a Porcupine kv history is a kv store, transactions with
 * append micro-ops are an Elle list-append history; anything else asks for --model or --workload.
 */
import { parseArgs } from "node:util";
import { Budget, BudgetExhausted, defaultMemoryLimitBytes, type BudgetLimits } from "../harness/budget.ts";
import type { HistoryFormat } from "../harness/history/read.ts";
import { readHistoryFile } from "../harness/history/read.ts";
import type { Op } from "../harness/history/op.ts";
import { HistoryShapeError, nothingToCheck } from "../harness/history/op.ts";
import { sourceName } from "../harness/history/source.ts";
import { HistoryFormatError, visibleText } from "../harness/history/validate.ts";
import type { CheckResult, Results } from "../harness/results.ts";
import { countClientOperations } from "../harness/history/historyStats.ts";
import { ExitCode, composeResults, exitCodeFor, worstExitCode } from "../harness/results.ts";
import type { LinearizableModel } from "../checkers/linearizable/model.ts";
import { UsageError } from "./main.ts";
import { isModulePath } from "./modulePath.ts";

/**
 * The checkers are loaded when first needed, so that reading a bad file or a bad option never
 * depends on a checker module, and a run that needs one checker does not load the other.
 */
const loadLinearizable = () => import("../checkers/linearizable/index.ts");
const loadElle = () => import("../checkers/elle/index.ts");

export const checkUsage = (
  linearizableModelNames: readonly string[],
): string => `Usage: faultline check FILE... [options]

Checks each history file (faultline JSONL, Jepsen history.edn or JSON, Jepsen/etcd logs,
Porcupine kv; "-" reads standard input, and pipes such as /dev/stdin work) and prints one verdict
line per file; exits with the worst code (0 valid, 1 invalid, 2 unknown, 254 bad arguments or
input, 255 internal error). A history with no completed operation is unknown.

Options:
  --workload append|rw-register  check transactions with Elle for --model
                                 (default strict-serializable)
  --model M                      a linearizability model (${linearizableModelNames.join(", ")}),
                                 the path of a model module (./my-model.ts: see
                                 checkers/linearizable/README.md), or with --workload
                                 an Elle consistency model
  --init JSON                    the model's initial state, as JSON (e.g. null, 0, "")
  --no-partition                 check linearizability on the whole history, not split by key
  --json                         print one JSON line per file: the results plus "file"
  --time-limit-ms N              give up on a file ("unknown") after N ms of checking
  -h, --help                     show this help

With neither --model nor --workload, the content decides: an etcd Jepsen log is a cas-register
(init null), a Porcupine kv history is kv, transactions of append micro-ops are Elle append.`;

const workloadNames = ["append", "rw-register"] as const;
const defaultElleModel = "strict-serializable";

interface CheckOptions {
  readonly files: readonly string[];
  readonly workload?: (typeof workloadNames)[number];
  readonly model?: string;
  /** The user's model, when `--model` named a module by path. */
  readonly modelPlugin?: LinearizableModel;
  /** Parsed `--init`; `hasInit` tells null from absent. */
  readonly init?: unknown;
  readonly hasInit: boolean;
  readonly partition: boolean;
  readonly json: boolean;
  readonly budget: BudgetLimits;
  readonly help: boolean;
}

const optionNames = "--workload, --model, --init, --no-partition, --json, --time-limit-ms, --help";

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
  // Checked by hand rather than with a schema: `check` starts in a fraction of the time without
  // loading a schema library, and parseArgs has already typed every value but these two.
  const o = parsed.values;
  if (o.workload !== undefined && !(workloadNames as readonly string[]).includes(o.workload)) {
    throw new UsageError(
      `--workload: expected one of ${workloadNames.join(", ")}; got ${JSON.stringify(o.workload)}`,
    );
  }
  const timeLimit = o["time-limit-ms"];
  if (timeLimit !== undefined && !/^[1-9][0-9]*$/.test(timeLimit)) {
    throw new UsageError(
      `--time-limit-ms: expected a positive integer number of milliseconds; got ${JSON.stringify(timeLimit)}`,
    );
  }
  const workload = o.workload as (typeof workloadNames)[number] | undefined;
  if (o.help === true) {
    return { files: [], hasInit: false, partition: true, json: false, budget: {}, help: true };
  }
  if (o.workload !== undefined && o.model !== undefined) {
    const { elleModelNames } = await loadElle();
    // The Elle checker lists its models once it knows them; until then any name goes through.
    if (elleModelNames.length > 0 && !elleModelNames.includes(o.model)) {
      throw new UsageError(
        `--model: expected one of ${elleModelNames.join(", ")} with --workload; got "${o.model}"`,
      );
    }
  }
  let modelPlugin: LinearizableModel | undefined;
  if (o.workload === undefined && o.model !== undefined && isModulePath(o.model)) {
    if (o.init !== undefined)
      throw new UsageError(
        `--init does not apply to a model loaded by path: its init() gives the initial state`,
      );
    // Loaded only for a model given by path: the plugin machinery brings every built-in system.
    modelPlugin = await (await import("./plugins.ts")).loadModelPlugin(o.model);
  } else if (o.workload === undefined && o.model !== undefined) {
    const { linearizableModelNames } = await loadLinearizable();
    if (!linearizableModelNames.includes(o.model)) {
      throw new UsageError(
        `--model: expected one of ${linearizableModelNames.join(", ")}, the path of a model module (./my-model.ts), or an Elle consistency model with --workload append|rw-register; got "${o.model}"`,
      );
    }
  }
  let init: unknown;
  if (o.init !== undefined) {
    try {
      init = JSON.parse(o.init);
    } catch {
      throw new UsageError(
        `--init: expected a JSON value (e.g. null, 0, "", [1,2]); got ${JSON.stringify(o.init)}`,
      );
    }
  }
  if (parsed.positionals.length === 0) {
    throw new UsageError('expected at least one history FILE; see "faultline check --help"');
  }
  return {
    files: parsed.positionals,
    ...(workload === undefined ? {} : { workload }),
    ...(o.model === undefined ? {} : { model: o.model }),
    ...(modelPlugin === undefined ? {} : { modelPlugin }),
    init,
    hasInit: o.init !== undefined,
    partition: o["no-partition"] !== true,
    json: o.json === true,
    budget: timeLimit === undefined ? {} : { timeLimitMs: Number(timeLimit) },
    help: false,
  };
}

function parseCheckArgv(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      workload: { type: "string" },
      model: { type: "string" },
      init: { type: "string" },
      "no-partition": { type: "boolean" },
      json: { type: "boolean" },
      "time-limit-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/** What a file is checked as, and how to say so. */
interface CheckPlan {
  /** Shown in the verdict line: "cas-register", "elle append strict-serializable (inferred …)". */
  readonly description: string;
  /** The key of the results' "checkers" object. */
  readonly checkerName: "linearizable" | "elle";
  readonly run: (ops: readonly Op[], budget: Budget) => CheckResult | Promise<CheckResult>;
}

const isAppendTxn = (op: Op): boolean =>
  op.f === "txn" &&
  Array.isArray(op.value) &&
  op.value.some((micro: unknown) => Array.isArray(micro) && micro[0] === "append");

/** Decides what to check a history as; a `UsageError` when the options do not say and the content cannot tell. */
export async function planCheck(
  options: CheckOptions,
  format: HistoryFormat,
  ops: readonly Op[],
): Promise<CheckPlan> {
  const elle = (workload: "append" | "rw-register", model: string, note: string): CheckPlan => ({
    description: `elle ${workload} ${model}${note}`,
    checkerName: "elle",
    run: async (history, budget) => (await loadElle()).checkElleHistory(history, { workload, model, budget }),
  });
  const linearizable = (model: string, init: unknown, hasInit: boolean, note: string): CheckPlan => ({
    description: `${model}${hasInit ? ` init ${JSON.stringify(init)}` : ""}${note}`,
    checkerName: "linearizable",
    run: async (history, budget) =>
      (await loadLinearizable()).checkLinearizableHistory(history, {
        model,
        ...(hasInit ? { init } : {}),
        partition: options.partition,
        budget,
      }),
  });
  if (options.workload !== undefined) return elle(options.workload, options.model ?? defaultElleModel, "");
  const plugin = options.modelPlugin;
  if (plugin !== undefined) {
    return {
      description: `${plugin.name} (${options.model})`,
      checkerName: "linearizable",
      run: async (history, budget) => {
        const { checkLinearizable, ModelInputError } = await loadLinearizable();
        try {
          return checkLinearizable(history, plugin, { partition: options.partition, budget });
        } catch (error) {
          if (error instanceof ModelInputError || error instanceof HistoryShapeError) throw error;
          // The user's model failed: no verdict can be trusted, but the check does not crash.
          const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          return { valid: "unknown", reason: `the model ${options.model} threw: ${message.split("\n")[0]}` };
        }
      },
    };
  }
  if (options.model !== undefined) return linearizable(options.model, options.init, options.hasInit, "");
  if (format === "jepsen-log") {
    const init = options.hasInit ? options.init : null;
    return linearizable("cas-register", init, true, " (inferred from the etcd Jepsen log)");
  }
  if (format === "porcupine-kv") {
    return linearizable("kv", options.init, options.hasInit, " (inferred from the Porcupine kv history)");
  }
  if (ops.some(isAppendTxn)) return elle("append", defaultElleModel, " (inferred from append micro-ops)");
  const { linearizableModelNames } = await loadLinearizable();
  throw new UsageError(
    `cannot tell what to check this ${format} history as; pass --model (${linearizableModelNames.join(", ")}) ` +
      `or --workload (${workloadNames.join(", ")})`,
  );
}

/** The outcome for one file: what to print and the exit code it counts for. */
interface FileOutcome {
  readonly line: string;
  readonly json: Record<string, unknown>;
  readonly exitCode: number;
}

const label = (text: string): string => text.padEnd(9);

function errorOutcome(file: string, message: string, exitCode: number, line?: number): FileOutcome {
  return {
    line: `${label("error")}${visibleText(message)}`,
    json: { file, valid: null, error: message, ...(line === undefined ? {} : { line }) },
    exitCode,
  };
}

/** What a check may spend when the command line does not say: the memory net below Node's heap. */
function checkBudgetLimits(options: CheckOptions): BudgetLimits {
  return { memoryLimitBytes: defaultMemoryLimitBytes(), ...options.budget };
}

async function checkFile(path: string, options: CheckOptions): Promise<FileOutcome> {
  const file = sourceName(path);
  // One budget for the whole file: reading, validating and checking all count against it.
  const budget = new Budget(checkBudgetLimits(options));
  let format: HistoryFormat;
  let ops: Op[];
  try {
    ({ format, ops } = await readHistoryFile(path, budget));
  } catch (error) {
    if (error instanceof HistoryFormatError) {
      return errorOutcome(file, error.message, ExitCode.badInput, error.line > 0 ? error.line : undefined);
    }
    if (error instanceof BudgetExhausted) {
      const reason = `${error.reason} while reading the history`;
      return {
        line: `${label("unknown")}${visibleText(`${file}  ${reason}`)}`,
        json: { file, valid: "unknown", checkers: {}, reason },
        exitCode: ExitCode.unknown,
      };
    }
    throw error;
  }
  let plan: CheckPlan;
  try {
    plan = await planCheck(options, format, ops);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // Nothing in the history tells what to check it as, because nothing is in it: that is the answer.
    const empty = nothingToCheck(ops);
    if (empty === undefined) return errorOutcome(file, `${file}: ${error.message}`, ExitCode.badInput);
    return {
      line: `${label("unknown")}${visibleText(`${file}  ${empty}`)}`,
      json: { file, format, valid: "unknown", checkers: {}, reason: empty },
      exitCode: ExitCode.unknown,
    };
  }
  const startMs = performance.now();
  let result: CheckResult;
  try {
    result = await plan.run(ops, budget);
  } catch (error) {
    // A history the checker cannot read as its workload, or an option it refuses: bad input.
    if (error instanceof HistoryShapeError || (error instanceof Error && error.name === "ElleOptionError"))
      return errorOutcome(file, `${file}: ${error.message}`, ExitCode.badInput);
    if (!(error instanceof BudgetExhausted)) throw error;
    result = { valid: "unknown", reason: error.reason };
  }
  const elapsedMs = Math.round(performance.now() - startMs);
  const results: Results = composeResults({ [plan.checkerName]: result });
  // The same count every report gives: operations, not history entries (two per operation).
  const operations = countClientOperations(ops);
  const figures = `${operations} operation${operations === 1 ? "" : "s"}, ${elapsedMs} ms`;
  const verdictLabel = results.valid === true ? "valid" : results.valid === false ? "INVALID" : "unknown";
  const reason = result.reason ?? describeAnomalies(result);
  const detail =
    results.valid === true || reason === undefined
      ? `${plan.description}, ${figures}`
      : `${plan.description}: ${reason}, ${figures}`;
  return {
    line: `${label(verdictLabel)}${visibleText(`${file}  ${detail}`)}`,
    json: { file, format, ...results },
    exitCode: exitCodeFor(results.valid),
  };
}

function describeAnomalies(result: CheckResult): string | undefined {
  const counts = result.anomalyCounts ?? {};
  const classes = Object.keys(result.anomalies ?? counts);
  if (classes.length === 0) return undefined;
  return classes.map((c) => `${c} x${counts[c] ?? result.anomalies?.[c]?.length ?? 0}`).join(", ");
}

const jsonLine = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

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
      // A bug, not bad input: say so, keep the stack for whoever fixes it, go on with the others.
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(
        `faultline check: internal error on ${file}: ${error instanceof Error ? (error.stack ?? message) : message}\n`,
      );
      outcome = errorOutcome(file, `${file}: internal error: ${message}`, ExitCode.internal);
    }
    process.stdout.write((options.json ? jsonLine(outcome.json) : outcome.line) + "\n");
    codes.push(outcome.exitCode);
  }
  return worstExitCode(codes);
}
