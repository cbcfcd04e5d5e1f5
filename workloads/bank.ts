/**
 * The bank workload: `accountCount` accounts holding `totalBalance` between them; transfers move
 * money between two distinct accounts in one transaction, and reads fetch every balance in one
 * transaction. Every read must sum to the total and no balance may go negative (checkers/bank);
 * the same transactions go to Elle's rw-register checker, which names the anomalies behind a
 * wrong total (read skew shows up as G-single).
 *
 * Ops (rows are stamped, see rows.ts):
 * - first, once, on thread 0 until it succeeds: `txn [["w", k, {balance, writeId}] …]` for every
 *   account, an equal share each (the remainder to account 0); attempts carry write ids −1, −2, …;
 * - then a mix: `transfer {from, to, amount, writeId}` (write ids 0, 1, 2, …; amount 1 …
 *   `maxTransfer`) and `txn [["r", k, null] …]` reading every account;
 * - final: one read of every account per thread, after healing.
 */
import { bankAnomalyClasses, checkBankHistory } from "../checkers/bank/index.ts";
import { checkElleHistory, elleAnomalyClasses } from "../checkers/elle/index.ts";
import { statsCheckerAnswering } from "../checkers/stats/index.ts";
import type { Checker } from "../harness/checker.ts";
import {
  delay,
  eachThread,
  limit,
  onThreads,
  phases,
  stagger,
  timeLimit,
  untilOk,
  type OpSpec,
} from "../harness/generator/index.ts";
import type { Key } from "../harness/history/op.ts";
import type { Workload } from "../harness/workload.ts";
import { resolveElleModel, type IsolationLevel } from "./elleModel.ts";
import { toRwRegisterHistory } from "./rows.ts";
import { uniqueSource } from "./unique.ts";

export interface BankWorkloadOptions {
  readonly timeLimitNs: number;
  /** Client operations per second of test time, over all workers. */
  readonly ratePerS: number;
  readonly isolation: IsolationLevel;
  /** Elle model for the rw-register checker; default: what the isolation level promises. */
  readonly model?: string;
  readonly accountCount?: number;
  readonly totalBalance?: number;
  readonly maxTransfer?: number;
  /** Share of operations that are reads (the rest are transfers). Default 0.5. */
  readonly readFraction?: number;
}

/** Attempts at the initial write, and at each final read, before giving up. */
const attemptsMax = 20;
const retryDelayNs = 0.5e9;

export function bankWorkload(options: BankWorkloadOptions): Workload {
  const accountCount = options.accountCount ?? 5;
  const totalBalance = options.totalBalance ?? 100;
  const maxTransfer = options.maxTransfer ?? 5;
  const readFraction = options.readFraction ?? 0.5;
  if (!(Number.isInteger(accountCount) && accountCount >= 2)) {
    throw new RangeError(`the bank needs at least 2 accounts, got ${accountCount}`);
  }
  const model = resolveElleModel(options.isolation, options.model);
  const accounts = Array.from({ length: accountCount }, (_, k) => k);
  const share = Math.floor(totalBalance / accountCount);
  const initial = accounts.map((k) => (k === 0 ? totalBalance - share * (accountCount - 1) : share));
  const read: OpSpec = { f: "txn", value: accounts.map((k) => ["r", k, null]) };

  const setup = onThreads(
    (thread) => thread === 0,
    limit(
      attemptsMax,
      untilOk(
        delay(
          retryDelayNs,
          uniqueSource(
            (_c, writeId) => ({
              f: "txn",
              value: accounts.map((k) => ["w", k, { balance: initial[k]!, writeId }]),
            }),
            -1,
            -1,
          ),
        ),
      ),
    ),
  );
  const main = timeLimit(
    options.timeLimitNs,
    stagger(
      1e9 / options.ratePerS,
      uniqueSource((context, writeId) => {
        if (context.random.float() < readFraction) return read;
        const from = context.random.int(accountCount);
        const to = (from + 1 + context.random.int(accountCount - 1)) % accountCount;
        return { f: "transfer", value: { from, to, amount: 1 + context.random.int(maxTransfer), writeId } };
      }),
    ),
  );
  const finalReads = eachThread(limit(attemptsMax, untilOk(delay(retryDelayNs, () => read))));

  return {
    name: "bank",
    generator: phases(setup, main),
    finalGenerator: finalReads,
    checkers: bankCheckers({ accounts, total: totalBalance, model }),
  };
}

export interface BankCheckersOptions {
  readonly accounts: readonly Key[];
  /** What every read sums to; undefined: unknown, so every read must agree with the others. */
  readonly total?: number;
  /** The Elle model of the rw-register checker; without one, no rw-register checker. */
  readonly model?: string;
}

/**
 * The bank's checkers, for a run and for `faultline check --workload bank` alike: the bank's
 * invariants, Elle's rw-register checker on the stamped rows (transactions here read their rows
 * before they write them, so writes follow reads), and stats, where a refused transfer is an answer.
 */
export function bankCheckers(options: BankCheckersOptions): Checker[] {
  const bank: Checker = {
    name: "bank",
    anomalyClasses: bankAnomalyClasses,
    check: (history, context) =>
      checkBankHistory(history, {
        accounts: options.accounts,
        ...(options.total !== undefined ? { total: options.total } : {}),
        ...(context.budget !== undefined ? { budget: context.budget } : {}),
      }),
  };
  const model = options.model;
  const rwRegister: Checker[] =
    model === undefined
      ? []
      : [
          {
            name: "rw-register",
            anomalyClasses: elleAnomalyClasses,
            check: (history, context) =>
              checkElleHistory(toRwRegisterHistory(history), {
                workload: "rw-register",
                model,
                wfrKeys: true,
                ...(context.budget !== undefined ? { budget: context.budget } : {}),
              }),
          },
        ];
  return [bank, ...rwRegister, statsCheckerAnswering(["insufficient-funds"])];
}
