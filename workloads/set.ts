/**
 * The set workload: unique adds to one grow-only set, reads of the whole set along the way, and,
 * once every fault has healed, final reads. The set-full checker (checkers/set-full) then says of
 * every element whether it was lost (acknowledged, then absent for good), stale, never read,
 * recovered (an `info` add that did happen) or duplicated.
 *
 * Ops: `add n` with n = 0, 1, 2, … (each value added once, so a read names the add it saw);
 * `read-set null` → ok with the elements. Final: one successful `read-set` per thread (each retried
 * up to `attemptsMax` times, half a second apart).
 *
 * Reads return the whole set, so their cost grows with the run: about rate × time-limit × (1 −
 * readFraction) elements each. Keep `readFraction` small for long runs.
 */
import { checkSetFullHistory, setFullAnomalyClasses } from "../checkers/set-full/index.ts";
import { statsChecker } from "../checkers/stats/index.ts";
import type { Checker } from "../harness/checker.ts";
import { delay, eachThread, limit, stagger, timeLimit, untilOk } from "../harness/generator/index.ts";
import type { Workload } from "../harness/workload.ts";
import { uniqueSource } from "./unique.ts";

export interface SetWorkloadOptions {
  readonly timeLimitNs: number;
  /** Client operations per second of test time, over all workers. */
  readonly ratePerS: number;
  /** Share of main-phase operations that are reads. Default 0.1. */
  readonly readFraction?: number;
  /** Stale reads are errors (true when reads go to the writer). Default true. */
  readonly linearizable?: boolean;
}

const attemptsMax = 20;
const retryDelayNs = 0.5e9;

export function setWorkload(options: SetWorkloadOptions): Workload {
  const readFraction = options.readFraction ?? 0.1;
  const main = timeLimit(
    options.timeLimitNs,
    stagger(
      1e9 / options.ratePerS,
      uniqueSource((context, element) =>
        context.random.float() < readFraction ? { f: "read-set", value: null } : { f: "add", value: element },
      ),
    ),
  );
  const finalReads = eachThread(
    limit(attemptsMax, untilOk(delay(retryDelayNs, () => ({ f: "read-set", value: null })))),
  );
  return {
    name: "set",
    generator: main,
    finalGenerator: finalReads,
    checkers: setCheckers({ linearizable: options.linearizable ?? true }),
  };
}

export interface SetCheckersOptions {
  /** Stale reads are errors. */
  readonly linearizable: boolean;
  /** The `f` of a read of the whole set: "read-set" here, "read" in Jepsen's histories. */
  readonly readF?: string;
}

/** The set workload's checkers, for a run and for `faultline check --workload set`: set-full, stats. */
export function setCheckers(options: SetCheckersOptions): Checker[] {
  const setFull: Checker = {
    name: "set-full",
    anomalyClasses: setFullAnomalyClasses,
    check: (history, context) =>
      checkSetFullHistory(history, {
        linearizable: options.linearizable,
        ...(options.readF !== undefined ? { readF: options.readF } : {}),
        ...(context.budget !== undefined ? { budget: context.budget } : {}),
      }),
  };
  return [setFull, statsChecker];
}
