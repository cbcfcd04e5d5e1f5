/**
 * Elle-style transactional checking: the entry point the CLI and workloads call. (Placeholder
 * until the checker lands: it answers "unknown" rather than guess.)
 */
import type { BudgetLimits } from "../../harness/budget.ts";
import type { Op } from "../../harness/history/op.ts";
import type { CheckResult } from "../../harness/results.ts";

export interface ElleCheckOptions {
  readonly workload: "append" | "rw-register";
  /** An Elle consistency model name, e.g. "serializable", "snapshot-isolation", "strict-serializable". */
  readonly model: string;
  readonly budget?: BudgetLimits;
}

export const elleModelNames: readonly string[] = [];

export function checkElleHistory(_history: readonly Op[], _options: ElleCheckOptions): CheckResult {
  return { valid: "unknown", reason: "the Elle checker is not built yet" };
}
