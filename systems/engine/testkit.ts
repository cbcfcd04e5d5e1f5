/**
 * Test doubles for the engine's runtime: an in-memory disk that models fsync, crashes and torn
 * writes, and a manual runtime around it. Used by the engine's tests and benchmark until (and
 * beside) the simulated world; deterministic like the engine itself.
 *
 * The disk keeps, per file, the durable bytes and the unsynced operations since the last fsync.
 * `crash()` throws the unsynced operations away, optionally keeping a torn prefix of the oldest
 * one (as the runtime's Disk contract allows). `freezeAfter(n)` makes every disk operation after
 * the next `n` hang forever: the node is stuck exactly there, which is how tests crash it "at any
 * point", including in the middle of a page flush or of recovery.
 */
import type { Clock, Disk, NetworkEndpoint, Runtime } from "../../harness/runtime/types.ts";
import { SeededRandom, type Random } from "../../harness/runtime/random.ts";

type Pending =
  | { readonly op: "write"; readonly offset: number; readonly data: Uint8Array }
  | { readonly op: "truncate"; readonly size: number };

interface MemoryFile {
  durable: Uint8Array;
  current: Uint8Array;
  pending: Pending[];
}

function writeAt(bytes: Uint8Array, offset: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(bytes.length, offset + data.length));
  out.set(bytes);
  out.set(data, offset);
  return out;
}

export class MemoryDisk implements Disk {
  private files = new Map<string, MemoryFile>();
  private opsLeft = Infinity;
  /** Disk operations started, for choosing crash points. */
  opCount = 0;
  fsyncs = 0;

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
   * Loses every unsynced operation. With `tearWith`, the oldest unsynced write of each file
   * survives as a prefix of the length it picks (0 … length-1 bytes). Unfreezes the disk.
   */
  crash(tearWith?: (lengthBytes: number) => number): void {
    for (const file of this.files.values()) {
      let bytes = file.durable;
      const first = file.pending[0];
      if (tearWith !== undefined && first !== undefined && first.op === "write" && first.data.length > 1) {
        const keep = Math.min(first.data.length - 1, Math.max(0, tearWith(first.data.length)));
        bytes = writeAt(bytes, first.offset, first.data.subarray(0, keep));
      }
      file.durable = bytes;
      file.current = bytes;
      file.pending = [];
    }
    this.opsLeft = Infinity;
  }

  /** Total durable bytes per file (for tests and figures). */
  durableSize(file: string): number | undefined {
    return this.files.get(file)?.durable.length;
  }

  async read(file: string): Promise<Uint8Array | undefined> {
    await this.gate();
    const f = this.files.get(file);
    return f === undefined ? undefined : f.current.slice();
  }

  private file(name: string): MemoryFile {
    let f = this.files.get(name);
    if (f === undefined) {
      f = { durable: new Uint8Array(0), current: new Uint8Array(0), pending: [] };
      this.files.set(name, f);
    }
    return f;
  }

  async write(file: string, offsetBytes: number, data: Uint8Array): Promise<void> {
    await this.gate();
    const f = this.file(file);
    const copy = data.slice();
    f.current = writeAt(f.current, offsetBytes, copy);
    f.pending.push({ op: "write", offset: offsetBytes, data: copy });
  }

  async append(file: string, data: Uint8Array): Promise<void> {
    await this.gate();
    const f = this.file(file);
    const copy = data.slice();
    const offset = f.current.length;
    f.current = writeAt(f.current, offset, copy);
    f.pending.push({ op: "write", offset, data: copy });
  }

  async truncate(file: string, sizeBytes: number): Promise<void> {
    await this.gate();
    const f = this.file(file);
    f.current = writeAt(new Uint8Array(0), 0, f.current.subarray(0, sizeBytes));
    if (f.current.length < sizeBytes) f.current = writeAt(f.current, sizeBytes - 1, new Uint8Array(1));
    f.pending.push({ op: "truncate", size: sizeBytes });
  }

  async fsync(file: string): Promise<void> {
    await this.gate();
    this.fsyncs++;
    const f = this.files.get(file);
    if (f === undefined) return;
    f.durable = f.current;
    f.pending = [];
  }

  async size(file: string): Promise<number | undefined> {
    await this.gate();
    return this.files.get(file)?.current.length;
  }

  async list(): Promise<string[]> {
    await this.gate();
    return [...this.files.keys()].sort();
  }

  async rename(from: string, to: string): Promise<void> {
    await this.gate();
    const f = this.files.get(from);
    if (f === undefined) throw new Error(`rename: no file ${from}`);
    this.files.delete(from);
    this.files.set(to, f);
  }

  async remove(file: string): Promise<void> {
    await this.gate();
    this.files.delete(file);
  }
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
