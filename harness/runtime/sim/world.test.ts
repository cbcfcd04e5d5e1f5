import { describe, expect, it } from "vitest";
import type { Runtime } from "../types.ts";
import { SimulationBudgetError, SimulationDeadlockError, SimWorld } from "./world.ts";
import type { SimWorldOptions } from "./world.ts";

const budget = { maxEvents: 2_000_000, maxVirtualTimeNs: 1e13 };
const ms = 1e6;

function world(options: Partial<SimWorldOptions> = {}): SimWorld {
  return new SimWorld({ seed: 1, budget, ...options });
}

const bytes = (...values: number[]) => new Uint8Array(values);

/** A small busy cluster: gossip, clients, faults, a crash and a restart; returns the trace. */
async function scenarioTrace(seed: number): Promise<string[]> {
  const lines: string[] = [];
  const w = new SimWorld({
    seed,
    budget,
    trace: (line) => lines.push(line),
    disk: { tornWriteProbability: 0.5 },
  });
  const nodes = ["n1", "n2", "n3"];
  for (const name of nodes) {
    w.startNode(name, (rt) => {
      rt.net.onMessage((from, message) => {
        if (from.startsWith("c")) rt.net.send(from, { ok: message, n: rt.random.int(100) });
      });
      rt.spawn("gossip", async () => {
        for (let i = 0; i < 20; i++) {
          await rt.clock.sleep(rt.random.intBetween(1, 5) * ms);
          rt.net.send(rt.random.pick(nodes.filter((n) => n !== name)), { from: name, i });
          await rt.disk.append("log", bytes(i, i + 1, i + 2));
          if (i % 3 === 0) await rt.disk.fsync("log");
        }
      });
    });
  }
  w.setLinkFaults({ lossProbability: 0.1, duplicateProbability: 0.1, reorderProbability: 0.1 });
  const client = w.clientRuntime("c1");
  client.net.onMessage(() => {});
  await w.run(async () => {
    for (let i = 0; i < 30; i++) {
      client.net.send(w.random.pick(nodes), { op: i });
      await w.sleep(2 * ms);
      if (i === 10) w.crash("n2");
      if (i === 15) w.restart("n2");
      if (i === 20) w.setGrudge(new Map([["n1", new Set(["n3"])]]));
    }
    await w.sleep(200 * ms);
  });
  return lines;
}

describe("SimWorld determinism", () => {
  it("gives a byte-identical trace for the same seed and a different one for another seed", async () => {
    const a = await scenarioTrace(7);
    const b = await scenarioTrace(7);
    const c = await scenarioTrace(8);
    expect(a.length).toBeGreaterThan(100);
    expect(a.join("\n")).toBe(b.join("\n"));
    expect(a.join("\n")).not.toBe(c.join("\n"));
  });

  it("runs simultaneous events in the order they were scheduled", async () => {
    const w = world();
    const order: string[] = [];
    const rt = w.clientRuntime("c1");
    await w.run(async () => {
      for (const label of ["a", "b", "c", "d"]) rt.clock.setTimer(5 * ms, () => order.push(label));
      rt.clock.setTimer(1 * ms, () => rt.clock.setTimer(4 * ms, () => order.push("e")));
      await w.sleep(10 * ms);
    });
    expect(order).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("settles every promise continuation of an event before the next event runs", async () => {
    const w = world();
    const rt = w.clientRuntime("c1");
    const seen: number[] = [];
    await w.run(async () => {
      rt.spawn("deep", async () => {
        await rt.clock.sleep(ms);
        for (let i = 0; i < 500; i++) await Promise.resolve();
        seen.push(1);
      });
      rt.clock.setTimer(ms, () => seen.push(2));
      await w.sleep(2 * ms);
    });
    // The sleep and the timer are both due at 1 ms; the sleeper's 500 awaits finish first.
    expect(seen).toEqual([1, 2]);
  });

  it("copies messages so sender and receiver never share objects", async () => {
    const w = world();
    const a = w.clientRuntime("a");
    const b = w.clientRuntime("b");
    const received: unknown[] = [];
    b.net.onMessage((_from, message) => received.push(message));
    await w.run(async () => {
      const message = { list: [1] };
      a.net.send("b", message);
      message.list.push(2);
      await w.sleep(10 * ms);
    });
    expect(received).toEqual([{ list: [1] }]);
  });
});

describe("SimWorld network", () => {
  /** Sends `count` numbered messages a→b, 10 µs apart, and returns the numbers in arrival order. */
  async function blast(w: SimWorld, count: number, during?: (i: number) => void): Promise<number[]> {
    const a = w.clientRuntime("a");
    const b = w.clientRuntime("b");
    const arrived: number[] = [];
    b.net.onMessage((_from, message) => arrived.push(message as number));
    await w.run(async () => {
      for (let i = 0; i < count; i++) {
        during?.(i);
        a.net.send("b", i);
        await w.sleep(10_000);
      }
      await w.sleep(100 * ms);
    });
    return arrived;
  }

  it("keeps a link FIFO without faults", async () => {
    const arrived = await blast(world(), 500);
    expect(arrived).toEqual([...Array(500).keys()]);
  });

  it("loses, duplicates and reorders messages at the configured rates", async () => {
    const n = 4000;
    const lossy = world({ seed: 3 });
    lossy.setLinkFaults({ lossProbability: 0.2 });
    expect((await blast(lossy, n)).length / n).toBeCloseTo(0.8, 1);

    const duplicating = world({ seed: 4 });
    duplicating.setLinkFaults({ duplicateProbability: 0.2 });
    const duplicated = await blast(duplicating, n);
    expect(duplicated.length / n).toBeGreaterThan(1.17);
    expect(duplicated.length / n).toBeLessThan(1.23);
    expect(new Set(duplicated).size).toBe(n);

    const reordering = world({ seed: 5 });
    reordering.setLinkFaults({ reorderProbability: 0.2 });
    const reordered = await blast(reordering, n);
    expect(reordered.length).toBe(n);
    // A held-back message arrives after the ones sent after it: count messages overtaken by a later one.
    let overtaken = 0;
    let maxSoFar = -1;
    for (const x of reordered) {
      if (x < maxSoFar) overtaken++;
      maxSoFar = Math.max(maxSoFar, x);
    }
    expect(overtaken / n).toBeGreaterThan(0.17);
    expect(overtaken / n).toBeLessThan(0.23);
  });

  it("drops messages in flight when a partition starts, and heals", async () => {
    const w = world({ network: { latency: { minNs: 5 * ms, maxNs: 5 * ms } } });
    const a = w.clientRuntime("a");
    const b = w.clientRuntime("b");
    const atB: string[] = [];
    const atA: string[] = [];
    b.net.onMessage((_f, m) => atB.push(m as string));
    a.net.onMessage((_f, m) => atA.push(m as string));
    await w.run(async () => {
      a.net.send("b", "in-flight");
      await w.sleep(1 * ms);
      w.setGrudge(new Map([["b", new Set(["a"])]])); // b drops a's messages; a still hears b
      expect(w.grudge().get("b")?.has("a")).toBe(true);
      a.net.send("b", "during");
      b.net.send("a", "reverse");
      await w.sleep(10 * ms);
      a.net.send("b", "sent-during");
      await w.sleep(1 * ms);
      w.heal();
      await w.sleep(10 * ms);
      a.net.send("b", "after");
      await w.sleep(10 * ms);
    });
    // Sent while the grudge held: dropped at once, even though the partition heals before it would arrive.
    expect(atB).toEqual(["after"]);
    expect(atA).toEqual(["reverse"]);
  });

  it("applies per-link latency", async () => {
    const w = world({
      network: {
        latency: { minNs: ms, maxNs: ms },
        linkLatency: (f) => (f === "slow" ? { minNs: 50 * ms, maxNs: 50 * ms } : undefined),
      },
    });
    const slow = w.clientRuntime("slow");
    const fast = w.clientRuntime("fast");
    const b = w.clientRuntime("b");
    const arrivals: [string, number][] = [];
    b.net.onMessage((from) => arrivals.push([from, w.nowNs()]));
    await w.run(async () => {
      slow.net.send("b", 1);
      fast.net.send("b", 1);
      await w.sleep(100 * ms);
    });
    expect(arrivals).toEqual([
      ["fast", ms],
      ["slow", 50 * ms],
    ]);
  });
});

describe("SimWorld disk, crash and restart", () => {
  it("a crash keeps only fsynced bytes and durable names (under a model that keeps nothing else), says so, and restarts over them", async () => {
    const log: string[] = [];
    const w = world({
      disk: { writeSurvivalProbability: 0, directoryChangesMaySurvive: false },
      endpointLog: (_e, _t, line) => log.push(line),
    });
    const boots: { incarnationRandom: number; log: number[] | undefined; files: string[] }[] = [];
    w.startNode("n1", (rt) => {
      rt.spawn("boot", async () => {
        const data = await rt.disk.read("log");
        boots.push({
          incarnationRandom: rt.random.int(1e9),
          log: data && [...data],
          files: await rt.disk.list(),
        });
        if (boots.length > 1) return;
        await rt.disk.append("log", bytes(1, 2, 3));
        await rt.disk.fsync("log");
        await rt.disk.fsyncDir();
        await rt.disk.append("log", bytes(4, 5, 6, 7));
        await rt.disk.append("tmp", bytes(1));
        await rt.disk.fsync("tmp"); // its bytes are durable, its name is not
      });
    });
    await w.run(async () => {
      await w.sleep(50 * ms);
      w.crash("n1");
      expect(w.endpoints().find((e) => e.name === "n1")?.up).toBe(false);
      w.restart("n1");
      await w.sleep(50 * ms);
    });
    expect(boots).toHaveLength(2);
    expect(boots[0]!.log).toBeUndefined();
    expect(boots[1]!.log).toEqual([1, 2, 3]);
    expect(boots[1]!.files).toEqual(["log"]);
    expect(boots[1]!.incarnationRandom).not.toBe(boots[0]!.incarnationRandom);
    expect(log).toContain(
      "world: crash #0: of 1 unsynced writes 0 reached the disk, 1 were lost; directory changes lost: create tmp",
    );
  });

  it("a rename is durable only once the directory is fsynced", async () => {
    for (const syncDirectory of [true, false]) {
      const w = world({ disk: { directoryChangesMaySurvive: false } });
      let seen: string[] | undefined;
      w.startNode("n1", (rt) => {
        rt.spawn("io", async () => {
          const files = await rt.disk.list();
          if (files.length > 0) {
            seen = files;
            return;
          }
          await rt.disk.write("old", 0, bytes(1));
          await rt.disk.fsync("old");
          await rt.disk.fsyncDir();
          await rt.disk.write("tmp", 0, bytes(2));
          await rt.disk.fsync("tmp");
          await rt.disk.rename("tmp", "old");
          if (syncDirectory) await rt.disk.fsyncDir();
        });
      });
      await w.run(async () => {
        await w.sleep(20 * ms);
        w.crash("n1");
        w.restart("n1");
        await w.sleep(20 * ms);
      });
      expect(seen).toEqual(["old"]);
      expect([...w.diskOf("n1").read("old")!]).toEqual(syncDirectory ? [2] : [1]);
    }
  });

  it("disk faults: a failed fsync, a full disk and rot at rest, each in the node's log", async () => {
    const log: string[] = [];
    const w = world({ endpointLog: (_e, _t, line) => log.push(line) });
    const outcomes: string[] = [];
    w.startNode("n1", (rt) => {
      rt.spawn("io", async () => {
        await rt.disk.append("log", bytes(1, 2, 3));
        await rt.disk.fsync("log");
        await rt.clock.sleep(10 * ms);
        await rt.disk
          .append("log", bytes(4))
          .catch((e: NodeJS.ErrnoException) => outcomes.push(`append ${e.code}`));
        await rt.clock.sleep(10 * ms);
        await rt.disk.fsync("log").catch((e: NodeJS.ErrnoException) => outcomes.push(`fsync ${e.code}`));
        await rt.disk.fsync("log");
        outcomes.push("fsync ok");
      });
    });
    await w.run(async () => {
      await w.sleep(5 * ms);
      w.setDiskFaults("n1", { full: true });
      await w.sleep(10 * ms);
      w.setDiskFaults("n1", { fsyncFails: "once" });
      await w.sleep(20 * ms);
      expect(w.corruptFile("n1", "log")).toBeGreaterThanOrEqual(0);
      expect(w.corruptFile("n1", "missing")).toBeUndefined();
    });
    expect(outcomes).toEqual(["append ENOSPC", "fsync EIO", "fsync ok"]);
    expect(log.filter((l) => l.startsWith("world: disk"))).toEqual([
      "world: disk faults: the disk is full: writes that need space fail with ENOSPC",
      "world: disk: ENOSPC: append(log): no space left on device",
      "world: disk faults: the next fsync fails with EIO",
      "world: disk: EIO: fsync(log): input/output error; 0 unsynced changes lost",
      expect.stringMatching(/^world: disk: log corrupted at rest at byte [0-2]$/),
    ]);
  });

  it("stops a crashed node's timers, sleeps, disk operations and incoming messages", async () => {
    const w = world();
    const events: string[] = [];
    let firstRuntime: Runtime | undefined;
    w.startNode("n1", (rt) => {
      firstRuntime ??= rt;
      rt.net.onMessage((_f, m) => events.push(`msg ${String(m)}`));
      rt.spawn("work", async () => {
        rt.clock.setTimer(5 * ms, () => events.push("timer"));
        void rt.disk.fsync("missing").then(
          () => events.push("fsync resolved"),
          () => events.push("fsync rejected"),
        );
        await rt.clock.sleep(5 * ms);
        events.push("slept");
      });
    });
    const c = w.clientRuntime("c1");
    await w.run(async () => {
      await w.sleep(0);
      c.net.send("n1", "lost");
      w.crash("n1");
      await w.sleep(20 * ms);
      // A crashed incarnation's runtime stays inert.
      firstRuntime!.clock.setTimer(0, () => events.push("zombie timer"));
      firstRuntime!.net.send("c1", "zombie");
      await w.sleep(20 * ms);
    });
    expect(events).toEqual([]);
  });

  it("drops messages sent to an incarnation that crashed, even if the node restarted before they arrive", async () => {
    const w = world({ network: { latency: { minNs: 5 * ms, maxNs: 5 * ms } } });
    const received: [number, string][] = [];
    let boots = 0;
    w.startNode("n1", (rt) => {
      const incarnation = boots++;
      rt.net.onMessage((_f, m) => received.push([incarnation, m as string]));
    });
    const c = w.clientRuntime("c1");
    await w.run(async () => {
      await w.sleep(ms);
      c.net.send("n1", "to the first");
      w.pause("n1");
      await w.sleep(ms);
      w.crash("n1");
      expect(w.endpoints()[0]).toMatchObject({ up: false, paused: false });
      c.net.send("n1", "while down");
      w.restart("n1");
      await w.sleep(ms);
      c.net.send("n1", "to the second");
      await w.sleep(20 * ms);
    });
    expect(boots).toBe(2);
    expect(received).toEqual([[1, "to the second"]]);
  });

  it("rejects a disk operation on a missing file with a clear error", async () => {
    const w = world();
    const rt = w.clientRuntime("c1");
    await expect(w.run(() => rt.disk.fsync("nope"))).rejects.toThrow("c1: fsync(nope): no such file");
  });
});

describe("SimWorld pause, clocks and budgets", () => {
  it("holds timers and messages while paused and delivers them on resume", async () => {
    const w = world({ network: { latency: { minNs: ms, maxNs: ms } } });
    const seen: [string, number][] = [];
    w.startNode("n1", (rt) => {
      rt.net.onMessage((_f, m) => seen.push([`msg ${String(m)}`, w.nowNs()]));
      rt.clock.setTimer(5 * ms, () => seen.push(["timer", w.nowNs()]));
    });
    const c = w.clientRuntime("c1");
    await w.run(async () => {
      await w.sleep(ms);
      w.pause("n1");
      expect(w.endpoints()[0]?.paused).toBe(true);
      c.net.send("n1", "x");
      await w.sleep(20 * ms);
      expect(seen).toEqual([]);
      w.resume("n1");
      await w.sleep(ms);
    });
    // Both run at the resume instant, in the order they came due (message at 2 ms, timer at 5 ms).
    expect(seen).toEqual([
      ["msg x", 21 * ms],
      ["timer", 21 * ms],
    ]);
  });

  it("applies clock offset to nowNs and drift to both readings, while timers run on true time", async () => {
    const w = world();
    let rt: Runtime | undefined;
    w.startNode("n1", (r) => {
      rt = r;
    });
    await w.run(async () => {
      await w.sleep(10 * ms);
      w.setClock("n1", { offsetNs: -3 * ms, driftPpm: 1000 });
      expect(rt!.clock.nowNs()).toBe(7 * ms);
      expect(rt!.clock.monotonicNs()).toBe(10 * ms);
      const before = w.nowNs();
      await rt!.clock.sleep(100 * ms);
      expect(w.nowNs() - before).toBe(100 * ms);
      expect(rt!.clock.monotonicNs()).toBe(10 * ms + 100.1 * ms);
      expect(rt!.clock.nowNs()).toBe(7 * ms + 100.1 * ms);
      w.setClock("n1", { driftPpm: 0 });
      await w.sleep(10 * ms);
      expect(rt!.clock.monotonicNs()).toBe(120.1 * ms);
    });
    expect(w.endpoints()[0]).toMatchObject({ clockOffsetNs: -3 * ms, driftPpm: 0 });
  });

  it("stops a runaway simulation on its event budget, its time budget, and on deadlock", async () => {
    const spin = (w: SimWorld) => {
      const rt = w.clientRuntime("c1");
      return w.run(async () => {
        while (true) await rt.clock.sleep(ms);
      });
    };
    await expect(
      spin(new SimWorld({ seed: 1, budget: { maxEvents: 100, maxVirtualTimeNs: 1e12 } })),
    ).rejects.toThrow(SimulationBudgetError);
    await expect(
      spin(new SimWorld({ seed: 1, budget: { maxEvents: 1e6, maxVirtualTimeNs: 50 * ms } })),
    ).rejects.toThrow(/maxVirtualTimeNs/);
    const w = world();
    await expect(w.run(() => new Promise(() => {}))).rejects.toThrow(SimulationDeadlockError);
  });

  it("stops the world with the error a node task throws", async () => {
    const w = world();
    w.startNode("n1", (rt) => {
      rt.spawn("bad", async () => {
        await rt.clock.sleep(ms);
        throw new Error("boom");
      });
    });
    await expect(w.run(() => w.sleep(10 * ms))).rejects.toThrow(/boom/);
  });

  it("with stop-node, a node's error ends only that process: logged, kept, writes it made still there", async () => {
    const log: string[] = [];
    const w = world({ onNodeError: "stop-node", endpointLog: (e, t, line) => log.push(`${e} ${t} ${line}`) });
    let starts = 0;
    const seen = await w.run(async () => {
      w.startNode("n1", (rt) => {
        starts++;
        rt.spawn("bad", async () => {
          await rt.disk.write("data", 0, bytes(7, 7));
          await rt.clock.sleep(ms);
          throw new Error(`boom ${starts}`);
        });
      });
      w.startNode("n2", (rt) => {
        rt.spawn("good", async () => {
          await rt.clock.sleep(5 * ms);
          await rt.disk.write("alive", 0, bytes(1));
        });
      });
      await w.sleep(3 * ms);
      const afterError = w.endpoints().find((e) => e.name === "n1")!.up;
      w.restart("n1");
      await w.sleep(3 * ms);
      return { afterError };
    });
    expect(seen.afterError).toBe(false);
    expect(starts).toBe(2);
    const { errors, count } = w.nodeErrors();
    expect(count).toBe(2);
    expect(errors.map((e) => [e.node, e.incarnation, e.timeNs])).toEqual([
      ["n1", 0, expect.any(Number)],
      ["n1", 1, expect.any(Number)],
    ]);
    expect(errors[0]!.message).toMatch(/task "bad" of n1 failed: Error: boom 1/);
    expect(log.filter((l) => l.includes("died"))).toHaveLength(2);
    // A process death is not a power loss: its unsynced write survives; n2 ran on.
    expect(w.diskOf("n1").read("data")).toEqual(bytes(7, 7));
    expect(w.diskOf("n2").read("alive")).toEqual(bytes(1));
  });

  it("with stop-node, an error of a client still stops the world (it is the test's own code)", async () => {
    const w = world({ onNodeError: "stop-node" });
    const rt = w.clientRuntime("c1");
    rt.spawn("client", async () => {
      await rt.clock.sleep(ms);
      throw new Error("client bug");
    });
    await expect(w.run(() => w.sleep(10 * ms))).rejects.toThrow(/client bug/);
  });
});
