/**
 * Shrinking a failing run: given a simulated run that fails with some anomaly class, find a
 * smaller run (fewer fault windows, a shorter time limit, fewer workers, a lower rate, fewer keys)
 * that still fails with one of those classes. Smaller means easier to read: fewer operations,
 * fewer faults, a history a person can follow.
 *
 * The search is fast-check's shrinking, not a hand-written one: the run's knobs form an arbitrary
 * (integers from a floor up to the original value, and a subarray of the windows the run opened),
 * the original knobs are given as the one example, and the property is "this run does not fail the
 * same way". The example fails, so fast-check shrinks it: it tries smaller values of each knob in
 * turn (integers toward their floor by halving, windows by removing them), keeps any candidate that
 * still fails, and starts again from it, until no smaller candidate fails. Each candidate is one
 * deterministic simulated run, so the whole search is deterministic too.
 *
 * Bounds: at most `maxAttempts` runs and `timeBudgetMs` of real time; past either, every further
 * candidate counts as not failing (without being run), which ends the search with the smallest
 * failing run found so far, and the result says the budget ran out.
 */
import fc from "fast-check";

/** The knobs of a run that shrinking turns. */
export interface Knobs {
  /** Main phase, in tenths of a second (whole numbers shrink cleanly). */
  readonly timeLimitDs: number;
  /** The fault windows applied, `package:N`; all the run opened when nothing was chosen. */
  readonly windows: readonly string[];
  readonly concurrency: number;
  /** Operations per second, whole. */
  readonly rate: number;
  /** Keys in use or accounts; undefined when the workload has no keys. */
  readonly keys?: number;
}

export interface KnobFloors {
  readonly timeLimitDs: number;
  readonly concurrency: number;
  readonly rate: number;
  readonly keys: number;
}

export const defaultFloors: KnobFloors = { timeLimitDs: 10, concurrency: 1, rate: 1, keys: 1 };

export interface SearchOptions {
  readonly maxAttempts: number;
  readonly timeBudgetMs: number;
  readonly floors?: KnobFloors;
  /** Reads the time (ms) for the budget; injectable for tests. */
  readonly nowMs?: () => number;
  /** Told of each candidate run and whether it failed the same way. */
  readonly onAttempt?: (knobs: Knobs, failed: boolean, attempt: number) => void;
}

export interface SearchResult {
  /** The smallest candidate that failed the same way (the original when none smaller did). */
  readonly smallest: Knobs;
  /** Whether the original itself failed the same way when replayed. */
  readonly originalFailed: boolean;
  /** Runs made. */
  readonly attempts: number;
  /** Why the search stopped: it found nothing smaller to try, or a budget ran out. */
  readonly stoppedBy: "exhausted" | "attempts" | "time";
}

/**
 * The time limit moves in whole seconds when the original is a whole number of seconds (fewer
 * attempts spent on the last digit), else in tenths; the arbitrary's `timeLimitDs` counts steps.
 */
function timeStepDs(original: Knobs): number {
  return original.timeLimitDs % 10 === 0 ? 10 : 1;
}

function knobsArbitrary(original: Knobs, floors: KnobFloors): fc.Arbitrary<Knobs> {
  const upTo = (floor: number, value: number) => fc.integer({ min: Math.min(floor, value), max: value });
  const step = timeStepDs(original);
  // Tried in this order: the time limit first (it sets what every later attempt costs), then the
  // windows (once they are few, they come early, and the time limit shrinks again).
  return fc.record({
    timeLimitDs: upTo(Math.ceil(floors.timeLimitDs / step), original.timeLimitDs / step),
    windows: fc.subarray([...original.windows]),
    concurrency: upTo(floors.concurrency, original.concurrency),
    rate: upTo(floors.rate, original.rate),
    ...(original.keys !== undefined ? { keys: upTo(floors.keys, original.keys) } : {}),
  }) as fc.Arbitrary<Knobs>;
}

/**
 * Searches for the smallest knobs for which `failsTheSameWay` holds, starting from `original`
 * (which is tried first: the replay).
 */
export async function shrinkKnobs(
  original: Knobs,
  failsTheSameWay: (knobs: Knobs) => Promise<boolean>,
  options: SearchOptions,
): Promise<SearchResult> {
  const nowMs = options.nowMs ?? (() => Date.now());
  const started = nowMs();
  let attempts = 0;
  let stoppedBy: SearchResult["stoppedBy"] = "exhausted";
  let originalFailed = false;
  const step = timeStepDs(original);
  const fromSteps = (k: Knobs): Knobs => ({ ...k, timeLimitDs: k.timeLimitDs * step });
  const inSteps: Knobs = { ...original, timeLimitDs: original.timeLimitDs / step };
  const property = fc.asyncProperty(
    knobsArbitrary(original, options.floors ?? defaultFloors),
    async (stepped) => {
      const knobs = fromSteps(stepped);
      if (attempts >= options.maxAttempts) {
        stoppedBy = "attempts";
        return true;
      }
      if (attempts > 0 && nowMs() - started >= options.timeBudgetMs) {
        stoppedBy = "time";
        return true;
      }
      attempts++;
      const failed = await failsTheSameWay(knobs);
      if (attempts === 1) originalFailed = failed;
      options.onAttempt?.(knobs, failed, attempts);
      return !failed;
    },
  );
  // One run: the example (the original); no random candidates. Shrinking follows a failure.
  const details = await fc.check(property, { examples: [[inSteps]], numRuns: 1, endOnFailure: false });
  const counterexample =
    details.failed && details.counterexample !== null ? details.counterexample[0] : undefined;
  const smallest = counterexample !== undefined ? fromSteps(counterexample) : original;
  return { smallest, originalFailed, attempts, stoppedBy };
}
