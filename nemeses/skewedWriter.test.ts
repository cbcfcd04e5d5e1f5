import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { simulate } from "../harness/generator/simulate.ts";
import { skewedWriterGenerator, skewedWriterNemesis, skewedWriterStepsNs } from "./skewedWriter.ts";
import { echoes, fakeCluster, inWorld } from "./testkit.ts";

describe("skewed-writer nemesis", () => {
  it("steps the writer's wall clock back, leaves its monotonic clock, isolates it, and undoes both", async () => {
    const cluster = fakeCluster({ seed: 5, nodeCount: 4, writer: "n3" });
    const nemesis = skewedWriterNemesis();
    await inWorld(cluster, async () => {
      const rt = cluster.runtimes.get("n3")!;
      const monoBefore = rt.clock.monotonicNs();
      const started = await cluster.invoke(nemesis, { f: "start-skewed-writer", value: 4e9 });
      expect(started).toMatchObject({
        type: "info",
        value: { writer: "n3", stepNs: 4e9, cut: ["n1", "n2", "n4"] },
      });
      expect(rt.clock.nowNs() - cluster.world.nowNs()).toBe(-4e9);
      // The monotonic clock does not move (neither forward nor back) with the wall clock's step.
      expect(Math.abs(rt.clock.monotonicNs() - monoBefore)).toBeLessThan(1e6);
      for (const other of ["n1", "n2", "n4"]) {
        expect(cluster.grudge()[other]).toEqual(["n3"]);
        expect(cluster.runtimes.get(other)!.clock.nowNs()).toBe(cluster.world.nowNs());
      }
      expect(cluster.grudge()["n3"]).toEqual(["n1", "n2", "n4"]);
      // Clients are never cut: a client still reaches the isolated writer.
      expect(await echoes(cluster, "c0", "n3")).toBe(true);
      const again = await cluster.invoke(nemesis, { f: "start-skewed-writer", value: 1e9 });
      expect(again.type).toBe("fail");
      const stopped = await cluster.invoke(nemesis, { f: "stop-skewed-writer", value: null });
      expect(stopped).toMatchObject({ type: "info", value: { writer: "n3" } });
      expect(cluster.grudge()).toEqual({});
      expect(rt.clock.nowNs()).toBe(cluster.world.nowNs());
    });
  });

  it("refuses a system without a writer and a step that is not a positive number", async () => {
    const cluster = fakeCluster({ seed: 6, nodeCount: 3 });
    const nemesis = skewedWriterNemesis();
    await inWorld(cluster, async () => {
      const none = await cluster.invoke(nemesis, { f: "start-skewed-writer", value: 1e9 });
      expect(none).toMatchObject({ type: "fail" });
      expect(String(none.error)).toMatch(/no-target/);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.constant(0), fc.constant(-1e9), fc.string(), fc.constant(null)),
          async (v) => {
            const r = await cluster.invoke(nemesis, { f: "start-skewed-writer", value: v });
            expect(r.type).toBe("fail");
          },
        ),
        { numRuns: 20 },
      );
      expect(cluster.grudge()).toEqual({});
    });
  });

  it("schedules windows of start then stop, each stepping back by one of its documented steps", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (seed) => {
        const result = simulate(
          skewedWriterGenerator({ intervalNs: 5e9, firstStartNs: 1e9, maxWindows: 4 }),
          { seed, clientThreads: 0, nemesis: true },
        );
        const invokes = result.history.filter((op) => op.type === "invoke");
        expect(invokes.map((op) => op.f)).toEqual(
          Array.from({ length: 4 }, () => ["start-skewed-writer", "stop-skewed-writer"]).flat(),
        );
        for (const op of invokes.filter((o) => o.f === "start-skewed-writer")) {
          expect(skewedWriterStepsNs).toContain(op.value);
        }
      }),
      { numRuns: 25 },
    );
  });
});
