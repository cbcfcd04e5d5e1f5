/**
 * The simulated disk's state: a directory of names pointing at files, and per file the bytes the
 * node sees (`current`: the page cache, every change included) and the changes not yet fsynced,
 * each with what it overwrote, so the bytes on the platter are `current` with those changes undone
 * (`durableOf`). The platter's bytes are made only when a crash, a failed fsync or rot at rest
 * needs them: after an fsync the page cache is the platter, so a second copy of every file, kept
 * up to date at every fsync, would be copied into for nothing. It models what real storage does at
 * a power loss, harshly (as the `Disk` contract in ../types.ts allows):
 *
 * - Data: any subset of a file's unsynced writes may have reached the platter, in any order, and
 *   each may be torn: only a prefix of it, cut at a sector boundary, got there. A truncate is
 *   metadata: the unsynced truncates of a file reach the platter as a prefix, in order, and one that
 *   did is a barrier (writes issued before it land before it, writes issued after it after it).
 * - Directory: a file's creation, a rename and a remove are metadata of the directory. Those since
 *   the last `fsyncDir` reach the platter as a prefix, in order (a journal commits them in order),
 *   so each may be lost: a file created and fsynced but whose directory was not fsynced vanishes; a
 *   rename not followed by a directory fsync may come undone.
 * A crash draws all of this from the world's disk random source, so it replays byte for byte.
 *
 * Faults (set by the world for a disk nemesis): an fsync that fails with EIO (once, or every one
 * until healed) loses the file's unsynced changes for good: they are gone from the page cache too,
 * so a later fsync that succeeds makes nothing of them durable (retrying is no cure); a full disk
 * fails every write that needs space (a new file, or bytes past a file's end) with ENOSPC, writing
 * nothing; and `corrupt` flips a byte of a file at rest.
 *
 * This module holds state only; the world schedules the operations on virtual time.
 */
import { ByteSlab } from "../../byteSlab.ts";
import type { Random } from "../random.ts";
import type { DiskFaults } from "../types.ts";

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

  byteAt(offsetBytes: number): number {
    return this.buffer[offsetBytes]!;
  }

  setByte(offsetBytes: number, value: number): void {
    this.buffer[offsetBytes] = value;
  }

  /** A copy of the content. */
  bytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  /** A copy of the content in [start, end) (`end` at most `length`). */
  slice(start: number, end: number): Uint8Array {
    return this.buffer.slice(start, end);
  }

  /**
   * A copy with the same room to grow: a crash makes each file's page cache a clone of its
   * platter, and a clone sized to the content had to grow (a copy of the whole file) at the
   * file's next append.
   */
  clone(): GrowableBytes {
    const copy = new GrowableBytes(this.buffer.length);
    copy.write(0, this.buffer.subarray(0, this.length));
    return copy;
  }
}

export type UnsyncedChange =
  | { readonly kind: "write"; readonly offsetBytes: number; readonly data: Uint8Array }
  | { readonly kind: "truncate"; readonly sizeBytes: number };

/**
 * What one unsynced change replaced in the page cache: the file's length before it, and the bytes
 * it overwrote below that length (from `offsetBytes` on; none for bytes past the end, or for a
 * truncate that grew the file).
 */
interface Undo {
  readonly lengthBefore: number;
  readonly offsetBytes: number;
  readonly overwritten: Uint8Array | undefined;
}

/** One file, whatever name the directory gives it. */
export interface SimFile {
  /** Content the node sees: the platter's bytes plus every unsynced change. */
  current: GrowableBytes;
  /** Changes since the last fsync of this file, in issue order. */
  unsynced: UnsyncedChange[];
  /** For each unsynced change, at the same index, what it replaced. */
  undo: Undo[];
}

/** Applies `change` to the page cache of `state`, remembering what it replaced, and keeps it as unsynced. */
function applyUnsynced(state: SimFile, change: UnsyncedChange): void {
  const current = state.current;
  const lengthBefore = current.length;
  const offsetBytes = change.kind === "write" ? change.offsetBytes : change.sizeBytes;
  const endBytes = change.kind === "write" ? change.offsetBytes + change.data.length : lengthBefore;
  const overwritten =
    offsetBytes < lengthBefore && endBytes > offsetBytes
      ? current.slice(offsetBytes, Math.min(endBytes, lengthBefore))
      : undefined;
  applyChange(current, change);
  state.unsynced.push(change);
  state.undo.push({ lengthBefore, offsetBytes, overwritten });
}

/** Takes the unsynced changes of `bytes` (a copy of a page cache) back, newest first: the platter's bytes. */
function undoAll(bytes: GrowableBytes, undo: readonly Undo[]): GrowableBytes {
  for (let i = undo.length - 1; i >= 0; i--) {
    const u = undo[i]!;
    bytes.truncate(u.lengthBefore);
    if (u.overwritten !== undefined) bytes.write(u.offsetBytes, u.overwritten);
  }
  return bytes;
}

/** The bytes on the platter of `state` (as of its last fsync), made anew. */
function durableOf(state: SimFile): GrowableBytes {
  return undoAll(state.current.clone(), state.undo);
}

type DirectoryChange =
  | { readonly kind: "create"; readonly name: string; readonly file: SimFile }
  | { readonly kind: "rename"; readonly from: string; readonly to: string }
  | { readonly kind: "remove"; readonly name: string };

/** How a power loss treats what was not fsynced. */
export interface CrashModel {
  /** Probability that each unsynced write reached the platter (whole or torn). */
  readonly writeSurvivalProbability: number;
  /** Probability that a surviving write spanning two or more sectors is torn. */
  readonly tornWriteProbability: number;
  readonly sectorBytes: number;
  /** Whether unsynced directory changes may survive (a uniform prefix of them); false: none do. */
  readonly directoryChangesMaySurvive: boolean;
  /** For tests that need one exact tear: a torn write keeps this many bytes (at most all but one). */
  readonly exactTornBytes?: number;
}

export const DEFAULT_CRASH_MODEL: CrashModel = {
  writeSurvivalProbability: 0.5,
  tornWriteProbability: 0.5,
  sectorBytes: 512,
  directoryChangesMaySurvive: true,
};

/** What one crash did to one file, for the node's log. */
export interface CrashedFile {
  readonly file: string;
  /** Unsynced writes that reached the platter, and those lost. */
  readonly writesKept: number;
  readonly writesLost: number;
  /** Bytes each torn write left, in the order they were applied. */
  readonly tornBytes: readonly number[];
}

export interface CrashReport {
  readonly files: readonly CrashedFile[];
  /** Directory changes lost (`create wal`, `rename control.tmp control`, `remove pages`). */
  readonly directoryChangesLost: readonly string[];
}

/** An I/O error with its errno name, as Node's fs reports it. */
export class DiskError extends Error {
  override name = "DiskError";
  constructor(
    readonly code: "EIO" | "ENOSPC" | "ENOENT",
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

function applyChange(bytes: GrowableBytes, change: UnsyncedChange): void {
  if (change.kind === "write") bytes.write(change.offsetBytes, change.data);
  else bytes.truncate(change.sizeBytes);
}

function describeChange(change: DirectoryChange): string {
  if (change.kind === "create") return `create ${change.name}`;
  if (change.kind === "rename") return `rename ${change.from} ${change.to}`;
  return `remove ${change.name}`;
}

/** Writes at least this long have their private copies recycled (page images, not log appends). */
const RECYCLED_MIN_BYTES = 4096;
/** Spare buffers kept per length. */
const SPARES_PER_LENGTH = 4;
/**
 * Lengths spares are kept for: page images come in one or two lengths, but appends of every
 * length pass here too, and a long run must not keep one of each.
 */
const SPARE_LENGTHS_MAX = 8;

/**
 * Private copies of writes shorter than RECYCLED_MIN_BYTES (a log append, a segment line), cut
 * from a shared slab (harness/byteSlab.ts). A slab lives while any copy cut from it does: at most
 * until its file's next fsync or crash, the longest a write's copy is kept.
 */
const shortCopies = new ByteSlab(1 << 16, RECYCLED_MIN_BYTES - 1);

export class SimDiskState {
  /** The directory as the node sees it. */
  private readonly names = new Map<string, SimFile>();
  /** The directory on the platter (as of the last directory fsync). */
  private durableNames = new Map<string, SimFile>();
  private unsyncedDirectory: DirectoryChange[] = [];
  private faults: DiskFaults = {};
  /**
   * Buffers of write copies whose bytes an fsync has put on the platter, by length: nothing refers
   * to them any more, so a later write of that length copies into one instead of allocating (a
   * database flushing 32 KiB pages otherwise allocates two pages per flush).
   */
  private readonly spares = new Map<number, Uint8Array[]>();

  /** A private copy of `data` for a write or append: the operation keeps it until it completes. */
  copyForWrite(data: Uint8Array): Uint8Array {
    if (data.length < RECYCLED_MIN_BYTES) {
      const copy = shortCopies.take(data.length);
      copy.set(data);
      return copy;
    }
    const spare = this.spares.get(data.length)?.pop();
    if (spare === undefined) return data.slice();
    spare.set(data);
    return spare;
  }

  /** `data` (a write's private copy) is on the platter and referred to by nothing else. */
  private retire(data: Uint8Array): void {
    if (data.length < RECYCLED_MIN_BYTES) return;
    let spares = this.spares.get(data.length);
    if (spares === undefined) {
      if (this.spares.size >= SPARE_LENGTHS_MAX) return;
      this.spares.set(data.length, (spares = []));
    }
    if (spares.length < SPARES_PER_LENGTH) spares.push(data);
  }

  read(file: string): Uint8Array | undefined {
    return this.names.get(file)?.current.bytes();
  }

  size(file: string): number | undefined {
    return this.names.get(file)?.current.length;
  }

  list(): string[] {
    return [...this.names.keys()].sort();
  }

  setFaults(faults: DiskFaults): void {
    this.faults = { ...faults };
  }

  get faultsInForce(): DiskFaults {
    return this.faults;
  }

  private needSpace(file: string, what: string): void {
    if (this.faults.full === true) throw new DiskError("ENOSPC", `${what}(${file}): no space left on device`);
  }

  private fileFor(file: string, what: string, endBytes: number): SimFile {
    let state = this.names.get(file);
    if (state === undefined) {
      this.needSpace(file, what);
      state = { current: new GrowableBytes(), unsynced: [], undo: [] };
      this.names.set(file, state);
      this.unsyncedDirectory.push({ kind: "create", name: file, file: state });
    } else if (endBytes > state.current.length) {
      this.needSpace(file, what);
    }
    return state;
  }

  /** `data` must already be a private copy (`copyForWrite`); the disk keeps it. */
  write(file: string, offsetBytes: number, data: Uint8Array): void {
    const state = this.fileFor(file, "write", offsetBytes + data.length);
    applyUnsynced(state, { kind: "write", offsetBytes, data });
  }

  append(file: string, data: Uint8Array): void {
    const length = this.names.get(file)?.current.length ?? 0;
    const state = this.fileFor(file, "append", length + data.length);
    applyUnsynced(state, { kind: "write", offsetBytes: state.current.length, data });
  }

  truncate(file: string, sizeBytes: number): void {
    const state = this.fileFor(file, "truncate", sizeBytes);
    applyUnsynced(state, { kind: "truncate", sizeBytes });
  }

  /**
   * Makes the file's unsynced changes durable. Under an fsync fault it throws EIO instead, and
   * those changes are lost for good (see the module header). False when the file does not exist.
   */
  fsync(file: string): boolean {
    const state = this.names.get(file);
    if (state === undefined) return false;
    const fails = this.faults.fsyncFails;
    const only = this.faults.fsyncFailsFiles;
    if (fails !== undefined && (only === undefined || only.includes(file))) {
      if (fails === "once") this.faults = { ...this.faults, fsyncFails: undefined };
      const lost = state.unsynced.length;
      undoAll(state.current, state.undo);
      state.unsynced = [];
      state.undo = [];
      throw new DiskError("EIO", `fsync(${file}): input/output error; ${lost} unsynced changes lost`);
    }
    // The page cache now is the platter: nothing to copy.
    for (const change of state.unsynced) if (change.kind === "write") this.retire(change.data);
    state.unsynced = [];
    state.undo = [];
    return true;
  }

  /** Makes every directory change so far (creations, renames, removes) durable. */
  fsyncDir(): void {
    this.durableNames = new Map(this.names);
    this.unsyncedDirectory = [];
  }

  /** False when `from` does not exist. Replaces `to` if it exists. */
  rename(from: string, to: string): boolean {
    const state = this.names.get(from);
    if (state === undefined) return false;
    this.names.delete(from);
    this.names.set(to, state);
    this.unsyncedDirectory.push({ kind: "rename", from, to });
    return true;
  }

  /** False when the file does not exist. */
  remove(file: string): boolean {
    if (!this.names.delete(file)) return false;
    this.unsyncedDirectory.push({ kind: "remove", name: file });
    return true;
  }

  /** Unsynced changes across all files, and unsynced directory changes (for introspection and tests). */
  unsyncedCount(): number {
    let count = this.unsyncedDirectory.length;
    for (const state of this.names.values()) count += state.unsynced.length;
    return count;
  }

  /**
   * Flips a byte of `file` at rest: a byte that is not zero (so it hits data, not a hole), chosen
   * by `random`, xor a non-zero mask. Returns the offset, or undefined when the file has no such
   * byte on the platter. The page cache's copy is corrupted too where it still matches the
   * platter (a later read sees the rot).
   */
  corrupt(file: string, random: Random): number | undefined {
    const state = this.names.get(file);
    if (state === undefined) return undefined;
    const durable = state.undo.length === 0 ? state.current : durableOf(state);
    let nonZero = 0;
    for (let i = 0; i < durable.length; i++) if (durable.byteAt(i) !== 0) nonZero++;
    if (nonZero === 0) return undefined;
    let skip = random.int(nonZero);
    let offset = 0;
    for (; offset < durable.length; offset++) {
      if (durable.byteAt(offset) !== 0 && skip-- === 0) break;
    }
    const mask = random.intBetween(1, 255);
    const before = durable.byteAt(offset);
    // The platter's byte lies in what the first unsynced change that replaced it kept, or, when
    // none did, in the page cache (where it is also the cache's byte).
    const holder = state.undo.find(
      (u) =>
        u.overwritten !== undefined &&
        offset >= u.offsetBytes &&
        offset < u.offsetBytes + u.overwritten.length,
    );
    if (holder !== undefined) holder.overwritten![offset - holder.offsetBytes] = before ^ mask;
    if (offset < state.current.length && state.current.byteAt(offset) === before) {
      state.current.setByte(offset, before ^ mask);
    }
    return offset;
  }

  /** A power loss: what reaches the platter is drawn from `random` as the module header says. */
  crash(random: Random, model: CrashModel): CrashReport {
    const changes = this.unsyncedDirectory;
    const kept =
      model.directoryChangesMaySurvive && changes.length > 0 ? random.intBetween(0, changes.length) : 0;
    const names = new Map(this.durableNames);
    for (const change of changes.slice(0, kept)) {
      if (change.kind === "create") names.set(change.name, change.file);
      else if (change.kind === "remove") names.delete(change.name);
      else {
        const moved = names.get(change.from);
        names.delete(change.from);
        if (moved !== undefined) names.set(change.to, moved);
      }
    }
    const files: CrashedFile[] = [];
    for (const [name, state] of [...names].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const crashed = crashFile(state, random, model);
      if (crashed.writesKept + crashed.writesLost > 0) files.push({ file: name, ...crashed });
    }
    this.names.clear();
    for (const [name, state] of names) this.names.set(name, state);
    this.durableNames = new Map(names);
    this.unsyncedDirectory = [];
    return { files, directoryChangesLost: changes.slice(kept).map(describeChange) };
  }
}

/** Puts on the platter what of one file's unsynced changes survives a crash; returns what it did. */
function crashFile(state: SimFile, random: Random, model: CrashModel): Omit<CrashedFile, "file"> {
  const changes = state.unsynced;
  let writesKept = 0;
  let writesLost = 0;
  const tornBytes: number[] = [];
  if (changes.length > 0) {
    // The platter's bytes, made from the page cache (which then becomes them, with what survives).
    const durable = undoAll(state.current, state.undo);
    const truncates = changes.filter((c) => c.kind === "truncate").length;
    const truncatesKept = truncates > 0 ? random.intBetween(0, truncates) : 0;
    // Groups of writes between the truncates that reached the platter, each followed by its truncate.
    let group: Extract<UnsyncedChange, { kind: "write" }>[] = [];
    let truncatesSeen = 0;
    const flush = (barrier: UnsyncedChange | undefined): void => {
      for (const write of random.shuffle(group)) {
        const sectors = model.sectorBytes;
        const first = Math.floor(write.offsetBytes / sectors);
        const last = Math.floor((write.offsetBytes + write.data.length - 1) / sectors);
        let data = write.data;
        if (last > first && model.tornWriteProbability > 0 && random.bool(model.tornWriteProbability)) {
          const keptSectors = random.intBetween(1, last - first);
          const keep = model.exactTornBytes ?? (first + keptSectors) * sectors - write.offsetBytes;
          data = data.subarray(0, Math.min(keep, data.length - 1));
          tornBytes.push(data.length);
        }
        durable.write(write.offsetBytes, data);
      }
      group = [];
      if (barrier !== undefined) applyChange(durable, barrier);
    };
    for (const change of changes) {
      if (change.kind === "truncate") {
        truncatesSeen++;
        if (truncatesSeen <= truncatesKept) flush(change);
        continue;
      }
      if (change.data.length > 0 && random.bool(model.writeSurvivalProbability)) {
        group.push(change);
        writesKept++;
      } else if (change.data.length > 0) writesLost++;
    }
    flush(undefined);
  }
  // With no unsynced change the page cache already holds exactly the platter's bytes (every path
  // that changes one without a change of the other keeps them equal: an fsync's failure clones,
  // `corrupt` flips both): it is kept, not cloned (a whole-file copy per file per crash, the
  // segment and the materialised log growing with the run).
  state.unsynced = [];
  state.undo = [];
  return { writesKept, writesLost, tornBytes };
}
