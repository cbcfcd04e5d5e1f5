/**
 * The linearizability checker against a brute-force oracle, on random small cas-register histories:
 * the oracle tries every order of the operations that respects real time (an operation that
 * completed before another was invoked comes first), places every completed one, and places an
 * operation of unknown outcome (info, or never completed) anywhere after its invocation or not at
 * all. The checker must agree with it exactly, valid and invalid alike.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Op } from "../../harness/history/op.ts";
import { checkLinearizableHistory } from "./index.ts";
import { hasKnownResult } from "./testHistory.ts";

interface OracleOp {
  readonly f: "read" | "write" | "cas";
  readonly arg: unknown; // write: value; cas: [from, to]
  readonly result: unknown; // read: value seen; cas: true swapped / false found another
  readonly call: number;
  readonly ret: number | undefined; // undefined: outcome unknown
}

/** Whether `ops` are linearizable as a register from null (memoised depth-first search). */
function oracle(ops: readonly OracleOp[]): boolean {
  const n = ops.length;
  const seen = new Set<string>();
  const search = (placed: number, state: unknown): boolean => {
    const remainingCompleted = ops.some((o, i) => (placed & (1 << i)) === 0 && o.ret !== undefined);
    if (!remainingCompleted) return true;
    const id = `${placed}:${JSON.stringify(state)}`;
    if (seen.has(id)) return false;
    seen.add(id);
    // The earliest completion among the unplaced: nothing invoked after it can go first.
    let horizon = Infinity;
    for (let i = 0; i < n; i++)
      if ((placed & (1 << i)) === 0 && ops[i]!.ret !== undefined) horizon = Math.min(horizon, ops[i]!.ret!);
    for (let i = 0; i < n; i++) {
      if ((placed & (1 << i)) !== 0) continue;
      const o = ops[i]!;
      if (o.call > horizon) continue;
      let next: unknown;
      if (o.f === "read") {
        if (o.ret !== undefined && o.result !== state) continue;
        next = state;
      } else if (o.f === "write") {
        next = o.arg;
      } else {
        const [from, to] = o.arg as [unknown, unknown];
        const swaps = state === from;
        if (o.ret !== undefined && swaps !== o.result) continue;
        next = swaps ? to : state;
      }
      if (search(placed | (1 << i), next)) return true;
    }
    return false;
  };
  return search(0, null);
}

const opArb = fc.record({
  f: fc.constantFrom("read" as const, "write" as const, "cas" as const),
  a: fc.integer({ min: 0, max: 2 }),
  b: fc.integer({ min: 0, max: 2 }),
  start: fc.integer({ min: 0, max: 20 }),
  length: fc.integer({ min: 1, max: 8 }),
  point: fc.double({ min: 0, max: 1, noNaN: true }),
  ending: fc.constantFrom("ok", "ok", "ok", "info", "open"),
});

/**
 * A history from a run: each operation takes effect at a point inside its interval, in that order;
 * then, sometimes, one completed result is changed, so both verdicts come up.
 */
const historyArb = fc
  .tuple(
    fc.array(opArb, { minLength: 1, maxLength: 6 }),
    fc.nat(),
    fc.integer({ min: 0, max: 2 }),
    fc.boolean(),
  )
  .map(([specs, pick, newValue, mutate]) => {
    const byPoint = specs
      .map((s, i) => ({ s, i, at: s.start + s.point * s.length }))
      .sort((x, y) => x.at - y.at || x.i - y.i);
    let state: unknown = null;
    const results = new Map<number, unknown>();
    for (const { s, i } of byPoint) {
      if (s.f === "read") results.set(i, state);
      else if (s.f === "write") state = s.a;
      else {
        const swaps = state === s.a;
        results.set(i, swaps);
        if (swaps) state = s.b;
      }
    }
    const completed = specs
      .map((s, i) => i)
      .filter((i) => specs[i]!.ending === "ok" && specs[i]!.f !== "write");
    if (mutate && completed.length > 0) {
      const i = completed[pick % completed.length]!;
      results.set(i, specs[i]!.f === "read" ? (newValue === 2 ? null : newValue) : !results.get(i));
    }
    return { specs, results };
  });

type OpSpec = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

function toHistory(
  specs: readonly OpSpec[],
  results: ReadonlyMap<number, unknown>,
): { history: Op[]; oracleOps: OracleOp[] } {
  const events: { time: number; order: number; op: Omit<Op, "index" | "time"> }[] = [];
  specs.forEach((s, i) => {
    const invokeValue = s.f === "write" ? s.a : s.f === "cas" ? [s.a, s.b] : null;
    events.push({ time: s.start, order: 0, op: { process: i, type: "invoke", f: s.f, value: invokeValue } });
    if (s.ending === "open") return;
    const end = s.start + s.length;
    if (s.ending === "info") {
      events.push({ time: end, order: 1, op: { process: i, type: "info", f: s.f, value: invokeValue } });
    } else if (s.f === "read") {
      events.push({ time: end, order: 1, op: { process: i, type: "ok", f: "read", value: results.get(i) } });
    } else if (s.f === "write" || results.get(i) === true) {
      events.push({ time: end, order: 1, op: { process: i, type: "ok", f: s.f, value: invokeValue } });
    } else {
      events.push({
        time: end,
        order: 1,
        op: { process: i, type: "fail", f: "cas", value: invokeValue, error: "cas-mismatch" },
      });
    }
  });
  // Invocations before completions at the same instant: touching intervals overlap.
  events.sort((x, y) => x.time - y.time || x.order - y.order);
  const history = events.map((e, index) => ({ ...e.op, index, time: index }) as Op);
  const position = new Map<string, number>();
  history.forEach((op, at) => position.set(`${String(op.process)}:${op.type === "invoke" ? "i" : "c"}`, at));
  const oracleOps = specs.map((s, i): OracleOp => {
    const ret = s.ending === "ok" ? position.get(`${i}:c`) : undefined;
    return {
      f: s.f,
      arg: s.f === "write" ? s.a : s.f === "cas" ? [s.a, s.b] : null,
      result: results.get(i),
      call: position.get(`${i}:i`)!,
      ret,
    };
  });
  return { history, oracleOps };
}

describe("linearizability against a brute-force oracle", () => {
  it("agrees on random small cas-register histories, valid and invalid", () => {
    let valid = 0;
    let invalid = 0;
    fc.assert(
      fc.property(historyArb, ({ specs, results }) => {
        const { history, oracleOps } = toHistory(specs, results);
        const result = checkLinearizableHistory(history, {
          model: "cas-register",
          init: null,
          partition: false,
        });
        if (!hasKnownResult(history)) {
          expect(result.valid).toBe("unknown");
          return;
        }
        const expected = oracle(oracleOps);
        expect(result.valid, JSON.stringify(history)).toBe(expected);
        if (expected) valid++;
        else invalid++;
      }),
      { numRuns: 400, seed: 14 },
    );
    // Both answers came up often enough for the agreement to mean something.
    expect(valid).toBeGreaterThan(40);
    expect(invalid).toBeGreaterThan(40);
  });
});
