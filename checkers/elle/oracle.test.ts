/**
 * The Elle checkers against a brute-force oracle, on random small transactional histories (list
 * append and read-write registers, with committed, failed and info transactions and appends no read
 * shows). The oracle tries every order of the committed transactions, with every subset of the
 * info ones, that respects real time (for strict serializability) and executes it serially: the
 * history is serializable when some order reproduces every committed read.
 *
 * - Soundness: whenever the checker says a history is not (strict-)serializable, the oracle agrees.
 * - Completeness where Elle's theory gives it: list-append histories of committed transactions in
 *   which, for every key, some read shows every append; then the version order is fully known, and
 *   a non-serializable history must be caught.
 *
 * The histories come from a sloppy executor: transactions commit in a random order, each reading
 * from a random earlier point of it (so some reads are stale and anomalies happen), then now and
 * then one read is altered.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Op } from "../../harness/history/op.ts";
import { checkElleHistory } from "./index.ts";

type Workload = "append" | "rw-register";
type Mop = [string, string, unknown];

interface Txn {
  readonly mops: Mop[]; // as completed (reads filled in for committed ones)
  readonly status: "ok" | "info" | "fail";
  readonly start: number;
  readonly end: number;
}

const keys = ["x", "y", "z"];

const specArb = fc.record({
  txns: fc.array(
    fc.record({
      mops: fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 3 }),
      status: fc.constantFrom("ok", "ok", "ok", "ok", "ok", "ok", "info", "fail"),
      applied: fc.boolean(),
      snapshotBack: fc.integer({ min: 0, max: 3 }),
      start: fc.integer({ min: 0, max: 12 }),
      length: fc.integer({ min: 1, max: 6 }),
      rank: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    { minLength: 2, maxLength: 5 },
  ),
  alter: fc.option(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 6 })), { nil: undefined }),
  /** A last transaction reading every key, after everything else (a final read, as workloads do). */
  finalRead: fc.boolean(),
});

type Spec = typeof specArb extends fc.Arbitrary<infer T> ? T : never;

/** Runs the sloppy executor: commit order by rank, each transaction reading from a little back. */
function execute(given: Spec, workload: Workload): Txn[] {
  const spec: Spec = given.finalRead
    ? {
        ...given,
        txns: [
          ...given.txns,
          {
            mops: keys.map((_, k) => [true, k] as [boolean, number]),
            status: "ok",
            applied: true,
            snapshotBack: 0,
            start: 100,
            length: 1,
            rank: 2,
          },
        ],
      }
    : given;
  let next = 1;
  const planned = spec.txns.map((t) =>
    t.mops.map(([isRead, k]): Mop =>
      isRead ? ["r", keys[k]!, null] : [workload === "append" ? "append" : "w", keys[k]!, next++],
    ),
  );
  const commitOrder = spec.txns.map((t, i) => ({ i, rank: t.rank })).sort((a, b) => a.rank - b.rank);
  const applies = (i: number): boolean =>
    spec.txns[i]!.status === "ok" || (spec.txns[i]!.status === "info" && spec.txns[i]!.applied);
  /** States after each prefix of the commit order. */
  const states: Map<string, unknown>[] = [new Map()];
  const done: Mop[][] = spec.txns.map((_, i) => planned[i]!.map((m) => [...m] as Mop));
  for (let c = 0; c < commitOrder.length; c++) {
    const { i } = commitOrder[c]!;
    const snapshot = states[Math.max(0, states.length - 1 - spec.txns[i]!.snapshotBack)]!;
    const own = new Map<string, unknown[]>(); // appends (or the last write) of this transaction, per key
    for (const m of done[i]!) {
      const [f, k, v] = m;
      const mine = own.get(k) ?? [];
      if (f !== "r") {
        own.set(k, workload === "append" ? [...mine, v] : [v]);
        continue;
      }
      if (workload === "append") m[2] = [...((snapshot.get(k) as unknown[] | undefined) ?? []), ...mine];
      else m[2] = mine.length > 0 ? mine[0] : (snapshot.get(k) ?? null);
    }
    const after = new Map(states[states.length - 1]!);
    if (applies(i)) {
      for (const [k, mine] of own) {
        after.set(
          k,
          workload === "append" ? [...((after.get(k) as unknown[] | undefined) ?? []), ...mine] : mine[0],
        );
      }
    }
    states.push(after);
  }
  if (spec.alter !== undefined) {
    const [ti, mi, value] = spec.alter;
    const t = done[ti % done.length]!;
    const reads = t.filter((m) => m[0] === "r");
    if (reads.length > 0 && spec.txns[ti % done.length]!.status === "ok") {
      const m = reads[mi % reads.length]!;
      if (workload === "append") {
        const list = (m[2] as unknown[]) ?? [];
        m[2] = value % 2 === 0 ? list.slice(0, -1) : [...list].reverse();
      } else {
        m[2] = value === 0 ? null : value;
      }
    }
  }
  return spec.txns.map((t, i) => ({
    mops: t.status === "ok" ? done[i]! : planned[i]!,
    status: t.status,
    start: t.start,
    end: t.start + t.length,
  }));
}

function toHistory(txns: readonly Txn[]): Op[] {
  const events: { time: number; order: number; op: Omit<Op, "index" | "time"> }[] = [];
  txns.forEach((t, i) => {
    const invoked = t.mops.map(([f, k, v]) => [f, k, f === "r" ? null : v]);
    events.push({ time: t.start, order: 0, op: { process: i, type: "invoke", f: "txn", value: invoked } });
    events.push({
      time: t.end,
      order: 1,
      op: { process: i, type: t.status, f: "txn", value: t.status === "ok" ? t.mops : invoked },
    });
  });
  events.sort((a, b) => a.time - b.time || a.order - b.order);
  return events.map((e, index) => ({ ...e.op, index, time: index }) as Op);
}

/** Whether some serial order (respecting real time when `strict`) reproduces every committed read. */
function oracle(txns: readonly Txn[], history: readonly Op[], workload: Workload, strict: boolean): boolean {
  const position = new Map<string, number>();
  history.forEach((op, at) => position.set(`${String(op.process)}:${op.type === "invoke" ? "i" : "c"}`, at));
  const ok = txns.map((_, i) => i).filter((i) => txns[i]!.status === "ok");
  const infos = txns.map((_, i) => i).filter((i) => txns[i]!.status === "info");
  const precedes = (a: number, b: number): boolean =>
    strict && txns[a]!.status === "ok" && position.get(`${a}:c`)! < position.get(`${b}:i`)!;
  const runs = (order: readonly number[]): boolean => {
    const state = new Map<string, unknown>();
    for (const i of order) {
      const t = txns[i]!;
      for (const [f, k, v] of t.mops) {
        const current = state.get(k) ?? (workload === "append" ? [] : null);
        if (f === "r") {
          if (t.status !== "ok") continue;
          const seen = workload === "append" ? (v ?? []) : v;
          if (JSON.stringify(seen) !== JSON.stringify(current)) return false;
        } else {
          state.set(k, workload === "append" ? [...(current as unknown[]), v] : v);
        }
      }
    }
    return true;
  };
  const permute = (left: number[], order: number[]): boolean => {
    if (left.length === 0) return runs(order);
    for (let j = 0; j < left.length; j++) {
      const i = left[j]!;
      const rest = [...left.slice(0, j), ...left.slice(j + 1)];
      if (rest.some((r) => precedes(r, i))) continue;
      if (permute(rest, [...order, i])) return true;
    }
    return false;
  };
  for (let mask = 0; mask < 1 << infos.length; mask++) {
    const chosen = infos.filter((_, b) => (mask & (1 << b)) !== 0);
    if (permute([...ok, ...chosen], [])) return true;
  }
  return false;
}

/** Every key's appends all appear in one committed read of it, and every transaction committed. */
function fullyObserved(txns: readonly Txn[]): boolean {
  if (txns.some((t) => t.status !== "ok")) return false;
  for (const k of keys) {
    const appended = txns.flatMap((t) =>
      t.mops.filter((m) => m[0] === "append" && m[1] === k).map((m) => m[2]),
    );
    if (appended.length === 0) continue;
    const reads = txns.flatMap((t) =>
      t.mops.filter((m) => m[0] === "r" && m[1] === k).map((m) => (m[2] as unknown[]) ?? []),
    );
    if (!reads.some((r) => appended.every((v) => r.includes(v)))) return false;
  }
  return true;
}

describe("Elle against a brute-force serializability oracle", () => {
  for (const workload of ["append", "rw-register"] as const) {
    it(`${workload}: never calls a serializable history invalid, and (list-append, fully observed) catches every other`, () => {
      const tally = { invalid: 0, caught: 0, complete: 0 };
      fc.assert(
        fc.property(specArb, (spec) => {
          const txns = execute(spec, workload);
          const history = toHistory(txns);
          for (const strict of [false, true]) {
            const model = strict ? "strict-serializable" : "serializable";
            const options = { workload, model } as const;
            const results = [checkElleHistory(history, options)];
            if (workload === "rw-register")
              results.push(checkElleHistory(history, { ...options, wfrKeys: true }));
            const serializable = oracle(txns, history, workload, strict);
            if (!serializable) tally.invalid++;
            for (const result of results) {
              if (result.valid === false) {
                expect(serializable, `${model}: ${String(result.reason)}\n${JSON.stringify(history)}`).toBe(
                  false,
                );
                tally.caught++;
              }
            }
            if (workload === "append" && !serializable && fullyObserved(txns)) {
              tally.complete++;
              expect(results[0]!.valid, `${model} missed:\n${JSON.stringify(history)}`).toBe(false);
            }
          }
        }),
        { numRuns: 300, seed: 1414 },
      );
      expect(tally.invalid).toBeGreaterThan(50);
      expect(tally.caught).toBeGreaterThan(30);
      if (workload === "append") expect(tally.complete).toBeGreaterThan(10);
    });
  }
});
