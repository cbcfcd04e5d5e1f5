import { describe, expect, it } from "vitest";
import { simulate } from "../harness/generator/simulate.ts";
import { composeNemeses } from "../harness/nemesis.ts";
import type { BuildConfig } from "../harness/testConfig.ts";
import { nemesisRegistry } from "./index.ts";
import { partitionNemesis, partitionPackage, type PartitionDone } from "./partition.ts";
import { grudgeNodes, partitionShapes, viewOf, majorityCount } from "./shapes.ts";
import { echoes, fakeCluster, inWorld } from "./testkit.ts";

const buildDefaults: BuildConfig = {
  seed: 1,
  nodes: 5,
  concurrency: 5,
  timeLimitNs: 30e9,
  ratePerS: 100,
  nemesisIntervalNs: 1e9,
  replication: "async",
  isolation: "serializable",
  readFrom: "writer",
  leases: false,
  bugs: [],
};

describe("partition nemesis", () => {
  it("does to the world's grudge exactly what each start-partition says, and stop heals it", async () => {
    const cluster = fakeCluster({ seed: 5, nodeCount: 5, writer: "n3" });
    const nemesis = partitionNemesis();
    for (const shape of partitionShapes) {
      const started = await cluster.invoke(nemesis, { f: "start-partition", value: shape });
      expect(started.type, JSON.stringify(started)).toBe("info");
      const done = started.value as PartitionDone;
      expect(done.shape).toBe(shape);
      expect(cluster.grudge()).toEqual(done.grudge);
      expect(done.nodes).toEqual(grudgeNodes(done.grudge));
      expect(Object.keys(done.grudge).length).toBeGreaterThan(0);
      const stopped = await cluster.invoke(nemesis, { f: "stop-partition", value: null });
      expect(stopped.value).toEqual({ grudge: {}, nodes: done.nodes });
      expect(cluster.grudge()).toEqual({});
    }
  });

  it("isolates the writer when one is known, and says so", async () => {
    const cluster = fakeCluster({ seed: 1, nodeCount: 5, writer: "n4" });
    const done = (await cluster.invoke(partitionNemesis(), { f: "start-partition", value: "writer" }))
      .value as PartitionDone;
    expect(done.writer).toBe("n4");
    expect(done.sides).toEqual([["n4"], ["n1", "n2", "n3", "n5"]]);
    expect(cluster.grudge()["n4"]).toEqual(["n1", "n2", "n3", "n5"]);
    const noWriter = fakeCluster({ seed: 1, nodeCount: 5 });
    const fallback = (await noWriter.invoke(partitionNemesis(), { f: "start-partition", value: "writer" }))
      .value as PartitionDone;
    expect(fallback.writer).toBeNull();
    expect(fallback.sides![0]!.length).toBe(1);
  });

  it("applies Jepsen's shapes to the world: halves, ring, one-way", async () => {
    const cluster = fakeCluster({ seed: 9, nodeCount: 5 });
    const nemesis = partitionNemesis();
    await cluster.invoke(nemesis, { f: "start-partition", value: "halves" });
    expect(cluster.grudge()).toEqual({
      n1: ["n3", "n4", "n5"],
      n2: ["n3", "n4", "n5"],
      n3: ["n1", "n2"],
      n4: ["n1", "n2"],
      n5: ["n1", "n2"],
    });
    await cluster.invoke(nemesis, { f: "start-partition", value: "majorities-ring" });
    for (const node of cluster.nodes)
      expect(viewOf(node, cluster.nodes, cluster.grudge()).length).toBe(majorityCount(5));
    await cluster.invoke(nemesis, { f: "start-partition", value: "one-way" });
    const g = cluster.grudge();
    for (const [a, dropped] of Object.entries(g))
      for (const b of dropped) expect(g[b] ?? []).not.toContain(a);
  });

  it("keeps clients connected to every node: partitions act between nodes", async () => {
    const cluster = fakeCluster({ seed: 2, nodeCount: 3 });
    await inWorld(cluster, async () => {
      await cluster.invoke(partitionNemesis(), { f: "start-partition", value: "random-halves" });
      expect(Object.keys(cluster.grudge()).length).toBeGreaterThan(0);
      for (const node of cluster.nodes) expect(await echoes(cluster, "c0", node)).toBe(true);
    });
  });

  it("cuts nodes off for real: a message across the cut is dropped", async () => {
    const cluster = fakeCluster({ seed: 2, nodeCount: 2 });
    await inWorld(cluster, async () => {
      const started = await cluster.invoke(partitionNemesis(), { f: "start-partition", value: "halves" });
      expect(started.type).toBe("info");
      let heard = 0;
      cluster.runtimes.get("n2")!.net.onMessage(() => heard++);
      cluster.runtimes.get("n1")!.net.send("n2", "hello");
      await cluster.world.sleep(100e6);
      expect(heard).toBe(0);
      await cluster.invoke(partitionNemesis(), { f: "stop-partition", value: null });
      cluster.runtimes.get("n1")!.net.send("n2", "hello");
      await cluster.world.sleep(100e6);
      expect(heard).toBe(1);
    });
  });

  it("fails, doing nothing, when the shape cuts nothing or is unknown", async () => {
    const cluster = fakeCluster({ seed: 1, nodeCount: 1 });
    const nemesis = partitionNemesis();
    for (const shape of partitionShapes) {
      const r = await cluster.invoke(nemesis, { f: "start-partition", value: shape });
      expect(r.type).toBe("fail");
      expect(String(r.error)).toMatch(/no-target/);
    }
    const bad = await cluster.invoke(nemesis, { f: "start-partition", value: "triangle" });
    expect(bad.type).toBe("fail");
    expect(String(bad.error)).toMatch(/majorities-ring/);
    expect(cluster.grudge()).toEqual({});
  });

  it("picks the same targets from the same seed", async () => {
    const run = async (seed: number) => {
      const cluster = fakeCluster({ seed, nodeCount: 7 });
      const nemesis = partitionNemesis();
      const values: unknown[] = [];
      for (const shape of ["random-halves", "one", "majorities-ring", "bridge", "one-way"]) {
        values.push((await cluster.invoke(nemesis, { f: "start-partition", value: shape })).value);
      }
      return values;
    };
    expect(await run(3)).toEqual(await run(3));
    expect(await run(3)).not.toEqual(await run(4));
  });

  it("heals through its heal invocations", async () => {
    const cluster = fakeCluster({ seed: 1, nodeCount: 5 });
    const { nemesis } = partitionPackage({ seed: 1, nemesisIntervalNs: 1e9 });
    await cluster.invoke(nemesis, { f: "start-partition", value: "bridge" });
    expect(cluster.grudge()).not.toEqual({});
    for (const invocation of nemesis.healInvocations()) await cluster.invoke(nemesis, invocation);
    expect(cluster.grudge()).toEqual({});
  });

  it("partition-writer: its own ops, every window the writer shape, composable with partition", async () => {
    const config = { seed: 2, nemesisIntervalNs: 1e9 };
    const aimed = nemesisRegistry["partition-writer"]!({ ...buildDefaults, ...config });
    expect(aimed.nemesis.fs).toEqual(["start-partition-writer", "stop-partition-writer"]);
    const starts = simulate(aimed.generator, { seed: 2, clientThreads: 0, nemesis: true, maxTimeNs: 30e9 })
      .history.filter((op) => op.type === "invoke" && op.f === "start-partition-writer")
      .map((op) => op.value);
    expect(starts.length).toBeGreaterThan(3);
    expect(new Set(starts)).toEqual(new Set(["writer"]));

    const cluster = fakeCluster({ seed: 1, nodeCount: 5, writer: "n2" });
    const both = composeNemeses([partitionPackage(config).nemesis, aimed.nemesis]);
    const done = (await cluster.invoke(both, { f: "start-partition-writer", value: "writer" }))
      .value as PartitionDone;
    expect(done.sides).toEqual([["n2"], ["n1", "n3", "n4", "n5"]]);
    expect(cluster.grudge()["n2"]).toEqual(["n1", "n3", "n4", "n5"]);
    const refused = await cluster.invoke(aimed.nemesis, { f: "start-partition", value: "writer" });
    expect(refused.type).toBe("fail");
    for (const invocation of aimed.nemesis.healInvocations()) await cluster.invoke(both, invocation);
    expect(cluster.grudge()).toEqual({});
  });
});
