/**
 * The memory system: the control group. One node (`n1`) serves a single in-memory copy of the data
 * (MemoryState); every other node is an idle bystander for nemeses to hit. Clients send requests
 * over the world's network, so partitions, loss and pauses make operations time out (`info`) as
 * they would on any system, but an operation that takes effect does so atomically at one instant
 * on n1. The data lives outside the node's runtime, so a crash of n1 loses nothing: the system is
 * linearizable and strict-serializable under every nemesis, and every checker must say so.
 * In process mode n1 is its own OS process and keeps the data durably instead (durableServer.ts).
 */
import { siblingModuleUrl, type Runtime, type World } from "../../harness/runtime/types.ts";
import {
  worldNodeControl,
  type Client,
  type Completion,
  type Invocation,
  type NodeControl,
  type SystemUnderTest,
} from "../../harness/system.ts";
import { MemoryState } from "./state.ts";

interface Request {
  readonly kind: "request";
  readonly id: number;
  readonly invocation: Invocation;
}

interface Reply {
  readonly kind: "reply";
  readonly id: number;
  readonly completion: Completion;
}

/** Requests a client keeps waiting for at most; past it the oldest is abandoned (it times out as info). */
const maxPendingRequests = 1024;

export class MemorySystem implements SystemUnderTest {
  readonly name = "memory";
  readonly nodeNames: readonly string[];
  private readonly state = new MemoryState();

  constructor(nodeCount = 1) {
    if (!(nodeCount >= 1))
      throw new RangeError(`the memory system needs at least one node, got ${nodeCount}`);
    this.nodeNames = Array.from({ length: nodeCount }, (_, i) => `n${i + 1}`);
  }

  private get server(): string {
    return this.nodeNames[0]!;
  }

  async setup(world: World): Promise<void> {
    for (const name of this.nodeNames) {
      const server = name === this.server;
      world.startNode(name, server ? (rt) => this.serve(rt) : () => undefined, {
        moduleUrl: siblingModuleUrl(import.meta.url, "durableServer"),
        exportName: "memoryNodeProgram",
        args: { server },
      });
    }
  }

  /**
   * The network may deliver a request twice; applying it twice would be a second operation the
   * client never asked for. So each request is applied at most once: a duplicate gets the cached
   * reply. Replies are kept per client for its last `maxPendingRequests` request ids. The cache
   * lives with the data (outside the node), so it survives a crash as the data does.
   */
  private readonly replies = new Map<string, ReplyCache>();

  private serve(rt: Runtime): void {
    rt.net.onMessage((from, message) => {
      const request = message as Request;
      if (request?.kind !== "request") return;
      let cache = this.replies.get(from);
      if (cache === undefined) this.replies.set(from, (cache = new ReplyCache(maxPendingRequests)));
      let reply = cache.get(request.id);
      if (reply === undefined) {
        reply = {
          kind: "reply",
          id: request.id,
          completion: withNode(this.state.apply(request.invocation), rt.name),
        };
        cache.add(request.id, reply);
      }
      rt.net.send(from, reply);
    });
  }

  async openClient(world: World, clientName: string): Promise<Client> {
    const rt = world.clientRuntime(clientName);
    const pending = new Map<number, (c: Completion) => void>();
    let nextId = 0;
    rt.net.onMessage((_from, message) => {
      const reply = message as Reply;
      if (reply?.kind !== "reply") return;
      const resolve = pending.get(reply.id);
      pending.delete(reply.id);
      resolve?.(reply.completion);
    });
    const server = this.server;
    return {
      invoke(invocation) {
        const id = nextId++;
        if (pending.size >= maxPendingRequests) pending.delete(pending.keys().next().value!);
        return new Promise<Completion>((resolve) => {
          pending.set(id, resolve);
          rt.net.send(server, { kind: "request", id, invocation } satisfies Request);
        });
      },
      async close() {
        pending.clear();
      },
    };
  }

  control(world: World): NodeControl {
    return worldNodeControl(world, this.nodeNames);
  }

  async teardown(): Promise<void> {}
}

/** `completion` with `node` added: the fields of a spread, written out (no spread per request). */
function withNode(completion: Completion, node: string): Completion {
  return completion.error === undefined
    ? { type: completion.type, value: completion.value, node }
    : { type: completion.type, value: completion.value, error: completion.error, node };
}

/**
 * A client's replies by request id, the oldest added dropped past `capacity`. The order of adding
 * is kept in a ring of ids: dropping the oldest through a Map's own order (`keys().next()`) walks
 * past every entry deleted before it, which made a long run's server quadratic.
 */
class ReplyCache {
  private readonly byId = new Map<number, Reply>();
  private readonly order: Int32Array;
  private oldest = 0;

  constructor(private readonly capacity: number) {
    this.order = new Int32Array(capacity + 1);
  }

  get(id: number): Reply | undefined {
    return this.byId.get(id);
  }

  add(id: number, reply: Reply): void {
    this.byId.set(id, reply);
    this.order[(this.oldest + this.byId.size - 1) % this.order.length] = id;
    if (this.byId.size > this.capacity) {
      this.byId.delete(this.order[this.oldest]!);
      this.oldest = (this.oldest + 1) % this.order.length;
    }
  }
}
