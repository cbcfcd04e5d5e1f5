/**
 * The register workload: read, write and cas on independent keys, checked for linearizability
 * per key (a cas-register model starting at null, split by key).
 *
 * Keys roll over with time: at any moment `activeKeyCount` keys are in use, and every
 * `keyPeriodNs` of test time a fresh set takes over. Each key so gets a bounded number of
 * operations (about rate × period / active keys), which keeps each per-key search small, as
 * Jepsen's independent keys do. The choice of key depends only on the time and the seeded random
 * source, so re-asking the generator (as the runner does after waiting) stays pure.
 *
 * Ops: `read [k, null]` → `[k, v]`; `write [k, v]`; `cas [k, [from, to]]`, where a cas that finds
 * another value fails with `cas-mismatch` (it did not swap, and the register did not hold `from`).
 * The stats checker adds counts, latency quantiles, throughput and availability.
 */
import type { Checker } from "../harness/checker.ts";
import {
  fromFunction,
  stagger,
  timeLimit,
  type GenContext,
  type OpSpec,
} from "../harness/generator/index.ts";
import type { Workload } from "../harness/workload.ts";
import { checkLinearizableHistory, linearizableAnomalyClasses } from "../checkers/linearizable/index.ts";
import { statsCheckerAnswering } from "../checkers/stats/index.ts";

export interface RegisterWorkloadOptions {
  readonly timeLimitNs: number;
  /** Client operations per second of test time, over all workers. */
  readonly ratePerS: number;
  readonly activeKeyCount?: number;
  readonly keyPeriodNs?: number;
  /** Values written are drawn from 0 … valueCount−1. */
  readonly valueCount?: number;
}

export function registerWorkload(options: RegisterWorkloadOptions): Workload {
  const activeKeyCount = options.activeKeyCount ?? 5;
  const keyPeriodNs = options.keyPeriodNs ?? 10e9;
  const valueCount = options.valueCount ?? 5;
  const nextOp = (context: GenContext): OpSpec => {
    const epoch = Math.floor(context.timeNs / keyPeriodNs);
    const key = epoch * activeKeyCount + context.random.int(activeKeyCount);
    const roll = context.random.float();
    if (roll < 0.5) return { f: "read", value: [key, null] };
    if (roll < 0.75) return { f: "write", value: [key, context.random.int(valueCount)] };
    return { f: "cas", value: [key, [context.random.int(valueCount), context.random.int(valueCount)]] };
  };
  return {
    name: "register",
    generator: timeLimit(options.timeLimitNs, stagger(1e9 / options.ratePerS, fromFunction(nextOp))),
    checkers: registerCheckers({}),
  };
}

export interface RegisterCheckersOptions {
  /** A linearizability model (default cas-register), its initial state (default null). */
  readonly model?: string;
  readonly init?: unknown;
  /** Split by key (default true). */
  readonly partition?: boolean;
}

/**
 * The register workload's checkers, for a run and for `faultline check --workload register`:
 * linearizability per key, and stats, where a cas that found another value is an answer.
 */
export function registerCheckers(options: RegisterCheckersOptions): Checker[] {
  const linearizable: Checker = {
    name: "linearizable",
    anomalyClasses: linearizableAnomalyClasses,
    check: (history, context) =>
      checkLinearizableHistory(history, {
        model: options.model ?? "cas-register",
        init: "init" in options ? options.init : null,
        partition: options.partition ?? true,
        ...(context.budget !== undefined ? { budget: context.budget } : {}),
      }),
  };
  return [linearizable, statsCheckerAnswering(["cas-mismatch"])];
}
