/**
 * The checker interface. A checker is a function of a history alone: it never imports a system,
 * the runtime or the runner, so a history from anywhere (ours, Jepsen's, Porcupine's) can be
 * checked. Its only window on the outside is its budget; past it, it answers "unknown" with why.
 */
import type { BudgetLimits } from "./budget.ts";
import type { Op } from "./history/op.ts";
import type { CheckResult } from "./results.ts";

export interface CheckContext {
  readonly budget?: BudgetLimits;
  /** A folder of the store where a checker may write files of its own (elle/<anomaly>.txt). */
  readonly outputDir?: string;
}

export interface Checker {
  readonly name: string;
  check(history: readonly Op[], context: CheckContext): CheckResult | Promise<CheckResult>;
}
