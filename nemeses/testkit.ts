/**
 * Test support for the nemesis tests: a small fake system on a SimWorld (nodes that echo every
 * message back and keep one durable file, rot at rest hits it, and one unsynced file each), its NodeControl with an optional
 * writer and zones, a nemesis context, and a way to read back what the world's state is. Tests
 * check nemeses against the world itself, never against what the nemesis claims.
 */
import { SeededRandom } from "../harness/runtime/random.ts";
import { SimWorld } from "../harness/runtime/sim/index.ts";
import type { Runtime } from "../harness/runtime/types.ts";
import type { Nemesis, NemesisContext } from "../harness/nemesis.ts";
import { worldNodeControl, type Completion, type Invocation, type NodeControl } from "../harness/system.ts";
import { grudgeFromMap, type GrudgeRecord } from "./shapes.ts";

export interface FakeCluster {
  readonly world: SimWorld;
  readonly nodes: string[];
  readonly control: NodeControl;
  /** The runtime of each node's latest incarnation (to read its wall clock). */
  readonly runtimes: Map<string, Runtime>;
  /** The nemesis context, with a random source seeded by `seed`. */
  readonly context: () => NemesisContext;
  readonly invoke: (nemesis: Nemesis, invocation: Invocation) => Promise<Completion>;
  readonly grudge: () => GrudgeRecord;
  readonly down: () => string[];
  readonly paused: () => string[];
}

const encoder = new TextEncoder();

export function fakeCluster(options: {
  seed: number;
  nodeCount: number;
  writer?: string;
  /** Roles by node name (default: "writer" for the writer, "replica" for the rest). */
  roles?: Readonly<Record<string, string>>;
}): FakeCluster {
  const world = new SimWorld({
    seed: options.seed,
    budget: { maxEvents: 1_000_000, maxVirtualTimeNs: 3600e9 },
    // A crash keeps nothing unsynced here, so tests can tell a crash by what it lost.
    disk: { writeSurvivalProbability: 0, directoryChangesMaySurvive: false },
  });
  const nodes = Array.from({ length: options.nodeCount }, (_, i) => `n${i + 1}`);
  const runtimes = new Map<string, Runtime>();
  for (const name of nodes) {
    world.startNode(name, async (rt) => {
      runtimes.set(name, rt);
      rt.net.onMessage((from, message) => rt.net.send(from, message));
      if ((await rt.disk.read("durable")) === undefined) {
        await rt.disk.append("durable", encoder.encode("kept"));
        await rt.disk.fsync("durable");
        await rt.disk.fsyncDir();
      }
      await rt.disk.append("volatile", encoder.encode("lost on crash"));
    });
  }
  const writer = options.writer;
  const control = worldNodeControl(
    world,
    nodes,
    () =>
      nodes.map((name) => ({
        name,
        role: options.roles?.[name] ?? (name === writer ? "writer" : "replica"),
      })),
    () => (writer === undefined ? undefined : { node: writer, epoch: 1 }),
    // Rot at rest hits the one file each node keeps durably.
    () => "durable",
  );
  const random = new SeededRandom(options.seed, "nemesis-test");
  const context = (): NemesisContext => ({ control, random, nowNs: world.nowNs() });
  const nodeStates = () => world.endpoints().filter((e) => e.kind === "node");
  return {
    world,
    nodes,
    control,
    runtimes,
    context,
    invoke: (nemesis, invocation) => nemesis.invoke(invocation, context()),
    grudge: () => grudgeFromMap(world.grudge()),
    down: () =>
      nodeStates()
        .filter((e) => !e.up)
        .map((e) => e.name)
        .sort(),
    paused: () =>
      nodeStates()
        .filter((e) => e.paused)
        .map((e) => e.name)
        .sort(),
  };
}

/** Sends `message` from a client to `node` and resolves with true if the echo comes back within `waitNs`. */
export async function echoes(
  cluster: FakeCluster,
  client: string,
  node: string,
  waitNs = 100e6,
): Promise<boolean> {
  const rt = cluster.world.clientRuntime(client);
  let answered = false;
  rt.net.onMessage((from) => {
    if (from === node) answered = true;
  });
  rt.net.send(node, { ping: node });
  await cluster.world.sleep(waitNs);
  return answered;
}

/** Runs `body` inside the world's scheduler (crash, restart and disk need simulated time to pass). */
export function inWorld<T>(cluster: FakeCluster, body: () => Promise<T>): Promise<T> {
  return cluster.world.run(async () => {
    await cluster.world.sleep(10e6); // let every node boot and write its files
    return body();
  });
}
