/**
 * The write-ahead log: an append-only file of checksummed records, each named by its LSN (the
 * records and their frame: walRecords.ts), held in memory from `retainedFrom` on.
 *
 * Open scans the file, cuts a torn tail durably and refuses a log with a record corrupted at rest
 * (`WalCorruptionError`).
 *
 * Group commit: appends go to an in-memory tail; `flush` writes the whole tail with one write at the
 * fsynced end and one fsync, and callers that arrive while a flush is running wait for it and then share the next
 * one. A record is durable once `fsyncedEnd` (bytes known fsynced) passes its end. A failed write
 * or fsync ends the log's life (durability.ts): every later flush fails, and the owner reopens the
 * database from the disk.
 */
import type { Disk } from "../../harness/runtime/types.ts";
import { joinedTransient } from "./checksum.ts";
import { Durability } from "./durability.ts";
import {
  encodeFrame,
  NO_LSN,
  scanLog,
  WalCorruptionError,
  WalError,
  type WalRecord,
  type WalRecordBody,
} from "./walRecords.ts";

export {
  NO_LSN,
  readLog,
  scanLog,
  truncateLogAbove,
  WalCorruptionError,
  type WalRecord,
  type WalRecordBody,
} from "./walRecords.ts";

/** Bound on waiting rounds in one `flush` call; each round either flushes or waits for a flush. */
const MAX_FLUSH_ROUNDS = 1_000;

/**
 * The frame of each frozen record this process appended, by record: a memo of a pure function
 * (a frozen record's frame never changes), so a replica given the very record a primary appended
 * (the simulated network shares frozen values instead of copying them) installs it without
 * encoding it again. Nothing else is shared: the frame's bytes are only ever copied from.
 */
const frames = new WeakMap<WalRecord, Uint8Array>();

/**
 * Freezes a record whose fields are all primitives (nearly all of them: begin, commit, abort,
 * updates of plain values, clr, vacuum) and says so; one holding an object (a checkpoint's tables,
 * a move's versions, a structured value) is left as it is, since freezing would freeze what it
 * shares with its maker. Frozen records are immutable, so they can be shipped without copies.
 */
function freezeIfFlat(record: WalRecord): boolean {
  for (const key in record) {
    const value = (record as Record<string, unknown>)[key];
    if (typeof value === "object" && value !== null) return false;
  }
  Object.freeze(record);
  return true;
}

export class Wal {
  private all: WalRecord[] = [];
  /** Records below this LSN were dropped from memory (they stay on disk). */
  private retainedFromLsn = 0;
  private forgottenCount = 0;
  private tail: Uint8Array[] = [];
  private tailBytes = 0;
  private flushing: Promise<void> | undefined;
  private listeners: ((record: WalRecord) => void)[] = [];
  /** End offset of the log, unsynced tail included: the LSN the next record gets. */
  private endOffset = 0;
  private fsyncedOffset = 0;
  private lastLsnValue = NO_LSN;
  private failure: string | undefined;
  private failureListener: ((error: unknown) => void) | undefined;
  /** fsyncs issued, for group-commit figures. */
  fsyncCount = 0;

  private constructor(
    private readonly durability: Durability,
    readonly file: string,
  ) {}

  private get disk(): Disk {
    return this.durability.disk;
  }

  /**
   * Opens the log: creates it durably if it is new, cuts (durably) a torn tail, and refuses a log
   * with a record corrupted at rest (`WalCorruptionError`).
   */
  static async open(
    disk: Disk,
    durability = new Durability(disk, new Set()),
    file = "wal",
  ): Promise<{ wal: Wal; cutBytes: number }> {
    const wal = new Wal(durability, file);
    await durability.ensureFiles([file]);
    const bytes = (await disk.read(file)) ?? new Uint8Array(0);
    const { records, validEnd, corruptLsn } = scanLog(bytes);
    if (corruptLsn !== undefined) throw new WalCorruptionError(corruptLsn);
    const cutBytes = bytes.length - validEnd;
    if (cutBytes > 0) {
      await disk.truncate(file, validEnd);
      await durability.fsync(file);
    }
    // The scan's own array becomes the log's (nobody else holds it): no copy record by record.
    wal.all = records;
    wal.lastLsnValue = records.at(-1)?.lsn ?? NO_LSN;
    wal.endOffset = validEnd;
    wal.fsyncedOffset = validEnd;
    return { wal, cutBytes };
  }

  private remember(record: WalRecord): void {
    this.all.push(record);
    this.lastLsnValue = record.lsn;
  }

  /** Appends a record to the volatile tail and returns it with its LSN. Not durable until `flush`. */
  append(body: WalRecordBody): WalRecord {
    const lsn = this.endOffset;
    const bytes = encodeFrame(lsn, this.lastLsnValue, body);
    const record: WalRecord = { ...body, lsn, prevLsn: this.lastLsnValue, sizeBytes: bytes.length };
    if (freezeIfFlat(record)) frames.set(record, bytes);
    this.push(record, bytes);
    return record;
  }

  private push(record: WalRecord, bytes: Uint8Array): void {
    this.tail.push(bytes);
    this.tailBytes += bytes.length;
    this.endOffset += bytes.length;
    this.remember(record);
    for (const listener of this.listeners) listener(record);
  }

  /**
   * Installs a record shipped from a primary, verbatim: it must continue this log exactly (same
   * LSN and back-pointer), which keeps LSNs identical on every copy of the log.
   */
  appendShipped(record: WalRecord): WalRecord {
    if (record.lsn !== this.endOffset || record.prevLsn !== this.lastLsnValue) {
      throw new WalError(
        `shipped record lsn ${record.lsn} (prev ${record.prevLsn}) does not continue the log at ${this.endOffset} (last ${this.lastLsnValue})`,
      );
    }
    // The primary's own frozen record (the simulated network shares frozen values): its frame is
    // known, and the record is what `append` would build from it (same fields, same order).
    const known = frames.get(record);
    if (known !== undefined) {
      this.push(record, known);
      return record;
    }
    const { lsn: _lsn, prevLsn: _prev, sizeBytes: _size, ...body } = record;
    const appended = this.append(body as WalRecordBody);
    if (appended.sizeBytes !== record.sizeBytes) {
      throw new WalError(`shipped record lsn ${record.lsn} re-encodes to a different size`);
    }
    return appended;
  }

  /** Calls `listener` once, with the error, when a write or fsync of the log fails (the log is dead). */
  onFailure(listener: (error: unknown) => void): void {
    this.failureListener = listener;
  }

  /** Calls `listener` with every record appended from now on (for log shipping). Returns an unsubscribe. */
  onAppend(listener: (record: WalRecord) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  get endLsn(): number {
    return this.endOffset;
  }
  /** Bytes of the log known fsynced: every record ending at or before it is durable. */
  get fsyncedEnd(): number {
    return this.fsyncedOffset;
  }
  get lastLsn(): number {
    return this.lastLsnValue;
  }
  /** Records in the log, including those no longer held in memory. */
  get recordCount(): number {
    return this.forgottenCount + this.all.length;
  }
  /** The smallest LSN still held in memory (`recordsFrom` and `get` see nothing below it). */
  get retainedFrom(): number {
    return this.retainedFromLsn;
  }

  /**
   * Drops records below `lsn` from memory; they stay on disk (see `readLog`). Bounds the memory of
   * a long run: the database keeps only what undo of running transactions and shipping need.
   */
  forgetBelow(lsn: number): void {
    if (lsn <= this.retainedFromLsn) return;
    const cut = this.indexFrom(lsn);
    this.all = this.all.slice(cut);
    this.forgottenCount += cut;
    this.retainedFromLsn = this.all[0]?.lsn ?? this.endOffset;
  }

  isDurable(record: WalRecord): boolean {
    return record.lsn + record.sizeBytes <= this.fsyncedOffset;
  }

  get(lsn: number): WalRecord | undefined {
    const record = this.all[this.indexFrom(lsn)];
    return record?.lsn === lsn ? record : undefined;
  }

  /** The index in memory of the first record with `lsn >= fromLsn` (records are in LSN order). */
  private indexFrom(fromLsn: number): number {
    let lo = 0;
    let hi = this.all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.all[mid]!.lsn < fromLsn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Records with `lsn >= fromLsn`, at most `maxCount` of them, in log order, from memory. Asking
   * below `retainedFrom` is an error (read those from disk with `readLog`).
   */
  recordsFrom(fromLsn: number, maxCount = Number.MAX_SAFE_INTEGER): WalRecord[] {
    if (fromLsn < this.retainedFromLsn) {
      throw new WalError(
        `records below lsn ${this.retainedFromLsn} are no longer in memory (asked from ${fromLsn})`,
      );
    }
    const lo = this.indexFrom(fromLsn);
    return this.all.slice(lo, lo + Math.max(0, maxCount));
  }

  /** Makes every record ending at or before `targetEnd` durable; concurrent callers share fsyncs. */
  async flush(targetEnd = this.endOffset): Promise<void> {
    for (let round = 0; round < MAX_FLUSH_ROUNDS; round++) {
      if (this.fsyncedOffset >= targetEnd) return;
      if (this.flushing === undefined) {
        const done = this.flushOnce();
        this.flushing = done;
        try {
          await done;
        } finally {
          if (this.flushing === done) this.flushing = undefined;
        }
      } else {
        await this.flushing;
      }
    }
    if (this.fsyncedOffset < targetEnd) {
      throw new WalError(`flush to ${targetEnd} did not finish in ${MAX_FLUSH_ROUNDS} rounds`);
    }
  }

  private async flushOnce(): Promise<void> {
    // After a failed write or fsync the log's state on disk is unknown: refuse to go on (as
    // PostgreSQL PANICs) rather than acknowledge anything on top of it.
    if (this.failure !== undefined) throw new WalError(`the log failed earlier: ${this.failure}`);
    try {
      await this.writeTail();
    } catch (error) {
      this.failure = String(error);
      this.failureListener?.(error);
      throw error;
    }
  }

  private async writeTail(): Promise<void> {
    const chunks = this.tail;
    const end = this.fsyncedOffset + this.tailBytes;
    this.tail = [];
    this.tailBytes = 0;
    if (chunks.length > 0) {
      // One frame is written as it is (frames are only ever copied from); several are joined in
      // bytes the disk write copies at once.
      const bytes = chunks.length === 1 ? chunks[0]! : joinedTransient(chunks, end - this.fsyncedOffset);
      // At the log's own idea of its end, not the file's: after a failed fsync lost bytes (the
      // file is shorter than the log thinks), the tail lands where its LSNs say, past a hole.
      await this.disk.write(this.file, end - bytes.length, bytes);
    }
    await this.durability.fsync(this.file);
    this.fsyncCount++;
    this.fsyncedOffset = end;
  }
}
