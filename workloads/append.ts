/**
 * The append workload: Elle's list-append transactions. Each transaction is 1 … `maxTxnLength`
 * micro-ops, each a read `["r", k, null]` or an append `["append", k, v]`, over a rolling set of
 * keys, checked by Elle's list-append inference under a consistency model (by default what the
 * isolation level promises: read-committed, snapshot-isolation or serializable).
 *
 * Values are unique per key (in fact over the whole run): transaction number n appends
 * n·maxTxnLength + i at its i-th micro-op, so a read's list names exactly which appends it saw.
 * Keys roll over with the transaction count, not time: transactions n with the same
 * ⌊n / txnsPerKeyEpoch⌋ draw from the same `activeKeyCount` keys, so each key gets a bounded
 * number of appends (about txnsPerKeyEpoch × (maxTxnLength + 1) / 4 / activeKeyCount) and reads stay
 * short, as Jepsen's `max-writes-per-key` keeps them.
 */
import {
  checkElleGathered,
  checkElleHistory,
  elleAnomalyClasses,
  type GatheredTxns,
} from "../checkers/elle/index.ts";
import { gatheredStatsChecker, statsChecker } from "../checkers/stats/index.ts";
import type { CheckContext, Checker } from "../harness/checker.ts";
import { stagger, timeLimit } from "../harness/generator/index.ts";
import type { HistoryStatsGatherer } from "../harness/history/historyStats.ts";
import type { Workload } from "../harness/workload.ts";
import { resolveElleModel, type IsolationLevel } from "./elleModel.ts";
import { uniqueSource } from "./unique.ts";

export interface AppendWorkloadOptions {
  readonly timeLimitNs: number;
  /** Client operations per second of test time, over all workers. */
  readonly ratePerS: number;
  readonly isolation: IsolationLevel;
  /** Elle model to check; default: what the isolation level promises. */
  readonly model?: string;
  readonly activeKeyCount?: number;
  readonly txnsPerKeyEpoch?: number;
  readonly maxTxnLength?: number;
}

export function appendWorkload(options: AppendWorkloadOptions): Workload {
  const activeKeyCount = options.activeKeyCount ?? 5;
  const txnsPerKeyEpoch = options.txnsPerKeyEpoch ?? 100;
  const maxTxnLength = options.maxTxnLength ?? 4;
  const model = resolveElleModel(options.isolation, options.model);
  const main = timeLimit(
    options.timeLimitNs,
    stagger(
      1e9 / options.ratePerS,
      uniqueSource((context, n) => {
        const epoch = Math.floor(n / txnsPerKeyEpoch);
        const length = 1 + context.random.int(maxTxnLength);
        // A plain loop, not Array.from({ length }, …): that generic path cost the whole
        // simulation loop about a tenth of its time (the generator is asked for every event).
        const mops: unknown[][] = [];
        for (let i = 0; i < length; i++) {
          const key = epoch * activeKeyCount + context.random.int(activeKeyCount);
          mops.push(context.random.bool() ? ["r", key, null] : ["append", key, n * maxTxnLength + i]);
        }
        return { f: "txn", value: mops };
      }),
    ),
  );
  return { name: "append", generator: main, checkers: appendCheckers({ model }) };
}

/** The append workload's checkers, for a run and for `faultline check --workload append`: Elle, stats. */
export function appendCheckers(options: { readonly model: string }): Checker[] {
  const elle: Checker = {
    name: "elle",
    anomalyClasses: elleAnomalyClasses,
    check: (history, context) => checkElleHistory(history, elleOptions(options.model, context)),
  };
  return [elle, statsChecker];
}

/** Elle's options for the append workload's checker: the model, and the run's budget if any. */
function elleOptions(model: string, context: CheckContext) {
  return {
    workload: "append" as const,
    model,
    ...(context.budget !== undefined ? { budget: context.budget } : {}),
  };
}

/**
 * `appendCheckers` for a history gathered while it was streamed rather than held (`faultline
 * check --workload append` of a long JSONL file): the same checkers, in the same order, under the
 * same names, fed from what was gathered (the history they are given is ignored), so the results
 * are the same.
 */
export function gatheredAppendCheckers(
  txns: GatheredTxns,
  stats: HistoryStatsGatherer,
  options: { readonly model: string },
): Checker[] {
  const elle: Checker = {
    name: "elle",
    anomalyClasses: elleAnomalyClasses,
    check: (_history, context) => checkElleGathered(txns, elleOptions(options.model, context)),
  };
  return [elle, gatheredStatsChecker(stats, txns.nothingToCheck)];
}
