import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { phases } from "./control.ts";
import { GeneratorError } from "./context.ts";
import { simulate } from "./simulate.ts";
import { limit, mix, repeat, toGenerator } from "./sources.ts";
import type { OpSpec } from "./sources.ts";
import { clients, clientsAndNemesis, eachThread } from "./threads.ts";
import { delay, sleep, stagger, timeLimit } from "./time.ts";
import type { Op } from "../history/op.ts";
import type { GenContext, Generator } from "./types.ts";

const invokes = (history: readonly Op[]) => history.filter((op) => op.type === "invoke");
const randomWrites = (context: GenContext): OpSpec => ({ f: "w", value: context.random.int(100) });

/** A small grammar of generators, drawn by fast-check, for the seed-determinism property. */
const arbitraryGenerator: fc.Arbitrary<() => Generator> = fc.letrec<{ gen: () => Generator }>((tie) => ({
  gen: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(() => repeat({ f: "r" })),
    fc.constant(() => toGenerator(randomWrites)),
    fc.tuple(fc.integer({ min: 1, max: 20 }), tie("gen")).map(
      ([n, g]) =>
        () =>
          limit(n, g()),
    ),
    fc.tuple(fc.integer({ min: 1, max: 5_000_000 }), tie("gen")).map(
      ([ns, g]) =>
        () =>
          stagger(ns, g()),
    ),
    fc.tuple(fc.integer({ min: 0, max: 5_000_000 }), tie("gen")).map(
      ([ns, g]) =>
        () =>
          delay(ns, g()),
    ),
    fc.tuple(tie("gen"), tie("gen")).map(
      ([a, b]) =>
        () =>
          mix([a(), b()]),
    ),
    fc.tuple(tie("gen"), tie("gen")).map(
      ([a, b]) =>
        () =>
          phases(limit(5, a()), b()),
    ),
    fc.tuple(tie("gen"), tie("gen")).map(
      ([a, b]) =>
        () =>
          clientsAndNemesis(a(), limit(3, b())),
    ),
    tie("gen").map((g) => () => eachThread(limit(3, g()))),
  ),
})).gen;

describe("generator properties", () => {
  it("the same seed gives the same history; every invocation is by a free process", () => {
    fc.assert(
      fc.property(
        arbitraryGenerator,
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 6 }),
        (make, seed, threads) => {
          const run = () =>
            simulate(timeLimit(200_000_000, make()), {
              seed,
              clientThreads: threads,
              nemesis: true,
              maxOps: 300,
            });
          const first = run();
          expect(run()).toEqual(first);
          // Invoke and complete alternate per process (simulate throws if a busy process is chosen).
          const open = new Set<unknown>();
          for (const op of first.history) {
            if (op.type === "invoke") {
              expect(open.has(op.process)).toBe(false);
              open.add(op.process);
            } else open.delete(op.process);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("timeLimit never emits an op at or past its limit", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50_000_000 }),
        fc.integer({ min: 0, max: 100_000_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer(),
        (pauseNs, limitNs, meanNs, threads, seed) => {
          const gen = toGenerator([
            sleep(pauseNs),
            timeLimit(limitNs, stagger(meanNs, clients(randomWrites))),
            { f: "after" },
          ]);
          const ops = invokes(simulate(gen, { seed, clientThreads: threads, maxOps: 5000 }).history);
          const limited = ops.filter((op) => op.f === "w");
          if (limited.length === 0) return;
          const startNs = limited[0]!.time;
          expect(startNs).toBeGreaterThanOrEqual(pauseNs);
          for (const op of limited) expect(op.time).toBeLessThan(startNs + limitNs);
          expect(ops.at(-1)?.f).toBe("after");
        },
      ),
      { numRuns: 60 },
    );
  });

  it("stagger holds its mean rate over long runs while the system keeps up", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 10_000_000 }), fc.integer(), (meanNs, seed) => {
        const count = 2000;
        const ops = invokes(
          simulate(limit(count, stagger(meanNs, repeat({ f: "r" }))), {
            seed,
            clientThreads: 8,
            minOpDurationNs: 0,
            maxOpDurationNs: Math.floor(meanNs / 10),
            maxOps: count,
          }).history,
        );
        expect(ops).toHaveLength(count);
        const meanGapNs = (ops.at(-1)!.time - ops[0]!.time) / (count - 1);
        // The sum of 1999 uniform gaps has a relative standard deviation near 1.3%; allow 10%.
        expect(Math.abs(meanGapNs - meanNs) / meanNs).toBeLessThan(0.1);
      }),
      { numRuns: 15 },
    );
  });

  it("limit(n) emits exactly min(n, available)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer(),
        (n, available, threads, seed) => {
          const gen = limit(n, repeat(available, { f: "r" }));
          const ops = invokes(simulate(gen, { seed, clientThreads: threads }).history);
          expect(ops).toHaveLength(Math.min(n, available));
        },
      ),
      { numRuns: 80 },
    );
  });

  it("eachThread gives each thread its own sequence", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("a", "b", "c", "d"), { maxLength: 8 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer(),
        (fs, threads, seed) => {
          const gen = clients(eachThread(fs.map((f) => ({ f }))));
          const ops = invokes(simulate(gen, { seed, clientThreads: threads, nemesis: true }).history);
          for (let thread = 0; thread < threads; thread++) {
            const mine = ops.filter(
              (op) => typeof op.process === "number" && op.process % threads === thread,
            );
            expect(mine.map((op) => op.f)).toEqual(fs);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("phases never overlap", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer(),
        (sizes, threads, seed) => {
          const gen = phases(
            ...sizes.map((n, i) =>
              limit(n, mix([repeat({ f: `p${i}` }), (c) => ({ f: `p${i}`, value: c.random.int(9) })])),
            ),
          );
          const history = simulate(gen, { seed, clientThreads: threads }).history;
          let phase = 0;
          let open = 0;
          for (const op of history) {
            if (op.type === "invoke") {
              const opPhase = Number(op.f.slice(1));
              // A new phase starts only with nothing open.
              if (opPhase !== phase) expect(open).toBe(0);
              expect(opPhase).toBeGreaterThanOrEqual(phase);
              phase = opPhase;
              open += 1;
            } else open -= 1;
          }
          expect(invokes(history)).toHaveLength(sizes.reduce((a, b) => a + b, 0));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("simulate", () => {
  it("moves a thread to a new process after an info", () => {
    const history = simulate(limit(20, repeat({ f: "r" })), {
      seed: 1,
      clientThreads: 2,
      failChance: 0,
      infoChance: 1,
    }).history;
    const processes = invokes(history).map((op) => op.process as number);
    for (const thread of [0, 1]) {
      const mine = processes.filter((p) => p % 2 === thread);
      expect(mine).toEqual(mine.map((_, i) => thread + 2 * i));
      expect(mine.length).toBeGreaterThan(2);
    }
  });

  it("reports a stalled generator instead of hanging", () => {
    const result = simulate(repeat({ f: "r" }), { seed: 1, clientThreads: 0 });
    expect(result.end).toBe("stalled");
  });

  it("ends at its op limit", () => {
    const result = simulate(repeat({ f: "r" }), { seed: 1, clientThreads: 2, maxOps: 7 });
    expect(result.end).toBe("op-limit");
    expect(invokes(result.history)).toHaveLength(7);
    expect(result.history).toHaveLength(14);
  });

  it("rejects an op for a process that is not free", () => {
    const bad: Generator = {
      op: () => ({ kind: "op", op: { f: "x", value: null, process: 9, timeNs: 0 }, next: bad }),
      update: () => bad,
    };
    expect(() => simulate(bad, { seed: 1, clientThreads: 2 })).toThrow(GeneratorError);
  });
});
