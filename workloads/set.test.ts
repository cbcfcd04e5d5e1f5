import { describe, expect, it } from "vitest";
import { phases } from "../harness/generator/index.ts";
import { simulate } from "../harness/generator/simulate.ts";
import type { Op } from "../harness/history/op.ts";
import { setWorkload } from "./set.ts";

/**
 * The set workload's main and final phases run against imaginary clients, executed on a plain set
 * at each completion; `loseAtIndex` makes the store forget the smallest element at that point.
 */
function runSet(loseAtIndex?: number): { history: Op[]; lost: unknown } {
  const workload = setWorkload({ timeLimitNs: 2e9, ratePerS: 200 });
  const schedule = simulate(phases(workload.generator, workload.finalGenerator!), {
    seed: 9,
    clientThreads: 5,
    failChance: 0,
    infoChance: 0,
  });
  const set = new Set<unknown>();
  const invokes = new Map<unknown, Op>();
  let lost: unknown;
  const history = schedule.history.map((op): Op => {
    if (loseAtIndex !== undefined && op.index === loseAtIndex && set.size > 0) {
      lost = Math.min(...([...set] as number[]));
      set.delete(lost);
    }
    if (op.type === "invoke") {
      invokes.set(op.process, op);
      return op;
    }
    const invoke = invokes.get(op.process)!;
    if (invoke.f === "add") set.add(invoke.value);
    return { ...op, type: "ok", value: invoke.f === "add" ? invoke.value : [...set] };
  });
  return { history, lost };
}

describe("the set workload, end to end on imaginary clients", () => {
  it("is valid when the store keeps every element, with final reads after the main phase", async () => {
    const { history } = runSet();
    const workload = setWorkload({ timeLimitNs: 2e9, ratePerS: 200 });
    for (const checker of workload.checkers) {
      const r = await checker.check(history, {});
      expect(r.valid, `${checker.name}: ${r.reason}`).toBe(true);
    }
    const final = history.slice(-10).filter((op) => op.f === "read-set" && op.type === "ok");
    expect(final.length).toBe(5);
  });

  it("reports the element the store forgot as lost, with when it was acknowledged and last seen", async () => {
    const { history, lost } = runSet(400);
    const setFull = setWorkload({ timeLimitNs: 2e9, ratePerS: 200 }).checkers.find(
      (c) => c.name === "set-full",
    )!;
    const r = await setFull.check(history, {});
    expect(r.valid).toBe(false);
    expect(r.anomalyCounts).toEqual({ lost: 1 });
    const c = r.anomalies!.lost![0]!;
    expect(c.element).toBe(lost);
    expect(typeof c.acknowledgedNs).toBe("number");
    expect(typeof c.lastSeenNs).toBe("number");
  });
});
