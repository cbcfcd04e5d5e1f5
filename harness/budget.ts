/**
 * Budgets: every search has a bound, and hitting it is an answer ("unknown", with the reason),
 * not a hang. Checkers are pure functions of a history except for this one window on the outside
 * world: the elapsed wall time and the heap in use, read here so that checker code itself never
 * touches a clock.
 */
export interface BudgetLimits {
  /** Wall-clock time the work may take, ms. */
  readonly timeLimitMs?: number;
  /** Heap the process may hold while working, bytes. */
  readonly memoryLimitBytes?: number;
}

export class Budget {
  private readonly startMs = performance.now();
  private checks = 0;
  private exhaustedReason: string | undefined;

  constructor(private readonly limits: BudgetLimits = {}) {}

  /**
   * Cheap enough to call in an inner loop: it reads the clock and heap only every 1024 calls.
   * Returns the reason once the budget is exhausted (and from then on), else undefined.
   */
  exhausted(): string | undefined {
    if (this.exhaustedReason !== undefined) return this.exhaustedReason;
    if ((++this.checks & 1023) !== 0) return undefined;
    return this.checkNow();
  }

  /** Reads the clock and heap now. */
  checkNow(): string | undefined {
    if (this.exhaustedReason !== undefined) return this.exhaustedReason;
    const { timeLimitMs, memoryLimitBytes } = this.limits;
    const elapsedMs = performance.now() - this.startMs;
    if (timeLimitMs !== undefined && elapsedMs > timeLimitMs) {
      this.exhaustedReason = `time budget of ${timeLimitMs} ms exhausted`;
    } else if (memoryLimitBytes !== undefined && process.memoryUsage().heapUsed > memoryLimitBytes) {
      this.exhaustedReason = `memory budget of ${Math.round(memoryLimitBytes / 2 ** 20)} MiB exhausted`;
    }
    return this.exhaustedReason;
  }

  elapsedMs(): number {
    return performance.now() - this.startMs;
  }
}
