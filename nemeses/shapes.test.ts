import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../harness/runtime/random.ts";
import {
  bisect,
  bridgeGrudge,
  completeGrudge,
  grudgeFromMap,
  grudgeToMap,
  majoritiesRingGrudge,
  majorityCount,
  oneWayGrudge,
  viewOf,
} from "./shapes.ts";

const names = (n: number) => Array.from({ length: n }, (_, i) => `n${i + 1}`);
const drops = (g: Readonly<Record<string, readonly string[]>>, a: string, b: string) =>
  g[a]?.includes(b) === true;
const clusterArb = fc.record({
  n: fc.integer({ min: 1, max: 12 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 }),
});

describe("partition shapes (Jepsen's)", () => {
  it("bisect puts the smaller half first", () => {
    expect(bisect(["a", "b", "c", "d", "e"])).toEqual([
      ["a", "b"],
      ["c", "d", "e"],
    ]);
    expect(bisect([])).toEqual([[], []]);
  });

  it("halves: two disjoint sides covering every node, sizes differing by at most one, cut completely", () => {
    fc.assert(
      fc.property(clusterArb, ({ n, seed }) => {
        const nodes = new SeededRandom(seed).shuffle(names(n));
        const [a, b] = bisect(nodes);
        expect(Math.abs(a.length - b.length)).toBeLessThanOrEqual(1);
        expect([...a, ...b].sort()).toEqual(nodes.slice().sort());
        const g = completeGrudge([a, b]);
        for (const x of nodes)
          for (const y of nodes) {
            const sameSide = a.includes(x) === a.includes(y);
            expect(drops(g, x, y)).toBe(!sameSide);
          }
      }),
      { numRuns: 150 },
    );
  });

  it("majorities-ring: every node hears a majority (itself included), and no two hear the same one", () => {
    fc.assert(
      fc.property(clusterArb, ({ n, seed }) => {
        const nodes = names(n);
        const { grudge, ring } = majoritiesRingGrudge(nodes, new SeededRandom(seed));
        expect(ring.slice().sort()).toEqual(nodes.slice().sort());
        const views = nodes.map((node) => viewOf(node, nodes, grudge));
        nodes.forEach((node, i) => {
          expect(views[i]).toContain(node);
          expect(views[i]!.length).toBe(majorityCount(n));
        });
        if (n >= 3) expect(new Set(views.map((v) => v.join(","))).size).toBe(n);
      }),
      { numRuns: 150 },
    );
  });

  it("majorities-ring over five nodes is symmetric: each hears its two ring neighbours", () => {
    const { grudge, ring } = majoritiesRingGrudge(names(5), new SeededRandom(3));
    ring.forEach((node, i) => {
      const neighbours = [ring[(i + 4) % 5]!, node, ring[(i + 1) % 5]!].sort();
      expect(viewOf(node, ring.slice().sort(), grudge)).toEqual(neighbours);
    });
  });

  it("one-way: drops in one direction only, the larger side dropping all of the smaller", () => {
    fc.assert(
      fc.property(clusterArb, ({ n, seed }) => {
        const nodes = names(n);
        const { grudge, from, to } = oneWayGrudge(nodes, new SeededRandom(seed));
        expect(from.length).toBe(Math.floor(n / 2));
        expect([...from, ...to].sort()).toEqual(nodes.slice().sort());
        for (const x of nodes)
          for (const y of nodes) {
            expect(drops(grudge, x, y) && drops(grudge, y, x)).toBe(false);
            expect(drops(grudge, x, y)).toBe(to.includes(x) && from.includes(y));
          }
      }),
      { numRuns: 150 },
    );
  });

  it("bridge: the bridge hears and is heard by all; the others are cut into halves", () => {
    fc.assert(
      fc.property(clusterArb, ({ n, seed }) => {
        const nodes = names(n);
        const { grudge, bridge } = bridgeGrudge(nodes, new SeededRandom(seed));
        expect(bridge).toBeDefined();
        expect(grudge[bridge!]).toBeUndefined();
        for (const dropped of Object.values(grudge)) expect(dropped).not.toContain(bridge);
        // Apart from the bridge, it is a complete two-sided cut: symmetric, sides differ by ≤ 2.
        for (const x of nodes) for (const y of nodes) expect(drops(grudge, x, y)).toBe(drops(grudge, y, x));
        if (n >= 3) {
          const others = nodes.filter((x) => x !== bridge);
          const sideOf = others[0]!;
          const side = others.filter((y) => !drops(grudge, sideOf, y));
          const other = others.filter((y) => drops(grudge, sideOf, y));
          expect(side.length + other.length).toBe(n - 1);
          expect(Math.abs(side.length - other.length)).toBeLessThanOrEqual(2);
          for (const x of side) expect(viewOf(x, others, grudge).sort()).toEqual(side.slice().sort());
        }
      }),
      { numRuns: 150 },
    );
  });

  it("converts grudges to the runtime's maps and back, dropping empty entries", () => {
    const record = { n1: ["n3", "n2"], n2: [] };
    const back = grudgeFromMap(grudgeToMap(record));
    expect(back).toEqual({ n1: ["n2", "n3"] });
  });
});
