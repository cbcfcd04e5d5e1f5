import { afterEach, describe, expect, it } from "vitest";
import { Rpc, RpcTimeoutError } from "../rpc.ts";
import type { Runtime } from "../types.ts";
import { RealWorld } from "./world.ts";

const ms = 1e6;
let world: RealWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function newWorld(): RealWorld {
  world = new RealWorld({ seed: 1 });
  return world;
}

async function until(condition: () => boolean, limitMs = 3000): Promise<void> {
  for (let waitedMs = 0; !condition(); waitedMs += 5) {
    if (waitedMs > limitMs) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("RealWorld", () => {
  it("reads each endpoint's clock through its offset and drift", async () => {
    const w = newWorld();
    const rt = w.clientRuntime("c1");
    w.setClock("c1", { offsetNs: 5_000 * ms, driftPpm: 100_000 }); // 5 s ahead, 10% fast
    // Each endpoint reading is bracketed by two readings of the world's true time: the endpoint's
    // clock reads the same source, so however long the machine stalls between two readings, the
    // endpoint's elapsed time lies between 1.1 times the shortest and the longest true interval
    // the brackets allow (a nanosecond of rounding either side).
    const before0 = w.nowNs();
    const wall0 = rt.clock.nowNs();
    const mono0 = rt.clock.monotonicNs();
    const after0 = w.nowNs();
    // The wall reading comes first, so the monotonic one ran on by up to 1.1 bracket-lengths.
    expect(wall0 - mono0).toBeLessThanOrEqual(5_000 * ms + 1);
    expect(wall0 - mono0).toBeGreaterThanOrEqual(5_000 * ms - 1.1 * (after0 - before0) - 1);
    await w.sleep(50 * ms);
    const before1 = w.nowNs();
    const mono1 = rt.clock.monotonicNs();
    const after1 = w.nowNs();
    expect(before1 - after0).toBeGreaterThanOrEqual(45 * ms);
    const monoElapsed = mono1 - mono0;
    expect(monoElapsed).toBeGreaterThanOrEqual(1.1 * (before1 - after0) - 2);
    expect(monoElapsed).toBeLessThanOrEqual(1.1 * (after1 - before0) + 2);
    expect(w.endpoints()[0]).toMatchObject({ clockOffsetNs: 5_000 * ms, driftPpm: 100_000 });
  });

  it("answers requests over TCP and times out while a grudge drops them", async () => {
    const w = newWorld();
    w.startNode("n1", (rt) => {
      new Rpc(rt).handle("echo", (body) => body);
    });
    const client = new Rpc(w.clientRuntime("c1"), { defaultTimeoutNs: 100 * ms });
    await w.listening("n1");
    await w.listening("c1");
    // Requests that must be answered get a bound for hangs (a loaded machine can take more than
    // 100 ms to connect); the one a grudge drops keeps the short default.
    const answeredWithinNs = 30_000 * ms;
    expect(await w.run(() => client.request("n1", "echo", { x: [1, 2] }, answeredWithinNs))).toEqual({
      x: [1, 2],
    });
    w.setGrudge(new Map([["n1", new Set(["c1"])]]));
    await expect(client.request("n1", "echo", 1)).rejects.toBeInstanceOf(RpcTimeoutError);
    w.heal();
    expect(await client.request("n1", "echo", 2, answeredWithinNs)).toBe(2);
  });

  it("stops a crashed node's tasks and restarts its program over the same files", async () => {
    const w = newWorld();
    const boots: (number[] | undefined)[] = [];
    let ticks = 0;
    w.startNode("n1", (rt: Runtime) => {
      rt.spawn("main", async () => {
        const previous = await rt.disk.read("state");
        boots.push(previous && [...previous]);
        await rt.disk.append("state", new Uint8Array([boots.length]));
        await rt.disk.fsync("state");
        while (true) {
          await rt.clock.sleep(2 * ms);
          ticks++;
        }
      });
    });
    await until(() => ticks > 2);
    w.crash("n1");
    const ticksAtCrash = ticks;
    await w.sleep(30 * ms);
    expect(ticks).toBe(ticksAtCrash);
    expect(w.endpoints()[0]?.up).toBe(false);
    w.restart("n1");
    await until(() => boots.length === 2);
    expect(boots).toEqual([undefined, [1]]);
  });

  it("holds a paused node's timers and messages and runs them on resume", async () => {
    const w = newWorld();
    const seen: string[] = [];
    w.startNode("n1", (rt) => {
      rt.net.onMessage((_from, message) => seen.push(`msg ${String(message)}`));
    });
    const client = w.clientRuntime("c1");
    await w.listening("n1");
    w.pause("n1");
    client.net.send("n1", "x");
    await w.sleep(50 * ms);
    expect(seen).toEqual([]);
    w.resume("n1");
    expect(seen).toEqual(["msg x"]);
  });

  it("applies link faults at the sender: total loss drops everything, duplication doubles", async () => {
    const w = newWorld();
    const arrived: unknown[] = [];
    w.clientRuntime("b").net.onMessage((_from, message) => arrived.push(message));
    const a = w.clientRuntime("a");
    await w.listening("b");
    w.setLinkFaults({ lossProbability: 1 });
    a.net.send("b", "lost");
    w.setLinkFaults({ duplicateProbability: 1 });
    a.net.send("b", "twice");
    await until(() => arrived.length >= 2);
    await w.sleep(20 * ms);
    expect(arrived).toEqual(["twice", "twice"]);
  });

  it("stops run with the error a node task throws", async () => {
    const w = newWorld();
    w.startNode("n1", (rt) => {
      rt.spawn("bad", async () => {
        await rt.clock.sleep(ms);
        throw new Error("boom");
      });
    });
    await expect(w.run(() => w.sleep(10_000 * ms))).rejects.toThrow(/boom/);
  });
});
