import { afterEach, describe, expect, it } from "vitest";
import { TcpNetwork } from "./tcp.ts";

let network: TcpNetwork | undefined;
afterEach(async () => {
  await network?.close();
  network = undefined;
});

/** Waits (really) until `condition` holds, polling every 5 ms, at most `limitMs`. */
async function until(condition: () => boolean, limitMs = 3000): Promise<void> {
  for (let waitedMs = 0; !condition(); waitedMs += 5) {
    if (waitedMs > limitMs) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("TcpNetwork", () => {
  it("delivers JSON messages between named endpoints over loopback, in order", async () => {
    const arrived: [string, string, unknown][] = [];
    network = new TcpNetwork((to, from, message) => arrived.push([to, from, message]));
    const portA = await network.listen("a");
    const portB = await network.listen("b");
    expect(portA).not.toBe(portB);
    for (let i = 0; i < 100; i++) network.send("a", "b", { i, text: "héllo" });
    network.send("b", "a", [1, null]);
    await until(() => arrived.length === 101);
    expect(arrived.filter(([to]) => to === "b").map(([, , m]) => (m as { i: number }).i)).toEqual([
      ...Array(100).keys(),
    ]);
    expect(arrived).toContainEqual(["a", "b", [1, null]]);
  });

  it("drops messages to unknown endpoints and reconnects after a broken connection", async () => {
    const arrived: unknown[] = [];
    network = new TcpNetwork((_to, _from, message) => arrived.push(message));
    await network.listen("a");
    await network.listen("b");
    network.send("a", "nobody", 1);
    expect(network.dropped).toBe(1);
    network.send("a", "b", "first");
    await until(() => arrived.length === 1);
    network.breakConnections();
    await new Promise((resolve) => setTimeout(resolve, 20));
    network.send("a", "b", "after reconnect");
    await until(() => arrived.length === 2);
    expect(arrived).toEqual(["first", "after reconnect"]);
  });
});
