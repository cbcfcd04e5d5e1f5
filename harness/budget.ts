/**
 * Budgets: every search has a bound, and hitting it is an answer ("unknown", with the reason),
 * not a hang and not a crash.
 *
 * The primary bound is a count of steps (a line read, a micro-op inferred, a search state
 * expanded): the same history exhausts the same budget at the same point on every machine, so a
 * verdict never depends on how fast the machine is. Wall time and heap are outer safety nets:
 * `timeLimitMs` holds within a few milliseconds because every long loop takes steps and the clock
 * is read every `clockEverySteps` of them (and the loops keep each step small); the memory limit
 * defaults to 3/4 of the heap V8 was given (`defaultMemoryLimitBytes`), so running out is noticed
 * before Node's own limit kills the process.
 *
 * Checkers are pure functions of a history except for this one window on the outside world: the
 * elapsed time and the heap in use are read here, so checker code itself never touches a clock.
 */
import { getHeapStatistics } from "node:v8";
import { describeFound } from "./history/validate.ts";

export interface BudgetLimits {
  /** Steps the work may take: the primary bound, machine-independent. */
  readonly maxSteps?: number;
  /** Wall-clock time the work may take, ms (an outer safety net). */
  readonly timeLimitMs?: number;
  /** Heap the process may hold while working, bytes (an outer safety net). */
  readonly memoryLimitBytes?: number;
}

/** Steps between two reads of the clock: small enough that a deadline holds within a millisecond or so. */
export const clockEverySteps = 256;
/** Steps between two reads of the heap (dear: milliseconds on a large heap). */
const heapEverySteps = 1 << 20;

/** 3/4 of the heap this process may grow to: the default memory budget, always below Node's limit. */
export function defaultMemoryLimitBytes(): number {
  return Math.floor(getHeapStatistics().heap_size_limit * 0.75);
}

/** Thrown by `Budget.step` once the budget is spent; checkers turn it into an "unknown" verdict. */
export class BudgetExhausted extends Error {
  override name = "BudgetExhausted";
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * Why `limits` bound nothing they name, as the error to throw, or undefined: a limit that is not a
 * number (NaN compares false with every count, so a step limit of NaN never ran out). A limit of
 * 0 or below is a bound (the budget is spent at once), and Infinity says "no bound" plainly.
 */
export function budgetMistake(limits: BudgetLimits): RangeError | undefined {
  for (const name of ["maxSteps", "timeLimitMs", "memoryLimitBytes"] as const) {
    const value: unknown = limits[name];
    if (value !== undefined && (typeof value !== "number" || Number.isNaN(value))) {
      return new RangeError(`budget: expected ${name} to be a number; got ${describeFound(value)}`);
    }
  }
  return undefined;
}

/**
 * The default clock, one function for every budget: a closure made per budget gave each its own,
 * and a loop compiled while one budget counted was thrown away when the next (a second history's)
 * read its clock ("wrong call target": etcd's logs checked together).
 */
const performanceNowMs = (): number => performance.now();

export class Budget {
  private readonly startMs: number;
  /**
   * The limits, always with the same three fields (undefined where not given): budgets made from
   * objects of other shapes made the limits read in `exhausted` polymorphic, and threw its
   * compiled code away ("wrong map": etcd's logs checked together).
   */
  private readonly limits: BudgetLimits;
  private steps = 0;
  private nextClockAt = clockEverySteps;
  private nextHeapAt = heapEverySteps;
  private exhaustedReason: string | undefined;
  private readonly memoryLimitBytes: number | undefined;

  constructor(
    limits: BudgetLimits = {},
    private readonly nowMs: () => number = performanceNowMs,
    /** When the time limit started to run, if earlier than now (reading a file came first, say). */
    startMs?: number,
  ) {
    const mistake = budgetMistake(limits);
    if (mistake !== undefined) throw mistake;
    const { maxSteps, timeLimitMs, memoryLimitBytes } = limits;
    this.limits = { maxSteps, timeLimitMs, memoryLimitBytes };
    this.startMs = startMs ?? nowMs();
    this.memoryLimitBytes = limits.memoryLimitBytes;
  }

  /**
   * Counts `count` steps and returns the reason once the budget is exhausted (and from then on),
   * else undefined. Cheap enough for an inner loop: the clock is read every `clockEverySteps`.
   */
  exhausted(count = 1): string | undefined {
    if (this.exhaustedReason !== undefined) return this.exhaustedReason;
    this.steps += count;
    const { maxSteps } = this.limits;
    if (maxSteps !== undefined && this.steps > maxSteps) {
      this.exhaustedReason = `step budget of ${maxSteps.toLocaleString("en-US")} steps exhausted`;
      return this.exhaustedReason;
    }
    if (this.steps < this.nextClockAt) return undefined;
    this.nextClockAt = this.steps + clockEverySteps;
    return this.checkNow();
  }

  /** Like `exhausted`, but throws `BudgetExhausted`: for deep loops that cannot return a verdict. */
  step(count = 1): void {
    const reason = this.exhausted(count);
    if (reason !== undefined) throw new BudgetExhausted(reason);
  }

  /** Reads the clock (and now and then the heap) now. */
  checkNow(): string | undefined {
    if (this.exhaustedReason !== undefined) return this.exhaustedReason;
    const { timeLimitMs } = this.limits;
    if (timeLimitMs !== undefined && this.nowMs() - this.startMs > timeLimitMs) {
      this.exhaustedReason = `time budget of ${timeLimitMs} ms exhausted`;
    } else if (this.memoryLimitBytes !== undefined && this.steps >= this.nextHeapAt) {
      this.nextHeapAt = this.steps + heapEverySteps;
      if (process.memoryUsage().heapUsed > this.memoryLimitBytes) {
        this.exhaustedReason = `memory budget of ${Math.round(this.memoryLimitBytes / 2 ** 20)} MiB exhausted`;
      }
    }
    return this.exhaustedReason;
  }

  /** Steps taken so far. */
  get stepsTaken(): number {
    return this.steps;
  }

  /** The step budget left (Infinity when there is no step bound). */
  stepsLeft(): number {
    const { maxSteps } = this.limits;
    return maxSteps === undefined ? Infinity : Math.max(0, maxSteps - this.steps);
  }

  elapsedMs(): number {
    return this.nowMs() - this.startMs;
  }

  /** The time left before the time limit (Infinity when there is none; 0 once it has passed). */
  timeLeftMs(): number {
    const { timeLimitMs } = this.limits;
    return timeLimitMs === undefined ? Infinity : Math.max(0, timeLimitMs - this.elapsedMs());
  }

  /** The reason the budget ran out, if it has. */
  get reason(): string | undefined {
    return this.exhaustedReason;
  }
}

/** A budget that is already a `Budget` is shared as it is; limits make a fresh one. */
export function budgetOf(budget: Budget | BudgetLimits | undefined): Budget {
  return budget instanceof Budget ? budget : new Budget(budget ?? {});
}
