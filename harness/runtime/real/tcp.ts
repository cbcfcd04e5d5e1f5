/**
 * TCP on loopback between named endpoints: one server per endpoint on an ephemeral port, a
 * name → port directory held here, and one outgoing connection per (sender, receiver) pair,
 * opened on first use and opened again on the next send after it fails. Frames (see frames.ts)
 * carry `{from, to, message}`. Delivery is best effort, as the `NetworkEndpoint` contract says:
 * frames queued on a connection that fails are lost, and each connection's queue is bounded.
 *
 * A `route` function changes where a sender connects: in process mode every (sender, receiver)
 * pair goes through its own proxy, so the port depends on both names, and a node learns it from
 * the harness. The route of a pair is asked once per connection; undefined drops the frames.
 */
import { createServer, connect } from "node:net";
import type { Server, Socket } from "node:net";
import { encodeFrame, FrameDecoder } from "./frames.ts";

/** Frames a connection may hold while it is being opened; more are dropped. */
const MAX_QUEUED_FRAMES = 10_000;
/** Bytes a connected socket may buffer unsent (a stalled peer); more frames are dropped. */
const MAX_UNSENT_BYTES = 16 * 2 ** 20;

interface Outgoing {
  socket: Socket | undefined;
  connected: boolean;
  readonly queue: Buffer[];
}

interface Envelope {
  readonly from: string;
  readonly to: string;
  readonly message: unknown;
}

export type ArrivalHandler = (to: string, from: string, message: unknown) => void;

/** Where `from` connects to reach `to`: a port on 127.0.0.1, or undefined to drop. */
export type Route = (from: string, to: string) => Promise<number | undefined> | undefined;

export interface TcpNetworkOptions {
  /** Default: the port of `to`'s own server in this network. */
  readonly route?: Route;
}

export class TcpNetwork {
  private readonly servers = new Map<string, Server>();
  private readonly ports = new Map<string, Promise<number>>();
  private readonly outgoing = new Map<string, Outgoing>();
  private readonly sockets = new Set<Socket>();
  private closed = false;
  /** Frames given up on: unknown endpoint, failed connection, full queue. */
  dropped = 0;

  private readonly route: Route;

  constructor(
    private readonly onArrival: ArrivalHandler,
    options: TcpNetworkOptions = {},
  ) {
    this.route = options.route ?? ((_from, to) => this.ports.get(to));
  }

  /** Starts `name`'s server on a loopback port (ephemeral unless given); resolves with the port. */
  listen(name: string, port = 0): Promise<number> {
    const existing = this.ports.get(name);
    if (existing !== undefined) return existing;
    const server = createServer((socket) => this.accept(name, socket));
    this.servers.set(name, server);
    const listening = new Promise<number>((resolve, reject) => {
      server.once("error", (error) => {
        // Forget the failed server, so that a later `listen` may try again.
        this.servers.delete(name);
        this.ports.delete(name);
        reject(error);
      });
      server.listen(port, "127.0.0.1", () => {
        const address = server.address();
        if (address === null || typeof address === "string") reject(new Error(`${name}: no TCP port`));
        else resolve(address.port);
      });
    });
    this.ports.set(name, listening);
    return listening;
  }

  /** The port of `name`'s server, once it listens. */
  portOf(name: string): Promise<number> | undefined {
    return this.ports.get(name);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  private accept(name: string, socket: Socket): void {
    this.track(socket);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder();
    socket.on("data", (chunk: Buffer) => {
      let values: unknown[];
      try {
        values = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const value of values) {
        const envelope = value as Envelope;
        if (envelope.to !== name || typeof envelope.from !== "string") continue;
        this.onArrival(name, envelope.from, envelope.message);
      }
    });
    socket.on("error", () => socket.destroy());
  }

  /** Sends `message` from → to; best effort. Throws only if `message` is not JSON. */
  send(from: string, to: string, message: unknown): void {
    const frame = encodeFrame({ from, to, message } satisfies Envelope);
    if (this.closed) return;
    const key = `${from}\u0000${to}`;
    let connection = this.outgoing.get(key);
    if (connection === undefined) {
      const port = this.route(from, to);
      if (port === undefined) {
        this.dropped++;
        return;
      }
      connection = this.open(key, port);
      this.outgoing.set(key, connection);
    }
    if (connection.connected && connection.socket !== undefined) {
      if (connection.socket.writableLength < MAX_UNSENT_BYTES) connection.socket.write(frame);
      else this.dropped++;
    } else if (connection.queue.length < MAX_QUEUED_FRAMES) connection.queue.push(frame);
    else this.dropped++;
  }

  private open(key: string, port: Promise<number | undefined>): Outgoing {
    const connection: Outgoing = { socket: undefined, connected: false, queue: [] };
    const fail = (): void => {
      // Forget the connection: the next send opens a new one. Queued frames are lost.
      if (this.outgoing.get(key) === connection) this.outgoing.delete(key);
      this.dropped += connection.queue.length;
      connection.queue.length = 0;
      connection.connected = false;
    };
    port.then((portNumber) => {
      if (this.closed || this.outgoing.get(key) !== connection) return;
      if (portNumber === undefined) {
        fail();
        return;
      }
      const socket = connect({ host: "127.0.0.1", port: portNumber });
      this.track(socket);
      socket.setNoDelay(true);
      connection.socket = socket;
      socket.once("connect", () => {
        connection.connected = true;
        for (const frame of connection.queue) socket.write(frame);
        connection.queue.length = 0;
      });
      socket.on("error", () => socket.destroy());
      socket.once("close", fail);
    }, fail);
    return connection;
  }

  /** Breaks every outgoing connection (as a network blip would); the next sends reconnect. */
  breakConnections(): void {
    for (const connection of this.outgoing.values()) connection.socket?.destroy();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(
      [...this.servers.values()].map(
        (server) => new Promise<void>((resolve) => server.close(() => resolve())),
      ),
    );
    this.servers.clear();
    this.outgoing.clear();
  }
}
