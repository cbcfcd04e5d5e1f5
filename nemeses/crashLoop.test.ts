import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { simulate } from "../harness/generator/simulate.ts";
import { crashLoopGenerator, crashLoopNemesis, crashLoopTiming } from "./crashLoop.ts";
import { fakeCluster, inWorld } from "./testkit.ts";

const decoder = new TextDecoder();

describe("crash-loop nemesis", () => {
  it("crashes the writer, restarts and crashes it again on each step, and restarts it on stop", async () => {
    const cluster = fakeCluster({ seed: 3, nodeCount: 3, writer: "n2" });
    const nemesis = crashLoopNemesis();
    await inWorld(cluster, async () => {
      const disk = cluster.world.diskOf("n2");
      expect(decoder.decode(disk.read("volatile"))).toBe("lost on crash");
      const started = await cluster.invoke(nemesis, { f: "start-crash-loop", value: null });
      expect(started).toEqual({ type: "info", value: { node: "n2" } });
      expect(cluster.down()).toEqual(["n2"]);
      // The world's crash: what n2 had not fsynced is gone, what it had is kept.
      expect(disk.read("volatile")).toBeUndefined();
      expect(decoder.decode(disk.read("durable"))).toBe("kept");
      for (let cycle = 0; cycle < 3; cycle++) {
        await cluster.world.sleep(2e6);
        const restarted = await cluster.invoke(nemesis, { f: "restart-crash-loop", value: null });
        expect(restarted).toEqual({ type: "info", value: { node: "n2" } });
        expect(cluster.down()).toEqual([]);
        await cluster.world.sleep(12e6);
        await cluster.invoke(nemesis, { f: "crash-crash-loop", value: null });
        expect(cluster.down()).toEqual(["n2"]);
      }
      const again = await cluster.invoke(nemesis, { f: "start-crash-loop", value: null });
      expect(again.type).toBe("fail");
      const stopped = await cluster.invoke(nemesis, { f: "stop-crash-loop", value: null });
      expect(stopped).toEqual({ type: "info", value: { node: "n2", restarted: true } });
      await cluster.world.sleep(10e6);
      expect(cluster.down()).toEqual([]);
      expect(decoder.decode(disk.read("durable"))).toBe("kept");
      // A stop with no window in force does nothing and says so.
      const idle = await cluster.invoke(nemesis, { f: "stop-crash-loop", value: null });
      expect(idle).toEqual({ type: "info", value: { node: null, restarted: false } });
    });
  });

  it("fails, doing nothing, without a writer, outside a window, or for an op it does not know", async () => {
    const cluster = fakeCluster({ seed: 8, nodeCount: 2 });
    const nemesis = crashLoopNemesis();
    await inWorld(cluster, async () => {
      const none = await cluster.invoke(nemesis, { f: "start-crash-loop", value: null });
      expect(none.type).toBe("fail");
      expect(String(none.error)).toMatch(/no-target/);
      for (const f of ["restart-crash-loop", "crash-crash-loop", "crash-loop-sideways"]) {
        const r = await cluster.invoke(nemesis, { f, value: null });
        expect(r.type).toBe("fail");
      }
      expect(cluster.down()).toEqual([]);
    });
    expect(nemesis.healInvocations()).toEqual([{ f: "stop-crash-loop", value: null }]);
  });

  it("property: each window is a crash, then restart/crash in turn ending on a restart, within its bounds", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.constantFrom(0.05e9, 0.2e9, 1e9, 5e9),
        (seed, intervalNs) => {
          const windows = 3;
          const result = simulate(
            crashLoopGenerator({ intervalNs, firstStartNs: 1e9, maxWindows: windows }),
            {
              seed,
              clientThreads: 0,
              nemesis: true,
              minOpDurationNs: 0,
              maxOpDurationNs: 0,
            },
          );
          const invokes = result.history.filter((op) => op.type === "invoke");
          let opened = 0;
          for (let i = 0; i < invokes.length;) {
            expect(invokes[i]!.f).toBe("start-crash-loop");
            opened++;
            let j = i + 1;
            let crashes = 1;
            let expected = "restart-crash-loop";
            let lastNs = invokes[i]!.time;
            while (invokes[j]!.f !== "stop-crash-loop") {
              const op = invokes[j]!;
              expect(op.f).toBe(expected);
              const gapNs = op.time - lastNs;
              // Down times are drawn from their range; up times sweep it, each one step later.
              const { upNs } = crashLoopTiming;
              const sweepNs = upNs.min + (crashes - 1) * upNs.stepNs;
              const range =
                expected === "restart-crash-loop"
                  ? crashLoopTiming.downNs
                  : { min: sweepNs, max: sweepNs + upNs.stepNs };
              expect(gapNs).toBeGreaterThanOrEqual(range.min);
              expect(gapNs).toBeLessThan(range.max);
              if (expected === "crash-crash-loop") expect(gapNs).toBeLessThan(upNs.max);
              if (op.f === "crash-crash-loop") crashes++;
              expected = expected === "restart-crash-loop" ? "crash-crash-loop" : "restart-crash-loop";
              lastNs = op.time;
              j++;
            }
            // Ends on a restart (the window's last step is never a crash left standing), if it had steps.
            if (j > i + 1) expect(invokes[j - 1]!.f).toBe("restart-crash-loop");
            expect(crashes).toBeLessThanOrEqual(crashLoopTiming.maxCrashesPerWindow);
            i = j + 1;
          }
          expect(opened).toBe(windows);
        },
      ),
      { numRuns: 40 },
    );
  });
});
