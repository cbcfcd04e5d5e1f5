/**
 * The real world: every endpoint in this process, on the wall clock, talking TCP over loopback
 * (tcp.ts) and writing real files with real fsync (disk.ts), one directory per node.
 *
 * Each endpoint's clock is the world's elapsed real time seen through an adjustable offset and
 * drift (the same arithmetic as the simulated clock); timers run on real time.
 *
 * Crash and pause act on the in-process node, as the simulation does: a crash stops its tasks
 * (timers cleared, sleeps and disk operations never settle, messages to it dropped) and restart
 * runs the program again with a fresh runtime over the same directory. Unlike the simulation, a
 * crash here cannot discard unsynced writes: they sit in the OS page cache. Real processes, with
 * kill -9 and SIGSTOP, are the process world's (../process/world.ts, `--mode process`).
 *
 * The grudge is enforced at both ends: a sender does not send to a receiver that drops it, and a
 * receiver drops frames from senders it holds a grudge against when they arrive. Link faults
 * (loss, duplication, reordering, extra latency) are applied by the sender, with the world's seed.
 */
import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SeededRandom } from "../random.ts";
import { SimClockState } from "../sim/clock.ts";
import type {
  ClockSetting,
  Disk,
  EndpointLogSink,
  EndpointState,
  Grudge,
  LinkFaults,
  NodeProgram,
  Random,
  Runtime,
  World,
} from "../types.ts";
import { FileDisk } from "./disk.ts";
import { never, RealTimeLoop } from "./realTimeLoop.ts";
import { TcpNetwork } from "./tcp.ts";

export interface RealWorldOptions {
  readonly seed: number;
  /** Where node directories go; a fresh temporary folder (removed on close) unless given. */
  readonly dataDirectory?: string;
  /** Endpoint logs: every `runtime.log` line, stamped with test time (see the sim world). */
  readonly endpointLog?: EndpointLogSink;
}

interface Incarnation {
  readonly number: number;
  alive: boolean;
  paused: boolean;
  held: (() => void)[];
  readonly timers: Set<NodeJS.Timeout>;
  handler: ((from: string, message: unknown) => void) | undefined;
}

interface Endpoint {
  readonly name: string;
  readonly kind: "node" | "client";
  readonly clock: SimClockState;
  readonly disk: FileDisk;
  program: NodeProgram | undefined;
  incarnation: Incarnation;
  runtime: Runtime | undefined;
}

function newIncarnation(number: number): Incarnation {
  return { number, alive: true, paused: false, held: [], timers: new Set(), handler: undefined };
}

export class RealWorld implements World {
  readonly mode = "real" as const;
  readonly random: Random;
  readonly dataDirectory: string;

  private readonly startMs = performance.now();
  private readonly ownsDataDirectory: boolean;
  private readonly network: TcpNetwork;
  private readonly faultRandom: Random;
  private readonly endpointsByName = new Map<string, Endpoint>();
  private readonly loop = new RealTimeLoop();
  private currentGrudge: Grudge = new Map();
  private faults: LinkFaults = {};

  constructor(private readonly options: RealWorldOptions) {
    this.random = new SeededRandom(options.seed, "world");
    this.faultRandom = new SeededRandom(options.seed, "real/network");
    this.ownsDataDirectory = options.dataDirectory === undefined;
    this.dataDirectory = options.dataDirectory ?? mkdtempSync(join(tmpdir(), "faultline-real-"));
    this.network = new TcpNetwork((to, from, message) => this.arrive(to, from, message));
  }

  nowNs(): number {
    return Math.round((performance.now() - this.startMs) * 1e6);
  }

  private fail(error: unknown): void {
    this.loop.fail(error);
  }

  private guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.fail(error);
    }
  }

  sleep(durationNs: number): Promise<void> {
    return this.loop.sleep(durationNs);
  }

  run<T>(main: () => Promise<T>): Promise<T> {
    return this.loop.run(main);
  }

  /** Stops every timer, closes every server and connection; removes the data folder if the world made it. */
  async close(): Promise<void> {
    this.loop.close();
    for (const endpoint of this.endpointsByName.values()) this.stop(endpoint.incarnation);
    await this.network.close();
    // A stopped node's last file operations may still be landing, on libuv's thread pool: removed
    // synchronously, the folder could be refilled behind the removal while the event loop stood
    // still (ENOTEMPTY even after ten synchronous retries, seen in CI). The asynchronous removal
    // queues behind them and lets their callbacks run; Node still retries ENOTEMPTY a bounded
    // number of times with a growing pause.
    if (this.ownsDataDirectory)
      await rm(this.dataDirectory, { recursive: true, force: true, maxRetries: 10 });
  }

  // ---- endpoints --------------------------------------------------------------------------

  private addEndpoint(name: string, kind: "node" | "client"): Endpoint {
    if (!/^[A-Za-z0-9_.-]+$/.test(name))
      throw new RangeError(`bad endpoint name "${name}": use letters, digits, _ . -`);
    if (this.endpointsByName.has(name)) throw new Error(`endpoint "${name}" already exists`);
    const endpoint: Endpoint = {
      name,
      kind,
      clock: new SimClockState(),
      disk: new FileDisk(join(this.dataDirectory, name)),
      program: undefined,
      incarnation: newIncarnation(0),
      runtime: undefined,
    };
    this.endpointsByName.set(name, endpoint);
    void this.network.listen(name).catch((error: unknown) => this.fail(error));
    return endpoint;
  }

  private node(name: string, what: string): Endpoint {
    const endpoint = this.endpointsByName.get(name);
    if (endpoint === undefined || endpoint.kind !== "node")
      throw new Error(`${what}: no node named "${name}"`);
    return endpoint;
  }

  /** Resolves once `name`'s server listens (sends before that are queued, not lost). */
  async listening(name: string): Promise<number> {
    const port = this.network.portOf(name);
    if (port === undefined) throw new Error(`no endpoint named "${name}"`);
    return await port;
  }

  clientRuntime(name: string): Runtime {
    const existing = this.endpointsByName.get(name);
    if (existing?.kind === "client" && existing.runtime !== undefined) return existing.runtime;
    const endpoint = this.addEndpoint(name, "client");
    endpoint.runtime = this.makeRuntime(endpoint, endpoint.incarnation);
    return endpoint.runtime;
  }

  startNode(name: string, program: NodeProgram): void {
    const endpoint = this.addEndpoint(name, "node");
    endpoint.program = program;
    this.boot(endpoint);
  }

  private boot(endpoint: Endpoint): void {
    const runtime = this.makeRuntime(endpoint, endpoint.incarnation);
    endpoint.runtime = runtime;
    this.guard(() => {
      const result = endpoint.program!(runtime);
      if (result !== undefined) result.then(undefined, (error: unknown) => this.fail(error));
    });
  }

  private stop(incarnation: Incarnation): void {
    incarnation.alive = false;
    incarnation.paused = false;
    incarnation.held = [];
    incarnation.handler = undefined;
    for (const timer of incarnation.timers) clearTimeout(timer);
    incarnation.timers.clear();
  }

  crash(node: string): void {
    const endpoint = this.node(node, "crash");
    if (endpoint.incarnation.alive) this.stop(endpoint.incarnation);
  }

  restart(node: string): void {
    const endpoint = this.node(node, "restart");
    // Restarting a node that is up does nothing: crash it first.
    if (endpoint.incarnation.alive || this.loop.closed) return;
    endpoint.incarnation = newIncarnation(endpoint.incarnation.number + 1);
    this.boot(endpoint);
  }

  pause(node: string): void {
    const incarnation = this.node(node, "pause").incarnation;
    if (incarnation.alive) incarnation.paused = true;
  }

  resume(node: string): void {
    const incarnation = this.node(node, "resume").incarnation;
    if (!incarnation.paused) return;
    incarnation.paused = false;
    const held = incarnation.held;
    incarnation.held = [];
    for (const action of held) this.guard(action);
  }

  setGrudge(grudge: Grudge): void {
    const copy = new Map<string, ReadonlySet<string>>();
    for (const [receiver, senders] of grudge) if (senders.size > 0) copy.set(receiver, new Set(senders));
    this.currentGrudge = copy;
  }

  heal(): void {
    this.currentGrudge = new Map();
  }

  grudge(): Grudge {
    return this.currentGrudge;
  }

  setLinkFaults(faults: LinkFaults): void {
    this.faults = { ...faults };
  }

  setClock(node: string, setting: ClockSetting): void {
    const endpoint = this.endpointsByName.get(node);
    if (endpoint === undefined) throw new Error(`setClock: no endpoint named "${node}"`);
    endpoint.clock.set(this.nowNs(), setting);
  }

  endpoints(): EndpointState[] {
    return [...this.endpointsByName.values()].map((endpoint) => ({
      name: endpoint.name,
      kind: endpoint.kind,
      up: endpoint.incarnation.alive,
      paused: endpoint.incarnation.paused,
      clockOffsetNs: endpoint.clock.offsetNs,
      driftPpm: endpoint.clock.driftPpm,
    }));
  }

  // ---- messages ---------------------------------------------------------------------------

  private grudged(from: string, to: string): boolean {
    return this.currentGrudge.get(to)?.has(from) === true;
  }

  private send(from: string, incarnation: Incarnation, to: string, message: unknown): void {
    if (!incarnation.alive || this.loop.closed) return;
    if (JSON.stringify(message) === undefined)
      throw new TypeError(`send ${from}->${to}: message is not a JSON value`);
    if (this.grudged(from, to)) return;
    const {
      lossProbability = 0,
      duplicateProbability = 0,
      reorderProbability = 0,
      extraLatencyNs = 0,
    } = this.faults;
    if (lossProbability > 0 && this.faultRandom.bool(lossProbability)) return;
    const copies = duplicateProbability > 0 && this.faultRandom.bool(duplicateProbability) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      let delayNs = extraLatencyNs > 0 ? this.faultRandom.exponential(extraLatencyNs) : 0;
      // A reordered message is held back 1–10 ms, so later ones overtake it.
      if (reorderProbability > 0 && this.faultRandom.bool(reorderProbability))
        delayNs += 1e6 + this.faultRandom.float() * 9e6;
      if (delayNs === 0) this.network.send(from, to, message);
      else {
        this.loop.setTimer(delayNs, () => this.network.send(from, to, message));
      }
    }
  }

  private arrive(to: string, from: string, message: unknown): void {
    const endpoint = this.endpointsByName.get(to);
    if (endpoint === undefined || this.grudged(from, to)) return;
    const incarnation = endpoint.incarnation;
    if (!incarnation.alive) return;
    const deliver = (): void => {
      if (incarnation.alive) incarnation.handler?.(from, message);
    };
    if (incarnation.paused) incarnation.held.push(deliver);
    else this.guard(deliver);
  }

  // ---- runtimes ---------------------------------------------------------------------------

  /** Settles `operation`'s outcome only while the incarnation lives (held while it is paused). */
  private gate<T>(incarnation: Incarnation, operation: () => Promise<T>): Promise<T> {
    if (!incarnation.alive) return never<T>();
    return new Promise<T>((resolve, reject) => {
      const settle = (action: () => void): void => {
        if (!incarnation.alive) return;
        if (incarnation.paused) incarnation.held.push(action);
        else action();
      };
      operation().then(
        (value) => settle(() => resolve(value)),
        (error: unknown) => settle(() => reject(error)),
      );
    });
  }

  private makeRuntime(endpoint: Endpoint, incarnation: Incarnation): Runtime {
    const { name, clock } = endpoint;
    const fileDisk = endpoint.disk;
    const gate = <T>(operation: () => Promise<T>): Promise<T> => this.gate(incarnation, operation);
    const disk: Disk = {
      read: (file) => gate(() => fileDisk.read(file)),
      write: (file, offsetBytes, data) => gate(() => fileDisk.write(file, offsetBytes, data.slice())),
      append: (file, data) => gate(() => fileDisk.append(file, data.slice())),
      truncate: (file, sizeBytes) => gate(() => fileDisk.truncate(file, sizeBytes)),
      fsync: (file) => gate(() => fileDisk.fsync(file)),
      fsyncDir: () => gate(() => fileDisk.fsyncDir()),
      size: (file) => gate(() => fileDisk.size(file)),
      list: () => gate(() => fileDisk.list()),
      rename: (from, to) => gate(() => fileDisk.rename(from, to)),
      remove: (file) => gate(() => fileDisk.remove(file)),
    };
    const setTimer = (durationNs: number, callback: () => void): (() => void) => {
      if (!incarnation.alive) return () => {};
      const timer = setTimeout(
        () => {
          incarnation.timers.delete(timer);
          if (!incarnation.alive) return;
          if (incarnation.paused) incarnation.held.push(callback);
          else this.guard(callback);
        },
        Math.max(0, durationNs) / 1e6,
      );
      incarnation.timers.add(timer);
      return () => {
        clearTimeout(timer);
        incarnation.timers.delete(timer);
      };
    };
    return {
      name,
      random: new SeededRandom(this.options.seed, `endpoint/${name}/${incarnation.number}`),
      clock: {
        nowNs: () => clock.wallNs(this.nowNs()),
        monotonicNs: () => clock.monotonicNs(this.nowNs()),
        sleep: (durationNs) => new Promise<void>((resolve) => setTimer(durationNs, resolve)),
        setTimer,
      },
      net: {
        send: (to, message) => this.send(name, incarnation, to, message),
        onMessage: (handler) => {
          if (incarnation.alive) incarnation.handler = handler;
        },
      },
      disk,
      spawn: (taskName, body) => {
        if (!incarnation.alive) return;
        let task: Promise<void>;
        try {
          task = body();
        } catch (error) {
          task = Promise.reject(error);
        }
        task.then(undefined, (error: unknown) => {
          this.fail(new Error(`task "${taskName}" of ${name} failed: ${String(error)}`, { cause: error }));
        });
      },
      log: (line) => {
        if (incarnation.alive)
          this.options.endpointLog?.(name, this.nowNs(), `#${incarnation.number} ${line}`);
      },
    };
  }
}
