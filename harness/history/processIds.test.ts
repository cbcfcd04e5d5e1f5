/**
 * The history readers keep small whole-number processes in arrays that grow as ids appear, and
 * every other process in a map. Jepsen gives a process a new, higher id after every crash, so a
 * real log reaches ids in the hundreds or thousands, far past an array's first size: these
 * properties draw ids from both sides of every size and limit (0, 63, 64, 200, 5,000, 65,535,
 * 65,536, 70,000) and hold the array-keeping readers to plain map-keeping models of the same
 * rules: the shape tracker's verdict at every entry, and the operation tally's count.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { countClientOperations, OperationTally, type Op, type OpType, type Process } from "./op.ts";
import { HistoryShapeTracker } from "./validate.ts";

const processes: readonly Process[] = [0, 1, 63, 64, 200, 5_000, 65_535, 65_536, 70_000, "nemesis"];

interface Step {
  readonly process: Process;
  readonly type: OpType;
  readonly f: "read" | "write";
  /** Time relative to the previous entry; sometimes negative, so a completion can precede its invocation. */
  readonly deltaNs: number;
}

const step: fc.Arbitrary<Step> = fc.record({
  process: fc.constantFrom(...processes),
  type: fc.constantFrom<OpType>("invoke", "invoke", "ok", "fail", "info"),
  f: fc.constantFrom("read" as const, "write" as const),
  deltaNs: fc.integer({ min: -3, max: 10 }),
});

function opsOf(steps: readonly Step[]): Op[] {
  let time = 100;
  return steps.map((s, index) => {
    time = Math.max(0, time + s.deltaNs);
    return { index, time, process: s.process, type: s.type, f: s.f, value: null } as Op;
  });
}

/** The pairing rules in their plainest form: one map of open invocations. */
function modelFirstProblem(ops: readonly Op[]): number | undefined {
  const open = new Map<Process, { f: string; time: number }>();
  for (const op of ops) {
    const openOp = open.get(op.process);
    if (op.type === "invoke") {
      if (openOp !== undefined) return op.index;
      open.set(op.process, { f: op.f, time: op.time });
    } else if (openOp === undefined) {
      if (op.process !== "nemesis") return op.index;
    } else {
      if (openOp.f !== op.f || op.time < openOp.time) return op.index;
      open.delete(op.process);
    }
  }
  return undefined;
}

describe("readers keyed by process id, across the array and map sides", () => {
  it("property: the shape tracker finds its first problem where a map-keeping model does", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const ops = opsOf(steps);
        const tracker = new HistoryShapeTracker();
        const found = ops.find((op) => tracker.check(op) !== undefined)?.index;
        expect(found).toBe(modelFirstProblem(ops));
      }),
      { numRuns: 2000 },
    );
  });

  it("property: the operation tally counts what countClientOperations counts", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const ops = opsOf(steps);
        const tally = new OperationTally();
        for (const op of ops) tally.add(op.process, op.type);
        expect(tally.clientOperations).toBe(countClientOperations(ops));
      }),
      { numRuns: 2000 },
    );
  });

  it("reports a completion timed before its invocation by process 70,000 and by process 200", () => {
    for (const process of [200, 70_000]) {
      const tracker = new HistoryShapeTracker();
      const ops = opsOf([
        { process: 0, type: "invoke", f: "read", deltaNs: 0 },
        { process, type: "invoke", f: "read", deltaNs: 5 },
        { process: 0, type: "ok", f: "read", deltaNs: 1 },
        { process, type: "ok", f: "read", deltaNs: -3 },
      ]);
      const problems = ops.map((op) => tracker.check(op));
      expect(problems.slice(0, 3)).toEqual([undefined, undefined, undefined]);
      expect(problems[3]).toMatch(new RegExp(`process ${process}'s "ok" completion not to be timed before`));
    }
  });
});
