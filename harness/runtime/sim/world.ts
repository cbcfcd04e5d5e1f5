/**
 * The simulated world: every node and client of a test in one process, on virtual time.
 *
 * A discrete-event scheduler runs one event at a time in (virtual time, sequence number) order
 * and lets every promise continuation settle before the next event, so a run is a pure function
 * of its seed: the network's latencies, losses and duplicates, the disk's tears and every
 * runtime's random stream are all forks of that one seed.
 *
 * Between two events the scheduler waits for the microtask queue to drain: it queues a microtask
 * that queues a `process.nextTick`; Node runs next-ticks queued from microtasks only after the
 * microtask queue is empty, so the next event starts only once every continuation has settled.
 * Every 1,000 events it yields a full macrotask (setImmediate) instead, so the process's real I/O
 * (test runners, dashboards) is never starved.
 *
 * Network: messages are copied at send with JSON's meaning (copy.ts); each link has a latency range (uniform) and is FIFO
 * unless a message is picked for reordering; loss, duplication, reordering and extra latency are
 * set by `setLinkFaults`. A message is dropped when the receiver's grudge against the sender holds
 * at send time or at arrival, or when the receiver incarnation it was sent to has crashed (one sent
 * to an incarnation already ended is dropped at send, after the same random draws; a message
 * dropped at send is not copied, so a value JSON cannot carry is reported only when it travels).
 *
 * Crash: the node's tasks stop (timers, sleeps, disk operations and messages addressed to it are
 * dropped; their promises never settle), and its disk keeps of what was not fsynced only what the
 * crash model draws (any subset of unsynced writes, in any order, torn at sector boundaries; a
 * prefix of the unsynced directory changes; see disk.ts). Disk faults (`setDiskFaults`,
 * `corruptFile`) make fsyncs fail, fill the disk and rot bytes at rest, each in the node's log.
 * Restart runs the program again with a fresh runtime over the surviving disk. Pause holds the
 * node's timers, message deliveries and disk completions; resume runs them at the resume instant,
 * in the order they came due.
 */
import { SeededRandom } from "../random.ts";
import type {
  ClockSetting,
  Disk,
  DiskFaults,
  EndpointLogSink,
  EndpointState,
  Grudge,
  LinkFaults,
  NodeProgram,
  Random,
  Runtime,
  World,
} from "../types.ts";
import { SimClockState } from "./clock.ts";
import { copyJson } from "./copy.ts";
import { DEFAULT_CRASH_MODEL, DiskError, SimDiskState, type CrashModel, type CrashReport } from "./disk.ts";
import { EventQueue, SimulationBudgetError, SimulationDeadlockError } from "./events.ts";
import type { Owner, SimEvent } from "./events.ts";

export { SimulationBudgetError, SimulationDeadlockError } from "./events.ts";

/** A latency drawn uniformly from [minNs, maxNs]. */
export interface LatencyRangeNs {
  readonly minNs: number;
  readonly maxNs: number;
}

export interface SimNetworkOptions {
  /** Default one-way latency of every link; 0.2–2 ms unless given. */
  readonly latency?: LatencyRangeNs;
  /** Per-link latency; return undefined to use the default. */
  readonly linkLatency?: (from: string, to: string) => LatencyRangeNs | undefined;
}

export interface SimDiskOptions {
  /** Latency of read, size and list; default 10–50 µs. */
  readonly readLatency?: LatencyRangeNs;
  /** Latency of write, append, truncate, rename and remove; default 10–50 µs. */
  readonly writeLatency?: LatencyRangeNs;
  /** Latency of fsync and of a directory fsync; default 0.5–2 ms. */
  readonly fsyncLatency?: LatencyRangeNs;
  /** Probability that an unsynced write reaches the disk at a crash; default 0.5. */
  readonly writeSurvivalProbability?: number;
  /** Probability that a surviving unsynced write of two or more sectors is torn; default 0.5. */
  readonly tornWriteProbability?: number;
  /** Sector size, the unit a torn write is cut at; default 512 bytes. */
  readonly sectorBytes?: number;
  /** Whether unsynced directory changes may survive a crash (a prefix of them); default true. */
  readonly directoryChangesMaySurvive?: boolean;
}

export interface SimBudget {
  /** Events the world may run in all, across every `run`. */
  readonly maxEvents: number;
  /** Virtual time the world may reach, ns. */
  readonly maxVirtualTimeNs: number;
}

export interface SimWorldOptions {
  readonly seed: number;
  readonly network?: SimNetworkOptions;
  readonly disk?: SimDiskOptions;
  readonly budget: SimBudget;
  /** Receives one line per scheduler-visible event (sends, deliveries, drops, timers, disk, faults). */
  readonly trace?: (line: string) => void;
  /**
   * Endpoint logs: every `runtime.log` line, and the world's own lifecycle events of each node
   * (start, crash with the writes it tore, pause, resume, clock settings).
   */
  readonly endpointLog?: EndpointLogSink;
  /**
   * What an error thrown by a node's program does. "fail-world" (the default): the run stops with
   * it, as a bug in a test's own code should. "stop-node": the node's process dies, as a database
   * process dies on a failed assertion or a failed recovery: its incarnation ends (what it wrote
   * stays in the OS, so unsynced writes are not lost; a later crash may still lose them), the error
   * is logged and kept in `nodeErrors()`, and the run goes on; a restart runs the program again.
   * Errors of client runtimes always fail the world.
   */
  readonly onNodeError?: "fail-world" | "stop-node";
}

/** A node program's error that stopped the node (with `onNodeError: "stop-node"`). */
export interface NodeError {
  readonly node: string;
  readonly incarnation: number;
  readonly timeNs: number;
  readonly message: string;
}

/** Node errors kept; past this only their count grows. */
const maxNodeErrorsKept = 1_000;

export interface SimStats {
  readonly eventsRun: number;
  readonly messagesSent: number;
  readonly messagesDelivered: number;
  readonly messagesDropped: number;
}

const DEFAULT_LATENCY: LatencyRangeNs = { minNs: 200_000, maxNs: 2_000_000 };
const DEFAULT_DISK_READ: LatencyRangeNs = { minNs: 10_000, maxNs: 50_000 };
const DEFAULT_DISK_WRITE: LatencyRangeNs = { minNs: 10_000, maxNs: 50_000 };
const DEFAULT_FSYNC: LatencyRangeNs = { minNs: 500_000, maxNs: 2_000_000 };
/** Events run back to back (microtask-drained) before the scheduler yields a full macrotask. */
const EVENTS_PER_MACROTASK = 1000;

interface Incarnation extends Owner {
  handler: ((from: string, message: unknown) => void) | undefined;
}

interface Endpoint {
  readonly name: string;
  readonly kind: "node" | "client";
  readonly clock: SimClockState;
  readonly disk: SimDiskState;
  program: NodeProgram | undefined;
  incarnation: Incarnation;
  /** Per destination, the latest scheduled FIFO arrival, so in-order messages stay in order. */
  readonly lastArrivalNs: Map<string, number>;
  /** Disk operations complete in issue order; the next one starts no earlier than this. */
  diskBusyUntilNs: number;
  /** I/O error codes logged under the present fault setting (each logged once per setting). */
  readonly diskErrorsLogged: Set<string>;
}

function checkRange(range: LatencyRangeNs, what: string): LatencyRangeNs {
  if (!(range.minNs >= 0 && range.maxNs >= range.minNs && Number.isFinite(range.maxNs))) {
    throw new RangeError(`${what}: need 0 <= minNs <= maxNs, got ${JSON.stringify(range)}`);
  }
  return range;
}

function checkProbability(p: number | undefined, what: string): number {
  if (p === undefined) return 0;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${what} must be in [0, 1], got ${p}`);
  return p;
}

function checkDuration(durationNs: number, what: string): number {
  if (Number.isNaN(durationNs)) throw new RangeError(`${what}: duration is NaN`);
  return durationNs > 0 ? durationNs : 0;
}

function checkOffset(offsetBytes: number, what: string): void {
  if (!Number.isInteger(offsetBytes) || offsetBytes < 0) {
    throw new RangeError(`${what}: need a non-negative integer, got ${offsetBytes}`);
  }
}

const never = <T>(): Promise<T> => new Promise<T>(() => {});

export class SimWorld implements World {
  readonly mode = "sim" as const;
  readonly random: Random;
  readonly seed: number;

  private readonly queue = new EventQueue();
  private currentNs = 0;
  private seq = 0;
  private eventsRun = 0;
  private messagesSent = 0;
  private messagesDelivered = 0;
  private messagesDropped = 0;
  private failure: { error: unknown } | undefined;
  private running = false;

  private readonly endpointsByName = new Map<string, Endpoint>();
  private currentGrudge: Grudge = new Map();
  private faults: Required<LinkFaults> = {
    extraLatencyNs: 0,
    lossProbability: 0,
    duplicateProbability: 0,
    reorderProbability: 0,
  };
  private readonly linkLatencyOverrides = new Map<string, LatencyRangeNs>();
  private readonly networkRandom: Random;
  private readonly diskRandom: Random;
  private readonly defaultLatency: LatencyRangeNs;
  private readonly linkLatency: ((from: string, to: string) => LatencyRangeNs | undefined) | undefined;
  private readonly diskReadLatency: LatencyRangeNs;
  private readonly diskWriteLatency: LatencyRangeNs;
  private readonly fsyncLatency: LatencyRangeNs;
  private readonly crashModel: CrashModel;
  private readonly budget: SimBudget;
  private readonly trace: ((line: string) => void) | undefined;
  private readonly endpointLog: EndpointLogSink | undefined;
  private readonly stopNodeOnError: boolean;
  private readonly nodeErrorList: NodeError[] = [];
  private nodeErrorCount = 0;

  constructor(options: SimWorldOptions) {
    if (!Number.isFinite(options.seed))
      throw new RangeError(`seed must be a finite number, got ${options.seed}`);
    const { maxEvents, maxVirtualTimeNs } = options.budget;
    if (!(maxEvents > 0) || !(maxVirtualTimeNs > 0)) {
      throw new RangeError(
        `budget needs positive maxEvents and maxVirtualTimeNs, got ${JSON.stringify(options.budget)}`,
      );
    }
    this.seed = options.seed;
    this.budget = options.budget;
    this.random = new SeededRandom(options.seed, "world");
    this.networkRandom = new SeededRandom(options.seed, "sim/network");
    this.diskRandom = new SeededRandom(options.seed, "sim/disk");
    this.defaultLatency = checkRange(options.network?.latency ?? DEFAULT_LATENCY, "network.latency");
    this.linkLatency = options.network?.linkLatency;
    this.diskReadLatency = checkRange(options.disk?.readLatency ?? DEFAULT_DISK_READ, "disk.readLatency");
    this.diskWriteLatency = checkRange(options.disk?.writeLatency ?? DEFAULT_DISK_WRITE, "disk.writeLatency");
    this.fsyncLatency = checkRange(options.disk?.fsyncLatency ?? DEFAULT_FSYNC, "disk.fsyncLatency");
    const sectorBytes = options.disk?.sectorBytes ?? DEFAULT_CRASH_MODEL.sectorBytes;
    if (!Number.isInteger(sectorBytes) || sectorBytes < 1) {
      throw new RangeError(`disk.sectorBytes must be a positive integer, got ${sectorBytes}`);
    }
    this.crashModel = {
      writeSurvivalProbability: checkProbability(
        options.disk?.writeSurvivalProbability ?? DEFAULT_CRASH_MODEL.writeSurvivalProbability,
        "writeSurvivalProbability",
      ),
      tornWriteProbability: checkProbability(
        options.disk?.tornWriteProbability ?? DEFAULT_CRASH_MODEL.tornWriteProbability,
        "tornWriteProbability",
      ),
      sectorBytes,
      directoryChangesMaySurvive:
        options.disk?.directoryChangesMaySurvive ?? DEFAULT_CRASH_MODEL.directoryChangesMaySurvive,
    };
    this.trace = options.trace;
    this.endpointLog = options.endpointLog;
    this.stopNodeOnError = options.onNodeError === "stop-node";
  }

  // ---- time and the scheduler -------------------------------------------------------------

  nowNs(): number {
    return this.currentNs;
  }

  stats(): SimStats {
    return {
      eventsRun: this.eventsRun,
      messagesSent: this.messagesSent,
      messagesDelivered: this.messagesDelivered,
      messagesDropped: this.messagesDropped,
    };
  }

  private schedule(delayNs: number, owner: Owner | undefined, action: () => void): SimEvent {
    const event: SimEvent = {
      timeNs: this.currentNs + delayNs,
      seq: this.seq++,
      owner,
      action,
      cancelled: false,
      heapIndex: -1,
    };
    this.queue.push(event);
    return event;
  }

  private log(line: string): void {
    if (this.trace !== undefined) this.trace(`${this.currentNs} ${line}`);
  }

  /** A line of `endpoint`'s log, as the world saw it (not the program). */
  private logEndpoint(endpoint: string, line: string): void {
    this.endpointLog?.(endpoint, this.currentNs, `world: ${line}`);
  }

  /** Records a program error; `run` rejects with it after the current event. */
  private fail(error: unknown): void {
    this.failure ??= { error };
  }

  /** Runs an action of a task, turning a thrown error into a program error of its owner. */
  private guard(action: () => void, owner: Owner | undefined): void {
    try {
      action();
    } catch (error) {
      this.programError(owner, error);
    }
  }

  /** An error of `owner`'s program: stops that node (see `onNodeError`) or fails the world. */
  private programError(owner: Owner | undefined, error: unknown): void {
    const endpoint = owner === undefined ? undefined : this.endpointsByName.get(owner.endpoint);
    if (
      !this.stopNodeOnError ||
      owner === undefined ||
      endpoint === undefined ||
      endpoint.kind !== "node" ||
      endpoint.incarnation !== owner
    ) {
      this.fail(error);
      return;
    }
    if (!owner.alive) return;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.nodeErrorCount += 1;
    if (this.nodeErrorList.length < maxNodeErrorsKept) {
      this.nodeErrorList.push({
        node: owner.endpoint,
        incarnation: owner.incarnation,
        timeNs: this.currentNs,
        message,
      });
    }
    this.log(`node-error ${owner.endpoint}#${owner.incarnation} ${message}`);
    this.logEndpoint(owner.endpoint, `process #${owner.incarnation} died: ${message}`);
    this.stop(endpoint, false);
  }

  /** Errors that stopped nodes, in time order (at most the first 1,000), and how many there were. */
  nodeErrors(): { readonly errors: readonly NodeError[]; readonly count: number } {
    return { errors: [...this.nodeErrorList], count: this.nodeErrorCount };
  }

  sleep(durationNs: number): Promise<void> {
    const delayNs = checkDuration(durationNs, "sleep");
    return new Promise((resolve) => {
      this.schedule(delayNs, undefined, resolve);
    });
  }

  /** A timer's cancel: the event will not run, and leaves the queue at once. */
  private cancel(event: SimEvent): void {
    event.cancelled = true;
    this.queue.remove(event);
  }

  setTimer(durationNs: number, callback: () => void): () => void {
    const event = this.schedule(checkDuration(durationNs, "setTimer"), undefined, callback);
    return () => this.cancel(event);
  }

  run<T>(main: () => Promise<T>): Promise<T> {
    if (this.running) return Promise.reject(new Error("SimWorld.run: already running"));
    this.running = true;
    return new Promise<T>((resolve, reject) => {
      let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
      let mainPromise: Promise<T>;
      try {
        mainPromise = main();
      } catch (error) {
        mainPromise = Promise.reject(error);
      }
      mainPromise.then(
        (value) => (outcome = { ok: true, value }),
        (error: unknown) => (outcome = { ok: false, error }),
      );
      let sinceMacrotask = 0;
      const finish = (settle: () => void): void => {
        this.running = false;
        settle();
      };
      const step = (): void => {
        if (this.failure !== undefined) {
          const { error } = this.failure;
          return finish(() => reject(error));
        }
        if (outcome !== undefined) {
          const done = outcome;
          return finish(() => (done.ok ? resolve(done.value) : reject(done.error)));
        }
        const problem = this.runOneEvent();
        if (problem !== undefined) return finish(() => reject(problem));
        if (++sinceMacrotask >= EVENTS_PER_MACROTASK) {
          sinceMacrotask = 0;
          // Not a clock: a macrotask boundary so real I/O in this process is not starved.
          // eslint-disable-next-line no-restricted-globals
          setImmediate(step);
        } else {
          settled.then(tickStep);
        }
      };
      // A reaction to a settled promise is a plain microtask (queueMicrotask costs an async
      // resource per call): it runs after the microtasks already queued, and the next-tick it
      // queues runs once the microtask queue is empty.
      const settled = Promise.resolve();
      const tickStep = (): void => process.nextTick(step);
      settled.then(tickStep);
    });
  }

  /** Runs the next live event; returns an error when the simulation must stop. */
  private runOneEvent(): Error | undefined {
    while (true) {
      const event = this.queue.peek();
      if (event === undefined) {
        return new SimulationDeadlockError(
          `simulation deadlock: no events left at virtual time ${this.currentNs} ns while the main task is still pending`,
        );
      }
      if (event.cancelled || (event.owner !== undefined && !event.owner.alive)) {
        this.queue.pop();
        continue;
      }
      if (event.timeNs > this.budget.maxVirtualTimeNs) {
        return new SimulationBudgetError(
          `simulation budget exhausted: the next event is at ${event.timeNs} ns, past maxVirtualTimeNs ` +
            `${this.budget.maxVirtualTimeNs} ns (after ${this.eventsRun} events)`,
        );
      }
      if (event.owner?.paused === true) {
        this.queue.pop();
        this.currentNs = event.timeNs;
        event.owner.held.push(event.action);
        continue;
      }
      if (this.eventsRun >= this.budget.maxEvents) {
        return new SimulationBudgetError(
          `simulation budget exhausted: ${this.eventsRun} events run (maxEvents ${this.budget.maxEvents}) ` +
            `at virtual time ${this.currentNs} ns`,
        );
      }
      this.queue.pop();
      this.currentNs = event.timeNs;
      this.eventsRun++;
      this.guard(event.action, event.owner);
      return undefined;
    }
  }

  // ---- endpoints --------------------------------------------------------------------------

  private newIncarnation(name: string, number: number): Incarnation {
    return { endpoint: name, incarnation: number, alive: true, paused: false, held: [], handler: undefined };
  }

  private addEndpoint(name: string, kind: "node" | "client"): Endpoint {
    if (name.length === 0) throw new RangeError("endpoint name must not be empty");
    if (this.endpointsByName.has(name)) throw new Error(`endpoint "${name}" already exists`);
    const endpoint: Endpoint = {
      name,
      kind,
      clock: new SimClockState(),
      disk: new SimDiskState(),
      program: undefined,
      incarnation: this.newIncarnation(name, 0),
      lastArrivalNs: new Map(),
      diskBusyUntilNs: 0,
      diskErrorsLogged: new Set(),
    };
    this.endpointsByName.set(name, endpoint);
    return endpoint;
  }

  private node(name: string, what: string): Endpoint {
    const endpoint = this.endpointsByName.get(name);
    if (endpoint === undefined || endpoint.kind !== "node")
      throw new Error(`${what}: no node named "${name}"`);
    return endpoint;
  }

  private endpoint(name: string, what: string): Endpoint {
    const endpoint = this.endpointsByName.get(name);
    if (endpoint === undefined) throw new Error(`${what}: no endpoint named "${name}"`);
    return endpoint;
  }

  private clientRuntimes = new Map<string, Runtime>();

  clientRuntime(name: string): Runtime {
    const existing = this.clientRuntimes.get(name);
    if (existing !== undefined) return existing;
    const endpoint = this.addEndpoint(name, "client");
    const runtime = this.makeRuntime(endpoint, endpoint.incarnation);
    this.clientRuntimes.set(name, runtime);
    return runtime;
  }

  startNode(name: string, program: NodeProgram): void {
    const endpoint = this.addEndpoint(name, "node");
    endpoint.program = program;
    this.boot(endpoint);
  }

  private boot(endpoint: Endpoint): void {
    const incarnation = endpoint.incarnation;
    const program = endpoint.program!;
    this.log(`start ${endpoint.name}#${incarnation.incarnation}`);
    this.logEndpoint(endpoint.name, `start #${incarnation.incarnation}`);
    this.schedule(0, incarnation, () => {
      const runtime = this.makeRuntime(endpoint, incarnation);
      const result = program(runtime);
      if (result !== undefined)
        result.then(undefined, (error: unknown) => this.programError(incarnation, error));
    });
  }

  crash(node: string): void {
    this.stop(this.node(node, "crash"), true);
  }

  /**
   * Ends the endpoint's incarnation. A power-loss crash (`loseUnsynced`) also loses what the disk
   * had not fsynced and may tear the oldest such write; a process that died keeps it (it is in
   * the OS's buffers).
   */
  private stop(endpoint: Endpoint, loseUnsynced: boolean): void {
    const node = endpoint.name;
    const incarnation = endpoint.incarnation;
    if (!incarnation.alive) return;
    incarnation.alive = false;
    incarnation.paused = false;
    incarnation.held = [];
    incarnation.handler = undefined;
    // Disk operations in flight never complete (their events belong to the ended incarnation).
    endpoint.diskBusyUntilNs = this.currentNs;
    if (!loseUnsynced) return;
    const report = endpoint.disk.crash(this.diskRandom, this.crashModel);
    this.log(`crash ${node}#${incarnation.incarnation} disk=${JSON.stringify(report)}`);
    this.logEndpoint(node, `crash #${incarnation.incarnation}: ${describeCrash(report)}`);
  }

  restart(node: string): void {
    const endpoint = this.node(node, "restart");
    // Restarting a node that is up does nothing: crash it first.
    if (endpoint.incarnation.alive) return;
    endpoint.incarnation = this.newIncarnation(node, endpoint.incarnation.incarnation + 1);
    this.boot(endpoint);
  }

  pause(node: string): void {
    const incarnation = this.node(node, "pause").incarnation;
    if (!incarnation.alive || incarnation.paused) return;
    incarnation.paused = true;
    this.log(`pause ${node}`);
    this.logEndpoint(node, "pause");
  }

  resume(node: string): void {
    const incarnation = this.node(node, "resume").incarnation;
    if (!incarnation.paused) return;
    incarnation.paused = false;
    const held = incarnation.held;
    incarnation.held = [];
    this.log(`resume ${node} held=${held.length}`);
    this.logEndpoint(node, `resume (${held.length} held events run)`);
    for (const action of held) this.schedule(0, incarnation, action);
  }

  setGrudge(grudge: Grudge): void {
    const copy = new Map<string, ReadonlySet<string>>();
    for (const [receiver, senders] of grudge) if (senders.size > 0) copy.set(receiver, new Set(senders));
    this.currentGrudge = copy;
    this.log(`grudge ${JSON.stringify([...copy].map(([r, s]) => [r, [...s].sort()]))}`);
  }

  heal(): void {
    this.setGrudge(new Map());
  }

  /** The grudge in force now: `grudge().get(a)` holds the endpoints whose messages `a` drops. */
  grudge(): Grudge {
    return this.currentGrudge;
  }

  setLinkFaults(faults: LinkFaults): void {
    const extraLatencyNs = faults.extraLatencyNs ?? 0;
    if (!(extraLatencyNs >= 0)) throw new RangeError(`extraLatencyNs must be >= 0, got ${extraLatencyNs}`);
    this.faults = {
      extraLatencyNs,
      lossProbability: checkProbability(faults.lossProbability, "lossProbability"),
      duplicateProbability: checkProbability(faults.duplicateProbability, "duplicateProbability"),
      reorderProbability: checkProbability(faults.reorderProbability, "reorderProbability"),
    };
    this.log(`faults ${JSON.stringify(this.faults)}`);
  }

  /** Overrides the latency of the one-way link from → to (undefined restores the default). */
  setLinkLatency(from: string, to: string, latency: LatencyRangeNs | undefined): void {
    const key = `${from}\u0000${to}`;
    if (latency === undefined) this.linkLatencyOverrides.delete(key);
    else this.linkLatencyOverrides.set(key, checkRange(latency, `latency ${from}->${to}`));
  }

  setClock(node: string, setting: ClockSetting): void {
    this.endpoint(node, "setClock").clock.set(this.currentNs, setting);
    this.log(`clock ${node} ${JSON.stringify(setting)}`);
    this.logEndpoint(node, `clock ${JSON.stringify(setting)}`);
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

  /** Durable and unsynced state of a node's disk, for tests and dashboards. */
  diskOf(name: string): SimDiskState {
    return this.endpoint(name, "diskOf").disk;
  }

  setDiskFaults(node: string, faults: DiskFaults): void {
    const endpoint = this.node(node, "setDiskFaults");
    endpoint.disk.setFaults(faults);
    endpoint.diskErrorsLogged.clear();
    this.log(`disk-faults ${node} ${JSON.stringify(faults)}`);
    const parts: string[] = [];
    const files = faults.fsyncFailsFiles === undefined ? "" : ` of ${faults.fsyncFailsFiles.join(", ")}`;
    if (faults.fsyncFails === "once") parts.push(`the next fsync${files} fails with EIO`);
    if (faults.fsyncFails === "always") parts.push(`every fsync${files} fails with EIO`);
    if (faults.full === true) parts.push("the disk is full: writes that need space fail with ENOSPC");
    this.logEndpoint(node, `disk faults: ${parts.length === 0 ? "none (healed)" : parts.join("; ")}`);
  }

  corruptFile(node: string, file: string): number | undefined {
    const offset = this.node(node, "corruptFile").disk.corrupt(file, this.diskRandom);
    this.log(`corrupt ${node} ${file} ${offset ?? "-"}`);
    if (offset !== undefined) this.logEndpoint(node, `disk: ${file} corrupted at rest at byte ${offset}`);
    return offset;
  }

  // ---- the network ------------------------------------------------------------------------

  private drawLatency(range: LatencyRangeNs): number {
    if (range.maxNs === range.minNs) return range.minNs;
    return range.minNs + Math.floor(this.networkRandom.float() * (range.maxNs - range.minNs + 1));
  }

  private latencyOf(from: string, to: string): LatencyRangeNs {
    if (this.linkLatencyOverrides.size > 0) {
      const override = this.linkLatencyOverrides.get(`${from}\u0000${to}`);
      if (override !== undefined) return override;
    }
    return this.linkLatency?.(from, to) ?? this.defaultLatency;
  }

  private grudged(from: string, to: string): boolean {
    return this.currentGrudge.get(to)?.has(from) === true;
  }

  private send(sender: Endpoint, senderIncarnation: Incarnation, to: string, message: unknown): void {
    if (!senderIncarnation.alive) return;
    const from = sender.name;
    const receiver = this.endpointsByName.get(to);
    const target = receiver?.incarnation;
    // A message certain to be dropped is never copied: one to no endpoint, one the grudge drops at
    // send, one to an incarnation that has already ended (it can only be dropped at arrival). A
    // writer resending its log to a crashed or cut-off follower ships hundreds of records a time.
    // Traced runs copy every message, to print what was sent.
    const delivers = receiver !== undefined && target!.alive && !this.grudged(from, to);
    let payload: unknown;
    if (delivers || this.trace !== undefined) {
      try {
        payload = copyJson(message);
      } catch (error) {
        throw new TypeError(`send ${sender.name}->${to}: message is not a JSON value (${String(error)})`);
      }
    }
    const id = this.messagesSent++;
    if (this.trace !== undefined) this.log(`send ${from}->${to} #${id} ${JSON.stringify(payload)}`);
    if (receiver === undefined) return this.drop(id, "unknown endpoint");
    if (this.grudged(from, to)) return this.drop(id, "partition");
    const faults = this.faults;
    if (faults.lossProbability > 0 && this.networkRandom.bool(faults.lossProbability))
      return this.drop(id, "loss");
    const copies =
      faults.duplicateProbability > 0 && this.networkRandom.bool(faults.duplicateProbability) ? 2 : 1;
    const latency = this.latencyOf(from, to);
    for (let copy = 0; copy < copies; copy++) {
      let delayNs = this.drawLatency(latency);
      if (faults.extraLatencyNs > 0)
        delayNs += Math.floor(this.networkRandom.exponential(faults.extraLatencyNs));
      const reordered =
        copy > 0 || (faults.reorderProbability > 0 && this.networkRandom.bool(faults.reorderProbability));
      if (reordered) {
        // Held back by 1–10 times the link's maximum latency, outside the link's FIFO order.
        delayNs += latency.maxNs + Math.floor(this.networkRandom.float() * 9 * (latency.maxNs + 1));
      } else {
        const last = sender.lastArrivalNs.get(to) ?? 0;
        const arrivalNs = Math.max(this.currentNs + delayNs, last);
        sender.lastArrivalNs.set(to, arrivalNs);
        delayNs = arrivalNs - this.currentNs;
      }
      if (!target!.alive) {
        // Dropped at once, as it would be at arrival; the draws above are made all the same, so
        // the network's random stream (and every later message) is as if it had travelled.
        this.drop(id, "receiver crashed");
        continue;
      }
      // Each delivered copy is its own object: a receiver may mutate what it got.
      const delivered = copy === 0 ? payload : copyJson(payload);
      this.schedule(delayNs, undefined, () => this.arrive(id, from, to, target!, delivered));
    }
  }

  private drop(id: number, reason: string): void {
    this.messagesDropped++;
    if (this.trace !== undefined) this.log(`drop #${id} ${reason}`);
  }

  private arrive(id: number, from: string, to: string, target: Incarnation, message: unknown): void {
    if (!target.alive) return this.drop(id, "receiver crashed");
    if (this.grudged(from, to)) return this.drop(id, "partition");
    if (target.paused) target.held.push(() => this.deliver(id, from, to, target, message));
    else this.deliver(id, from, to, target, message);
  }

  private deliver(id: number, from: string, to: string, target: Incarnation, message: unknown): void {
    if (!target.alive) return this.drop(id, "receiver crashed");
    const handler = target.handler;
    if (handler === undefined) return this.drop(id, "no handler");
    this.messagesDelivered++;
    if (this.trace !== undefined) this.log(`deliver #${id} ${from}->${to}`);
    handler(from, message);
  }

  // ---- runtimes ---------------------------------------------------------------------------

  private makeRuntime(endpoint: Endpoint, incarnation: Incarnation): Runtime {
    const name = endpoint.name;
    const clock = endpoint.clock;
    const disk = this.makeDisk(endpoint, incarnation);
    return {
      name,
      random: new SeededRandom(this.seed, `endpoint/${name}/${incarnation.incarnation}`),
      clock: {
        nowNs: () => clock.wallNs(this.currentNs),
        monotonicNs: () => clock.monotonicNs(this.currentNs),
        sleep: (durationNs: number) => {
          const delayNs = checkDuration(durationNs, `${name}: sleep`);
          if (!incarnation.alive) return never<void>();
          return new Promise<void>((resolve) => {
            this.schedule(delayNs, incarnation, resolve);
          });
        },
        setTimer: (durationNs: number, callback: () => void) => {
          const delayNs = checkDuration(durationNs, `${name}: setTimer`);
          if (!incarnation.alive) return () => {};
          const event = this.schedule(delayNs, incarnation, callback);
          return () => this.cancel(event);
        },
      },
      net: {
        send: (to: string, message: unknown) => this.send(endpoint, incarnation, to, message),
        onMessage: (handler) => {
          if (incarnation.alive) incarnation.handler = handler;
        },
      },
      disk,
      spawn: (taskName: string, body: () => Promise<void>) => {
        if (!incarnation.alive) return;
        let task: Promise<void>;
        try {
          task = body();
        } catch (error) {
          task = Promise.reject(error);
        }
        task.then(undefined, (error: unknown) => {
          this.programError(
            incarnation,
            new Error(`task "${taskName}" of ${name} failed: ${String(error)}`, { cause: error }),
          );
        });
      },
      log: (line: string) => {
        if (incarnation.alive)
          this.endpointLog?.(name, this.currentNs, `#${incarnation.incarnation} ${line}`);
      },
    };
  }

  private makeDisk(endpoint: Endpoint, incarnation: Incarnation): Disk {
    const state = endpoint.disk;
    const name = endpoint.name;
    /** Queues a disk operation: it completes after the earlier ones, `latency` later. */
    // `what` names the operation for the trace only: a function, so untraced runs never build it.
    const operate = <T>(latency: LatencyRangeNs, what: () => string, apply: () => T): Promise<T> => {
      if (!incarnation.alive) return never<T>();
      const startNs = Math.max(this.currentNs, endpoint.diskBusyUntilNs);
      const doneNs = startNs + this.drawDiskLatency(latency);
      endpoint.diskBusyUntilNs = doneNs;
      return new Promise<T>((resolve, reject) => {
        this.schedule(doneNs - this.currentNs, incarnation, () => {
          if (this.trace !== undefined) this.log(`disk ${name} ${what()}`);
          let result: T;
          try {
            result = apply();
          } catch (error) {
            if (error instanceof DiskError) this.logDiskError(endpoint, error);
            reject(error);
            return;
          }
          resolve(result);
        });
      });
    };
    const missing = (op: string, file: string): Error =>
      Object.assign(new Error(`${name}: ${op}(${file}): no such file`), { code: "ENOENT" });
    return {
      read: (file) =>
        operate(
          this.diskReadLatency,
          () => `read ${file}`,
          () => state.read(file),
        ),
      size: (file) =>
        operate(
          this.diskReadLatency,
          () => `size ${file}`,
          () => state.size(file),
        ),
      list: () =>
        operate(
          this.diskReadLatency,
          () => "list",
          () => state.list(),
        ),
      write: (file, offsetBytes, data) => {
        checkOffset(offsetBytes, `${name}: write(${file}) offset`);
        const copy = state.copyForWrite(data);
        return operate(
          this.diskWriteLatency,
          () => `write ${file}@${offsetBytes}+${copy.length}`,
          () => state.write(file, offsetBytes, copy),
        );
      },
      append: (file, data) => {
        const copy = state.copyForWrite(data);
        return operate(
          this.diskWriteLatency,
          () => `append ${file}+${copy.length}`,
          () => state.append(file, copy),
        );
      },
      truncate: (file, sizeBytes) => {
        checkOffset(sizeBytes, `${name}: truncate(${file}) size`);
        return operate(
          this.diskWriteLatency,
          () => `truncate ${file} ${sizeBytes}`,
          () => state.truncate(file, sizeBytes),
        );
      },
      fsync: (file) =>
        operate(
          this.fsyncLatency,
          () => `fsync ${file}`,
          () => {
            if (!state.fsync(file)) throw missing("fsync", file);
          },
        ),
      fsyncDir: () =>
        operate(
          this.fsyncLatency,
          () => "fsync-dir",
          () => state.fsyncDir(),
        ),
      rename: (from, to) =>
        operate(
          this.diskWriteLatency,
          () => `rename ${from} ${to}`,
          () => {
            if (!state.rename(from, to)) throw missing("rename", from);
          },
        ),
      remove: (file) =>
        operate(
          this.diskWriteLatency,
          () => `remove ${file}`,
          () => {
            if (!state.remove(file)) throw missing("remove", file);
          },
        ),
    };
  }

  /** An injected I/O error, in the node's log (each code once per fault setting: they repeat). */
  private logDiskError(endpoint: Endpoint, error: DiskError): void {
    if (endpoint.diskErrorsLogged.has(error.code)) return;
    endpoint.diskErrorsLogged.add(error.code);
    this.log(`disk-error ${endpoint.name} ${error.message}`);
    this.logEndpoint(endpoint.name, `disk: ${error.message}`);
  }

  private drawDiskLatency(range: LatencyRangeNs): number {
    if (range.maxNs === range.minNs) return range.minNs;
    return range.minNs + Math.floor(this.diskRandom.float() * (range.maxNs - range.minNs + 1));
  }
}

/** One phrase on what a crash did to a node's disk: what reached it, what tore, what was lost. */
function describeCrash(report: CrashReport): string {
  const kept = report.files.reduce((n, f) => n + f.writesKept, 0);
  const lost = report.files.reduce((n, f) => n + f.writesLost, 0);
  const parts = [
    kept + lost === 0
      ? "no unsynced writes"
      : `of ${kept + lost} unsynced writes ${kept} reached the disk, ${lost} were lost`,
  ];
  const torn = report.files.flatMap((f) => f.tornBytes.map((b) => `${f.file} torn after ${b} bytes`));
  if (torn.length > 0) parts.push(torn.join(", "));
  if (report.directoryChangesLost.length > 0) {
    parts.push(`directory changes lost: ${report.directoryChangesLost.join(", ")}`);
  }
  return parts.join("; ");
}
