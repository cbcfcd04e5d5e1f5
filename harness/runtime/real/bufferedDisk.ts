/**
 * A node's disk as real files whose unsynced writes live in this process's memory, so that a
 * `kill -9` of the node loses them as a power cut would. A real kill -9 keeps the operating
 * system's page cache (everything written reaches the file sooner or later); holding each write
 * here until `fsync` gives process mode the `Disk` contract the simulated disk has: what was not
 * fsynced is lost at a crash, and a file never fsynced does not exist afterwards.
 *
 * - `write`, `append` and `truncate` change only the in-memory view of the file (reads, sizes and
 *   lists see them at once).
 * - `fsync(file)` applies that file's pending changes to the real file, in order, each write in
 *   pieces of at most 4 KiB (a sector-sized unit), then fsync(2)s the file (and its directory the
 *   first time, so a new file's name is durable). A kill during it leaves a prefix of the pending
 *   changes on disk, the last one possibly torn at a piece boundary: the torn write of the contract.
 * - `rename` and `remove` act on the real directory and fsync it before they resolve: atomic and
 *   durable, as the contract says. A file that exists only in memory is renamed or removed in
 *   memory (and a real file it replaces is removed durably).
 *
 * Operations run one at a time, in the order they were issued, so a write never races an fsync.
 */
import { constants } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Disk } from "../types.ts";

type Change =
  | { readonly kind: "write"; readonly offsetBytes: number; readonly data: Uint8Array }
  | { readonly kind: "truncate"; readonly sizeBytes: number };

interface FileState {
  /** Whether the real file exists (as far as this disk has seen). */
  onDisk: boolean;
  /** Whether the file exists as the node sees it (in memory or on disk). */
  exists: boolean;
  /** Size as the node sees it. */
  sizeBytes: number;
  /** Changes not yet fsynced, oldest first. */
  pending: Change[];
}

/** fsync applies writes in pieces of this size, so a kill can tear one between pieces. */
export const tearUnitBytes = 4096;

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

function missing(operation: string, file: string): Error {
  const error = new Error(`${operation}(${file}): no such file`) as NodeJS.ErrnoException;
  error.code = "ENOENT";
  return error;
}

function applyChange(bytes: Uint8Array, change: Change): Uint8Array {
  if (change.kind === "truncate") {
    if (change.sizeBytes <= bytes.length) return bytes.subarray(0, change.sizeBytes);
    const grown = new Uint8Array(change.sizeBytes);
    grown.set(bytes);
    return grown;
  }
  const end = change.offsetBytes + change.data.length;
  let target = bytes;
  if (end > bytes.length) {
    target = new Uint8Array(end);
    target.set(bytes);
  }
  target.set(change.data, change.offsetBytes);
  return target;
}

export class BufferedFileDisk implements Disk {
  private readonly files = new Map<string, FileState>();
  private queue: Promise<unknown> = Promise.resolve();
  private readyPromise: Promise<void> | undefined;

  constructor(readonly directory: string) {}

  /** Runs `operation` after every earlier one. */
  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private ready(): Promise<void> {
    this.readyPromise ??= mkdir(this.directory, { recursive: true }).then(() => this.syncDirectory());
    return this.readyPromise;
  }

  private path(file: string): string {
    if (file.length === 0 || file.includes("/") || file.includes("\\") || file === "." || file === "..") {
      throw new RangeError(`bad file name "${file}": need a plain name without path separators`);
    }
    return join(this.directory, file);
  }

  private async syncDirectory(): Promise<void> {
    const handle = await open(this.directory, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  private async state(file: string): Promise<FileState> {
    let state = this.files.get(file);
    if (state === undefined) {
      let sizeBytes: number | undefined;
      try {
        sizeBytes = (await stat(this.path(file))).size;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      state = {
        onDisk: sizeBytes !== undefined,
        exists: sizeBytes !== undefined,
        sizeBytes: sizeBytes ?? 0,
        pending: [],
      };
      this.files.set(file, state);
    }
    return state;
  }

  private async realBytes(file: string, state: FileState): Promise<Uint8Array> {
    if (!state.onDisk) return new Uint8Array(0);
    try {
      return new Uint8Array(await readFile(this.path(file)));
    } catch (error) {
      if (isNotFound(error)) return new Uint8Array(0);
      throw error;
    }
  }

  read(file: string): Promise<Uint8Array | undefined> {
    this.path(file);
    return this.serial(async () => {
      await this.ready();
      const state = await this.state(file);
      if (!state.exists) return undefined;
      let bytes = await this.realBytes(file, state);
      for (const change of state.pending) bytes = applyChange(bytes, change);
      return bytes;
    });
  }

  write(file: string, offsetBytes: number, data: Uint8Array): Promise<void> {
    this.path(file);
    if (!Number.isInteger(offsetBytes) || offsetBytes < 0) {
      return Promise.reject(
        new RangeError(`write(${file}): offset must be a non-negative integer, got ${offsetBytes}`),
      );
    }
    const copy = data.slice();
    return this.serial(async () => {
      await this.ready();
      const state = await this.state(file);
      state.exists = true;
      state.pending.push({ kind: "write", offsetBytes, data: copy });
      state.sizeBytes = Math.max(state.sizeBytes, offsetBytes + copy.length);
    });
  }

  append(file: string, data: Uint8Array): Promise<void> {
    this.path(file);
    const copy = data.slice();
    return this.serial(async () => {
      await this.ready();
      const state = await this.state(file);
      state.exists = true;
      state.pending.push({ kind: "write", offsetBytes: state.sizeBytes, data: copy });
      state.sizeBytes += copy.length;
    });
  }

  truncate(file: string, sizeBytes: number): Promise<void> {
    this.path(file);
    return this.serial(async () => {
      await this.ready();
      const state = await this.state(file);
      if (!state.exists) throw missing("truncate", file);
      state.pending.push({ kind: "truncate", sizeBytes });
      state.sizeBytes = sizeBytes;
    });
  }

  fsync(file: string): Promise<void> {
    const path = this.path(file);
    return this.serial(async () => {
      await this.ready();
      const state = await this.state(file);
      if (!state.exists) throw missing("fsync", file);
      const created = !state.onDisk;
      const handle = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
      try {
        // The file exists now; a kill before the directory fsync may still lose its name.
        state.onDisk = true;
        for (const change of state.pending) {
          if (change.kind === "truncate") {
            await handle.truncate(change.sizeBytes);
            continue;
          }
          for (let done = 0; done < change.data.length;) {
            const piece = Math.min(tearUnitBytes, change.data.length - done);
            const { bytesWritten } = await handle.write(change.data, done, piece, change.offsetBytes + done);
            if (bytesWritten <= 0) throw new Error(`fsync(${file}): no progress writing at byte ${done}`);
            done += bytesWritten;
          }
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      state.pending = [];
      if (created) await this.syncDirectory();
    });
  }

  size(file: string): Promise<number | undefined> {
    this.path(file);
    return this.serial(async () => {
      await this.ready();
      const state = await this.state(file);
      return state.exists ? state.sizeBytes : undefined;
    });
  }

  list(): Promise<string[]> {
    return this.serial(async () => {
      await this.ready();
      const names = new Set(await readdir(this.directory));
      for (const [file, state] of this.files) {
        if (state.exists) names.add(file);
        else names.delete(file);
      }
      return [...names].sort();
    });
  }

  rename(from: string, to: string): Promise<void> {
    const fromPath = this.path(from);
    const toPath = this.path(to);
    return this.serial(async () => {
      await this.ready();
      const source = await this.state(from);
      if (!source.exists) throw missing("rename", from);
      const target = await this.state(to);
      if (source.onDisk) await rename(fromPath, toPath);
      else if (target.onDisk) await rm(toPath);
      this.files.set(to, { ...source, pending: source.pending });
      this.files.set(from, { onDisk: false, exists: false, sizeBytes: 0, pending: [] });
      if (source.onDisk || target.onDisk) await this.syncDirectory();
    });
  }

  remove(file: string): Promise<void> {
    const path = this.path(file);
    return this.serial(async () => {
      await this.ready();
      const state = await this.state(file);
      if (!state.exists) throw missing("remove", file);
      if (state.onDisk) {
        await rm(path, { force: true });
        await this.syncDirectory();
      }
      this.files.set(file, { onDisk: false, exists: false, sizeBytes: 0, pending: [] });
    });
  }

  /** Changes not yet fsynced, over all files (what a kill -9 now would lose). */
  unsyncedCount(): number {
    let count = 0;
    for (const state of this.files.values()) count += state.pending.length;
    return count;
  }
}
