import { describe, expect, it } from "vitest";
import { Rpc, RpcRemoteError, RpcTimeoutError } from "./rpc.ts";
import { SimWorld } from "./sim/world.ts";

const ms = 1e6;
const budget = { maxEvents: 1e6, maxVirtualTimeNs: 1e12 };

function setup(seed = 1) {
  const world = new SimWorld({ seed, budget });
  const server = new Rpc(world.clientRuntime("server"));
  const client = new Rpc(world.clientRuntime("client"), { defaultTimeoutNs: 50 * ms });
  return { world, server, client };
}

describe("Rpc", () => {
  it("matches replies to requests, sync and async handlers alike", async () => {
    const { world, server, client } = setup();
    server.handle("add", (body) => {
      const { a, b } = body as { a: number; b: number };
      return a + b;
    });
    server.handle("slow", async () => {
      await world.sleep(5 * ms);
      return "late";
    });
    const results = await world.run(() =>
      Promise.all([client.request("server", "slow", null), client.request("server", "add", { a: 2, b: 3 })]),
    );
    expect(results).toEqual(["late", 5]);
    expect(client.pendingCount).toBe(0);
  });

  it("times out on the caller's clock when the network drops the request", async () => {
    const { world, server, client } = setup();
    let handled = 0;
    server.handle("ping", () => ++handled);
    world.setGrudge(new Map([["server", new Set(["client"])]]));
    const outcome = await world.run(async () => {
      const started = world.nowNs();
      const error = await client.request("server", "ping", null).catch((e: unknown) => e);
      return { error, elapsedNs: world.nowNs() - started };
    });
    expect(outcome.error).toBeInstanceOf(RpcTimeoutError);
    expect(outcome.elapsedNs).toBe(50 * ms);
    expect(handled).toBe(0);
    expect(client.pendingCount).toBe(0);
  });

  it("reports a remote handler's error and a missing handler as RpcRemoteError", async () => {
    const { world, server, client } = setup();
    server.handle("fail", () => {
      throw new Error("no such key");
    });
    const errors = await world.run(() =>
      Promise.all([
        client.request("server", "fail", null).catch((e: unknown) => e),
        client.request("server", "unknown", null).catch((e: unknown) => e),
      ]),
    );
    expect(errors[0]).toBeInstanceOf(RpcRemoteError);
    expect(String(errors[0])).toContain("no such key");
    expect(String(errors[1])).toContain('no handler for "unknown"');
  });

  it("ignores duplicated replies and passes non-rpc messages to onOther", async () => {
    const { world, server, client } = setup();
    world.setLinkFaults({ duplicateProbability: 1 });
    let handled = 0;
    server.handle("inc", () => ++handled);
    const others: unknown[] = [];
    server.onOther((_from, message) => others.push(message));
    const replies = await world.run(async () => {
      const first = await client.request("server", "inc", null);
      world.clientRuntime("raw").net.send("server", { plain: true });
      client.notify("server", "inc", null);
      await world.sleep(100 * ms);
      return first;
    });
    // Every message is delivered twice: the request ran twice, its first reply won, the notify ran twice.
    expect(replies).toBe(1);
    expect(handled).toBe(4);
    expect(others).toEqual([{ plain: true }, { plain: true }]);
    expect(client.pendingCount).toBe(0);
  });
});
