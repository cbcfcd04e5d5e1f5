import { describe, expect, it } from "vitest";
import { clockGenerator, clockNemesis, clockPackage, strobeTicksPerWindow } from "./clock.ts";
import { simulate } from "../harness/generator/simulate.ts";
import { fakeCluster, inWorld, type FakeCluster } from "./testkit.ts";

interface ClockDone {
  nodes: string[];
  deviationsNs?: Record<string, number>;
  offsetsNs?: Record<string, number>;
  driftPpm?: Record<string, number> | number;
}

/** Each node's wall clock minus true time, read from the node's own runtime. */
function deviations(cluster: FakeCluster): Record<string, number> {
  const out: Record<string, number> = {};
  for (const node of cluster.nodes)
    out[node] = cluster.runtimes.get(node)!.clock.nowNs() - cluster.world.nowNs();
  return out;
}

const endpoint = (cluster: FakeCluster, node: string) =>
  cluster.world.endpoints().find((e) => e.name === node)!;

describe("clock nemesis", () => {
  it("bumps exactly the clocks it names by the offsets it records, and resets them", async () => {
    const cluster = fakeCluster({ seed: 3, nodeCount: 5 });
    const nemesis = clockNemesis();
    await inWorld(cluster, async () => {
      const r = await cluster.invoke(nemesis, {
        f: "start-clock",
        value: { kind: "bump", target: "minority" },
      });
      const done = r.value as ClockDone;
      expect(done.nodes.length).toBe(2);
      const now = deviations(cluster);
      for (const node of cluster.nodes) {
        const expected = done.deviationsNs![node] ?? 0;
        expect(now[node]).toBe(expected);
        expect(endpoint(cluster, node).clockOffsetNs).toBe(done.offsetsNs![node] ?? 0);
      }
      for (const node of done.nodes) expect(Math.abs(done.deviationsNs![node]!)).toBeGreaterThanOrEqual(1e6);
      const reset = (await cluster.invoke(nemesis, { f: "stop-clock", value: null })).value as ClockDone;
      expect(reset.nodes).toEqual(done.nodes);
      expect(Object.values(deviations(cluster))).toEqual([0, 0, 0, 0, 0]);
    });
  });

  it("strobes: every tick flips the strobing clocks between their offset and true time", async () => {
    const cluster = fakeCluster({ seed: 7, nodeCount: 3 });
    const nemesis = clockNemesis();
    await inWorld(cluster, async () => {
      const done = (
        await cluster.invoke(nemesis, { f: "start-clock", value: { kind: "strobe", target: "all" } })
      ).value as ClockDone;
      expect(deviations(cluster)).toEqual(done.deviationsNs);
      for (let i = 0; i < 4; i++) {
        await cluster.world.sleep(50e6);
        const tick = (await cluster.invoke(nemesis, { f: "strobe-clock", value: null })).value as ClockDone;
        const expected = i % 2 === 0 ? { n1: 0, n2: 0, n3: 0 } : done.deviationsNs;
        expect(tick.deviationsNs).toEqual(expected);
        expect(deviations(cluster)).toEqual(expected);
      }
      await cluster.invoke(nemesis, { f: "stop-clock", value: null });
      expect(deviations(cluster)).toEqual({ n1: 0, n2: 0, n3: 0 });
      const late = await cluster.invoke(nemesis, { f: "strobe-clock", value: null });
      expect(late.type).toBe("fail");
    });
  });

  it("drifts the clocks it names at the rates it records; a reset puts wall time right again", async () => {
    const cluster = fakeCluster({ seed: 11, nodeCount: 4 });
    const nemesis = clockNemesis();
    await inWorld(cluster, async () => {
      const done = (
        await cluster.invoke(nemesis, { f: "start-clock", value: { kind: "drift", target: "all" } })
      ).value as ClockDone;
      const rates = done.driftPpm as Record<string, number>;
      for (const node of cluster.nodes) expect(endpoint(cluster, node).driftPpm).toBe(rates[node]);
      await cluster.world.sleep(3e9);
      const drifted = deviations(cluster);
      for (const node of cluster.nodes)
        expect(Math.abs(drifted[node]! - (3e9 * rates[node]!) / 1e6)).toBeLessThanOrEqual(2);
      // A bump during a drift is measured from true time, not from the drifted clock.
      const bump = (
        await cluster.invoke(nemesis, { f: "start-clock", value: { kind: "bump", target: "one" } })
      ).value as ClockDone;
      const bumped = bump.nodes[0]!;
      expect(Math.abs(deviations(cluster)[bumped]! - bump.deviationsNs![bumped]!)).toBeLessThanOrEqual(2);
      await cluster.world.sleep(1e9);
      await cluster.invoke(nemesis, { f: "stop-clock", value: null });
      for (const node of cluster.nodes) {
        expect(endpoint(cluster, node).driftPpm).toBe(0);
        expect(Math.abs(deviations(cluster)[node]!)).toBeLessThanOrEqual(2);
      }
      await cluster.world.sleep(2e9);
      for (const node of cluster.nodes) expect(Math.abs(deviations(cluster)[node]!)).toBeLessThanOrEqual(2);
      // Later faults still land where they say, though the monotonic clocks stayed skewed.
      const again = (
        await cluster.invoke(nemesis, { f: "start-clock", value: { kind: "bump", target: "all" } })
      ).value as ClockDone;
      for (const node of cluster.nodes)
        expect(Math.abs(deviations(cluster)[node]! - again.deviationsNs![node]!)).toBeLessThanOrEqual(2);
    });
  });

  it("picks the same nodes and offsets from the same seed", async () => {
    const run = async (seed: number) => {
      const cluster = fakeCluster({ seed, nodeCount: 7 });
      const nemesis = clockNemesis();
      const values: unknown[] = [];
      for (const kind of ["bump", "strobe", "drift"]) {
        values.push(
          (await cluster.invoke(nemesis, { f: "start-clock", value: { kind, target: "minority" } })).value,
        );
        values.push((await cluster.invoke(nemesis, { f: "stop-clock", value: null })).value);
      }
      return values;
    };
    expect(await run(1)).toEqual(await run(1));
    expect(await run(1)).not.toEqual(await run(2));
  });

  it("refuses a malformed start, doing nothing", async () => {
    const cluster = fakeCluster({ seed: 1, nodeCount: 3 });
    const r = await cluster.invoke(clockNemesis(), {
      f: "start-clock",
      value: { kind: "warp", target: "all" },
    });
    expect(r.type).toBe("fail");
    expect(String(r.error)).toMatch(/bump/);
    expect(cluster.world.endpoints().every((e) => e.clockOffsetNs === 0)).toBe(true);
  });

  it("heals through its heal invocations", async () => {
    const cluster = fakeCluster({ seed: 2, nodeCount: 5 });
    const { nemesis } = clockPackage({ seed: 2, nemesisIntervalNs: 1e9 });
    await inWorld(cluster, async () => {
      await cluster.invoke(nemesis, { f: "start-clock", value: { kind: "bump", target: "all" } });
      await cluster.invoke(nemesis, { f: "start-clock", value: { kind: "drift", target: "majority" } });
      await cluster.world.sleep(1e9);
      for (const invocation of nemesis.healInvocations()) await cluster.invoke(nemesis, invocation);
      for (const node of cluster.nodes) {
        expect(Math.abs(deviations(cluster)[node]!)).toBeLessThanOrEqual(2);
        expect(endpoint(cluster, node).driftPpm).toBe(0);
      }
    });
  });

  it("schedules strobe windows as a start, ticks inside the window, then a stop", () => {
    const result = simulate(
      clockGenerator({ intervalNs: 9e9, firstStartNs: 1e9, kinds: ["strobe"], maxWindows: 3 }),
      { seed: 4, clientThreads: 0, nemesis: true },
    );
    const fs = result.history.filter((op) => op.type === "invoke").map((op) => op.f);
    const window = ["start-clock", ...Array<string>(strobeTicksPerWindow).fill("strobe-clock"), "stop-clock"];
    expect(fs).toEqual([...window, ...window, ...window]);
  });
});
