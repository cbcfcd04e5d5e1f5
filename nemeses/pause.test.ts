import { describe, expect, it } from "vitest";
import type { NodeFaultDone } from "./nodeFault.ts";
import { pauseNemesis, pausePackage } from "./pause.ts";
import { echoes, fakeCluster, inWorld } from "./testkit.ts";

describe("pause nemesis", () => {
  it("pauses exactly the nodes it names and resumes them on stop", async () => {
    const cluster = fakeCluster({ seed: 4, nodeCount: 5, writer: "n5" });
    const nemesis = pauseNemesis();
    await inWorld(cluster, async () => {
      for (const target of ["one", "minority", "writer", "all"]) {
        const done = (await cluster.invoke(nemesis, { f: "start-pause", value: target }))
          .value as NodeFaultDone;
        expect(done.target).toBe(target);
        expect(cluster.paused()).toEqual(done.nodes);
        expect(cluster.down()).toEqual([]);
        const stopped = await cluster.invoke(nemesis, { f: "stop-pause", value: null });
        expect(stopped.value).toEqual({ nodes: done.nodes });
        expect(cluster.paused()).toEqual([]);
      }
    });
  });

  it("holds a paused node's messages until it resumes", async () => {
    const cluster = fakeCluster({ seed: 3, nodeCount: 3, writer: "n1" });
    const nemesis = pauseNemesis();
    await inWorld(cluster, async () => {
      await cluster.invoke(nemesis, { f: "start-pause", value: "writer" });
      expect(await echoes(cluster, "c0", "n1")).toBe(false);
      expect(await echoes(cluster, "c1", "n2")).toBe(true);
      await cluster.invoke(nemesis, { f: "stop-pause", value: null });
      expect(await echoes(cluster, "c0", "n1")).toBe(true);
    });
  });

  it("picks the same nodes from the same seed", async () => {
    const run = async (seed: number) => {
      const cluster = fakeCluster({ seed, nodeCount: 9 });
      const nemesis = pauseNemesis();
      const picked: unknown[] = [];
      for (let i = 0; i < 6; i++) {
        picked.push((await cluster.invoke(nemesis, { f: "start-pause", value: "minority" })).value);
        await cluster.invoke(nemesis, { f: "stop-pause", value: null });
      }
      return picked;
    };
    expect(await run(8)).toEqual(await run(8));
    expect(await run(8)).not.toEqual(await run(9));
  });

  it("heals through its heal invocations", async () => {
    const cluster = fakeCluster({ seed: 2, nodeCount: 5 });
    const { nemesis } = pausePackage({ seed: 2, nemesisIntervalNs: 1e9 });
    await cluster.invoke(nemesis, { f: "start-pause", value: "all" });
    expect(cluster.paused().length).toBe(5);
    for (const invocation of nemesis.healInvocations()) await cluster.invoke(nemesis, invocation);
    expect(cluster.paused()).toEqual([]);
  });
});
