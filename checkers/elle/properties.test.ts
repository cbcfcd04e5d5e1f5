import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MicroOp, Op } from "../../harness/history/op.ts";
import { SeededRandom } from "../../harness/runtime/random.ts";
import { historyOf } from "./fixtures.ts";
import { checkElleHistory } from "./index.ts";
import { simulateListAppend, type SimulationOptions } from "./simulate.ts";

const small = (seed: number, isolation: SimulationOptions["isolation"]): Op[] =>
  simulateListAppend({
    random: new SeededRandom(seed, "elle-property"),
    txnCount: 60,
    processCount: 4,
    isolation,
    minOps: 1,
    maxOps: 4,
    activeKeys: 3,
    appendsPerKey: 8,
    failPerMille: 50,
    infoPerMille: 50,
  });

const seeds = fc.integer({ min: 0, max: 2 ** 31 - 1 });

describe("list-append properties", () => {
  it("histories of transactions executed one at a time are strict-serializable", () => {
    fc.assert(
      fc.property(seeds, (seed) => {
        const r = checkElleHistory(small(seed, "serializable"), {
          workload: "append",
          model: "strict-serializable",
        });
        expect(r.anomalyTypes).toEqual([]);
        expect(r.valid).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("histories of a snapshot-isolation executor show nothing strong snapshot isolation forbids", () => {
    let sawG2 = 0;
    fc.assert(
      fc.property(seeds, (seed) => {
        const r = checkElleHistory(small(seed, "snapshot"), {
          workload: "append",
          model: "strong-snapshot-isolation",
        });
        expect(r.valid).toBe(true);
        for (const a of r.anomalyTypes as string[]) expect(a).toMatch(/^G2-item/);
        if ((r.anomalyTypes as string[]).length > 0) sawG2++;
      }),
      { numRuns: 60 },
    );
    // Not asserted per run: write skew arises only when the dice allow it, but it does arise.
    expect(sawG2).toBeGreaterThan(0);
  });

  it("a forced write skew on a snapshot-isolation history is G2-item", () => {
    fc.assert(
      fc.property(seeds, (seed) => {
        const base = small(seed, "snapshot");
        // Two fresh processes take snapshots of fresh keys together, each reads the key the other
        // appends to, both commit (they write different keys), and a later reader sees both.
        const skew = historyOf([
          [
            "invoke",
            1000,
            [
              ["r", "skew-x", null],
              ["append", "skew-y", 1],
            ],
          ],
          [
            "invoke",
            1001,
            [
              ["r", "skew-y", null],
              ["append", "skew-x", 1],
            ],
          ],
          [
            "ok",
            1000,
            [
              ["r", "skew-x", []],
              ["append", "skew-y", 1],
            ],
          ],
          [
            "ok",
            1001,
            [
              ["r", "skew-y", []],
              ["append", "skew-x", 1],
            ],
          ],
          [
            "invoke",
            1002,
            [
              ["r", "skew-x", null],
              ["r", "skew-y", null],
            ],
          ],
          [
            "ok",
            1002,
            [
              ["r", "skew-x", [1]],
              ["r", "skew-y", [1]],
            ],
          ],
        ]).map((op, i) => ({ ...op, index: base.length + i, time: base.length + i }));
        const r = checkElleHistory([...base, ...skew], { workload: "append", model: "snapshot-isolation" });
        expect(r.anomalyTypes).toContain("G2-item");
        expect(r.valid).toBe(true);
        expect(
          checkElleHistory([...base, ...skew], { workload: "append", model: "serializable" }).valid,
        ).toBe(false);
      }),
      { numRuns: 30 },
    );
  });

  it("removing a committed append from a later read is always caught", () => {
    fc.assert(
      fc.property(seeds, fc.nat(), (seed, pick) => {
        const history = small(seed, "serializable");
        // Candidates: a committed read, invoked after the writer of v completed, holding v, where
        // some other committed read also holds v (so v stays in the key's visible history).
        const appendedAt = new Map<string, number>();
        const holders = new Map<string, number>();
        const invokedAt = new Map<unknown, number>();
        const readerInvokedAt: number[] = [];
        history.forEach((op, at) => {
          if (op.type === "invoke") invokedAt.set(op.process, at);
          readerInvokedAt[at] = invokedAt.get(op.process) ?? -1;
          if (op.type !== "ok") return;
          for (const [f, k, v] of op.value as MicroOp[]) {
            if (f === "append") appendedAt.set(`${k}/${String(v)}`, at);
            if (f === "r") {
              for (const x of v as unknown[]) {
                holders.set(`${k}/${String(x)}`, (holders.get(`${k}/${String(x)}`) ?? 0) + 1);
              }
            }
          }
        });
        const candidates: [number, number, number][] = [];
        history.forEach((op, at) => {
          if (op.type !== "ok") return;
          (op.value as MicroOp[]).forEach(([f, k, v], m) => {
            if (f !== "r") return;
            (v as unknown[]).forEach((x, i) => {
              const id = `${k}/${String(x)}`;
              const writtenAt = appendedAt.get(id);
              if (writtenAt === undefined || (holders.get(id) ?? 0) < 2) return;
              if (writtenAt === at || writtenAt < readerInvokedAt[at]!) candidates.push([at, m, i]);
            });
          });
        });
        fc.pre(candidates.length > 0);
        const [at, m, i] = candidates[pick % candidates.length]!;
        const op = history[at]!;
        const value = (op.value as MicroOp[]).map((mop, n) =>
          n === m ? ([mop[0], mop[1], (mop[2] as unknown[]).filter((_, j) => j !== i)] as const) : mop,
        );
        const mutated = history.map((o, n) => (n === at ? { ...o, value } : o));
        const r = checkElleHistory(mutated, { workload: "append", model: "strict-serializable" });
        expect(r.valid).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
});
