import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { siblingModuleUrl, type PortableProgram, type Runtime } from "../types.ts";
import { NodeLogs } from "../../store/nodeLogs.ts";
import { waitUntilGone } from "./procfs.ts";
import { NodeStartError, ProcessWorld } from "./world.ts";

let dir: string;
let world: ProcessWorld;
let logs: NodeLogs;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "faultline-process-world-"));
  logs = new NodeLogs(dir);
  world = new ProcessWorld({ seed: 7, runDir: dir, endpointLog: logs.sink, startTimeoutMs: 60_000 });
});
afterEach(async () => {
  const pids = Object.values(world.nodePids()).filter((p): p is number => p !== undefined);
  await world.close();
  logs.close();
  expect(await waitUntilGone(pids)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

const echoUrl = siblingModuleUrl(new URL("./fixtures/x.ts", import.meta.url).href, "echoProgram");
const statuses: unknown[] = [];
const echo = (exportName = "echoNode"): PortableProgram => ({
  moduleUrl: echoUrl,
  exportName,
  args: { hello: 1 },
  onStatus: (status) => statuses.push(status),
});
const inProcess = () => undefined;

/** A client that sends requests and waits (bounded) for the reply with the same id. */
function client(rt: Runtime) {
  let nextId = 0;
  const waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  rt.net.onMessage((_from, message) => {
    const reply = message as Record<string, unknown> & { id: number };
    waiting.get(reply.id)?.(reply);
    waiting.delete(reply.id);
  });
  // The default bound is generous: a reply that comes is taken at once, a loaded machine may be slow.
  return (to: string, body: object, timeoutMs = 30_000): Promise<Record<string, unknown> | "timeout"> => {
    const id = nextId++;
    return new Promise((resolve) => {
      const cancel = rt.clock.setTimer(timeoutMs * 1e6, () => {
        waiting.delete(id);
        resolve("timeout");
      });
      waiting.set(id, (reply) => {
        cancel();
        resolve(reply);
      });
      rt.net.send(to, { id, ...body });
    });
  };
}

describe("ProcessWorld", () => {
  it("runs nodes as processes that talk to clients and to each other through proxies", async () => {
    world.startNode("n1", inProcess, echo());
    world.startNode("n2", inProcess, echo());
    await world.nodesStarted();
    const ask = client(world.clientRuntime("c1"));
    const reply = await ask("n1", { op: "echo" });
    expect(reply).toMatchObject({ echo: true, name: "n1" });
    expect(await ask("n1", { op: "forward", to: "n2" })).toMatchObject({ echo: true, name: "n2" });
    expect(statuses).toContainEqual({ ready: true, args: { hello: 1 } });
    const links = world
      .proxyNetwork()
      .linkList()
      .map((l) => `${l.from}->${l.to}`)
      .sort();
    expect(links).toEqual(["c1->n1", "n1->c1", "n1->n2", "n2->c1"]);
    logs.close();
    const log = readFileSync(join(dir, "nodes", "n1.log"), "utf8");
    expect(log).toMatch(/world: start #0 \(pid \d+, port \d+\)/);
    // The node's first start (#0) may find its port taken by another process of this shared
    // machine (picked free, then bound by someone else first): the world starts it again on
    // another port (#1), which is what it should do; the node still says it is up.
    expect(log).toMatch(/#\d+ echo node up/);
  });

  it("a crash (kill -9) loses what was not fsynced; the restart recovers from the files", async () => {
    world.startNode("n1", inProcess, echo());
    await world.nodesStarted();
    const ask = client(world.clientRuntime("c1"));
    await ask("n1", { op: "append", data: "kept;", sync: true });
    await ask("n1", { op: "append", data: "lost;", sync: false });
    expect(await ask("n1", { op: "read" })).toMatchObject({ content: "kept;lost;" });
    const before = world.nodePids()["n1"]!;
    world.crash("n1");
    expect(await ask("n1", { op: "echo" }, 300)).toBe("timeout");
    world.restart("n1");
    await world.nodesStarted();
    expect(world.nodePids()["n1"]).not.toBe(before);
    expect(await ask("n1", { op: "read" })).toMatchObject({ content: "kept;" });
    expect(existsSync(join(dir, "nodes", "n1", "data", "log"))).toBe(true);
    expect(world.nodeErrors().count).toBe(0);
  });

  it("restarts a node whose last port was taken while it was down", async () => {
    // The kernel may hand a down node's port to anyone (an outgoing connection's source port comes
    // from the same range); the restart once tried that port again and failed with EADDRINUSE.
    world.startNode("n1", inProcess, echo());
    await world.nodesStarted();
    const ask = client(world.clientRuntime("c1"));
    await ask("n1", { op: "append", data: "kept;", sync: true });
    const portOf = (): number => {
      const starts = [
        ...readFileSync(join(dir, "nodes", "n1.log"), "utf8").matchAll(/start #\d+ \(pid \d+, port (\d+)\)/g),
      ];
      return Number(starts.at(-1)![1]);
    };
    const oldPort = portOf();
    world.crash("n1");
    await waitUntilGone([world.nodePids()["n1"]!]);
    // Right after a kill -9 the port can refuse a listener for a moment itself (the dead
    // process's connections are still closing): that too once failed a restart. Take it as soon
    // as it can be taken (a bounded wait).
    const squatter = createServer();
    for (let attempt = 1; ; attempt++) {
      const error = await new Promise<Error | undefined>((resolve) => {
        squatter.once("error", resolve);
        squatter.listen(oldPort, "127.0.0.1", () => resolve(undefined));
      });
      if (error === undefined) break;
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    try {
      world.restart("n1");
      await world.nodesStarted();
      expect(portOf()).not.toBe(oldPort);
      expect(await ask("n1", { op: "read" })).toMatchObject({ content: "kept;" });
      // The refused start is the harness's business, not a death of the system.
      expect(world.nodeErrors().count).toBe(0);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });

  it("partitions one way through the proxy, and heals", async () => {
    world.startNode("n1", inProcess, echo());
    await world.nodesStarted();
    const ask = client(world.clientRuntime("c1"));
    expect(await ask("n1", { op: "echo" })).toMatchObject({ echo: true });
    // c1 drops n1's messages: requests arrive, replies do not.
    world.setGrudge(new Map([["c1", new Set(["n1"])]]));
    await ask("n1", { op: "append", data: "heard;", sync: true }, 500);
    world.heal();
    expect(await ask("n1", { op: "read" })).toMatchObject({ content: "heard;" });
  });

  it("pauses a node with SIGSTOP and resumes it with SIGCONT", async () => {
    world.startNode("n1", inProcess, echo());
    await world.nodesStarted();
    const ask = client(world.clientRuntime("c1"));
    world.pause("n1");
    expect(world.endpoints().find((e) => e.name === "n1")).toMatchObject({ up: true, paused: true });
    const late = ask("n1", { op: "echo" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    world.resume("n1");
    expect(await late).toMatchObject({ echo: true });
  });

  it("sets a node's clock over its control channel", async () => {
    world.startNode("n1", inProcess, echo());
    await world.nodesStarted();
    const ask = client(world.clientRuntime("c1"));
    world.setClock("n1", { offsetNs: 3600e9 });
    const reply = (await ask("n1", { op: "echo" })) as { nowNs: number };
    const skewNs = reply.nowNs - world.nowNs();
    expect(skewNs).toBeGreaterThan(3590e9);
    expect(skewNs).toBeLessThan(3610e9);
  });

  it("keeps a program's error as a node error and stops only that node", async () => {
    world.startNode("n1", inProcess, echo());
    world.startNode("n2", inProcess, echo());
    await world.nodesStarted();
    const ask = client(world.clientRuntime("c1"));
    expect(await ask("n1", { op: "throw" }, 300)).toBe("timeout");
    for (let i = 0; i < 1500 && world.nodeErrors().count === 0; i++) await world.sleep(20e6);
    expect(world.nodeErrors().errors[0]).toMatchObject({ node: "n1", message: "Error: asked to fail" });
    expect(await ask("n2", { op: "echo" })).toMatchObject({ name: "n2" });
  });

  it("a node that cannot start fails the run with its name and log file", async () => {
    world.startNode("n1", inProcess, echo("notAFactory"));
    const failure = await world.run(() => world.nodesStarted()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(NodeStartError);
    expect((failure as Error).message).toMatch(
      /^node n1 failed to start: .*exports no function "notAFactory".*; see .*nodes\/n1\.log$/,
    );
  });

  it("refuses a node without a portable program", () => {
    expect(() => world.startNode("n1", inProcess)).toThrow(/no portable program/);
  });
});
