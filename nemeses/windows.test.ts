/**
 * Explicit fault windows: every nemesis package applies exactly the chosen windows of its schedule
 * and is then done; the chosen windows come one after another from the schedule's first start
 * (the others take no time); choosing every window changes nothing; the same seed and choice give
 * the same ops; the text form round-trips and refuses what it cannot mean.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { any } from "../harness/generator/index.ts";
import { simulate } from "../harness/generator/simulate.ts";
import type { Generator } from "../harness/generator/types.ts";
import type { BuildConfig } from "../harness/testConfig.ts";
import { clockGenerator } from "./clock.ts";
import { crashGenerator } from "./crash.ts";
import { expandNemesisPackages, nemesisRegistry } from "./index.ts";
import { partitionGenerator } from "./partition.ts";
import { formatWindowSelection, parseWindowSelection, type WindowSelection } from "./windows.ts";

type Ops = { f: string; time: number; value: unknown }[];

function nemesisOps(generator: Generator, seed: number): Ops {
  const result = simulate(generator, { seed, clientThreads: 0, nemesis: true, maxTimeNs: 600e9 });
  expect(result.end).toBe("exhausted");
  return result.history
    .filter((op) => op.type === "invoke")
    .map((op) => ({ f: op.f, time: op.time, value: op.value }));
}

/** Each package's windows in the order they opened: start, inner ops, stop. */
function windowsOf(ops: Ops, packages: readonly string[]): Map<string, Ops[]> {
  const windows = new Map<string, Ops[]>(packages.map((p) => [p, []]));
  const open = new Map<string, Ops>();
  for (const op of ops) {
    const owner = packages
      .filter((p) => op.f === `start-${p}` || op.f === `stop-${p}` || op.f.endsWith(`-${p}`))
      .sort((a, b) => b.length - a.length)[0]!;
    if (op.f === `start-${owner}`) open.set(owner, []);
    open.get(owner)!.push(op);
    if (op.f === `stop-${owner}`) windows.get(owner)!.push(open.get(owner)!);
  }
  return windows;
}

const buildConfig: BuildConfig = {
  seed: 5,
  nodes: 3,
  concurrency: 1,
  timeLimitNs: 60e9,
  ratePerS: 10,
  nemesisIntervalNs: 1e9,
  replication: "sync",
  isolation: "serializable",
  readFrom: "writer",
  leases: false,
  bugs: [],
};

describe("every nemesis package", () => {
  for (const name of Object.keys(nemesisRegistry)) {
    it(`${name}: applies only the chosen windows, then is done`, () => {
      const packages = expandNemesisPackages([name]);
      const chosen = Object.fromEntries(packages.map((p, i) => [p, i % 2 === 0 ? [2] : [1, 3]]));
      const build = (windows?: WindowSelection) =>
        nemesisRegistry[name]!({
          ...buildConfig,
          ...(windows !== undefined ? { nemesisWindows: windows } : {}),
        }).generator;
      const starts = nemesisOps(build(chosen), 5).filter((op) => op.f.startsWith("start-"));
      for (const p of packages)
        expect(starts.filter((op) => op.f === `start-${p}`).length, p).toBe(chosen[p]!.length);
      expect(nemesisOps(build({}), 5)).toEqual([]);
    });
  }
});

const windowsEach = 6;
const schedule = (selection?: WindowSelection): Generator => {
  const keep = (p: string) => (selection === undefined ? {} : { keep: selection[p] ?? [] });
  return any(
    partitionGenerator({ intervalNs: 1e9, firstStartNs: 1e9, maxWindows: windowsEach, ...keep("partition") }),
    crashGenerator({ intervalNs: 1.5e9, firstStartNs: 1.7e9, maxWindows: windowsEach, ...keep("crash") }),
    clockGenerator({
      intervalNs: 2e9,
      firstStartNs: 0.5e9,
      maxWindows: windowsEach,
      kinds: ["strobe"],
      ...keep("clock"),
    }),
  );
};
const packages = ["partition", "crash", "clock"];
/** Ops take 1–10 ms in the simulation; a few in a row may delay the next. */
const slackNs = 50e6;

const selectionArb = fc
  .record({
    partition: fc.subarray([1, 2, 3, 4, 5, 6]),
    crash: fc.subarray([1, 2, 3, 4, 5, 6]),
    clock: fc.subarray([1, 2, 3, 4, 5, 6]),
  })
  .map((s) => Object.fromEntries(Object.entries(s).filter(([, l]) => l.length > 0)) as WindowSelection);

describe("a window selection", () => {
  it("applies exactly the chosen windows, each whole, one after another from the first start", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), selectionArb, (seed, selection) => {
        const windows = windowsOf(nemesisOps(schedule(selection), seed), packages);
        const firstStartNs: Record<string, number> = { partition: 1e9, crash: 1.7e9, clock: 0.5e9 };
        const intervalNs: Record<string, number> = { partition: 1e9, crash: 1.5e9, clock: 2e9 };
        for (const p of packages) {
          const list = windows.get(p)!;
          expect(list.length, p).toBe(selection[p]?.length ?? 0);
          if (list.length === 0) continue;
          // From the first start on (a busy nemesis thread may hold it back by an op's duration).
          expect(list[0]![0]!.time, p).toBeGreaterThanOrEqual(firstStartNs[p]!);
          expect(list[0]![0]!.time, p).toBeLessThan(firstStartNs[p]! + slackNs);
          for (let i = 1; i < list.length; i++) {
            const gapNs = list[i]![0]!.time - list[i - 1]!.at(-1)!.time;
            expect(gapNs).toBeGreaterThanOrEqual(intervalNs[p]! / 2 - 1);
            expect(gapNs).toBeLessThan(intervalNs[p]! * 1.5 + slackNs);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it("of every window changes nothing; the same seed and choice give the same ops; others differ", () => {
    const all = Object.fromEntries(packages.map((p) => [p, [1, 2, 3, 4, 5, 6]]));
    expect(nemesisOps(schedule(all), 3)).toEqual(nemesisOps(schedule(), 3));
    const some = { crash: [2], clock: [3, 5] };
    const once = nemesisOps(schedule(some), 5);
    expect(once.map((op) => op.f)).toEqual(
      expect.arrayContaining(["start-crash", "strobe-clock", "stop-clock"]),
    );
    expect(nemesisOps(schedule(some), 5)).toEqual(once);
    expect(nemesisOps(schedule({ crash: [3], clock: [3, 5] }), 5)).not.toEqual(once);
  });
});

describe("the text form", () => {
  it("round-trips, canonically ordered", () => {
    fc.assert(
      fc.property(selectionArb, (selection) => {
        expect(parseWindowSelection(formatWindowSelection(selection), packages)).toEqual(selection);
      }),
    );
    expect(formatWindowSelection({ partition: [3, 1], crash: [2] })).toBe("crash:2,partition:1,partition:3");
    expect(formatWindowSelection({})).toBe("none");
  });

  it("refuses what it cannot mean, saying why", () => {
    expect(parseWindowSelection("partition:0", packages)).toMatch(/from 1/);
    expect(parseWindowSelection("pause:1", packages)).toMatch(
      /no pause windows in this run \(its nemesis packages: partition, crash, clock\)/,
    );
    expect(parseWindowSelection("partition:2,partition:2", packages)).toMatch(/listed twice/);
    expect(parseWindowSelection("partition", packages)).toMatch(/expected "none" or a list of package:N/);
    expect(parseWindowSelection("none", packages)).toEqual({});
  });
});
