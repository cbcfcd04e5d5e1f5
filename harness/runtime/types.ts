/**
 * The runtime: the only door between a node (or a client) and the outside world.
 *
 * Every node and client touches time, randomness, the network and the disk only through the
 * `Runtime` it is given, so the same engine code runs in a deterministic simulation (virtual time,
 * seeded randomness, a simulated network and disk, byte-identical replays) and as a real process
 * (wall clock, TCP on loopback, real files with fsync). The `World` is the harness's view of all
 * endpoints at once: it starts node programs, and crashes, pauses, partitions and skews them.
 *
 * Units: every time and duration here is in nanoseconds.
 */
import type { Random } from "./random.ts";

export type { Random } from "./random.ts";

export interface Clock {
  /**
   * This endpoint's reading of wall time, ns: true time plus this endpoint's offset and drift.
   * It jumps when a clock nemesis bumps it and may run backwards. Leases and timestamps use it;
   * it is exactly what clock skew breaks.
   */
  nowNs(): number;
  /**
   * A monotonic reading, ns, untouched by offsets (it still runs at the endpoint's drifted rate).
   * Timeouts and durations use it.
   */
  monotonicNs(): number;
  /** Resolves after `durationNs` of true elapsed time (never on a crashed endpoint). */
  sleep(durationNs: number): Promise<void>;
  /** Calls `callback` after `durationNs` unless cancelled first; returns the cancel function. */
  setTimer(durationNs: number, callback: () => void): () => void;
}

export interface NetworkEndpoint {
  /**
   * Sends a message to the endpoint named `to`. Delivery is not guaranteed: a message may be
   * delayed, lost, duplicated or reordered, and loss raises no error. Messages must be plain JSON
   * values (the real runtime sends them as JSON; the simulation copies them), so a receiver never
   * shares a mutable object with its sender. The simulation hands over a deeply frozen part of a
   * message as is, when it equals its own JSON round trip (sim/copy.ts): nobody can change it, so
   * sharing it is the same as copying it, and a sender that freezes what it ships to many nodes
   * pays no copy per send.
   */
  send(to: string, message: unknown): void;
  /** Sets the single handler for messages that arrive at this endpoint. */
  onMessage(handler: (from: string, message: unknown) => void): void;
}

/**
 * A node's own files, in one directory. What survives a power loss (a crash of the node):
 * - a file's writes, appends and truncates are durable once `fsync` of that file returns; of
 *   those not yet fsynced, any subset may survive, in any order, each possibly torn (only a prefix
 *   of it, cut at a sector boundary, reached the disk);
 * - the directory's entries (a file's creation, `rename`, `remove`) are durable once `fsyncDir`
 *   returns; until then each may be lost (a file created and fsynced may vanish, a rename may come
 *   undone), though never out of order;
 * - after `fsync` fails (EIO) the changes it covered are lost for good: fsync again does not bring
 *   them back. A write that needs space on a full disk fails (ENOSPC) and writes nothing.
 * A process that dies without a power loss keeps everything it wrote (it is in the OS's cache).
 * Operations reject with an Error whose `code` is the errno name (`EIO`, `ENOSPC`, `ENOENT`).
 */
export interface Disk {
  /** Whole file content, or undefined when the file does not exist. */
  read(file: string): Promise<Uint8Array | undefined>;
  /** Writes bytes at an offset (creating the file, zero-filling any hole); volatile until fsync. */
  write(file: string, offsetBytes: number, data: Uint8Array): Promise<void>;
  /** Appends bytes at the end of the file (creating it); volatile until fsync. */
  append(file: string, data: Uint8Array): Promise<void>;
  /** Cuts the file to `sizeBytes`; volatile until fsync. */
  truncate(file: string, sizeBytes: number): Promise<void>;
  /** Makes every earlier write, append and truncate of this file durable (not its name: `fsyncDir`). */
  fsync(file: string): Promise<void>;
  /** Makes every earlier creation, rename and remove in this node's directory durable. */
  fsyncDir(): Promise<void>;
  /** Size in bytes as this node sees it now (unsynced writes included), or undefined. */
  size(file: string): Promise<number | undefined>;
  list(): Promise<string[]>;
  /** Atomically renames `from` to `to` (replacing `to`); durable after `fsyncDir`. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; durable after `fsyncDir`. */
  remove(file: string): Promise<void>;
}

/** Disk faults a world can inject on one node (a disk nemesis sets them; `{}` heals). */
export interface DiskFaults {
  /** The next fsync fails with EIO ("once"), or every fsync does until healed ("always"). */
  readonly fsyncFails?: "once" | "always";
  /** Only fsyncs of these files fail (a bad region under them); default: every file's. */
  readonly fsyncFailsFiles?: readonly string[];
  /** Every write that needs space (a new file, bytes past a file's end) fails with ENOSPC. */
  readonly full?: boolean;
}

export interface Runtime {
  /** The endpoint's name: a node ("n1") or a client ("c3"). */
  readonly name: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly net: NetworkEndpoint;
  readonly disk: Disk;
  /**
   * Runs `body` as a task of this endpoint. When the endpoint crashes, its tasks stop where they
   * are: their pending sleeps, timers, messages and disk operations never resume. An error thrown
   * by a task is a bug in the program and stops the world with that error.
   */
  spawn(name: string, body: () => Promise<void>): void;
  /**
   * One line in this endpoint's log (`nodes/<name>.log` in the store): what a person debugging a
   * run wants to see of the program (a recovery, a promotion, a fenced-off writer). Stamped by the
   * world with the true test time and the incarnation. Nothing reads it back, so logging never
   * changes what a program does; a world that keeps no log drops it.
   */
  log(line: string): void;
}

/** Where a world writes endpoint logs: one line at a time, in time order, per endpoint name. */
export type EndpointLogSink = (endpoint: string, timeNs: number, line: string) => void;

/** Called with a fresh runtime each time a node starts, and again after each restart. */
export type NodeProgram = (rt: Runtime) => void | Promise<void>;

/**
 * What a node program publishes for the harness to read (its role, whether it is ready): plain
 * JSON, never read back by the program. In simulation it is a function call; in process mode a
 * message from the node's process.
 */
export type StatusSink = (status: unknown) => void;

/** Builds a node program from plain-JSON arguments; what a module exports for process mode. */
export type NodeProgramFactory = (args: unknown, publish: StatusSink) => NodeProgram;

/**
 * A node program another OS process can build: the module at `moduleUrl` exports a
 * `NodeProgramFactory` as `exportName`, which the node's process calls with `args` (plain JSON).
 * What the program publishes reaches `onStatus` in the harness. A system gives one beside the
 * in-process program so that its nodes can run in process mode (`faultline run --mode process`).
 */
export interface PortableProgram {
  readonly moduleUrl: string;
  readonly exportName: string;
  readonly args: unknown;
  readonly onStatus?: StatusSink;
}

/**
 * The URL of the module `baseName` in the folder of the module at `fromUrl`, with the same
 * extension (`.ts` when running from sources, `.js` from the compiled build).
 */
export function siblingModuleUrl(fromUrl: string, baseName: string): string {
  const extension = /\.[cm]?tsx?$/.test(new URL(fromUrl).pathname) ? ".ts" : ".js";
  return new URL(`./${baseName}${extension}`, fromUrl).href;
}

/** Who drops whom: `grudge.get(a)` holds the endpoints whose messages `a` drops (one-way allowed). */
export type Grudge = ReadonlyMap<string, ReadonlySet<string>>;

export interface LinkFaults {
  /** Extra one-way latency added to every message, ns (mean of an exponential distribution). */
  readonly extraLatencyNs?: number;
  /** Probability that a message is lost. */
  readonly lossProbability?: number;
  /** Probability that a message is delivered twice. */
  readonly duplicateProbability?: number;
  /** Probability that a message is held back long enough to arrive after later ones. */
  readonly reorderProbability?: number;
}

export interface ClockSetting {
  readonly offsetNs?: number;
  /** Rate error in parts per million: +1000 runs 0.1% fast. */
  readonly driftPpm?: number;
}

export interface EndpointState {
  readonly name: string;
  readonly kind: "node" | "client";
  readonly up: boolean;
  readonly paused: boolean;
  readonly clockOffsetNs: number;
  readonly driftPpm: number;
}

export interface World {
  readonly mode: "sim" | "real" | "process";
  /** True time since the test started, ns (virtual in simulation). History timestamps come from here. */
  nowNs(): number;
  /** The harness's own seeded random source (generators, nemesis choices). */
  readonly random: Random;
  /** Resolves after `durationNs` of true time. */
  sleep(durationNs: number): Promise<void>;
  /**
   * Calls `callback` after `durationNs` of true time, unless the returned function cancels it
   * first. Optional: a caller without it sleeps and ignores a wake-up it no longer wants.
   */
  setTimer?(durationNs: number, callback: () => void): () => void;
  /** A runtime for a client endpoint. Clients are never crashed; partitions may still cut them off. */
  clientRuntime(name: string): Runtime;
  /**
   * Registers a node and starts its program. `restart` runs the program again on the surviving
   * disk. A world that runs nodes in other processes builds the program from `portable` (and
   * refuses a node without one); the others run `program`.
   */
  startNode(name: string, program: NodeProgram, portable?: PortableProgram): void;
  crash(node: string): void;
  restart(node: string): void;
  /** Freezes a node: no timer fires and no message is handled until `resume`; its state is kept. */
  pause(node: string): void;
  resume(node: string): void;
  setGrudge(grudge: Grudge): void;
  heal(): void;
  /** The grudge in force now (both SimWorld and RealWorld provide it; optional for other worlds). */
  grudge?(): Grudge;
  setLinkFaults(faults: LinkFaults): void;
  setClock(node: string, setting: ClockSetting): void;
  /** Sets the disk faults of a node (replacing those in force); a world without disk faults lacks it. */
  setDiskFaults?(node: string, faults: DiskFaults): void;
  /**
   * Corrupts `file` of a node at rest (one byte flipped on the platter); returns the byte's
   * offset, or undefined when the node has no such file with data on the platter.
   */
  corruptFile?(node: string, file: string): number | undefined;
  endpoints(): EndpointState[];
  /**
   * Runs the harness's main task to completion. In simulation this drives the scheduler until
   * `main` settles, and throws `SimulationBudgetError` when the event or virtual-time budget runs out.
   */
  run<T>(main: () => Promise<T>): Promise<T>;
}
