/**
 * The system under test, its clients and the node-control surface that nemeses act through.
 *
 * A system starts its nodes on a `World` (simulated or real) and opens one client per worker.
 * Nemeses never see a concrete system: they act through `NodeControl`, which the system provides
 * (usually by delegating crash, pause, partition and clock to the world and adding what only it
 * knows: which node is the writer, at what epoch, in which zone).
 */
import type { ClockSetting, DiskFaults, Grudge, LinkFaults, World } from "./runtime/types.ts";

/**
 * A system that cannot run on this machine (a program or package it needs is missing, or the
 * machine refuses what it needs). The message is one line saying what to install or change; the
 * CLI prints it and exits 254, as for a bad argument, with no stack trace and no run started.
 */
export class SystemUnavailableError extends Error {
  override name = "SystemUnavailableError";
}

/** What a worker asks a client to do: the `f` and `value` of an invocation. */
export interface Invocation {
  readonly f: string;
  readonly value: unknown;
}

/** How an invocation ended. `fail` must mean it certainly did not take effect; when unsure, `info`. */
export interface Completion {
  readonly type: "ok" | "fail" | "info";
  readonly value: unknown;
  readonly error?: unknown;
  /** The node that served the operation, when known. */
  readonly node?: string;
}

export interface Client {
  invoke(invocation: Invocation): Promise<Completion>;
  close(): Promise<void>;
}

export interface NodeInfo {
  readonly name: string;
  /** "writer", "standby", "storage", "replica", "control", "node", ... */
  readonly role: string;
  readonly zone?: string;
}

/** What a node keeps on disk that rot can hit: a data page, or a log record. */
export type DiskData = "page" | "log";

/** Where rot at rest was put: the file and the byte flipped. */
export interface CorruptedAt {
  readonly file: string;
  readonly offsetBytes: number;
}

export interface NodeControl {
  /** Every node of the system, with its current role. */
  nodes(): NodeInfo[];
  /** The current writer and its epoch, if the system has one and one is known. */
  writer(): { readonly node: string; readonly epoch: number } | undefined;
  crash(node: string): void;
  restart(node: string): void;
  pause(node: string): void;
  resume(node: string): void;
  setGrudge(grudge: Grudge): void;
  heal(): void;
  setLinkFaults(faults: LinkFaults): void;
  setClock(node: string, setting: ClockSetting): void;
  /** Sets a node's disk faults (`{}` heals); absent when the system or world has none. */
  setDiskFaults?(node: string, faults: DiskFaults): void;
  /** The node's file holding its pages or its log, if it keeps them (for faults aimed at one file). */
  diskFileOf?(node: string, what: DiskData): string | undefined;
  /**
   * Flips a byte of one of the node's pages or log records at rest; undefined when the node keeps
   * no such data on disk (yet). Absent when the system or world cannot.
   */
  corruptAtRest?(node: string, what: DiskData): CorruptedAt | undefined;
}

export interface SystemUnderTest {
  readonly name: string;
  /** Node names in a stable order. */
  readonly nodeNames: readonly string[];
  /** Starts the nodes on the world and waits until the system can serve. */
  setup(world: World): Promise<void>;
  /** Opens a client for one worker; `clientName` is its endpoint on the world's network. */
  openClient(world: World, clientName: string): Promise<Client>;
  control(world: World): NodeControl;
  teardown(world: World): Promise<void>;
}

/**
 * NodeControl that delegates every fault to the world; systems extend it with roles, and with
 * `diskFiles` (which of a node's files hold its pages and its log) for rot at rest.
 */
export function worldNodeControl(
  world: World,
  nodeNames: readonly string[],
  roles: () => NodeInfo[] = () => nodeNames.map((name) => ({ name, role: "node" })),
  writer: () => { node: string; epoch: number } | undefined = () => undefined,
  diskFiles: (node: string, what: DiskData) => string | undefined = () => undefined,
): NodeControl {
  const setDiskFaults = world.setDiskFaults?.bind(world);
  const corruptFile = world.corruptFile?.bind(world);
  return {
    ...(setDiskFaults !== undefined ? { setDiskFaults } : {}),
    diskFileOf: diskFiles,
    ...(corruptFile !== undefined
      ? {
          corruptAtRest: (node: string, what: DiskData): CorruptedAt | undefined => {
            const file = diskFiles(node, what);
            const offsetBytes = file === undefined ? undefined : corruptFile(node, file);
            return file === undefined || offsetBytes === undefined ? undefined : { file, offsetBytes };
          },
        }
      : {}),
    nodes: roles,
    writer,
    crash: (n) => world.crash(n),
    restart: (n) => world.restart(n),
    pause: (n) => world.pause(n),
    resume: (n) => world.resume(n),
    setGrudge: (g) => world.setGrudge(g),
    heal: () => world.heal(),
    setLinkFaults: (f) => world.setLinkFaults(f),
    setClock: (n, s) => world.setClock(n, s),
  };
}
