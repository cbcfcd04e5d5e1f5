/**
 * Materialised pages of a quorum storage replica (Aurora's "the log is the database"): in the
 * background, a storage replica applies the records of its log to pages, so the pages, not only
 * the log, live on storage.
 *
 * Built on part 1 whole: the pages are those of a replica-role `Database` on the storage node's
 * own disk (files `wal`, `pages`, `dwb`, beside the storage's `segment`). Each pass hands it the
 * next records of the storage's log with `applyShipped` (appended verbatim to its `wal`, redone
 * onto pages, fsynced); every few passes it writes some dirty pages (WAL rule and double-write
 * slot as in part 1). Unreadable pages at open are dropped and rebuilt from LSN 0. The costs of this reuse: a second copy of the materialised log on disk (the `wal`, beside the
 * segment) and in memory (a replica never checkpoints, so it forgets no record), and a restart
 * that scans that whole copy (analysis from LSN 0) but redoes only records above the flushed
 * pages' `pageLsn`: it resumes from what it had materialised, it does not replay from 0.
 *
 * Safety: the caller (`StorageNode`) offers only records below `safeEnd`: its gap-free end, the
 * end of what it has fsynced, and the durable point a writer of its current epoch told it. A
 * record below a told durable point reached a write quorum, so recovery's read quorum sees it and
 * every later epoch starts above it: it is never truncated. Should a record below the
 * materialised point be dropped anyway (a truncation the protocol promised could not happen, or
 * a restart that finds the log changed under it), the materialisation is cut back to the first
 * record that differs (log cut, pages dropped and rebuilt from the rest of the log) and `cuts`
 * counts it; tests assert it stays 0 on a correct cluster (and that `dp-skips-gap` makes it cut).
 *
 * A pass that finds its database failed on an I/O error reopens it from the disk first.
 *
 * Bounds: at most `maxRecordsPerPass` records per pass, `pagesPerPass` page writes every
 * `flushEveryPasses` passes; a read returns at most `maxKeys` keys.
 */
import type { Key } from "../../../harness/history/op.ts";
import type { Runtime } from "../../../harness/runtime/types.ts";
import { DATABASE_FILES, Database, type IsolationLevel } from "../database.ts";
import type { WalRecord } from "../wal.ts";

/** What the materialiser may see of the storage replica's log. */
export interface MaterialiseSource {
  /** The record the storage holds at `lsn` (of its newest epoch there), if any. */
  record(lsn: number): WalRecord | undefined;
  /**
   * Records ending at or below this LSN are safe to apply (durable here, never truncated) and
   * form a gap-free chain from LSN 0. It may fall below what was applied (after a restart).
   */
  safeEnd(): number;
}

export interface StoragePagesOptions {
  readonly isolation: IsolationLevel;
  /** Records applied per pass at most. Default 2000. */
  readonly maxRecordsPerPass?: number;
  /** Dirty pages written per page-writing pass at most. Default 16. */
  readonly pagesPerPass?: number;
  /**
   * Pages are written every this many passes (default 4: a pass comes every 200 ms, so a hot page
   * is written at most once in 800 ms, and the 16 page writes, each two writes and two fsyncs, do
   * not hold the disk's queue from the segment appends every 200 ms); restart redo is bounded by
   * what these passes applied.
   */
  readonly flushEveryPasses?: number;
}

/** The materialised state as a reader sees it: every key's committed value at `lsn`. */
export interface MaterialisedState {
  /** The end of the last record applied: the state holds exactly the log below it. */
  readonly lsn: number;
  /** `[key, value]` of every key with a committed value, in the order keys first appeared. */
  readonly entries: readonly (readonly [Key, unknown])[];
  /** False when more than `maxKeys` keys exist (then `entries` holds the first `maxKeys`). */
  readonly complete: boolean;
}

export interface StoragePagesStats {
  readonly materialisedLsn: number;
  /** Records applied since this node (re)started. */
  readonly recordsApplied: number;
  /** Times the materialisation was cut back because records below it were dropped. */
  readonly cuts: number;
  /** Log end found at open: where the materialisation resumed after a restart. */
  readonly resumedFromLsn: number;
  /** Records the open had to redo onto pages (those above the flushed pages). */
  readonly recordsRedoneAtOpen: number;
  readonly pagesWritten: number;
  /** The last error a pass hit (the pass is retried); undefined when none. */
  readonly lastError: string | undefined;
}

const defaultMaxRecordsPerPass = 2000;
const defaultPagesPerPass = 16;
const defaultFlushEveryPasses = 4;

/**
 * Whether two copies of a record at the same LSN are the same record. A new writer resends old
 * records under its own epoch; only a different record at an LSN is a truncation. Its definition:
 * the same position and size, and the same JSON for the rest of the record (`lsn`, `prevLsn` and
 * `sizeBytes` left out, wherever they sit).
 */
export function sameRecord(a: WalRecord, b: WalRecord): boolean {
  // A pair found the same before: both were frozen then, and still are (see `knownSame`).
  if (a === b || knownSame.get(a) === b) return true;
  if (a.lsn !== b.lsn || a.prevLsn !== b.prevLsn || a.sizeBytes !== b.sizeBytes) return false;
  const remembered = Object.isFrozen(a) && Object.isFrozen(b);
  const body = (r: WalRecord): string => {
    const { lsn: _l, prevLsn: _p, sizeBytes: _s, ...rest } = r;
    return JSON.stringify(rest);
  };
  if (!sameRecordFields(a, b) && body(a) !== body(b)) return false;
  if (remembered && isFlat(a) && isFlat(b)) knownSame.set(a, b);
  return true;
}

/**
 * Pairs of flat frozen records `sameRecord` found the same, by the first of them: a restarted
 * storage replica compares every record it materialised with its segment's (`firstDivergence`),
 * and both come from process-wide memos of decoded records (the writer's own frozen records, and
 * the frames decoded before: ../decodedMemo.ts), so each restart met the same pairs again and
 * compared them field by field. Such records never change, so neither does the answer.
 */
const knownSame = new WeakMap<WalRecord, WalRecord>();

/** Whether every field of `record` is a primitive (so frozen, it is immutable all through). */
function isFlat(record: WalRecord): boolean {
  for (const key in record) {
    const value = (record as unknown as Record<string, unknown>)[key];
    if (typeof value === "object" && value !== null) return false;
  }
  return true;
}

/** Fields every record has, compared apart (and left out of the JSON `sameRecord` compares). */
const positionFields = new Set(["lsn", "prevLsn", "sizeBytes"]);
/** Nesting past which `sameJsonData` leaves the answer to JSON. */
const maxSameDepth = 32;

/**
 * True when the records' other fields (every own enumerable one but the position fields) come in
 * the same order with data `sameJsonData` finds the same: then their JSON is the same, and
 * `sameRecord` need not build it. A restarted storage replica compares every record it
 * materialised (read back from its pages' log, position fields first) with its segment's (from
 * the writer, position fields last), so the fields are matched in order skipping those. False
 * says nothing: the JSON comparison decides.
 */
function sameRecordFields(a: WalRecord, b: WalRecord): boolean {
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  let j = 0;
  for (const key of keysA) {
    if (positionFields.has(key)) continue;
    // A record's own toJSON would write its JSON: the comparison of JSON decides.
    if (key === "toJSON") return false;
    while (j < keysB.length && positionFields.has(keysB[j]!)) j++;
    if (j === keysB.length || keysB[j] !== key) return false;
    j++;
    const value = (a as unknown as Record<string, unknown>)[key];
    if (!sameJsonData(value, (b as unknown as Record<string, unknown>)[key], 0)) return false;
  }
  while (j < keysB.length && positionFields.has(keysB[j]!)) j++;
  return j === keysB.length;
}

/**
 * True when `a` and `b` certainly have the same JSON: the very same value (a bigint excepted: JSON
 * must throw on it), or plain data alike all through (arrays of Array.prototype of the same length,
 * objects of Object.prototype with the same own keys in the same order, neither with a `toJSON`;
 * primitives equal by `===`, which holds 0 and -0 alike as JSON writes both `0`). False says
 * nothing (NaN, undefined against null, boxed numbers, dates, deep nesting): the caller compares
 * JSON.
 */
function sameJsonData(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return typeof a !== "bigint";
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (depth >= maxSameDepth) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    if (Object.getPrototypeOf(a) !== Array.prototype || Object.getPrototypeOf(b) !== Array.prototype)
      return false;
    if ("toJSON" in a || "toJSON" in b) return false;
    for (let i = 0; i < a.length; i++) if (!sameJsonData(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype)
    return false;
  if ("toJSON" in a || "toJSON" in b) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  for (let i = 0; i < keysA.length; i++) {
    const key = keysA[i]!;
    if (key !== keysB[i]) return false;
    const valueA = (a as Record<string, unknown>)[key];
    const valueB = (b as Record<string, unknown>)[key];
    if (!sameJsonData(valueA, valueB, depth + 1)) return false;
  }
  return true;
}

export class StoragePages {
  private db: Database;
  private recordsApplied = 0;
  private cuts = 0;
  private resumedFromLsn: number;
  private recordsRedoneAtOpen: number;
  private lastError: string | undefined;
  /** The smallest LSN at which a record below the materialised point was dropped, if any. */
  private cutRequestLsn: number | undefined;
  private pagesWrittenBefore = 0;
  private passes = 0;

  private constructor(
    private readonly rt: Runtime,
    private readonly options: StoragePagesOptions,
    db: Database,
  ) {
    this.db = db;
    this.resumedFromLsn = db.wal.endLsn;
    this.recordsRedoneAtOpen = db.recovery?.recordsRedone ?? 0;
  }

  /**
   * Opens (recovers) the pages on `rt`'s disk and cuts them back to the first record that
   * `source` no longer holds identically (after a restart the storage's log may have been
   * truncated since the pages were written).
   */
  static async open(
    rt: Runtime,
    options: StoragePagesOptions,
    source: MaterialiseSource,
  ): Promise<StoragePages> {
    let db: Database;
    let openError: string | undefined;
    try {
      db = await StoragePages.openDatabase(rt, options);
    } catch (error) {
      // Pages that cannot be recovered must not take the replica's log down with them: start
      // over from an empty database (counted as a cut to 0, the error kept in `lastError`).
      openError = `pages could not be opened, rebuilt from LSN 0: ${String(error)}`;
      await Database.removeFiles(rt.disk);
      db = await StoragePages.openDatabase(rt, options);
    }
    const pages = new StoragePages(rt, options, db);
    if (openError !== undefined) {
      pages.cuts++;
      pages.lastError = openError;
    }
    const divergence = pages.firstDivergence(source);
    if (divergence !== undefined) await pages.cutAt(divergence);
    return pages;
  }

  private static openDatabase(rt: Runtime, options: StoragePagesOptions): Promise<Database> {
    // No bug knobs: materialised pages are in no bug's story, and `dirty-read` would change reads.
    // No background task: `pass` flushes pages itself, one loop per node.
    return Database.open(rt, { isolation: options.isolation, role: "replica", background: false });
  }

  get materialisedLsn(): number {
    return this.db.wal.endLsn;
  }

  /** Records that a record at `lsn` was dropped from the storage's log; the next pass cuts if needed. */
  dropped(lsn: number): void {
    if (lsn >= this.db.wal.endLsn) return;
    this.cutRequestLsn = Math.min(this.cutRequestLsn ?? lsn, lsn);
  }

  /**
   * One bounded step: cut back if records below the materialised point were dropped, apply the
   * next records of the gap-free chain that end at or below `source.safeEnd()`, write some dirty
   * pages. Returns the number of records applied. Errors are kept in `lastError` (and the next
   * pass tries again): a storage replica's log must outlive a failure of its pages.
   */
  async pass(source: MaterialiseSource): Promise<number> {
    try {
      if (this.db.failure !== undefined) {
        // An I/O error ended the pages' database: reopen it from what the disk holds.
        this.pagesWrittenBefore += this.db.pool.pagesWritten;
        this.db = await StoragePages.openDatabase(this.rt, this.options);
        const divergence = this.firstDivergence(source);
        if (divergence !== undefined) this.cutRequestLsn = divergence;
      }
      if (this.cutRequestLsn !== undefined) {
        // Cleared only once the cut is done: a failed cut is tried again on the next pass.
        await this.cutAt(this.cutRequestLsn);
        this.cutRequestLsn = undefined;
      }
      const db = this.db;
      const maxRecords = this.options.maxRecordsPerPass ?? defaultMaxRecordsPerPass;
      const limit = source.safeEnd();
      const batch: WalRecord[] = [];
      let at = db.wal.endLsn;
      let prev = db.wal.lastLsn;
      while (batch.length < maxRecords && at < limit) {
        const r = source.record(at);
        if (r === undefined || r.prevLsn !== prev) {
          // Below the safe end the source's chain is gap-free from 0, so it must continue what was
          // applied: it does not, so a record below was replaced. Cut back to the first difference.
          const divergence = this.firstDivergence(source);
          if (divergence === undefined) throw new Error(`the log below ${limit} has no record at ${at}`);
          this.cutRequestLsn = divergence;
          break;
        }
        if (r.lsn + r.sizeBytes > limit) break;
        batch.push(r);
        prev = at;
        at = r.lsn + r.sizeBytes;
      }
      if (batch.length > 0) {
        await db.applyShipped(batch);
        this.recordsApplied += batch.length;
      }
      if (++this.passes % (this.options.flushEveryPasses ?? defaultFlushEveryPasses) === 0)
        await db.flushDirtyPages(this.options.pagesPerPass ?? defaultPagesPerPass);
      this.lastError = undefined;
      return batch.length;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      return 0;
    }
  }

  /** The first LSN where the applied log and `source` disagree, or undefined when they agree. */
  private firstDivergence(source: MaterialiseSource): number | undefined {
    for (const applied of this.db.wal.recordsFrom(0)) {
      const held = source.record(applied.lsn);
      if (held === undefined || !sameRecord(held, applied)) return applied.lsn;
    }
    return undefined;
  }

  /** Drops everything applied at or above `lsn`: the log is cut there and pages are rebuilt. */
  private async cutAt(lsn: number): Promise<void> {
    this.cuts++;
    this.pagesWrittenBefore += this.db.pool.pagesWritten;
    await this.db.close();
    // Keeps the records with an LSN at or below lsn - 1, i.e. every record that starts before lsn.
    await Database.truncateAbove(this.rt.disk, lsn - 1);
    this.db = await StoragePages.openDatabase(this.rt, this.options);
  }

  /** Every key's committed value at the materialised point (at most `maxKeys` keys). */
  read(maxKeys: number): MaterialisedState {
    const all = this.db.dump();
    const entries: [Key, unknown][] = [];
    for (const [key, value] of all) {
      if (entries.length >= maxKeys) break;
      entries.push([key, value]);
    }
    return { lsn: this.db.wal.endLsn, entries, complete: entries.length === all.size };
  }

  stats(): StoragePagesStats {
    return {
      materialisedLsn: this.db.wal.endLsn,
      recordsApplied: this.recordsApplied,
      cuts: this.cuts,
      resumedFromLsn: this.resumedFromLsn,
      recordsRedoneAtOpen: this.recordsRedoneAtOpen,
      pagesWritten: this.pagesWrittenBefore + this.db.pool.pagesWritten,
      lastError: this.lastError,
    };
  }

  /** Bytes of the files this module keeps on disk. */
  async diskBytes(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const file of DATABASE_FILES) {
      const size = await this.rt.disk.size(file);
      if (size !== undefined) out[file] = size;
    }
    return out;
  }
}
