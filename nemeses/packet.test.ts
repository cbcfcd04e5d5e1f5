import { describe, expect, it } from "vitest";
import { SimWorld } from "../harness/runtime/sim/index.ts";
import { runTest } from "../harness/runner/runner.ts";
import type { Op } from "../harness/history/op.ts";
import { MemorySystem } from "../systems/memory/system.ts";
import { registerWorkload } from "../workloads/register.ts";
import {
  defaultPacketSeverity,
  linkFaultsFor,
  packetNemesis,
  packetPackage,
  type PacketSeverity,
} from "./packet.ts";
import { fakeCluster, inWorld, type FakeCluster } from "./testkit.ts";

const certain: PacketSeverity = {
  extraLatencyNs: 1e9,
  lossProbability: 1,
  duplicateProbability: 1,
  reorderProbability: 1,
};

/** Sends `count` messages from n1 to n2 and returns how many arrived within `waitNs`, and when the first did. */
async function deliveries(
  cluster: FakeCluster,
  count: number,
  waitNs: number,
): Promise<{ arrived: number; firstNs?: number }> {
  let arrived = 0;
  let firstNs: number | undefined;
  const startNs = cluster.world.nowNs();
  cluster.runtimes.get("n2")!.net.onMessage(() => {
    arrived++;
    firstNs ??= cluster.world.nowNs() - startNs;
  });
  for (let i = 0; i < count; i++) cluster.runtimes.get("n1")!.net.send("n2", i);
  await cluster.world.sleep(waitNs);
  return firstNs === undefined ? { arrived } : { arrived, firstNs };
}

describe("packet nemesis", () => {
  it("records the link faults it sets and every node they reach", async () => {
    const cluster = fakeCluster({ seed: 1, nodeCount: 3 });
    const r = await cluster.invoke(packetNemesis(), { f: "start-packet", value: ["loss", "latency"] });
    expect(r.value).toEqual({
      behaviours: ["latency", "loss"],
      faults: {
        extraLatencyNs: defaultPacketSeverity.extraLatencyNs,
        lossProbability: defaultPacketSeverity.lossProbability,
      },
      nodes: ["n1", "n2", "n3"],
    });
    const bad = await cluster.invoke(packetNemesis(), { f: "start-packet", value: ["corruption"] });
    expect(bad.type).toBe("fail");
  });

  it("does to the network what it says: loss, duplication, latency; stop clears them", async () => {
    const cluster = fakeCluster({ seed: 2, nodeCount: 2 });
    const nemesis = packetNemesis(certain);
    await inWorld(cluster, async () => {
      expect((await deliveries(cluster, 10, 100e6)).arrived).toBe(10);
      await cluster.invoke(nemesis, { f: "start-packet", value: ["loss"] });
      expect((await deliveries(cluster, 10, 100e6)).arrived).toBe(0);
      await cluster.invoke(nemesis, { f: "start-packet", value: ["duplication"] });
      expect((await deliveries(cluster, 10, 500e6)).arrived).toBe(20);
      await cluster.invoke(nemesis, { f: "start-packet", value: ["latency"] });
      const slow = await deliveries(cluster, 20, 30e9);
      expect(slow.arrived).toBe(20);
      expect(slow.firstNs).toBeGreaterThan(10e6);
      await cluster.invoke(nemesis, { f: "stop-packet", value: null });
      const healed = await deliveries(cluster, 10, 100e6);
      expect(healed.arrived).toBe(10);
      expect(healed.firstNs).toBeLessThan(10e6);
    });
  });

  it("heals through its heal invocations", async () => {
    const cluster = fakeCluster({ seed: 3, nodeCount: 2 });
    await inWorld(cluster, async () => {
      const nemesis = packetNemesis(certain);
      await cluster.invoke(nemesis, {
        f: "start-packet",
        value: ["loss", "duplication", "reordering", "latency"],
      });
      for (const invocation of nemesis.healInvocations()) await cluster.invoke(nemesis, invocation);
      expect((await deliveries(cluster, 10, 100e6)).arrived).toBe(10);
    });
  });

  it("maps behaviours to link faults one for one", () => {
    expect(linkFaultsFor([], certain)).toEqual({});
    expect(linkFaultsFor(["reordering", "duplication"], certain)).toEqual({
      duplicateProbability: 1,
      reorderProbability: 1,
    });
  });

  it("keeps the memory system linearizable under latency, loss and reordering", async () => {
    const world = new SimWorld({ seed: 5, budget: { maxEvents: 50_000_000, maxVirtualTimeNs: 3600e9 } });
    const system = new MemorySystem(3);
    const workload = registerWorkload({ timeLimitNs: 20e9, ratePerS: 100 });
    const pkg = packetPackage({ seed: 5, nemesisIntervalNs: 2e9 }, ["latency", "loss", "reordering"]);
    const history: Op[] = [];
    await world.run(async () => {
      await system.setup(world);
      await runTest(world, {
        concurrency: 5,
        system,
        clientGenerator: workload.generator,
        nemesis: pkg.nemesis,
        nemesisGenerator: pkg.generator,
        opTimeoutNs: 5e9,
        recoveryDelayNs: 1e9,
        record: (op) => history.push(op),
      });
    });
    const starts = history.filter((op) => op.f === "start-packet" && op.type === "info");
    expect(starts.length).toBeGreaterThanOrEqual(3);
    const results = await Promise.all(workload.checkers.map((c) => c.check(history, {})));
    for (const r of results) expect(r.valid).toBe(true);
  });
});
