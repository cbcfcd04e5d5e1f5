/**
 * A fault-injecting TCP proxy, the network of process mode: every link between two endpoints (a
 * client and a node, or two nodes) is a `TcpProxy` on a loopback port the harness owns, so the
 * nemesis can cut, slow, stall and reset any link without root, iptables or `tc`. It forwards
 * bytes and never parses them, so it carries any protocol (our engine's frames, PostgreSQL's wire
 * protocol, etcd's gRPC) unchanged.
 *
 * A link is one-way in name (`from` connects, `to` listens) but carries bytes both ways:
 * "forward" is from → to, "backward" is to → from. Faults:
 *
 * - Blocked direction (a partition; one-way when only one direction is blocked): bytes arriving
 *   in that direction are discarded, as a real partition drops packets, and the connection is
 *   marked damaged in that direction. When the block lifts, every connection damaged by it is
 *   reset: a byte stream with a hole in it cannot resume (a real TCP connection across a long
 *   partition ends the same way, by timeout). Connections made during the partition are accepted
 *   and then hear nothing, like a SYN whose answer never comes.
 * - Delay: every chunk waits an exponentially distributed time of mean `delayMeanNs` (delay and
 *   jitter at once). Bytes of one connection keep their order, as TCP keeps them; chunks on
 *   different links overtake each other.
 * - Stall: with `stallProbability` per chunk, the direction holds everything for `stallNs`.
 * - Reset: with `resetProbability` per chunk, the connection is cut on both sides at once,
 *   losing whatever was in flight (each side sees its connection close).
 * TCP neither loses nor duplicates bytes inside a connection, so loss appears as resets and
 * there is no duplication.
 *
 * Every queue is bounded: past `maxQueuedBytes` per direction the proxy stops reading that
 * direction's source (TCP back-pressure) until the queue drains.
 *
 * Use: `ProxyNetwork` holds the links of a cluster by endpoint name and applies a `Grudge`
 * (who drops whom) to all of them; `TcpProxy` is one link. Neither assumes the endpoints run our
 * engine: `setTarget` says where an endpoint listens (again after it restarts on a new port),
 * `link(from, to)` gives the port `from` must connect to in order to reach `to`.
 */
import { connect, createServer } from "node:net";
import type { Server, Socket } from "node:net";
import type { Random } from "../random.ts";
import type { Grudge } from "../types.ts";
import { loopbackHost } from "./ports.ts";

export interface ProxyFaults {
  /** Mean extra delay of every chunk, ns, exponentially distributed (delay with jitter). */
  readonly delayMeanNs?: number;
  /** Probability, per chunk, that the connection is reset (bytes in flight are lost). */
  readonly resetProbability?: number;
  /** Probability, per chunk, that its direction stalls: nothing more passes for `stallNs`. */
  readonly stallProbability?: number;
  /** Length of one stall, ns; default 200 ms. */
  readonly stallNs?: number;
}

export interface BlockedDirections {
  /** from → to bytes are dropped. */
  readonly forward: boolean;
  /** to → from bytes are dropped. */
  readonly backward: boolean;
}

export interface ProxyStats {
  connections: number;
  bytesForward: number;
  bytesBackward: number;
  bytesDiscarded: number;
  resets: number;
  stalls: number;
}

export interface TcpProxyOptions {
  /** Where the proxied endpoint listens now (on 127.0.0.1). */
  readonly targetPort: number;
  /** Draws the delays, stalls and resets. */
  readonly random: Random;
  /** For messages: `n1->n2`. */
  readonly name?: string;
  /** Bytes one direction of one connection may hold before its source is paused; default 8 MiB. */
  readonly maxQueuedBytes?: number;
}

type DirectionName = "forward" | "backward";

interface Direction {
  readonly name: DirectionName;
  readonly source: Socket;
  readonly sink: Socket;
  readonly queue: { readonly data: Buffer; readonly dueMs: number }[];
  queuedBytes: number;
  lastDueMs: number;
  stalledUntilMs: number;
  timer: NodeJS.Timeout | undefined;
  sourceEnded: boolean;
}

interface Connection {
  readonly downstream: Socket;
  readonly upstream: Socket;
  upstreamConnected: boolean;
  readonly forward: Direction;
  readonly backward: Direction;
  readonly damaged: { forward: boolean; backward: boolean };
  closed: boolean;
}

const defaultStallNs = 200e6;
const defaultMaxQueuedBytes = 8 * 2 ** 20;

function direction(name: DirectionName, source: Socket, sink: Socket): Direction {
  return {
    name,
    source,
    sink,
    queue: [],
    queuedBytes: 0,
    lastDueMs: 0,
    stalledUntilMs: 0,
    timer: undefined,
    sourceEnded: false,
  };
}

function checkFaults(faults: ProxyFaults): ProxyFaults {
  const probability = (p: number | undefined, what: string): void => {
    if (p !== undefined && !(p >= 0 && p <= 1)) throw new RangeError(`${what} must be in [0, 1], got ${p}`);
  };
  probability(faults.resetProbability, "resetProbability");
  probability(faults.stallProbability, "stallProbability");
  for (const [what, value] of [
    ["delayMeanNs", faults.delayMeanNs],
    ["stallNs", faults.stallNs],
  ] as const) {
    if (value !== undefined && !(value >= 0 && Number.isFinite(value)))
      throw new RangeError(`${what} must be a finite number >= 0, got ${value}`);
  }
  return { ...faults };
}

/** One link: listens on a free loopback port and forwards every connection to the target. */
export class TcpProxy {
  readonly name: string;
  readonly stats: ProxyStats = {
    connections: 0,
    bytesForward: 0,
    bytesBackward: 0,
    bytesDiscarded: 0,
    resets: 0,
    stalls: 0,
  };
  private targetPort: number;
  private blocked: BlockedDirections = { forward: false, backward: false };
  private faults: ProxyFaults = {};
  private readonly connections = new Set<Connection>();
  private readonly random: Random;
  private readonly maxQueuedBytes: number;
  private closed = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    options: TcpProxyOptions,
  ) {
    this.name = options.name ?? `proxy:${port}`;
    this.targetPort = options.targetPort;
    this.random = options.random;
    this.maxQueuedBytes = options.maxQueuedBytes ?? defaultMaxQueuedBytes;
    server.on("connection", (socket) => this.accept(socket));
  }

  /** Opens a proxy on a free loopback port; resolves once it listens. */
  static open(options: TcpProxyOptions): Promise<TcpProxy> {
    return new Promise<TcpProxy>((resolve, reject) => {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
      server.once("error", reject);
      server.listen(0, loopbackHost, () => {
        const address = server.address();
        if (address === null || typeof address === "string") {
          server.close();
          reject(new Error(`${options.name ?? "proxy"}: no port assigned`));
          return;
        }
        server.off("error", reject);
        // A listening socket's later errors (none are expected) must not crash the harness.
        server.on("error", () => {});
        resolve(new TcpProxy(server, address.port, options));
      });
    });
  }

  /** Where new connections go (existing ones keep their upstream). */
  setTarget(port: number): void {
    this.targetPort = port;
  }

  /** Blocks or unblocks each direction; lifting a block resets the connections it damaged. */
  setBlocked(blocked: BlockedDirections): void {
    this.blocked = { forward: blocked.forward, backward: blocked.backward };
    for (const connection of [...this.connections]) {
      const healedForward = !blocked.forward && connection.damaged.forward;
      const healedBackward = !blocked.backward && connection.damaged.backward;
      if (healedForward || healedBackward) this.reset(connection);
    }
  }

  blockedDirections(): BlockedDirections {
    return this.blocked;
  }

  setFaults(faults: ProxyFaults): void {
    this.faults = checkFaults(faults);
  }

  /** Cuts every open connection (both sides closed at once). */
  resetConnections(): void {
    for (const connection of [...this.connections]) this.reset(connection);
  }

  /** Open connections through this link now. */
  get openConnections(): number {
    return this.connections.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const connection of [...this.connections]) this.reset(connection);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(downstream: Socket): void {
    if (this.closed) {
      downstream.destroy();
      return;
    }
    this.stats.connections += 1;
    const upstream = connect({ host: loopbackHost, port: this.targetPort, allowHalfOpen: true });
    downstream.setNoDelay(true);
    upstream.setNoDelay(true);
    const connection: Connection = {
      downstream,
      upstream,
      upstreamConnected: false,
      forward: direction("forward", downstream, upstream),
      backward: direction("backward", upstream, downstream),
      damaged: { forward: false, backward: false },
      closed: false,
    };
    this.connections.add(connection);
    for (const dir of [connection.forward, connection.backward]) {
      dir.source.on("data", (chunk: Buffer) => this.onChunk(connection, dir, chunk));
      dir.source.on("end", () => {
        dir.sourceEnded = true;
        this.flush(connection, dir);
      });
      dir.sink.on("drain", () => this.updateFlow(connection, dir));
    }
    upstream.once("connect", () => {
      connection.upstreamConnected = true;
      this.flush(connection, connection.forward);
    });
    for (const socket of [downstream, upstream]) {
      socket.on("error", () => {});
      socket.once("close", () => this.drop(connection));
    }
    downstream.resume();
  }

  private onChunk(connection: Connection, dir: Direction, chunk: Buffer): void {
    if (connection.closed) return;
    if (this.blocked[dir.name]) {
      this.stats.bytesDiscarded += chunk.length;
      connection.damaged[dir.name] = true;
      return;
    }
    const { delayMeanNs = 0, resetProbability = 0, stallProbability = 0 } = this.faults;
    if (resetProbability > 0 && this.random.bool(resetProbability)) {
      this.stats.resets += 1;
      this.reset(connection);
      return;
    }
    const nowMs = performance.now();
    if (stallProbability > 0 && this.random.bool(stallProbability)) {
      this.stats.stalls += 1;
      dir.stalledUntilMs = nowMs + (this.faults.stallNs ?? defaultStallNs) / 1e6;
    }
    const delayMs = delayMeanNs > 0 ? this.random.exponential(delayMeanNs) / 1e6 : 0;
    const dueMs = Math.max(nowMs + delayMs, dir.lastDueMs, dir.stalledUntilMs);
    dir.lastDueMs = dueMs;
    if (dueMs <= nowMs && dir.queue.length === 0 && this.sinkReady(connection, dir)) {
      this.write(connection, dir, chunk);
      return;
    }
    dir.queue.push({ data: chunk, dueMs });
    dir.queuedBytes += chunk.length;
    this.flush(connection, dir);
  }

  private sinkReady(connection: Connection, dir: Direction): boolean {
    return dir.name === "backward" || connection.upstreamConnected;
  }

  private write(connection: Connection, dir: Direction, chunk: Buffer): void {
    if (dir.name === "forward") this.stats.bytesForward += chunk.length;
    else this.stats.bytesBackward += chunk.length;
    dir.sink.write(chunk);
    this.updateFlow(connection, dir);
  }

  /** Writes every chunk that is due; schedules the next; ends the sink once the source ended. */
  private flush(connection: Connection, dir: Direction): void {
    if (connection.closed) return;
    if (dir.timer !== undefined) {
      clearTimeout(dir.timer);
      dir.timer = undefined;
    }
    if (!this.sinkReady(connection, dir)) return;
    const nowMs = performance.now();
    while (dir.queue.length > 0 && dir.queue[0]!.dueMs <= nowMs) {
      const { data } = dir.queue.shift()!;
      dir.queuedBytes -= data.length;
      this.write(connection, dir, data);
      if (connection.closed) return;
    }
    if (dir.queue.length > 0) {
      dir.timer = setTimeout(() => this.flush(connection, dir), Math.max(0, dir.queue[0]!.dueMs - nowMs));
    } else if (dir.sourceEnded) {
      dir.sink.end();
    }
    this.updateFlow(connection, dir);
  }

  /** Pauses a direction's source while its queue and its sink's buffer are over the bound. */
  private updateFlow(connection: Connection, dir: Direction): void {
    if (connection.closed) return;
    const held = dir.queuedBytes + dir.sink.writableLength;
    if (held > this.maxQueuedBytes) {
      if (!dir.source.isPaused()) dir.source.pause();
    } else if (dir.source.isPaused()) {
      dir.source.resume();
    }
  }

  private clearTimers(connection: Connection): void {
    for (const dir of [connection.forward, connection.backward]) {
      if (dir.timer !== undefined) clearTimeout(dir.timer);
      dir.timer = undefined;
      dir.queue.length = 0;
      dir.queuedBytes = 0;
    }
  }

  /**
   * Cuts both sides of a connection at once, losing what was in flight. (A FIN, not an RST:
   * Node 20's `resetAndDestroy` was seen to leave the process unable to exit.)
   */
  private reset(connection: Connection): void {
    if (connection.closed) return;
    connection.closed = true;
    this.connections.delete(connection);
    this.clearTimers(connection);
    connection.downstream.destroy();
    connection.upstream.destroy();
  }

  /** One side closed: the other goes too (what was still queued is lost). */
  private drop(connection: Connection): void {
    if (connection.closed) return;
    connection.closed = true;
    this.connections.delete(connection);
    this.clearTimers(connection);
    connection.downstream.destroy();
    connection.upstream.destroy();
  }
}

/**
 * The links of a cluster, by endpoint name: `link(from, to)` opens (once) the proxy from → to and
 * gives its port. A grudge (`grudge.get(a)` holds the endpoints whose messages `a` drops) blocks
 * the forward direction of from → to when `to` drops `from`, and the backward direction when
 * `from` drops `to`; it and the faults apply to links opened later too.
 */
export class ProxyNetwork {
  private readonly targets = new Map<string, number>();
  private readonly links = new Map<string, Promise<TcpProxy>>();
  private readonly opened = new Map<string, TcpProxy>();
  private currentGrudge: Grudge = new Map();
  private faults: ProxyFaults = {};
  private closed = false;

  constructor(private readonly random: Random) {}

  /** Where `endpoint` listens now; links to it send new connections there. */
  setTarget(endpoint: string, port: number): void {
    this.targets.set(endpoint, port);
    for (const [key, proxy] of this.opened) if (key.endsWith(`\u0000${endpoint}`)) proxy.setTarget(port);
  }

  hasTarget(endpoint: string): boolean {
    return this.targets.has(endpoint);
  }

  /** The port `from` connects to in order to reach `to`, or undefined when `to` listens nowhere. */
  async link(from: string, to: string): Promise<number | undefined> {
    const targetPort = this.targets.get(to);
    if (targetPort === undefined || this.closed) return undefined;
    const key = `${from}\u0000${to}`;
    let proxy = this.links.get(key);
    if (proxy === undefined) {
      proxy = TcpProxy.open({
        targetPort,
        random: this.random.fork(`link/${from}/${to}`),
        name: `${from}->${to}`,
      }).then((opened) => {
        opened.setBlocked(this.blockedFor(from, to));
        opened.setFaults(this.faults);
        this.opened.set(key, opened);
        if (this.closed) void opened.close();
        return opened;
      });
      this.links.set(key, proxy);
    }
    return (await proxy).port;
  }

  private blockedFor(from: string, to: string): BlockedDirections {
    return {
      forward: this.currentGrudge.get(to)?.has(from) === true,
      backward: this.currentGrudge.get(from)?.has(to) === true,
    };
  }

  setGrudge(grudge: Grudge): void {
    const copy = new Map<string, ReadonlySet<string>>();
    for (const [receiver, senders] of grudge) if (senders.size > 0) copy.set(receiver, new Set(senders));
    this.currentGrudge = copy;
    for (const [key, proxy] of this.opened) {
      const [from, to] = key.split("\u0000") as [string, string];
      proxy.setBlocked(this.blockedFor(from, to));
    }
  }

  heal(): void {
    this.setGrudge(new Map());
  }

  grudge(): Grudge {
    return this.currentGrudge;
  }

  /** Sets the faults of every link (and of links opened later). */
  setFaults(faults: ProxyFaults): void {
    this.faults = checkFaults(faults);
    for (const proxy of this.opened.values()) proxy.setFaults(this.faults);
  }

  /** Resets every connection to or from `endpoint` (every connection when not given). */
  resetConnections(endpoint?: string): void {
    for (const [key, proxy] of this.opened) {
      const [from, to] = key.split("\u0000") as [string, string];
      if (endpoint === undefined || from === endpoint || to === endpoint) proxy.resetConnections();
    }
  }

  /** The links opened so far. */
  linkList(): { from: string; to: string; proxy: TcpProxy }[] {
    return [...this.opened].map(([key, proxy]) => {
      const [from, to] = key.split("\u0000") as [string, string];
      return { from, to, proxy };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const proxies = await Promise.allSettled([...this.links.values()]);
    await Promise.all(proxies.map((p) => (p.status === "fulfilled" ? p.value.close() : undefined)));
  }
}
