/**
 * The write-ahead log: an append-only file of checksummed records, each named by its LSN.
 *
 * The LSN of a record is its byte offset in the log file, so a log shipped verbatim to a replica
 * keeps the same LSNs there. Every record carries `prevLsn` (the record before it in the log) and,
 * for transaction records, `txnPrevLsn` (the same transaction's previous record): the chain undo
 * walks backwards. Frame: `[payloadBytes u32][crc32 u32][payload: JSON]`.
 *
 * On open the scan stops at the first frame that is not a valid record, and tells a torn tail from
 * rot. Only the one write being fsynced can be unsynced at a crash (flushes are serial), and a
 * crash keeps it whole, not at all, or as a prefix; so a torn tail is a frame that runs past the end
 * of the file, and a header of zeros is space never written: both end the log, and are cut
 * (durably), so they are never misread. A bad frame that fits in the file, a valid frame after a bad
 * one, or a frame whose length field is the only thing wrong (its checksum matches the bytes to the
 * end of the file) is a record corrupted at rest: open refuses the log (`WalCorruptionError`)
 * instead of cutting acknowledged records off it.
 *
 * Group commit: appends go to an in-memory tail; `flush` writes the whole tail with one write at the
 * fsynced end and one fsync, and callers that arrive while a flush is running wait for it and then share the next
 * one. A record is durable once `fsyncedEnd` (bytes known fsynced) passes its end. A failed write
 * or fsync ends the log's life (durability.ts): every later flush fails, and the owner reopens the
 * database from the disk.
 */
import type { Disk } from "../../harness/runtime/types.ts";
import type { Key } from "../../harness/history/op.ts";
import { crc32, utf8Decoder, utf8Encoder } from "./checksum.ts";
import { Durability } from "./durability.ts";

/** Transaction records: the chain undo walks. */
export type TxnRecordBody =
  | { readonly kind: "begin"; readonly xid: number; readonly txnPrevLsn: number }
  /** Pushes a new version of `key` created by `xid`, marking the previous newest version replaced by `xid`. */
  | {
      readonly kind: "update";
      readonly xid: number;
      readonly txnPrevLsn: number;
      readonly pageId: number;
      readonly key: Key;
      /** The new value; with `append`, the element appended to the newest version's list. */
      readonly value: unknown;
      readonly append?: true;
    }
  /** Compensation: undoes an update (pops `xid`'s newest version of `key`); redo-only, never undone. */
  | {
      readonly kind: "clr";
      readonly xid: number;
      readonly txnPrevLsn: number;
      readonly undoNextLsn: number;
      readonly pageId: number;
      readonly key: Key;
    }
  | { readonly kind: "commit"; readonly xid: number; readonly txnPrevLsn: number }
  /** Written after a rollback finished: the transaction has no effect left on any page. */
  | { readonly kind: "abort"; readonly xid: number; readonly txnPrevLsn: number };

export type WalRecordBody =
  | TxnRecordBody
  /**
   * Fuzzy checkpoint: the transaction and dirty page tables as of this record, and the primary's
   * running transactions for its replicas (PostgreSQL's running-xacts record; replica.ts).
   */
  | {
      readonly kind: "checkpoint";
      /** The id the next transaction gets: every id below it has begun. */
      readonly nextXid: number;
      /** Ids that have begun and not logged their commit or abort yet, whether they logged or not. */
      readonly running: readonly number[];
      /** [xid, lastLsn, undoNextLsn] of every transaction that has logged and not ended. */
      readonly active: readonly (readonly [number, number, number])[];
      /** [pageId, recLsn] of every dirty page. */
      readonly dirty: readonly (readonly [number, number])[];
    }
  /**
   * Structural and redo-only: moves `key`'s whole version chain from a full page to `pageId`
   * (one record for both pages, so a crash never leaves the key on two pages or none).
   */
  | {
      readonly kind: "move";
      readonly fromPageId: number;
      readonly pageId: number;
      readonly key: Key;
      readonly versions: readonly (readonly [number, number, unknown])[];
    }
  /** Physical and redo-only: removes the `removeCount` oldest versions of `key` (they are dead). */
  | { readonly kind: "vacuum"; readonly pageId: number; readonly key: Key; readonly removeCount: number };

export type WalRecord = WalRecordBody & {
  readonly lsn: number;
  /** LSN of the record just before this one in the log, -1 for the first. */
  readonly prevLsn: number;
  /** Encoded size including the frame header. */
  readonly sizeBytes: number;
};

export const NO_LSN = -1;

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
const FRAME_HEADER_BYTES = 8;
/** A payload larger than this is a corrupt length field, not a record. */
const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
/** Bound on waiting rounds in one `flush` call; each round either flushes or waits for a flush. */
const MAX_FLUSH_ROUNDS = 1_000;

export class WalError extends Error {
  override name = "WalError";
}

/** A record of the log is corrupt at rest (not a torn tail): the log cannot be trusted past it. */
export class WalCorruptionError extends WalError {
  override name = "WalCorruptionError";
  constructor(readonly lsn: number) {
    super(`log record at lsn ${lsn} is corrupt (checksum mismatch at rest, not a torn tail)`);
  }
}

function encodePayload(lsn: number, prevLsn: number, body: WalRecordBody): Uint8Array {
  return utf8Encoder.encode(JSON.stringify({ lsn, prevLsn, ...body }));
}

function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, crc32(payload));
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** The record a valid frame at `offset` holds (following `prevLsn`), or undefined. */
function decodeFrame(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  prevLsn: number | undefined,
): WalRecord | undefined {
  if (offset + FRAME_HEADER_BYTES > bytes.length) return undefined;
  const payloadBytes = view.getUint32(offset);
  const checksum = view.getUint32(offset + 4);
  const start = offset + FRAME_HEADER_BYTES;
  const end = start + payloadBytes;
  if (payloadBytes === 0 || payloadBytes > MAX_PAYLOAD_BYTES || end > bytes.length) return undefined;
  if (crc32(bytes, start, end) !== checksum) return undefined;
  let parsed: { lsn?: unknown; prevLsn?: unknown; kind?: unknown };
  try {
    parsed = JSON.parse(utf8Decoder.decode(bytes.subarray(start, end))) as typeof parsed;
  } catch {
    return undefined;
  }
  if (parsed.lsn !== offset || typeof parsed.kind !== "string") return undefined;
  if (prevLsn !== undefined && parsed.prevLsn !== prevLsn) return undefined;
  if (typeof parsed.prevLsn !== "number") return undefined;
  return { ...(parsed as WalRecordBody), lsn: offset, prevLsn: parsed.prevLsn, sizeBytes: end - offset };
}

/**
 * Whether the bad frame at `offset` is rot at rest rather than a torn tail (see the header): it
 * fits in the file, its checksum matches the bytes to the end of the file (only its length field
 * is wrong), or a valid record starts somewhere after it.
 */
function corruptAt(bytes: Uint8Array, view: DataView, offset: number): boolean {
  if (offset + FRAME_HEADER_BYTES > bytes.length) return false;
  // A header of zeros is where the log ends (never-written space), as PostgreSQL reads it.
  if (view.getUint32(offset) === 0 && view.getUint32(offset + 4) === 0) return false;
  const payloadBytes = view.getUint32(offset);
  const start = offset + FRAME_HEADER_BYTES;
  if (payloadBytes > 0 && start + payloadBytes <= bytes.length) return true;
  if (bytes.length > start && crc32(bytes, start, bytes.length) === view.getUint32(offset + 4)) return true;
  // A valid record later in the file: its payload starts with its own offset as `{"lsn":N,`.
  const open = 0x7b; // "{"
  for (let at = offset + 1; at + FRAME_HEADER_BYTES < bytes.length; at++) {
    if (bytes[at + FRAME_HEADER_BYTES] !== open) continue;
    if (decodeFrame(bytes, view, at, undefined) !== undefined) return true;
  }
  return false;
}

/**
 * Decodes every whole, valid frame from the start; `validEnd` is where the first bad one begins,
 * and `corruptLsn` is set when that bad frame is rot at rest, not a torn tail.
 */
export function scanLog(bytes: Uint8Array): { records: WalRecord[]; validEnd: number; corruptLsn?: number } {
  const records: WalRecord[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  let prevLsn = NO_LSN;
  // Bounded: every iteration consumes at least FRAME_HEADER_BYTES.
  for (;;) {
    const record = decodeFrame(bytes, view, offset, prevLsn);
    if (record === undefined) break;
    records.push(record);
    prevLsn = offset;
    offset += record.sizeBytes;
  }
  if (offset < bytes.length && corruptAt(bytes, view, offset))
    return { records, validEnd: offset, corruptLsn: offset };
  return { records, validEnd: offset };
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
    for (const r of records) wal.remember(r);
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
    const bytes = frame(encodePayload(lsn, this.lastLsnValue, body));
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
    let cut = 0;
    while (cut < this.all.length && this.all[cut]!.lsn < lsn) cut++;
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
      const bytes = new Uint8Array(end - this.fsyncedOffset);
      let at = 0;
      for (const c of chunks) {
        bytes.set(c, at);
        at += c.length;
      }
      // At the log's own idea of its end, not the file's: after a failed fsync lost bytes (the
      // file is shorter than the log thinks), the tail lands where its LSNs say, past a hole.
      await this.disk.write(this.file, end - bytes.length, bytes);
    }
    await this.durability.fsync(this.file);
    this.fsyncCount++;
    this.fsyncedOffset = end;
  }
}

/** Every whole record of the log file on `disk` (durable or not yet), read from disk. */
export async function readLog(disk: Disk, file = "wal"): Promise<WalRecord[]> {
  const { records, corruptLsn } = scanLog((await disk.read(file)) ?? new Uint8Array(0));
  if (corruptLsn !== undefined) throw new WalCorruptionError(corruptLsn);
  return records;
}

/**
 * Cuts a log on disk just after the record at `lsn` (everything above it goes), durably. For a
 * node that must drop records past a durable point; reopen the database afterwards. A log with a
 * corrupt record at or below the cut is refused.
 */
export async function truncateLogAbove(
  disk: Disk,
  lsn: number,
  durability = new Durability(disk, new Set()),
  file = "wal",
): Promise<void> {
  const bytes = (await disk.read(file)) ?? new Uint8Array(0);
  const { records, corruptLsn } = scanLog(bytes);
  let end = 0;
  for (const r of records) {
    if (r.lsn > lsn) break;
    end = r.lsn + r.sizeBytes;
  }
  if (corruptLsn !== undefined && corruptLsn <= lsn) throw new WalCorruptionError(corruptLsn);
  await disk.truncate(file, end);
  await durability.fsync(file);
}
