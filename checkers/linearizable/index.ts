/**
 * Linearizability checking: the entry point the CLI and workloads call.
 *
 * A history is split into independent parts by the model (by key, unless told not to), each part
 * is searched on its own (search.ts), and the verdicts compose: one part that is not linearizable
 * makes the history not linearizable; otherwise one part the budget could not decide makes it
 * "unknown", with the reason. The checker reads only the history, so it checks our runs and
 * anyone else's (Jepsen EDN, Porcupine's logs) alike.
 */
import { Budget, BudgetExhausted, defaultMemoryLimitBytes } from "../../harness/budget.ts";
import type { BudgetLimits } from "../../harness/budget.ts";
import type { Checker } from "../../harness/checker.ts";
import type { Key, Op } from "../../harness/history/op.ts";
import { nothingToCheck } from "../../harness/history/op.ts";
import type { CheckResult, Verdict } from "../../harness/results.ts";
import { worstVerdict } from "../../harness/results.ts";
import type { NonlinearizableCase } from "./explain.ts";
import { explainViolation } from "./explain.ts";
import type { LinearizableModel } from "./model.ts";
import { builtinModel, builtinModelNames } from "./models.ts";
import { prepareHistory, type PreparedHistory } from "./prepare.ts";
import type { SearchOutcome } from "./search.ts";
import { ExternalMemoryMeter, linearizationSearch } from "./search.ts";

export type { LinearizableModel, ModelOp } from "./model.ts";
export { ModelInputError } from "./model.ts";
export { builtinModel } from "./models.ts";
export type { NonlinearizableCase } from "./explain.ts";

export interface LinearizableCheckOptions {
  /** register | cas-register | multi-register | kv | set | mutex | counter | fifo-queue */
  readonly model: string;
  /** The model's initial state, when it has one (parsed JSON). */
  readonly init?: unknown;
  /** Split by the model's partition function (by key); false checks the history whole. */
  readonly partition?: boolean;
  readonly budget?: BudgetLimits | Budget;
}

export const linearizableModelNames: readonly string[] = builtinModelNames;

/**
 * The budget of a history when the caller gives none: generous, but a bound. Steps are search
 * iterations (tens of millions a second); time and memory are outer nets.
 */
export const defaultLinearizableBudget: Required<BudgetLimits> = {
  maxSteps: 2_000_000_000,
  timeLimitMs: 10 * 60_000,
  memoryLimitBytes: Math.min(2 * 2 ** 30, defaultMemoryLimitBytes()),
};

/** At most this many violation cases are listed; `anomalyCounts` holds the total. */
export const casesListedMax = 10;

/**
 * Checks a history against a built-in model by name. An unknown model name, an `init` the model
 * cannot take, or an operation it cannot take is a `ModelInputError` or `HistoryShapeError`
 * (bad input: exit 254).
 */
export function checkLinearizableHistory(
  history: readonly Op[],
  options: LinearizableCheckOptions,
): CheckResult {
  const model = builtinModel(options.model, options.init);
  return checkLinearizable(history, model, { partition: options.partition ?? true, budget: options.budget });
}

/** Checks a history against any model, built-in or user-defined. */
export function checkLinearizable<S>(
  history: readonly Op[],
  model: LinearizableModel<S>,
  options: { readonly partition?: boolean; readonly budget?: BudgetLimits | Budget } = {},
): CheckResult {
  const empty = nothingToCheck(history);
  if (empty !== undefined) return { valid: "unknown", reason: empty, model: model.name, opCount: 0 };
  const given = options.budget;
  const limits: BudgetLimits =
    given instanceof Budget ? defaultLinearizableBudget : { ...defaultLinearizableBudget, ...given };
  const budget = given instanceof Budget ? given : new Budget(limits);
  let prepared: ReturnType<typeof prepareHistory<S>>;
  try {
    prepared = prepareHistory(history, model, options.partition ?? true, budget);
  } catch (error) {
    if (!(error instanceof BudgetExhausted)) throw error;
    return { valid: "unknown", reason: `${error.reason} while preparing the history`, model: model.name };
  }
  // Operations that failed (they did not happen) or whose outcome is unknown (they may never have
  // happened) can all be left out of an order: with nothing else, every model accepts the history,
  // and a valid verdict would say nothing about the system. Unknown, with why, as for no history.
  if (prepared.knownResultCount === 0)
    return {
      valid: "unknown",
      reason: noKnownResult(prepared),
      model: model.name,
      partitions: prepared.parts.length,
      opCount: prepared.opCount,
      droppedFailed: prepared.failedCount,
      droppedUnknownReads: prepared.unknownReadCount,
    };
  const memory = new ExternalMemoryMeter(limits.memoryLimitBytes ?? Infinity);
  // The parts are searched side by side, in rounds that double each part's share of iterations,
  // and the rounds stop once one part is not linearizable: that answers the history, and a cheap
  // violating part is not kept waiting behind an expensive part (Porcupine runs parts in parallel
  // for the same reason).
  const runs = prepared.parts.map((part) => ({
    part,
    search: linearizationSearch(model, part.ops, budget, memory),
    outcome: undefined as SearchOutcome<S> | undefined,
  }));
  let running = runs;
  for (let slices = 1; running.length > 0; slices = Math.min(slices * 2, 1 << 20)) {
    for (const run of running) {
      for (let k = 0; k < slices && run.outcome === undefined; k++) {
        const step = run.search.next();
        if (step.done === true) run.outcome = step.value;
      }
    }
    running = running.filter((run) => run.outcome === undefined);
    if (runs.some((run) => run.outcome?.verdict === false)) break;
  }
  const cases: NonlinearizableCase[] = [];
  const unknownParts: { key: Key | null; reason: string }[] = [];
  const verdicts: Verdict[] = [];
  let failures = 0;
  let configurations = 0;
  let states = 0;
  for (const { part, outcome } of runs) {
    if (outcome === undefined) {
      verdicts.push("unknown");
      unknownParts.push({
        key: part.key ?? null,
        reason: "not searched to the end: another part was found not linearizable first",
      });
      continue;
    }
    configurations += outcome.configurations;
    states += outcome.states;
    verdicts.push(outcome.verdict);
    if (outcome.verdict === false) {
      failures++;
      if (cases.length < casesListedMax) cases.push(explainViolation(model, part.key, part.ops, outcome));
    } else if (outcome.verdict === "unknown") {
      unknownParts.push({ key: part.key ?? null, reason: outcome.reason });
    }
  }
  const valid = worstVerdict(verdicts);
  const partsText = `${prepared.parts.length} part${prepared.parts.length === 1 ? "" : "s"}`;
  const undecided =
    unknownParts.length === 0
      ? ""
      : `could not decide ${unknownParts.length} of ${partsText}: ${unknownParts[0]!.reason}`;
  const reason =
    valid === true
      ? `${prepared.opCount} operations in ${partsText} are linearizable`
      : valid === false
        ? `${failures} of ${partsText} not linearizable${cases[0]!.key === null ? "" : ` (first: key ${JSON.stringify(cases[0]!.key)})`}` +
          (unknownParts.length === 0 ? "" : `; ${unknownParts.length} part(s) left undecided`)
        : undecided;
  return {
    valid,
    reason,
    model: model.name,
    partitions: prepared.parts.length,
    opCount: prepared.opCount,
    droppedFailed: prepared.failedCount,
    droppedUnknownReads: prepared.unknownReadCount,
    configurations,
    states,
    ...(failures === 0
      ? {}
      : { anomalies: { nonlinearizable: cases }, anomalyCounts: { nonlinearizable: failures } }),
    ...(unknownParts.length === 0 ? {} : { unknownParts: unknownParts.slice(0, casesListedMax) }),
  };
}

/** Why a history whose every operation failed or has an unknown outcome gives nothing to check. */
function noKnownResult(prepared: PreparedHistory): string {
  const unknown = prepared.opCount - prepared.failedCount;
  const parts = [
    ...(prepared.failedCount > 0 ? [`${prepared.failedCount} failed (did not happen)`] : []),
    ...(unknown > 0 ? [`${unknown} of unknown outcome (may never have happened)`] : []),
  ];
  return `no operation with a known result: of ${prepared.opCount} operation${prepared.opCount === 1 ? "" : "s"}, ${parts.join(" and ")}, so there is nothing to check`;
}

/** The one anomaly class a linearizability check reports: a part no order could explain. */
export const linearizableAnomalyClasses = ["nonlinearizable"] as const;

/** The checker interface, for workloads: `linearizableChecker({ model: "cas-register", init: 0 })`. */
export function linearizableChecker(options: Omit<LinearizableCheckOptions, "budget">): Checker {
  return {
    name: "linearizable",
    anomalyClasses: linearizableAnomalyClasses,
    check: (history, context) => checkLinearizableHistory(history, { ...options, budget: context.budget }),
  };
}
