import { describe, expect, it } from "vitest";
import { crashNemesis, crashPackage } from "./crash.ts";
import type { NodeFaultDone } from "./nodeFault.ts";
import { fakeCluster, inWorld } from "./testkit.ts";

const decoder = new TextDecoder();

describe("crash nemesis", () => {
  it("crashes exactly the nodes it names, never a client, and restarts them on stop", async () => {
    const cluster = fakeCluster({ seed: 4, nodeCount: 5, writer: "n2" });
    const nemesis = crashNemesis();
    await inWorld(cluster, async () => {
      cluster.world.clientRuntime("c0");
      const sizes = { one: 1, minority: 2, majority: 3, writer: 1, all: 5 };
      for (const [target, size] of Object.entries(sizes)) {
        const started = await cluster.invoke(nemesis, { f: "start-crash", value: target });
        expect(started.type).toBe("info");
        const done = started.value as NodeFaultDone;
        expect(done.nodes.length).toBe(size);
        if (target === "writer") expect(done).toMatchObject({ nodes: ["n2"], writer: "n2" });
        expect(cluster.down()).toEqual(done.nodes);
        expect(
          cluster.world
            .endpoints()
            .filter((e) => e.kind === "client")
            .every((e) => e.up),
        ).toBe(true);
        const stopped = await cluster.invoke(nemesis, { f: "stop-crash", value: null });
        expect(stopped.value).toEqual({ nodes: done.nodes });
        expect(cluster.down()).toEqual([]);
        await cluster.world.sleep(10e6);
      }
    });
  });

  it("loses what a crashed node had not fsynced, keeps what it had", async () => {
    const cluster = fakeCluster({ seed: 6, nodeCount: 3 });
    await inWorld(cluster, async () => {
      const disk = cluster.world.diskOf("n1");
      expect(decoder.decode(disk.read("volatile"))).toBe("lost on crash");
      const nemesis = crashNemesis();
      // "all" so that n1 is certainly among the crashed.
      await cluster.invoke(nemesis, { f: "start-crash", value: "all" });
      expect(disk.read("volatile")).toBeUndefined();
      expect(decoder.decode(disk.read("durable"))).toBe("kept");
      await cluster.invoke(nemesis, { f: "stop-crash", value: null });
      await cluster.world.sleep(10e6);
      expect(cluster.down()).toEqual([]);
      expect(decoder.decode(disk.read("durable"))).toBe("kept");
    });
  });

  it("fails, doing nothing, when the target has no members or is unknown", async () => {
    const cluster = fakeCluster({ seed: 1, nodeCount: 2 });
    const nemesis = crashNemesis();
    const r = await cluster.invoke(nemesis, { f: "start-crash", value: "minority" });
    expect(r.type).toBe("fail");
    expect(String(r.error)).toMatch(/no-target/);
    const bad = await cluster.invoke(nemesis, { f: "start-crash", value: "everyone" });
    expect(bad.type).toBe("fail");
    expect(cluster.down()).toEqual([]);
  });

  it("picks the same nodes from the same seed", async () => {
    const run = async (seed: number) => {
      const cluster = fakeCluster({ seed, nodeCount: 9 });
      const nemesis = crashNemesis();
      const picked: unknown[] = [];
      for (let i = 0; i < 6; i++) {
        picked.push(
          (await cluster.invoke(nemesis, { f: "start-crash", value: i % 2 === 0 ? "one" : "minority" }))
            .value,
        );
        await cluster.invoke(nemesis, { f: "stop-crash", value: null });
      }
      return picked;
    };
    expect(await run(8)).toEqual(await run(8));
    expect(await run(8)).not.toEqual(await run(9));
  });

  it("heals through its heal invocations", async () => {
    const cluster = fakeCluster({ seed: 2, nodeCount: 5 });
    const { nemesis } = crashPackage({ seed: 2, nemesisIntervalNs: 1e9 });
    await inWorld(cluster, async () => {
      await cluster.invoke(nemesis, { f: "start-crash", value: "minority" });
      await cluster.invoke(nemesis, { f: "start-crash", value: "one" });
      expect(cluster.down().length).toBeGreaterThan(0);
      for (const invocation of nemesis.healInvocations()) await cluster.invoke(nemesis, invocation);
      expect(cluster.down()).toEqual([]);
    });
  });
});
