/**
 * What `faultline check --workload NAME` checks a history with: the same checkers a run of that
 * workload uses (each workload exports them), plus three that are check-only (rw-register,
 * Jepsen's long-fork and counter). A history from elsewhere (Jepsen, elle-cli) does not carry the
 * parameters a run's config gives its checkers, so they are taken from options or inferred from the
 * history where that is sound:
 *
 * - bank: the accounts are the keys every read shows (all reads must show the same keys, else
 *   `--accounts` is needed); the total comes from `--total`, else from faultline's own opening
 *   write of every balance, else it stays unknown and the reads must agree with each other. Elle's
 *   rw-register checker runs only on faultline's stamped rows: Jepsen's transfers record no read
 *   values and write no unique values, so it could infer nothing from them.
 * - set: reads are `read-set` (faultline) or `read` (Jepsen), whichever the history holds.
 * - long-fork: the group size is `--group-size`, else the number of keys every read reads.
 *
 * Jepsen's shapes are read as they are: a bank `read` whose value maps accounts to balances, a set
 * `read` of the elements, a long-fork read as a transaction of reads.
 */
import { checkCounterHistory, counterAnomalyClasses } from "../checkers/counter/index.ts";
import { checkElleHistory, elleAnomalyClasses } from "../checkers/elle/index.ts";
import {
  checkLongForkHistory,
  hasGroupRead,
  inferGroupSize,
  longForkAnomalyClasses,
} from "../checkers/long-fork/index.ts";
import type { Checker } from "../harness/checker.ts";
import type { Key, Op } from "../harness/history/op.ts";
import type { GatheredTxns } from "../checkers/elle/index.ts";
import type { HistoryStatsGatherer } from "../harness/history/historyStats.ts";
import { appendCheckers, gatheredAppendCheckers } from "./append.ts";
import { defaultCheckModel, type CheckWorkloadName, type WorkloadCheckOptions } from "./checkNames.ts";
import { bankCheckers } from "./bank.ts";
import { registerCheckers } from "./register.ts";
import { toRwRegisterHistory } from "./rows.ts";
import { setCheckers } from "./set.ts";
import { writeSkewCheckers } from "./write-skew.ts";

export { checkWorkloadNames, defaultCheckModel } from "./checkNames.ts";
export type { CheckWorkloadName, WorkloadCheckOptions } from "./checkNames.ts";

export interface WorkloadCheckPlan {
  /** What the verdict line says was checked, parameters and where they came from included. */
  readonly description: string;
  readonly checkers: readonly Checker[];
}

/** A parameter the history does not give and the options do not either: one line for the user. */
export class CheckSetupError extends Error {
  override name = "CheckSetupError";
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export function planWorkloadCheck(
  workload: CheckWorkloadName,
  options: WorkloadCheckOptions,
  history: readonly Op[],
): WorkloadCheckPlan {
  const model = options.model ?? defaultCheckModel;
  switch (workload) {
    case "append":
      return { description: appendDescription(model), checkers: appendCheckers({ model }) };
    case "rw-register": {
      const assumptions = [
        options.sequentialKeys === true ? "sequential keys" : undefined,
        options.linearizableKeys === true ? "linearizable keys" : undefined,
        options.wfrKeys === true ? "writes follow reads" : undefined,
      ].filter((a) => a !== undefined);
      // Stamped rows (faultline's bank and write-skew) are read as their write ids, and transfers
      // as the transactions they ran; a plain rw-register history passes through unchanged.
      const elle: Checker = {
        name: "elle",
        anomalyClasses: elleAnomalyClasses,
        check: (h, context) =>
          checkElleHistory(toRwRegisterHistory(h), {
            workload: "rw-register",
            model,
            sequentialKeys: options.sequentialKeys === true,
            linearizableKeys: options.linearizableKeys === true,
            wfrKeys: options.wfrKeys === true,
            ...(context.budget !== undefined ? { budget: context.budget } : {}),
          }),
      };
      return {
        description: `rw-register, elle ${model}${assumptions.length > 0 ? ` (${assumptions.join(", ")})` : ""}`,
        checkers: [elle],
      };
    }
    case "bank":
      return planBank(options, history, model);
    case "set": {
      const readF = history.some((op) => op.f === "read-set") ? "read-set" : "read";
      const linearizable = options.linearizable === true;
      return {
        description: `set (reads are "${readF}"; stale reads ${linearizable ? "are errors" : "allowed"})`,
        checkers: setCheckers({ linearizable, readF }),
      };
    }
    case "write-skew":
      return { description: `write-skew, elle ${model}`, checkers: writeSkewCheckers({ model }) };
    case "register": {
      const linearizableModel = options.model ?? "cas-register";
      const init = options.hasInit === true ? options.init : null;
      return {
        description: `register, ${linearizableModel} init ${JSON.stringify(init)}${options.partition === false ? ", whole" : ", by key"}`,
        checkers: registerCheckers({ model: linearizableModel, init, partition: options.partition ?? true }),
      };
    }
    case "long-fork": {
      const inferred = inferGroupSize(history);
      const groupSize = options.groupSize ?? inferred;
      if (groupSize === undefined && hasGroupRead(history)) {
        throw new CheckSetupError(
          "the reads of this history read different numbers of keys, so the group size cannot be inferred; pass --group-size N",
        );
      }
      // With no read at all there is no size to infer, and nothing to compare: the checker says so.
      const checker: Checker = {
        name: "long-fork",
        anomalyClasses: longForkAnomalyClasses,
        check: (h, context) =>
          checkLongForkHistory(h, {
            ...(groupSize !== undefined ? { groupSize } : {}),
            ...(context.budget !== undefined ? { budget: context.budget } : {}),
          }),
      };
      const size =
        groupSize === undefined
          ? "no read to infer the group size from"
          : `group size ${groupSize}${options.groupSize === undefined ? " (inferred from the reads)" : ""}`;
      return { description: `long-fork, ${size}`, checkers: [checker] };
    }
    case "counter": {
      const checker: Checker = {
        name: "counter",
        anomalyClasses: counterAnomalyClasses,
        check: (h, context) =>
          checkCounterHistory(h, context.budget !== undefined ? { budget: context.budget } : {}),
      };
      return { description: "counter", checkers: [checker] };
    }
  }
}

const appendDescription = (model: string): string => `append, elle ${model}`;

/**
 * `planWorkloadCheck("append", options, history)` for a history gathered while it was streamed
 * (its transactions and its stats figures), not held: the same description and checkers.
 */
export function planGatheredAppendCheck(
  options: WorkloadCheckOptions,
  txns: GatheredTxns,
  stats: HistoryStatsGatherer,
): WorkloadCheckPlan {
  const model = options.model ?? defaultCheckModel;
  return { description: appendDescription(model), checkers: gatheredAppendCheckers(txns, stats, { model }) };
}

/** The (account, balance) keys one read shows, or undefined for an op that is no read. */
function readKeys(op: Op): string[] | undefined {
  if (op.type !== "ok" || op.process === "nemesis") return undefined;
  if (op.f === "read" && isRecord(op.value)) return Object.keys(op.value);
  if (op.f === "txn" && Array.isArray(op.value) && op.value.length > 0) {
    const mops = op.value as unknown[];
    if (!mops.every((m) => Array.isArray(m) && m.length === 3 && m[0] === "r")) return undefined;
    return mops.map((m) => String((m as unknown[])[1]));
  }
  return undefined;
}

/** faultline's opening write: one committed txn writing every account, stamped rows or numbers. */
function openingTotal(history: readonly Op[], accounts: readonly Key[]): number | undefined {
  const names = new Set(accounts.map(String));
  for (const op of history) {
    if (op.type !== "ok" || op.f !== "txn" || !Array.isArray(op.value)) continue;
    const mops = op.value as unknown[];
    if (mops.length !== names.size) continue;
    let sum = 0;
    const seen = new Set<string>();
    for (const m of mops) {
      if (!Array.isArray(m) || m.length !== 3 || m[0] !== "w") return undefined;
      const balance = typeof m[2] === "number" ? m[2] : isRecord(m[2]) ? m[2]["balance"] : undefined;
      if (typeof balance !== "number") return undefined;
      seen.add(String(m[1]));
      sum += balance;
    }
    if ([...names].every((n) => seen.has(n))) return sum;
  }
  return undefined;
}

const isStamped = (history: readonly Op[]): boolean =>
  history.some(
    (op) =>
      Array.isArray(op.value) &&
      (op.value as unknown[]).some(
        (m) => Array.isArray(m) && m[0] === "w" && isRecord(m[2]) && typeof m[2]["writeId"] === "number",
      ),
  ) ||
  history.some((op) => op.f === "transfer" && isRecord(op.value) && typeof op.value["writeId"] === "number");

function planBank(options: WorkloadCheckOptions, history: readonly Op[], model: string): WorkloadCheckPlan {
  let accounts: readonly Key[] | undefined = options.accounts;
  let accountsNote = "";
  if (accounts === undefined) {
    let keys: string[] | undefined;
    for (const op of history) {
      const seen = readKeys(op);
      if (seen === undefined) continue;
      const sorted = [...seen].sort();
      if (keys === undefined) keys = sorted;
      else if (keys.join("\u0000") !== sorted.join("\u0000")) {
        throw new CheckSetupError(
          `the reads of this history show different sets of accounts (${keys.join(",")} and ${sorted.join(",")}); pass --accounts A,B,...`,
        );
      }
    }
    if (keys === undefined)
      throw new CheckSetupError(
        "no read of the accounts completed, so the accounts are unknown; pass --accounts A,B,...",
      );
    accounts = keys.map((k) => (/^-?\d+$/.test(k) ? Number(k) : k));
    accountsNote = " (inferred from the reads)";
  }
  const opening = options.total === undefined ? openingTotal(history, accounts) : undefined;
  const total = options.total ?? opening;
  const totalNote =
    options.total !== undefined
      ? `total ${options.total}`
      : opening !== undefined
        ? `total ${opening} (from the opening write)`
        : "total not given (the reads must agree)";
  const stamped = isStamped(history);
  return {
    description: `bank, accounts ${accounts.map(String).join(",")}${accountsNote}, ${totalNote}${stamped ? `, elle ${model}` : ", no rw-register check (transfers record no versions)"}`,
    checkers: bankCheckers({
      accounts,
      ...(total !== undefined ? { total } : {}),
      ...(stamped ? { model } : {}),
    }),
  };
}
