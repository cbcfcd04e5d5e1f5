import { getHeapStatistics } from "node:v8";
import { describe, expect, it } from "vitest";
import { Budget, BudgetExhausted, clockEverySteps, defaultMemoryLimitBytes } from "./budget.ts";

describe("Budget", () => {
  it("runs out after exactly maxSteps steps, whatever the clock says", () => {
    const budget = new Budget({ maxSteps: 1000 }, () => 0);
    for (let i = 0; i < 1000; i++) expect(budget.exhausted()).toBeUndefined();
    expect(budget.exhausted()).toBe("step budget of 1,000 steps exhausted");
    expect(budget.exhausted()).toBe("step budget of 1,000 steps exhausted");
    expect(() => budget.step()).toThrow(BudgetExhausted);
  });

  it("reads the clock every clockEverySteps steps, so a time limit is noticed that soon", () => {
    let nowMs = 0;
    let reads = 0;
    const budget = new Budget({ timeLimitMs: 10 }, () => (reads++, nowMs));
    nowMs = 11;
    let steps = 0;
    while (budget.exhausted() === undefined) steps++;
    expect(steps).toBe(clockEverySteps - 1);
    expect(budget.reason).toBe("time budget of 10 ms exhausted");
    expect(reads).toBe(2); // at construction, and once the steps came due
  });

  it("defaults its memory net below the heap Node was given", () => {
    expect(defaultMemoryLimitBytes()).toBeLessThan(getHeapStatistics().heap_size_limit);
    expect(defaultMemoryLimitBytes()).toBeGreaterThan(0);
  });

  it("charges several steps at once", () => {
    const budget = new Budget({ maxSteps: 100 });
    expect(budget.exhausted(100)).toBeUndefined();
    expect(budget.exhausted(1)).toContain("step budget");
    expect(budget.stepsTaken).toBe(101);
  });
});
