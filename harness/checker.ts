/**
 * The checker interface. A checker is a function of a history alone: it never imports a system,
 * the runtime or the runner, so a history from anywhere (ours, Jepsen's, Porcupine's) can be
 * checked. Its only window on the outside is its budget; past it, it answers "unknown" with why;
 * and, for a run's history, the test's length, which the history cannot say (a test goes on past
 * its last entry): a throughput is over it.
 *
 * `runCheckers` is the one way histories are checked: `faultline run` calls it on what it
 * recorded, and `faultline check` on a stored (or foreign) history, with the same checkers and
 * the same default budget, so a stored run checked again gives the same results.
 */
import { CallTimedOut, callWithin, settledWithin } from "./boundedCall.ts";
import { Budget, BudgetExhausted, defaultMemoryLimitBytes, type BudgetLimits } from "./budget.ts";
import type { Op } from "./history/op.ts";
import type { CheckResult } from "./results.ts";

export interface CheckContext {
  /** Limits (each checker makes a budget of them) or one budget the checkers share. */
  readonly budget?: BudgetLimits | Budget;
  /** A folder of the store where a checker may write files of its own (elle/<anomaly>.txt). */
  readonly outputDir?: string;
  /**
   * How long the test ran, in test time from its start, when the history is a run's: its time
   * limit, or where it was interrupted (entries after it, healing and final reads, extend it).
   */
  readonly testLengthNs?: number;
}

export interface Checker {
  readonly name: string;
  /**
   * Every anomaly class the checker can report, when it knows them: a suite row expecting another
   * class of it is refused, since no seed could ever find it (a typo would read as a database that
   * hides its bug). A user's checker may leave it out; its classes are then taken on trust.
   */
  readonly anomalyClasses?: readonly string[];
  check(history: readonly Op[], context: CheckContext): CheckResult | Promise<CheckResult>;
}

/**
 * What checking a history may spend when nobody says otherwise: steps first (the same verdict on
 * every machine), with wall time and memory (below Node's heap) as outer nets. Shared by every
 * checker of one history, in order.
 */
export function defaultCheckLimits(): Required<BudgetLimits> {
  return { maxSteps: 10_000_000_000, timeLimitMs: 30 * 60_000, memoryLimitBytes: defaultMemoryLimitBytes() };
}

/**
 * Checkers whose code is not faultline's (a plugin's, a library caller's): their synchronous work
 * runs under `callWithin`'s watchdog. faultline's own checkers read their budget in every loop, and
 * are spared the watchdog's cost (a thread per call: checking Porcupine's 102 etcd logs took about
 * 10% more CPU with every checker under it); a promise that never settles is bounded for all.
 */
const foreign = new WeakSet<Checker>();

/** Marks `checker` as code faultline does not own (see `foreign`); returns it. */
export function foreignChecker<C extends Checker>(checker: C): C {
  foreign.add(checker);
  return checker;
}

/**
 * How long past the time limit a checker may run before it is stopped: longer than a user's model
 * is given inside one (cli/check.ts), whose own, more precise answer then comes first.
 */
const checkerGraceMs = 2_000;

/**
 * Runs `checkers` on `history` one after another, sharing one budget, and returns each one's
 * result by name. A checker that runs out of budget answers "unknown" with the reason; one that
 * throws anything else is reported as such by `onError` (default: "unknown", naming the error), so
 * one broken checker never hides the others' verdicts.
 */
export async function runCheckers(
  checkers: readonly Checker[],
  history: readonly Op[],
  options: {
    readonly budget?: Budget | BudgetLimits;
    readonly outputDir?: string;
    /** The test's length, when the history is a run's (CheckContext.testLengthNs). */
    readonly testLengthNs?: number;
    readonly onError?: (checker: Checker, error: unknown) => CheckResult;
  } = {},
): Promise<Record<string, CheckResult>> {
  const budget =
    options.budget instanceof Budget ? options.budget : new Budget(options.budget ?? defaultCheckLimits());
  const results: Record<string, CheckResult> = {};
  for (const checker of checkers) {
    // A budget spent by the checkers before this one leaves it nothing: say so without starting it.
    const spent = budget.checkNow();
    if (spent !== undefined) {
      results[checker.name] = { valid: "unknown", reason: spent };
      continue;
    }
    try {
      // The budget bounds a checker's loops between its reads of it; a checker that stops reading
      // it (a plugin's that loops forever, or never settles) is stopped at the same time limit,
      // plus a grace for the budget to answer first.
      const context = {
        budget,
        ...(options.outputDir !== undefined ? { outputDir: options.outputDir } : {}),
        ...(options.testLengthNs !== undefined ? { testLengthNs: options.testLengthNs } : {}),
      };
      const returned = foreign.has(checker)
        ? callWithin(() => checker.check(history, context), budget.timeLeftMs() + checkerGraceMs)
        : checker.check(history, context);
      results[checker.name] = await settledWithin(returned, budget.timeLeftMs() + checkerGraceMs);
    } catch (error) {
      if (error instanceof BudgetExhausted) {
        results[checker.name] = { valid: "unknown", reason: error.reason };
        continue;
      }
      if (error instanceof CallTimedOut) {
        results[checker.name] = {
          valid: "unknown",
          reason: `checker ${checker.name} did not return within the time limit: stopped after ${error.timeoutMs} ms`,
        };
        continue;
      }
      if (options.onError === undefined) {
        results[checker.name] = {
          valid: "unknown",
          reason: `checker ${checker.name} failed: ${error instanceof Error ? error.message : String(error)}`,
        };
        continue;
      }
      results[checker.name] = options.onError(checker, error);
    }
  }
  return results;
}
