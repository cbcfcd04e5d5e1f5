/**
 * The process world: every node its own OS process, every link through a proxy the harness
 * owns, real files, the machine's clock. Clients run in the harness's process, as in Jepsen.
 *
 * - A node is a `nodeHost` process (started with execa, own process group, output in
 *   `nodes/<node>.log`) that builds its program from the system's `PortableProgram`, the same
 *   code the simulation runs. It listens on a loopback port picked here, kept across restarts,
 *   or a new one if that port was taken meanwhile (its links follow it).
 * - Every link from → to is a `TcpProxy` (proxy.ts), opened on first use; a node asks for the
 *   port of a link over its IPC channel. Partitions, delay, stalls and resets act there.
 * - crash: kill -9 of the node's process group (what it had not fsynced was in its memory and is
 *   gone); restart: a new process over the same files. pause/resume: SIGSTOP/SIGCONT.
 * - setClock: a new offset and rate for the node's runtime clock, sent over its IPC channel
 *   (the clock state lives here too, so a restarted node keeps its skew, as in simulation).
 * - A node that cannot start (a program that fails to load, a port it cannot bind) fails the
 *   world with `NodeStartError`, which names the node and its log; `faultline run` stops every
 *   other node, keeps the history and exits 255. A program error after start stops only that
 *   node and is kept in `nodeErrors()`, as the simulation's "stop-node" does.
 *
 * Not byte-replayable: the seed drives the generator, the nemesis and the fault draws, but
 * which message wins a race is up to the machine's scheduler.
 */
import { join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SeededRandom } from "../random.ts";
import { RealTimeLoop } from "../real/realTimeLoop.ts";
import { TcpNetwork } from "../real/tcp.ts";
import { compiledTwin } from "./compiledBuild.ts";
import { SimClockState } from "../sim/clock.ts";
import type { NodeError } from "../sim/world.ts";
import type {
  ClockSetting,
  Disk,
  EndpointLogSink,
  EndpointState,
  Grudge,
  LinkFaults,
  NodeProgram,
  PortableProgram,
  Random,
  Runtime,
  World,
} from "../types.ts";
import { freeLoopbackPort } from "./ports.ts";
import type { ManagedProcess } from "./processes.ts";
import { ProcessSupervisor } from "./processes.ts";
import type { HarnessMessage, NodeMessage } from "./protocol.ts";
import { ProxyNetwork, type ProxyFaults } from "./proxy.ts";

export type { NodeError } from "../sim/world.ts";

/** A node that could not start: the run cannot go on. */
export class NodeStartError extends Error {
  override readonly name = "NodeStartError";
  constructor(
    readonly node: string,
    readonly logFile: string,
    reason: string,
  ) {
    super(`node ${node} failed to start: ${reason}; see ${logFile}`);
  }
}

export interface ProcessWorldOptions {
  readonly seed: number;
  /** The run folder: node files go to `nodes/<node>/data/`, output to `nodes/<node>.log`. */
  readonly runDir: string;
  /** The world's own lines of each node's log (start, crash, pause, clock), as in simulation. */
  readonly endpointLog?: EndpointLogSink;
  /** How long a node may take from spawn to running, ms; default 30 s. */
  readonly startTimeoutMs?: number;
}

/** How a stall lasts when the packet nemesis's reordering becomes a stall. */
const reorderStallNs = 100e6;
const maxNodeErrorsKept = 1_000;
/** Starts of one node tried on a new port after its port was found taken (EADDRINUSE). */
const maxPortAttempts = 5;

interface NodeRecord {
  readonly name: string;
  readonly portable: PortableProgram;
  readonly logFile: string;
  readonly dataDir: string;
  readonly clock: SimClockState;
  port: number | undefined;
  /** Incarnation of the newest process (0 for the first). */
  incarnation: number;
  process: ManagedProcess | undefined;
  /** The harness killed the current process (a crash), so its exit is not an error. */
  killed: boolean;
  /** The current process reported an error of its program (its exit follows). */
  errored: boolean;
  up: boolean;
  paused: boolean;
  /** The newest start (or restart) in progress; resolves once that process runs. */
  booting: Promise<void>;
}

interface ClientRecord {
  readonly clock: SimClockState;
  readonly runtime: Runtime;
}

/**
 * The node host's entry beside this module, and how to start Node on it (tsx for sources), for a
 * node whose program is at `programUrl`: when this runs from sources, and the host and that
 * program have fresh compiled twins (compiledBuild.ts), the compiled ones, which start without
 * compiling anything. Returns the program's URL to send the host.
 */
export function nodeHostCommand(programUrl?: string): { file: string; args: string[]; programUrl?: string } {
  if (programUrl !== undefined) {
    const host = compiledTwin(new URL("./nodeHost.ts", import.meta.url).href);
    const program = compiledTwin(programUrl);
    if (host !== undefined && program !== undefined)
      return { file: process.execPath, args: [fileURLToPath(host)], programUrl: program };
  }
  const fromSources = /\.ts$/.test(new URL(import.meta.url).pathname);
  const entry = fileURLToPath(new URL(fromSources ? "./nodeHost.ts" : "./nodeHost.js", import.meta.url));
  return {
    file: process.execPath,
    // createRequire, not import.meta.resolve: under tsx's registered hooks the latter is a blocking
    // round trip to the hooks thread.
    args: [
      ...(fromSources ? ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href] : []),
      entry,
    ],
  };
}

/** The packet nemesis's faults as a TCP proxy can apply them (see the README's process mode). */
export function proxyFaultsOf(faults: LinkFaults): ProxyFaults {
  return {
    ...(faults.extraLatencyNs !== undefined ? { delayMeanNs: faults.extraLatencyNs } : {}),
    // TCP loses nothing inside a connection: loss becomes resets, losing what was in flight.
    ...(faults.lossProbability !== undefined ? { resetProbability: faults.lossProbability } : {}),
    // Nor does it reorder inside one: reordering becomes stalls (links overtake each other).
    ...(faults.reorderProbability !== undefined
      ? { stallProbability: faults.reorderProbability, stallNs: reorderStallNs }
      : {}),
    // Duplication has no TCP counterpart and is not applied.
  };
}

export class ProcessWorld implements World {
  readonly mode = "process" as const;
  readonly random: Random;
  private originMs = performance.timeOrigin + performance.now();
  private readonly supervisor = new ProcessSupervisor();
  private readonly proxies: ProxyNetwork;
  private readonly clientNetwork: TcpNetwork;
  private readonly clientPorts = new Map<string, Promise<number>>();
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly clients = new Map<string, ClientRecord>();
  private readonly clientHandlers = new Map<string, (from: string, message: unknown) => void>();
  private readonly loop = new RealTimeLoop();
  private readonly nodeErrorList: NodeError[] = [];
  private nodeErrorCount = 0;

  constructor(private readonly options: ProcessWorldOptions) {
    this.random = new SeededRandom(options.seed, "world");
    this.proxies = new ProxyNetwork(new SeededRandom(options.seed, "process/proxy"));
    this.clientNetwork = new TcpNetwork(
      (to, from, message) => {
        const handler = this.clientHandlers.get(to);
        if (handler === undefined) return;
        try {
          handler(from, message);
        } catch (error) {
          this.fail(error);
        }
      },
      {
        // A client sends only once it listens, so the node's reply always finds it.
        route: (from, to) => this.clientPorts.get(from)?.then(() => this.proxies.link(from, to)),
      },
    );
  }

  nowNs(): number {
    return Math.round((performance.timeOrigin + performance.now() - this.originMs) * 1e6);
  }

  /**
   * Makes now test time 0 and returns the time elapsed before it, ns, when the world runs no
   * node of its own (a system that starts its own servers, PostgreSQL's, took real seconds to
   * start them: they count neither against the time limit nor in the nemesis schedule). With
   * nodes it does nothing and returns undefined: they share the world's origin.
   */
  restartClockIfNoNodes(): number | undefined {
    if (this.nodes.size > 0) return undefined;
    const elapsedNs = this.nowNs();
    this.originMs = performance.timeOrigin + performance.now();
    return elapsedNs;
  }

  private logNode(node: string, line: string): void {
    this.options.endpointLog?.(node, this.nowNs(), `world: ${line}`);
  }

  private fail(error: unknown): void {
    this.loop.fail(error);
  }

  sleep(durationNs: number): Promise<void> {
    return this.loop.sleep(durationNs);
  }

  run<T>(main: () => Promise<T>): Promise<T> {
    return this.loop.run(main);
  }

  /** Resolves once every node started so far runs (rejects like `run` when one cannot start). */
  async nodesStarted(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((node) => node.booting));
  }

  /** Stops every node (kill -9), every proxy and every client connection. */
  async close(): Promise<void> {
    if (!this.loop.close()) return;
    for (const node of this.nodes.values()) node.killed = true;
    await this.supervisor.close();
    await this.proxies.close();
    await this.clientNetwork.close();
  }

  /** Node errors: programs that died of their own error, or processes that died unasked. */
  nodeErrors(): { readonly errors: readonly NodeError[]; readonly count: number } {
    return { errors: [...this.nodeErrorList], count: this.nodeErrorCount };
  }

  /** Process ids of the nodes' current processes (tests look for leftovers by them). */
  nodePids(): Record<string, number | undefined> {
    return Object.fromEntries([...this.nodes.values()].map((node) => [node.name, node.process?.pid]));
  }

  /** The proxies of every link opened so far (for tests and benchmarks). */
  proxyNetwork(): ProxyNetwork {
    return this.proxies;
  }

  // ---- clients ------------------------------------------------------------------------------

  clientRuntime(name: string): Runtime {
    const existing = this.clients.get(name);
    if (existing !== undefined) return existing.runtime;
    if (this.nodes.has(name)) throw new Error(`endpoint "${name}" already exists`);
    const clock = new SimClockState();
    const listening = this.clientNetwork.listen(name);
    this.clientPorts.set(name, listening);
    listening.then(
      (port) => this.proxies.setTarget(name, port),
      (error: unknown) => this.fail(error),
    );
    const noDisk = (): Promise<never> => Promise.reject(new Error(`client ${name} has no disk`));
    const disk: Disk = {
      read: noDisk,
      write: noDisk,
      append: noDisk,
      truncate: noDisk,
      fsync: noDisk,
      fsyncDir: noDisk,
      size: noDisk,
      list: noDisk,
      rename: noDisk,
      remove: noDisk,
    };
    const setTimer = (durationNs: number, callback: () => void): (() => void) =>
      this.loop.setTimer(durationNs, callback);
    const runtime: Runtime = {
      name,
      random: new SeededRandom(this.options.seed, `endpoint/${name}/0`),
      clock: {
        nowNs: () => clock.wallNs(this.nowNs()),
        monotonicNs: () => clock.monotonicNs(this.nowNs()),
        sleep: (durationNs) => new Promise<void>((resolve) => setTimer(durationNs, resolve)),
        setTimer,
      },
      net: {
        send: (to, message) => {
          if (!this.loop.closed) this.clientNetwork.send(name, to, message);
        },
        onMessage: (handler) => {
          this.clientHandlers.set(name, handler);
        },
      },
      disk,
      spawn: (taskName, body) => {
        let task: Promise<void>;
        try {
          task = body();
        } catch (error) {
          task = Promise.reject(error);
        }
        task.then(undefined, (error: unknown) =>
          this.fail(new Error(`task "${taskName}" of ${name} failed: ${String(error)}`, { cause: error })),
        );
      },
      log: (line) => this.options.endpointLog?.(name, this.nowNs(), `#0 ${line}`),
    };
    this.clients.set(name, { clock, runtime });
    return runtime;
  }

  // ---- nodes --------------------------------------------------------------------------------

  startNode(name: string, _program: NodeProgram, portable?: PortableProgram): void {
    if (!/^[A-Za-z0-9_.-]+$/.test(name))
      throw new RangeError(`bad node name "${name}": use letters, digits, _ . -`);
    if (this.nodes.has(name) || this.clients.has(name)) throw new Error(`endpoint "${name}" already exists`);
    if (portable === undefined) {
      throw new Error(
        `node ${name}: its system gave no portable program, so it cannot run in its own process (--mode process)`,
      );
    }
    const node: NodeRecord = {
      name,
      portable,
      logFile: join(this.options.runDir, "nodes", `${name}.log`),
      dataDir: join(this.options.runDir, "nodes", name, "data"),
      clock: new SimClockState(),
      port: undefined,
      incarnation: -1,
      process: undefined,
      killed: false,
      errored: false,
      up: false,
      paused: false,
      booting: Promise.resolve(),
    };
    this.nodes.set(name, node);
    this.boot(node);
  }

  private node(name: string, what: string): NodeRecord {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`${what}: no node named "${name}"`);
    return node;
  }

  /** Starts a new process for `node` once its previous one has exited. */
  private boot(node: NodeRecord): void {
    const previous = node.process;
    const booting = node.booting
      .catch(() => undefined)
      .then(async () => {
        if (previous !== undefined) await previous.exited;
        for (let attempt = 1; !this.loop.closed; attempt++) {
          try {
            await this.spawn(node);
            return;
          } catch (error) {
            // The port was taken: while the node was down the kernel may hand its port to anyone
            // (an outgoing connection's source port comes from the same range), and right after a
            // kill -9 the dead process's closing connections can hold it a moment (a crash-loop
            // restarts within milliseconds). A new port, which the links follow; bounded.
            const taken = error instanceof NodeStartError && error.message.includes("EADDRINUSE");
            if (!taken || attempt >= maxPortAttempts) throw error;
            this.logNode(node.name, `port ${String(node.port)} in use; starting on another`);
            // The refused process was killed: its exit is not a death of the system.
            node.killed = true;
            await node.process?.exited;
            node.port = undefined;
          }
        }
      });
    node.booting = booting;
    booting.catch((error: unknown) => this.fail(error));
  }

  private async spawn(node: NodeRecord): Promise<void> {
    if (node.port === undefined) {
      node.port = await freeLoopbackPort();
      this.proxies.setTarget(node.name, node.port);
    }
    node.incarnation += 1;
    node.killed = false;
    node.errored = false;
    node.paused = false;
    const incarnation = node.incarnation;
    const host = nodeHostCommand(node.portable.moduleUrl);
    let managed: ManagedProcess;
    try {
      managed = this.supervisor.start({
        name: node.name,
        file: host.file,
        args: host.args,
        logFile: node.logFile,
        ipc: true,
      });
    } catch (error) {
      throw new NodeStartError(node.name, node.logFile, String(error));
    }
    node.process = managed;
    node.up = true;
    this.logNode(node.name, `start #${incarnation} (pid ${managed.pid}, port ${node.port})`);

    let started!: () => void;
    let refused!: (reason: string) => void;
    const running = new Promise<void>((resolve, reject) => {
      started = resolve;
      refused = (reason) => reject(new NodeStartError(node.name, node.logFile, reason));
    });
    managed.onMessage((message) =>
      this.onNodeMessage(node, managed, message as NodeMessage, started, refused),
    );
    void managed.exited.then((exit) => {
      const how = exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code}`;
      refused(`its process ended (${how}) before it ran`);
      this.onNodeExit(node, managed, incarnation, how);
    });
    const init: HarnessMessage = {
      t: "init",
      name: node.name,
      incarnation,
      seed: this.options.seed,
      originMs: this.originMs,
      port: node.port,
      dataDir: node.dataDir,
      program: {
        moduleUrl: host.programUrl ?? node.portable.moduleUrl,
        exportName: node.portable.exportName,
        args: node.portable.args,
      },
      clock: node.clock.snapshot(),
      routes: [],
    };
    managed.send(init);
    const timeoutMs = this.options.startTimeoutMs ?? 30_000;
    const timer = setTimeout(() => refused(`it did not run within ${timeoutMs / 1000} s`), timeoutMs);
    try {
      await running;
    } catch (error) {
      // A crash during start is the nemesis's doing, not a failure to start.
      if (node.killed || this.loop.closed) return;
      managed.kill();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private onNodeMessage(
    node: NodeRecord,
    managed: ManagedProcess,
    message: NodeMessage,
    started: () => void,
    refused: (reason: string) => void,
  ): void {
    if (node.process !== managed) return;
    switch (message.t) {
      case "started":
        started();
        return;
      case "fatal":
        refused(message.message);
        return;
      case "route?":
        void this.proxies.link(node.name, message.to).then(
          (port) => managed.send({ t: "route", to: message.to, port: port ?? null } satisfies HarnessMessage),
          () => managed.send({ t: "route", to: message.to, port: null } satisfies HarnessMessage),
        );
        return;
      case "status":
        try {
          node.portable.onStatus?.(message.status);
        } catch (error) {
          this.fail(error);
        }
        return;
      case "error":
        node.errored = true;
        this.recordNodeError(node, message.message);
        return;
    }
  }

  private recordNodeError(node: NodeRecord, message: string): void {
    this.nodeErrorCount += 1;
    if (this.nodeErrorList.length < maxNodeErrorsKept) {
      this.nodeErrorList.push({
        node: node.name,
        incarnation: node.incarnation,
        timeNs: this.nowNs(),
        message,
      });
    }
    this.logNode(node.name, `process #${node.incarnation} died: ${message}`);
  }

  private onNodeExit(node: NodeRecord, managed: ManagedProcess, incarnation: number, how: string): void {
    if (node.process !== managed) return;
    node.up = false;
    node.paused = false;
    if (node.killed || node.errored || this.loop.closed) return;
    // Neither crashed by the nemesis nor dead of a reported error: still a death of the system.
    this.recordNodeError(node, `process #${incarnation} ended unasked (${how})`);
  }

  crash(name: string): void {
    const node = this.node(name, "crash");
    if (!node.up || node.process === undefined) return;
    node.killed = true;
    node.up = false;
    node.paused = false;
    node.process.kill();
    this.logNode(
      name,
      `crash #${node.incarnation}: kill -9 (pid ${node.process.pid}); writes it had not fsynced are lost`,
    );
  }

  restart(name: string): void {
    const node = this.node(name, "restart");
    // Restarting a node that is up does nothing: crash it first.
    if (node.up || this.loop.closed) return;
    this.boot(node);
  }

  pause(name: string): void {
    const node = this.node(name, "pause");
    if (!node.up || node.paused || node.process === undefined) return;
    node.process.pause();
    node.paused = true;
    this.logNode(name, `pause (SIGSTOP pid ${node.process.pid})`);
  }

  resume(name: string): void {
    const node = this.node(name, "resume");
    if (!node.paused || node.process === undefined) return;
    node.process.resume();
    node.paused = false;
    this.logNode(name, `resume (SIGCONT pid ${node.process.pid})`);
  }

  setGrudge(grudge: Grudge): void {
    this.proxies.setGrudge(grudge);
  }

  heal(): void {
    this.proxies.heal();
  }

  grudge(): Grudge {
    return this.proxies.grudge();
  }

  setLinkFaults(faults: LinkFaults): void {
    this.proxies.setFaults(proxyFaultsOf(faults));
  }

  setClock(name: string, setting: ClockSetting): void {
    const client = this.clients.get(name);
    if (client !== undefined) {
      client.clock.set(this.nowNs(), setting);
      return;
    }
    const node = this.node(name, "setClock");
    node.clock.set(this.nowNs(), setting);
    node.process?.send({ t: "clock", clock: node.clock.snapshot() } satisfies HarnessMessage);
    this.logNode(name, `clock ${JSON.stringify(setting)}`);
  }

  endpoints(): EndpointState[] {
    return [
      ...[...this.nodes.values()].map((node) => ({
        name: node.name,
        kind: "node" as const,
        up: node.up,
        paused: node.paused,
        clockOffsetNs: node.clock.offsetNs,
        driftPpm: node.clock.driftPpm,
      })),
      ...[...this.clients].map(([name, client]) => ({
        name,
        kind: "client" as const,
        up: true,
        paused: false,
        clockOffsetNs: client.clock.offsetNs,
        driftPpm: client.clock.driftPpm,
      })),
    ];
  }
}
