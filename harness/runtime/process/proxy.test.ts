import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SeededRandom } from "../random.ts";
import { ProxyNetwork, TcpProxy } from "./proxy.ts";
import { loopbackHost } from "./ports.ts";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A server that echoes every byte back and counts what it received. */
async function echoServer(): Promise<{ port: number; received: () => number }> {
  let received = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("data", (chunk) => {
      received += chunk.length;
      socket.write(chunk);
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, loopbackHost, resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as { port: number }).port, received: () => received };
}

interface Client {
  readonly socket: Socket;
  text(): string;
  readonly closed: Promise<void>;
}

async function client(port: number): Promise<Client> {
  const socket = connect({ host: loopbackHost, port });
  let text = "";
  socket.on("data", (chunk) => (text += chunk.toString("utf8")));
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  closers.push(() => void socket.destroy());
  return { socket, text: () => text, closed };
}

/** Polls `condition` until it holds (true) or a generous bound passes (false). */
async function until(condition: () => boolean, timeoutMs = 30_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function proxyTo(port: number): Promise<TcpProxy> {
  const proxy = await TcpProxy.open({ targetPort: port, random: new SeededRandom(1, "test") });
  closers.push(() => proxy.close());
  return proxy;
}

describe("TcpProxy", () => {
  it("forwards bytes both ways", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const c = await client(proxy.port);
    c.socket.write("hello");
    expect(await until(() => c.text() === "hello")).toBe(true);
    expect(proxy.stats.bytesForward).toBe(5);
    expect(proxy.stats.bytesBackward).toBe(5);
  });

  it("drops a blocked direction's bytes and resets the damaged connection when the block lifts", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const c = await client(proxy.port);
    proxy.setBlocked({ forward: true, backward: false });
    c.socket.write("lost");
    // Wait for the proxy to have the bytes (a loaded machine may take a while), then nothing passed.
    expect(await until(() => proxy.stats.bytesDiscarded === 4)).toBe(true);
    expect(echo.received()).toBe(0);
    proxy.setBlocked({ forward: false, backward: false });
    await c.closed;
    const fresh = await client(proxy.port);
    fresh.socket.write("again");
    expect(await until(() => fresh.text() === "again")).toBe(true);
  });

  it("blocks one way only: the server hears the client, the client hears nothing", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    proxy.setBlocked({ forward: false, backward: true });
    const c = await client(proxy.port);
    c.socket.write("one-way");
    expect(await until(() => echo.received() === 7)).toBe(true);
    await pause(100);
    expect(c.text()).toBe("");
  });

  it("an untouched connection survives a partition of another direction's heal", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const c = await client(proxy.port);
    proxy.setBlocked({ forward: true, backward: false });
    proxy.setBlocked({ forward: false, backward: false });
    c.socket.write("still here");
    expect(await until(() => c.text() === "still here")).toBe(true);
  });

  it("stalls hold every chunk for the stall time, in order", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    proxy.setFaults({ stallProbability: 1, stallNs: 150e6 });
    const c = await client(proxy.port);
    const startMs = performance.now();
    c.socket.write("a");
    await pause(20);
    c.socket.write("b");
    expect(await until(() => c.text() === "ab")).toBe(true);
    // Each direction stalls on its chunk: at least one stall each way.
    expect(performance.now() - startMs).toBeGreaterThanOrEqual(290);
    expect(proxy.stats.stalls).toBeGreaterThanOrEqual(2);
  });

  it("delays keep the byte order of a connection", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    proxy.setFaults({ delayMeanNs: 20e6 });
    const c = await client(proxy.port);
    const expected = Array.from({ length: 30 }, (_, i) => `<${i}>`).join("");
    for (let i = 0; i < 30; i++) {
      c.socket.write(`<${i}>`);
      await pause(1);
    }
    expect(await until(() => c.text().length === expected.length)).toBe(true);
    expect(c.text()).toBe(expected);
  });

  it("resets connections with the reset probability", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    proxy.setFaults({ resetProbability: 1 });
    const c = await client(proxy.port);
    c.socket.write("x");
    await c.closed;
    expect(proxy.stats.resets).toBe(1);
    expect(echo.received()).toBe(0);
  });

  it("closes the client side when the target is down", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    await closers.shift()!(); // the echo server's closer
    const c = await client(proxy.port);
    await c.closed;
  });
});

describe("ProxyNetwork", () => {
  it("applies a grudge to links opened before and after it, per direction", async () => {
    const a = await echoServer();
    const b = await echoServer();
    const network = new ProxyNetwork(new SeededRandom(1, "net"));
    closers.push(() => network.close());
    network.setTarget("a", a.port);
    network.setTarget("b", b.port);
    expect(await network.link("c", "nowhere")).toBeUndefined();
    const toA = await client((await network.link("c", "a"))!);
    // a drops c: c → a is cut (forward), a → c is not.
    network.setGrudge(new Map([["a", new Set(["c"])]]));
    const toB = await client((await network.link("c", "b"))!);
    toA.socket.write("x");
    toB.socket.write("y");
    expect(await until(() => toB.text() === "y")).toBe(true);
    await pause(50);
    expect(a.received()).toBe(0);
    // b drops c, opened after the grudge: the link is born blocked.
    network.setGrudge(new Map([["c", new Set(["b"])]]));
    const toB2 = await client((await network.link("c", "b"))!);
    toB2.socket.write("z");
    expect(await until(() => b.received() === 2)).toBe(true);
    await pause(50);
    expect(toB2.text()).toBe("");
    network.heal();
    await toA.closed;
    await toB2.closed;
  });

  it("sends new connections to a target's new port", async () => {
    const first = await echoServer();
    const second = await echoServer();
    const network = new ProxyNetwork(new SeededRandom(1, "net"));
    closers.push(() => network.close());
    network.setTarget("n", first.port);
    const port = (await network.link("c", "n"))!;
    network.setTarget("n", second.port);
    const c = await client(port);
    c.socket.write("moved");
    expect(await until(() => second.received() === 5)).toBe(true);
    expect(first.received()).toBe(0);
  });
});
