/**
 * A node's disk as real files that keeps, in this process's memory, everything the `Disk`
 * contract says a power loss may lose: unsynced writes, and directory changes (creations, renames,
 * removes) made since the last `fsyncDir`. A `kill -9` of the node then loses them as a power cut
 * would, although the operating system's page cache would have kept them (it keeps everything a
 * process hands it).
 *
 * - `write`, `append` and `truncate` change only the in-memory view of the file (reads, sizes and
 *   lists see them at once).
 * - `fsync(file)` applies that file's pending changes to its real file, in order, each write in
 *   pieces of at most 4 KiB (a sector-sized unit), then fsync(2)s it. A file whose name is not yet
 *   durable keeps its bytes in a hidden real file (`.pending.N`); a kill leaves that file behind,
 *   invisible (and deleted by the next incarnation's first `fsyncDir`), so the name is lost as the
 *   contract says.
 * - `rename` and `remove` change only the in-memory directory. `fsyncDir` makes the real
 *   directory match it (hidden and displaced files renamed into place, removed ones deleted, in
 *   two phases through hidden names so a swap works) and fsync(2)s the directory. A kill during it
 *   leaves some of those changes done: as far as a real directory allows, never a torn name.
 * A kill during an fsync leaves a prefix of the pending changes on disk, the last one possibly
 * torn at a piece boundary: the torn write of the contract.
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

/** A file as the node sees it: its real backing file (if any) and what is not yet on it. */
interface FileState {
  /** The real file holding its fsynced bytes: its own name, a hidden name, or a name it was renamed from. */
  real: string | undefined;
  /** Size as the node sees it. */
  sizeBytes: number;
  /** Changes not yet fsynced, oldest first. */
  pending: Change[];
}

/** fsync applies writes in pieces of this size, so a kill can tear one between pieces. */
export const tearUnitBytes = 4096;
/** Real files that hold no durable name: left over from a kill, removed at start. */
const hiddenPrefix = ".pending.";

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
  /** The directory as the node sees it (loaded from the real one at start). */
  private names: Map<string, FileState> | undefined;
  /** Real files no name points at any more, to delete at the next `fsyncDir`. */
  private readonly orphans = new Set<string>();
  private nextHidden = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly directory: string) {}

  /** Runs `operation` after every earlier one. */
  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * The in-memory directory, loaded on first use. Hidden leftovers of a killed incarnation are
   * no names: they are skipped here (new hidden files are numbered past them) and deleted by the
   * first `fsyncDir`.
   */
  private async directoryView(): Promise<Map<string, FileState>> {
    if (this.names !== undefined) return this.names;
    await mkdir(this.directory, { recursive: true });
    const names = new Map<string, FileState>();
    for (const entry of await readdir(this.directory, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      if (entry.name.startsWith(hiddenPrefix)) {
        this.orphans.add(entry.name);
        const index = Number(entry.name.slice(hiddenPrefix.length));
        if (Number.isInteger(index)) this.nextHidden = Math.max(this.nextHidden, index + 1);
        continue;
      }
      const { size } = await stat(join(this.directory, entry.name));
      names.set(entry.name, { real: entry.name, sizeBytes: size, pending: [] });
    }
    this.names = names;
    return names;
  }

  private path(file: string): string {
    if (
      file.length === 0 ||
      file.includes("/") ||
      file.includes("\\") ||
      file === "." ||
      file === ".." ||
      file.startsWith(hiddenPrefix)
    ) {
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

  private async existing(file: string, operation: string): Promise<FileState> {
    const state = (await this.directoryView()).get(file);
    if (state === undefined) throw missing(operation, file);
    return state;
  }

  private async createdIfMissing(file: string): Promise<FileState> {
    const names = await this.directoryView();
    let state = names.get(file);
    if (state === undefined) {
      state = { real: undefined, sizeBytes: 0, pending: [] };
      names.set(file, state);
    }
    return state;
  }

  read(file: string): Promise<Uint8Array | undefined> {
    this.path(file);
    return this.serial(async () => {
      const state = (await this.directoryView()).get(file);
      if (state === undefined) return undefined;
      let bytes: Uint8Array =
        state.real === undefined
          ? new Uint8Array(0)
          : new Uint8Array(await readFile(join(this.directory, state.real)));
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
      const state = await this.createdIfMissing(file);
      state.pending.push({ kind: "write", offsetBytes, data: copy });
      state.sizeBytes = Math.max(state.sizeBytes, offsetBytes + copy.length);
    });
  }

  append(file: string, data: Uint8Array): Promise<void> {
    this.path(file);
    const copy = data.slice();
    return this.serial(async () => {
      const state = await this.createdIfMissing(file);
      state.pending.push({ kind: "write", offsetBytes: state.sizeBytes, data: copy });
      state.sizeBytes += copy.length;
    });
  }

  truncate(file: string, sizeBytes: number): Promise<void> {
    this.path(file);
    return this.serial(async () => {
      const state = await this.existing(file, "truncate");
      state.pending.push({ kind: "truncate", sizeBytes });
      state.sizeBytes = sizeBytes;
    });
  }

  fsync(file: string): Promise<void> {
    this.path(file);
    return this.serial(async () => {
      const state = await this.existing(file, "fsync");
      state.real ??= `${hiddenPrefix}${this.nextHidden++}`;
      const handle = await open(
        join(this.directory, state.real),
        constants.O_RDWR | constants.O_CREAT,
        0o644,
      );
      try {
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
    });
  }

  fsyncDir(): Promise<void> {
    return this.serial(async () => {
      const names = await this.directoryView();
      // Real files a name no longer points at go first (a name may be reused below).
      const live = new Set([...names.values()].flatMap((s) => (s.real === undefined ? [] : [s.real])));
      for (const orphan of this.orphans)
        if (!live.has(orphan)) await rm(join(this.directory, orphan), { force: true });
      this.orphans.clear();
      // Two phases through hidden names, so that swapped names (a ↔ b) never overwrite each other.
      const moving = [...names].filter(([name, s]) => s.real !== undefined && s.real !== name);
      for (const [, state] of moving) {
        const hidden = `${hiddenPrefix}${this.nextHidden++}`;
        await rename(join(this.directory, state.real!), join(this.directory, hidden));
        state.real = hidden;
      }
      for (const [name, state] of moving) {
        await rename(join(this.directory, state.real!), join(this.directory, name));
        state.real = name;
      }
      // A name created and never fsynced exists from now on, empty on disk (its bytes still pending).
      for (const [name, state] of names) {
        if (state.real !== undefined) continue;
        const handle = await open(
          join(this.directory, name),
          constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC,
          0o644,
        );
        await handle.close();
        state.real = name;
      }
      await this.syncDirectory();
    });
  }

  size(file: string): Promise<number | undefined> {
    this.path(file);
    return this.serial(async () => (await this.directoryView()).get(file)?.sizeBytes);
  }

  list(): Promise<string[]> {
    return this.serial(async () => [...(await this.directoryView()).keys()].sort());
  }

  rename(from: string, to: string): Promise<void> {
    this.path(from);
    this.path(to);
    return this.serial(async () => {
      const names = await this.directoryView();
      const source = await this.existing(from, "rename");
      if (from === to) return;
      const replaced = names.get(to);
      if (replaced?.real !== undefined) this.orphans.add(replaced.real);
      names.set(to, source);
      names.delete(from);
    });
  }

  remove(file: string): Promise<void> {
    this.path(file);
    return this.serial(async () => {
      const names = await this.directoryView();
      const state = await this.existing(file, "remove");
      if (state.real !== undefined) this.orphans.add(state.real);
      names.delete(file);
    });
  }

  /** Changes not yet durable, over all files and the directory (what a kill -9 now would lose). */
  unsyncedCount(): number {
    let count = this.orphans.size;
    for (const [name, state] of this.names ?? []) {
      count += state.pending.length;
      if (state.real !== name) count++;
    }
    return count;
  }
}
