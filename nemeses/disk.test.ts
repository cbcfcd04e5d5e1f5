import { describe, expect, it } from "vitest";
import { diskNemesis } from "./disk.ts";
import { fakeCluster } from "./testkit.ts";

const ms = 1e6;

describe("disk nemesis", () => {
  it("sets a fault on one node that keeps a disk, heals it and power-cycles it, as the world records", async () => {
    const cluster = fakeCluster({
      seed: 3,
      nodeCount: 3,
      roles: { n1: "control", n2: "writer", n3: "replica" },
    });
    const nemesis = diskNemesis();
    await cluster.world.run(async () => {
      await cluster.world.sleep(5 * ms);
      const before = new Map(cluster.runtimes);
      const start = await cluster.invoke(nemesis, { f: "start-disk", value: "fsync-eio-always" });
      expect(start.type).toBe("info");
      const { node } = start.value as { fault: string; node: string };
      expect(["n2", "n3"]).toContain(node);
      expect(cluster.world.diskOf(node).faultsInForce).toEqual({ fsyncFails: "always" });
      // The other disk node is the only one left for a second fault at once; then nobody is.
      const second = await cluster.invoke(nemesis, { f: "start-disk", value: "disk-full" });
      expect((second.value as { node: string }).node).toBe(node === "n2" ? "n3" : "n2");
      expect(await cluster.invoke(nemesis, { f: "start-disk", value: "disk-full" })).toMatchObject({
        type: "fail",
        error: "no-target: no node keeps a disk",
      });
      const stop = await cluster.invoke(nemesis, { f: "stop-disk", value: null });
      expect(stop.value).toEqual({ nodes: ["n2", "n3"], restarted: [node] });
      for (const n of ["n2", "n3"]) expect(cluster.world.diskOf(n).faultsInForce).toEqual({});
      await cluster.world.sleep(5 * ms);
      expect(cluster.down()).toEqual([]);
      // Only the node whose fsyncs failed was power-cycled (a new incarnation); the full one was not.
      expect(cluster.runtimes.get(node)).not.toBe(before.get(node));
      const full = node === "n2" ? "n3" : "n2";
      expect(cluster.runtimes.get(full)).toBe(before.get(full));
    });
  });

  it("rots a byte of the node's data at rest, and says where", async () => {
    const cluster = fakeCluster({ seed: 5, nodeCount: 2 });
    const nemesis = diskNemesis();
    await cluster.world.run(async () => {
      await cluster.world.sleep(5 * ms);
      const start = await cluster.invoke(nemesis, { f: "start-disk", value: "corrupt-log" });
      const done = start.value as { node: string; file: string; offsetBytes: number };
      expect(done.file).toBe("durable");
      const after = cluster.world.diskOf(done.node).read("durable")!;
      expect(new TextDecoder().decode(after)).not.toBe("kept");
      expect(after[done.offsetBytes]).not.toBe("kept".charCodeAt(done.offsetBytes));
    });
  });

  it("refuses an unknown fault", async () => {
    const cluster = fakeCluster({ seed: 1, nodeCount: 1 });
    expect(await cluster.invoke(diskNemesis(), { f: "start-disk", value: "flood" })).toMatchObject({
      type: "fail",
    });
  });
});
