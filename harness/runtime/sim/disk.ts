/**
 * The simulated disk's state: per file, the durable bytes (as of the last fsync) and the current
 * bytes (what the node sees, unsynced changes included), plus the list of unsynced changes.
 *
 * Crash semantics, exactly:
 * - every write, append and truncate not yet covered by an fsync of its file is lost;
 * - a file that was never fsynced disappears (its creation was never made durable);
 * - with probability `tornWriteProbability`, drawn once per file that has unsynced changes, the
 *   oldest unsynced change of that file, if it is a write or append of at least 2 bytes, leaves a
 *   torn prefix: its first k bytes, 1 ≤ k < length, k uniform, at the offset where it was written
 *   (zero-filling any hole). That piece is then on disk, durable like the rest.
 * - `rename` and `remove` are durable when they complete (they move or drop the whole file state).
 *
 * This module holds state only; the world schedules the operations on virtual time.
 */
import type { Random } from "../random.ts";

/** A byte array that grows by doubling, so appends cost amortised O(length of the append). */
export class GrowableBytes {
  private buffer: Uint8Array;
  length = 0;

  constructor(capacity = 64) {
    this.buffer = new Uint8Array(Math.max(16, capacity));
  }

  write(offsetBytes: number, data: Uint8Array): void {
    const end = offsetBytes + data.length;
    if (end > this.buffer.length) {
      let capacity = this.buffer.length;
      while (capacity < end) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    // Bytes past `length` are kept zero (see truncate), so a hole before `offsetBytes` reads as zeros.
    this.buffer.set(data, offsetBytes);
    if (end > this.length) this.length = end;
  }

  truncate(sizeBytes: number): void {
    if (sizeBytes < this.length) {
      this.buffer.fill(0, sizeBytes, this.length);
      this.length = sizeBytes;
    } else if (sizeBytes > this.length) {
      this.write(sizeBytes, new Uint8Array(0));
      this.length = sizeBytes;
    }
  }

  /** A copy of the content. */
  bytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  clone(): GrowableBytes {
    const copy = new GrowableBytes(this.length);
    copy.write(0, this.buffer.subarray(0, this.length));
    return copy;
  }
}

export type UnsyncedChange =
  | { readonly kind: "write"; readonly offsetBytes: number; readonly data: Uint8Array }
  | { readonly kind: "truncate"; readonly sizeBytes: number };

export interface SimFile {
  /** Content as of the last fsync; undefined if the file was never fsynced. */
  durable: GrowableBytes | undefined;
  current: GrowableBytes;
  unsynced: UnsyncedChange[];
}

function applyChange(bytes: GrowableBytes, change: UnsyncedChange): void {
  if (change.kind === "write") bytes.write(change.offsetBytes, change.data);
  else bytes.truncate(change.sizeBytes);
}

export class SimDiskState {
  private readonly files = new Map<string, SimFile>();

  private fileFor(file: string): SimFile {
    let state = this.files.get(file);
    if (state === undefined) {
      state = { durable: undefined, current: new GrowableBytes(), unsynced: [] };
      this.files.set(file, state);
    }
    return state;
  }

  read(file: string): Uint8Array | undefined {
    return this.files.get(file)?.current.bytes();
  }

  size(file: string): number | undefined {
    return this.files.get(file)?.current.length;
  }

  list(): string[] {
    return [...this.files.keys()].sort();
  }

  /** `data` must already be a private copy. */
  write(file: string, offsetBytes: number, data: Uint8Array): void {
    const state = this.fileFor(file);
    const change: UnsyncedChange = { kind: "write", offsetBytes, data };
    applyChange(state.current, change);
    state.unsynced.push(change);
  }

  append(file: string, data: Uint8Array): void {
    const state = this.fileFor(file);
    this.write(file, state.current.length, data);
  }

  truncate(file: string, sizeBytes: number): void {
    const state = this.fileFor(file);
    const change: UnsyncedChange = { kind: "truncate", sizeBytes };
    applyChange(state.current, change);
    state.unsynced.push(change);
  }

  /** False when the file does not exist. */
  fsync(file: string): boolean {
    const state = this.files.get(file);
    if (state === undefined) return false;
    state.durable ??= new GrowableBytes();
    for (const change of state.unsynced) applyChange(state.durable, change);
    state.unsynced = [];
    return true;
  }

  /** False when `from` does not exist. */
  rename(from: string, to: string): boolean {
    const state = this.files.get(from);
    if (state === undefined) return false;
    this.files.delete(from);
    this.files.set(to, state);
    return true;
  }

  /** False when the file does not exist. */
  remove(file: string): boolean {
    return this.files.delete(file);
  }

  /** Unsynced changes across all files (for introspection and tests). */
  unsyncedCount(): number {
    let count = 0;
    for (const state of this.files.values()) count += state.unsynced.length;
    return count;
  }

  /** Applies a crash as documented in the module header; `random` decides the tears. */
  crash(random: Random, tornWriteProbability: number): { file: string; tornBytes: number }[] {
    const tears: { file: string; tornBytes: number }[] = [];
    for (const [file, state] of [...this.files]) {
      if (state.durable === undefined) {
        this.files.delete(file);
        continue;
      }
      const oldest = state.unsynced[0];
      if (
        oldest !== undefined &&
        tornWriteProbability > 0 &&
        random.bool(tornWriteProbability) &&
        oldest.kind === "write" &&
        oldest.data.length >= 2
      ) {
        const tornBytes = random.intBetween(1, oldest.data.length - 1);
        state.durable.write(oldest.offsetBytes, oldest.data.subarray(0, tornBytes));
        tears.push({ file, tornBytes });
      }
      state.current = state.durable.clone();
      state.unsynced = [];
    }
    return tears;
  }
}
