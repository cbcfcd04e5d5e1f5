/**
 * Test doubles for the engine's runtime: an in-memory disk with the simulated disk's crash model
 * and faults, and a manual runtime around it. Used by the engine's tests and benchmark beside the
 * simulated world; deterministic like the engine itself.
 *
 * `MemoryDisk` is the simulated world's disk state (harness/runtime/sim/disk.ts: unsynced writes
 * kept in any subset and order, torn at sector boundaries; directory changes lost unless the
 * directory was fsynced; fsync EIO, ENOSPC, rot at rest) with operations that complete at once.
 * `crash()` draws what survives from its own seeded random source (or one a test gives).
 * `freezeAfter(n)` makes every disk operation after the next `n` hang forever: the node is stuck
 * exactly there, which is how tests crash it "at any point", including in the middle of a page
 * flush or of recovery.
 */
import type { Key } from "../../harness/history/op.ts";
import type { Clock, Disk, DiskFaults, NetworkEndpoint, Runtime } from "../../harness/runtime/types.ts";
import { SeededRandom, type Random } from "../../harness/runtime/random.ts";
import {
  DEFAULT_CRASH_MODEL,
  SimDiskState,
  type CrashModel,
  type CrashReport,
} from "../../harness/runtime/sim/disk.ts";

/** A database's visible state as one comparable string (see `canonical`). */
export function stateOf(db: { dump(): ReadonlyMap<Key, unknown> }): string {
  return canonical(db.dump());
}

/** A key → value map as one string, independent of insertion order (`1` and `"1"` stay apart). */
export function canonical(m: ReadonlyMap<Key, unknown>): string {
  return JSON.stringify(
    [...m.entries()]
      .map(([k, v]) => [typeof k, k, v])
      .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
  );
}

/** A crash that keeps nothing unsynced: every unsynced write and directory change is lost. */
export const LOSE_ALL_UNSYNCED: Partial<CrashModel> = {
  writeSurvivalProbability: 0,
  directoryChangesMaySurvive: false,
};

export class MemoryDisk implements Disk {
  readonly state = new SimDiskState();
  private opsLeft = Infinity;
  private readonly random: Random;
  /** Disk operations started, for choosing crash points. */
  opCount = 0;
  fsyncs = 0;

  constructor(seed = 1) {
    this.random = new SeededRandom(seed, "memory-disk");
  }

  /** After `n` more operations, every operation hangs (never resolves). */
  freezeAfter(n: number): void {
    this.opsLeft = n;
  }

  get frozen(): boolean {
    return this.opsLeft <= 0;
  }

  private gate(): Promise<void> | undefined {
    this.opCount++;
    if (this.opsLeft <= 0) return new Promise<void>(() => {});
    this.opsLeft--;
    return undefined;
  }

  /**
   * A power loss under `model` (default: the simulated disk's harsh model), drawn from `random`
   * (default: this disk's own seeded source). Unfreezes the disk.
   */
  crash(model: Partial<CrashModel> = {}, random: Random = this.random): CrashReport {
    const report = this.state.crash(random, { ...DEFAULT_CRASH_MODEL, ...model });
    this.opsLeft = Infinity;
    return report;
  }

  setFaults(faults: DiskFaults): void {
    this.state.setFaults(faults);
  }

  async read(file: string): Promise<Uint8Array | undefined> {
    await this.gate();
    return this.state.read(file);
  }

  async write(file: string, offsetBytes: number, data: Uint8Array): Promise<void> {
    await this.gate();
    this.state.write(file, offsetBytes, data.slice());
  }

  async append(file: string, data: Uint8Array): Promise<void> {
    await this.gate();
    this.state.append(file, data.slice());
  }

  async truncate(file: string, sizeBytes: number): Promise<void> {
    await this.gate();
    this.state.truncate(file, sizeBytes);
  }

  async fsync(file: string): Promise<void> {
    await this.gate();
    this.fsyncs++;
    if (!this.state.fsync(file)) throw missing("fsync", file);
  }

  async fsyncDir(): Promise<void> {
    await this.gate();
    this.state.fsyncDir();
  }

  async size(file: string): Promise<number | undefined> {
    await this.gate();
    return this.state.size(file);
  }

  async list(): Promise<string[]> {
    await this.gate();
    return this.state.list();
  }

  async rename(from: string, to: string): Promise<void> {
    await this.gate();
    if (!this.state.rename(from, to)) throw missing("rename", from);
  }

  async remove(file: string): Promise<void> {
    await this.gate();
    if (!this.state.remove(file)) throw missing("remove", file);
  }
}

function missing(op: string, file: string): Error {
  return Object.assign(new Error(`${op}(${file}): no such file`), { code: "ENOENT" });
}

/** A clock whose time moves only when the test calls `advance`. */
export class ManualClock implements Clock {
  private now = 0;
  private timers: { at: number; callback: () => void; id: number }[] = [];
  private nextId = 0;

  nowNs(): number {
    return this.now;
  }
  monotonicNs(): number {
    return this.now;
  }
  sleep(durationNs: number): Promise<void> {
    return new Promise((resolve) => {
      this.setTimer(durationNs, resolve);
    });
  }
  setTimer(durationNs: number, callback: () => void): () => void {
    const id = this.nextId++;
    this.timers.push({ at: this.now + durationNs, callback, id });
    return () => {
      this.timers = this.timers.filter((t) => t.id !== id);
    };
  }
  /** Moves time forward, firing due timers in time order. */
  advance(durationNs: number): void {
    const target = this.now + durationNs;
    for (let i = 0; i < 100_000; i++) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now = due.at;
      due.callback();
    }
    this.now = target;
  }
}

const silentNet: NetworkEndpoint = {
  send: () => {},
  onMessage: () => {},
};

export interface TestRuntime extends Runtime {
  readonly disk: MemoryDisk;
  readonly clock: ManualClock;
  readonly errors: unknown[];
}

/** A runtime over a MemoryDisk with a manual clock; spawned tasks' errors are collected. */
export function testRuntime(
  disk = new MemoryDisk(),
  seed = 1,
  random: Random = new SeededRandom(seed),
): TestRuntime {
  const errors: unknown[] = [];
  return {
    name: "n1",
    clock: new ManualClock(),
    random,
    net: silentNet,
    disk,
    errors,
    spawn: (_name, body) => {
      body().catch((error: unknown) => errors.push(error));
    },
    log: () => {},
  };
}
