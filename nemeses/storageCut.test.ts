import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { simulate } from "../harness/generator/simulate.ts";
import type { Op } from "../harness/history/op.ts";
import type { BuildConfig } from "../harness/testConfig.ts";
import { nemesisRegistry } from "./index.ts";
import { grudgeNodes, viewOf } from "./shapes.ts";
import {
  isolationGrudge,
  storageCutGenerator,
  storageCutNemesis,
  storageCutTiming,
  storageCutVariants,
  type StorageCutDone,
} from "./storageCut.ts";
import { fakeCluster } from "./testkit.ts";

/** n1 the writer, n2 a read replica, n3 the control plane, n4..n7 the storage tier. */
const roles = {
  n1: "writer",
  n2: "replica",
  n3: "control",
  n4: "storage",
  n5: "storage",
  n6: "storage",
  n7: "storage",
};
const storage = ["n4", "n5", "n6", "n7"];

function cluster(seed = 1) {
  return fakeCluster({ seed, nodeCount: 7, writer: "n1", roles });
}

describe("storage-cut nemesis", () => {
  it("storage: cuts the writer off from the storage tier only, crashes it, and stop undoes both", async () => {
    const c = cluster();
    const nemesis = storageCutNemesis();
    const started = await c.invoke(nemesis, { f: "start-storage-cut", value: "storage" });
    expect(started.type).toBe("info");
    const done = started.value as StorageCutDone;
    expect(done).toMatchObject({ variant: "storage", writer: "n1", cut: storage });
    expect(c.grudge()).toEqual(done.grudge);
    expect(viewOf("n1", c.nodes, c.grudge())).toEqual(["n1", "n2", "n3"]);
    for (const s of storage) expect(viewOf(s, c.nodes, c.grudge())).not.toContain("n1");
    expect(viewOf("n2", c.nodes, c.grudge())).toEqual(c.nodes);

    const crashed = await c.invoke(nemesis, { f: "crash-writer", value: null });
    expect(crashed).toMatchObject({ type: "info", value: { nodes: ["n1"] } });
    expect(c.down()).toEqual(["n1"]);
    expect((await c.invoke(nemesis, { f: "crash-writer", value: null })).type).toBe("fail");

    const stopped = await c.invoke(nemesis, { f: "stop-storage-cut", value: null });
    expect(stopped.value).toEqual({ restarted: ["n1"], healed: ["n1", ...storage] });
    expect(c.down()).toEqual([]);
    expect(c.grudge()).toEqual({});
  });

  it("flap: isolates the writer from everyone, reconnects its storage links first, then crashes it", async () => {
    const c = cluster();
    const nemesis = storageCutNemesis();
    const started = (await c.invoke(nemesis, { f: "start-storage-cut", value: "flap" }))
      .value as StorageCutDone;
    expect(started.cut).toEqual(["n2", "n3", ...storage]);
    expect(viewOf("n1", c.nodes, c.grudge())).toEqual(["n1"]);

    const reconnected = await c.invoke(nemesis, { f: "reconnect-storage", value: null });
    expect(reconnected.value).toMatchObject({ reconnected: storage });
    expect(viewOf("n1", c.nodes, c.grudge())).toEqual(["n1", ...storage]);
    expect(viewOf("n2", c.nodes, c.grudge())).not.toContain("n1");
    expect(grudgeNodes(c.grudge())).toEqual(["n1", "n2", "n3"]);

    await c.invoke(nemesis, { f: "crash-writer", value: null });
    expect(c.down()).toEqual(["n1"]);
    await c.invoke(nemesis, { f: "stop-storage-cut", value: null });
    expect(c.down()).toEqual([]);
    expect(c.grudge()).toEqual({});
  });

  it("falls back to standbys when there is no storage role, and refuses when there is no target", async () => {
    const sync = fakeCluster({
      seed: 2,
      nodeCount: 4,
      writer: "n2",
      roles: { n1: "standby", n3: "standby", n4: "control" },
    });
    const done = (await sync.invoke(storageCutNemesis(), { f: "start-storage-cut", value: "storage" }))
      .value as StorageCutDone;
    expect(done).toMatchObject({ writer: "n2", cut: ["n1", "n3"] });

    const noWriter = fakeCluster({ seed: 2, nodeCount: 3 });
    const refused = await noWriter.invoke(storageCutNemesis(), { f: "start-storage-cut", value: "flap" });
    expect(refused).toMatchObject({ type: "fail", error: expect.stringMatching(/^no-target/) });
    expect(noWriter.grudge()).toEqual({});

    const alone = fakeCluster({ seed: 2, nodeCount: 2, writer: "n1", roles: { n2: "control" } });
    expect((await alone.invoke(storageCutNemesis(), { f: "start-storage-cut", value: "storage" })).type).toBe(
      "fail",
    );

    const idle = storageCutNemesis();
    for (const f of ["reconnect-storage", "crash-writer"]) {
      expect((await cluster().invoke(idle, { f, value: null })).type).toBe("fail");
    }
    expect((await cluster().invoke(idle, { f: "start-storage-cut", value: "everything" })).type).toBe("fail");
    expect((await cluster().invoke(idle, { f: "start-partition", value: null })).type).toBe("fail");
  });

  it("isolationGrudge cuts exactly the writer from the given nodes, both ways (property)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 12 }), (ids) => {
        const nodes = ids.map((i) => `n${i}`);
        const [writer, ...rest] = nodes;
        const others = rest.filter((_, i) => i % 2 === 0);
        const grudge = isolationGrudge(writer!, others);
        const untouched = nodes.filter((n) => n !== writer && !others.includes(n));
        expect(viewOf(writer!, nodes, grudge).sort()).toEqual([writer!, ...untouched].sort());
        for (const o of others) expect(viewOf(o, nodes, grudge)).not.toContain(writer);
        for (const u of untouched) expect(viewOf(u, nodes, grudge)).toEqual(nodes);
      }),
      { numRuns: 200 },
    );
  });
});

/** The nemesis invocations of a simulated schedule, grouped into windows (start … stop). */
function windows(history: readonly Op[]): Op[][] {
  const out: Op[][] = [];
  for (const op of history) {
    if (op.type !== "invoke") continue;
    if (op.f === "start-storage-cut") out.push([op]);
    else out.at(-1)?.push(op);
  }
  return out;
}

describe("storage-cut schedule", () => {
  it("each window: start, then (flap) reconnect, then crash, then stop, at the documented offsets (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 4 }),
        (seed, intervalS) => {
          const generator = storageCutGenerator({ intervalNs: intervalS * 1e9, firstStartNs: 1e9 });
          const { history } = simulate(generator, { seed, clientThreads: 0, nemesis: true, maxTimeNs: 20e9 });
          const ws = windows(history).filter((w) => w.at(-1)?.f === "stop-storage-cut");
          expect(ws.length).toBeGreaterThan(0);
          for (const w of ws) {
            const [start, ...rest] = w;
            const variant = start!.value as string;
            expect(storageCutVariants).toContain(variant);
            const fs = rest.map((op) => op.f);
            const t = (i: number) => rest[i]!.time - start!.time;
            if (variant === "flap") {
              expect(fs).toEqual(["reconnect-storage", "crash-writer", "stop-storage-cut"]);
              const { flapIsolatedNs, flapCrashAfterNs } = storageCutTiming;
              expect(t(0)).toBeGreaterThanOrEqual(flapIsolatedNs.min);
              expect(t(0)).toBeLessThanOrEqual(flapIsolatedNs.max);
              expect(t(1) - t(0)).toBeGreaterThanOrEqual(flapCrashAfterNs.min - 1);
              expect(t(1) - t(0)).toBeLessThanOrEqual(flapCrashAfterNs.max + 1);
            } else {
              expect(fs).toEqual(["crash-writer", "stop-storage-cut"]);
              const fraction = t(0) / t(1);
              expect(fraction).toBeGreaterThanOrEqual(storageCutTiming.storageCrashFraction.min - 0.01);
              expect(fraction).toBeLessThanOrEqual(storageCutTiming.storageCrashFraction.max + 0.01);
            }
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("is a function of the seed, and draws only the variants it is given", () => {
    const run = (seed: number, variants?: readonly ("storage" | "flap")[]) =>
      simulate(
        storageCutGenerator({ intervalNs: 1e9, firstStartNs: 0.5e9, ...(variants ? { variants } : {}) }),
        { seed, clientThreads: 0, nemesis: true, maxTimeNs: 30e9 },
      ).history;
    expect(run(7)).toEqual(run(7));
    const variants = new Set(windows(run(7)).map((w) => w[0]!.value));
    expect(variants).toEqual(new Set(storageCutVariants));
    expect(new Set(windows(run(7, ["flap"])).map((w) => w[0]!.value))).toEqual(new Set(["flap"]));
    expect(() => storageCutGenerator({ intervalNs: 1e9, firstStartNs: 0, variants: [] })).toThrow(RangeError);
  });

  it("is registered as `storage-cut`, healing with its stop, and is not part of `all`", () => {
    const config: BuildConfig = {
      seed: 1,
      nodes: 8,
      concurrency: 5,
      timeLimitNs: 20e9,
      ratePerS: 100,
      nemesisIntervalNs: 1e9,
      replication: "quorum",
      isolation: "serializable",
      readFrom: "writer",
      leases: false,
      bugs: [],
    };
    const pkg = nemesisRegistry["storage-cut"]!(config);
    expect(pkg.nemesis.healInvocations()).toEqual([{ f: "stop-storage-cut", value: null }]);
    const fs = simulate(pkg.generator, {
      seed: 1,
      clientThreads: 0,
      nemesis: true,
      maxTimeNs: 20e9,
    }).history.map((op) => op.f);
    expect(fs.every((f) => pkg.nemesis.fs.includes(f))).toBe(true);
    expect(nemesisRegistry["all"]!(config).nemesis.fs).not.toContain("start-storage-cut");
  });
});
