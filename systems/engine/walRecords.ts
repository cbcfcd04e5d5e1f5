/**
 * Log records and their frame on disk: what the write-ahead log holds, and how a log file is read
 * back.
 *
 * The LSN of a record is its byte offset in the log file, so a log shipped verbatim to a replica
 * keeps the same LSNs there. Every record carries `prevLsn` (the record before it in the log) and,
 * for transaction records, `txnPrevLsn` (the same transaction's previous record): the chain undo
 * walks backwards. Frame: `[payloadBytes u32][crc32 u32][payload: JSON]`.
 *
 * A scan stops at the first frame that is not a valid record, and tells a torn tail from rot.
 * Only the one write being fsynced can be unsynced at a crash (flushes are serial), and a crash
 * keeps it whole, not at all, or as a prefix; so a torn tail is a frame that runs past the end of
 * the file, and a header of zeros is space never written: both end the log, and are cut (durably,
 * wal.ts), so they are never misread. A bad frame that fits in the file, a valid frame after a bad
 * one, or a frame whose length field is the only thing wrong (its checksum matches the bytes to the
 * end of the file) is a record corrupted at rest: the log is refused (`WalCorruptionError`)
 * instead of cutting acknowledged records off it.
 */
import type { Disk } from "../../harness/runtime/types.ts";
import type { Key } from "../../harness/history/op.ts";
import { crc32, longLivedBytes, utf8Decoder, utf8Framed } from "./checksum.ts";
import {
  DecodedPrefixes,
  deepFreezeJsonData,
  isCanonicalFlatRecord,
  isCanonicalJsonData,
  sameBytes,
  WeakChecksumIndex,
} from "./decodedMemo.ts";
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
const FRAME_HEADER_BYTES = 8;
/** A payload larger than this is a corrupt length field, not a record. */
const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

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

/** A record's frame, as the log file holds it. */
export function encodeFrame(lsn: number, prevLsn: number, body: WalRecordBody): Uint8Array {
  const out = utf8Framed(JSON.stringify({ lsn, prevLsn, ...body }), FRAME_HEADER_BYTES, 0, longLivedBytes);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, out.length - FRAME_HEADER_BYTES);
  view.setUint32(4, crc32(out, FRAME_HEADER_BYTES));
  return out;
}

/**
 * Flat records decoded from frames, by their payload's checksum, with the payload each came from
 * (decodedMemo.ts): every replica of the log holds the same frames, and each restart scans its
 * whole log again (a storage replica's materialised log from LSN 0), so a frame is decoded about
 * once per process instead of once per copy and per restart. Such a record is frozen, whether it
 * was just decoded or found here, so every scan hands out the same kind of record.
 */
const decodedFrames = new WeakChecksumIndex<WalRecord>(1 << 17);
const payloadOf = new WeakMap<WalRecord, Uint8Array>();

/** The flat record remembered for the payload `bytes[start, end)` (checksum `checksum`), if any. */
function rememberedFrame(
  checksum: number,
  bytes: Uint8Array,
  start: number,
  end: number,
): WalRecord | undefined {
  const record = decodedFrames.get(checksum);
  if (record === undefined) return undefined;
  const payload = payloadOf.get(record);
  if (payload === undefined || payload.length !== end - start) return undefined;
  return sameBytes(bytes, start, payload, 0, payload.length) ? record : undefined;
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
  // A payload that is byte for byte one remembered under this checksum passed it before.
  const remembered = rememberedFrame(checksum, bytes, start, end);
  if (remembered === undefined && crc32(bytes, start, end) !== checksum) return undefined;
  let parsed: { lsn?: unknown; prevLsn?: unknown; kind?: unknown };
  if (remembered !== undefined) parsed = remembered;
  else {
    try {
      parsed = JSON.parse(utf8Decoder.decode(bytes.subarray(start, end))) as typeof parsed;
    } catch {
      return undefined;
    }
  }
  if (parsed.lsn !== offset || typeof parsed.kind !== "string") return undefined;
  if (prevLsn !== undefined && parsed.prevLsn !== prevLsn) return undefined;
  if (typeof parsed.prevLsn !== "number") return undefined;
  if (remembered !== undefined) return remembered;
  // The parsed object itself, its size added: what a copy with `lsn` and `prevLsn` set again (the
  // values checked above) and `sizeBytes` last would hold, in the same order, without copying
  // every field of every record a log scan reads.
  const record = parsed as { sizeBytes?: number };
  record.sizeBytes = end - offset;
  if (isCanonicalFlatRecord(record) || (parsed.kind === "checkpoint" && isCanonicalJsonData(record))) {
    // A checkpoint's tables (arrays of numbers) are frozen with it: nobody changes a record read
    // from a log (recovery and replicas only read them), and frozen it is decoded once, not at
    // every scan of every copy of the log.
    deepFreezeJsonData(record);
    decodedFrames.remember(checksum, record as WalRecord);
    payloadOf.set(record as WalRecord, bytes.slice(start, end));
  }
  return record as WalRecord;
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
 * Log files scanned before, by content (decodedMemo.ts: `DecodedPrefixes`): every copy of a log
 * holds the same frames, and a restarted node scans its whole log again (a storage replica's
 * materialised log from LSN 0; after a crash several restart at once), so a scan decodes only
 * what lies past the longest log it begins with. An item is a frame's record when it is frozen
 * (the one `decodedFrames` hands to every reader anyway), else undefined: decoded again.
 */
const logsRead = new DecodedPrefixes<WalRecord>(8, 32 << 20);

/**
 * Decodes every whole, valid frame from the start; `validEnd` is where the first bad one begins,
 * and `corruptLsn` is set when that bad frame is rot at rest, not a torn tail.
 */
export function scanLog(bytes: Uint8Array): { records: WalRecord[]; validEnd: number; corruptLsn?: number } {
  // The frames read so far, for `logsRead`: where each ends, and its record if it may be shared.
  let ends: number[];
  let items: (WalRecord | undefined)[];
  let records: WalRecord[];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  let prevLsn = NO_LSN;
  const known = logsRead.longestPrefix(bytes);
  if (known === undefined) {
    ends = [];
    items = [];
    records = [];
  } else {
    // The remembered records as they are (copied as arrays, not one by one); the same bytes
    // decode as they did, so a frame remembered as not shareable is decoded again in its place.
    ends = known.ends.slice(0, known.count);
    items = known.items.slice(0, known.count);
    const decoded = items.slice();
    let count = 0;
    for (; count < decoded.length; count++) {
      const record = decoded[count] ?? decodeFrame(bytes, view, offset, prevLsn);
      if (record === undefined) break;
      decoded[count] = record;
      prevLsn = offset;
      offset = ends[count]!;
    }
    ends.length = count;
    items.length = count;
    decoded.length = count;
    records = decoded as WalRecord[];
  }
  const rememberedCount = records.length;
  // Bounded: every iteration consumes at least FRAME_HEADER_BYTES.
  for (;;) {
    const record = decodeFrame(bytes, view, offset, prevLsn);
    if (record === undefined) break;
    records.push(record);
    prevLsn = offset;
    offset += record.sizeBytes;
    ends.push(offset);
    items.push(Object.isFrozen(record) ? record : undefined);
  }
  if (records.length > rememberedCount) logsRead.remember(bytes, ends, items);
  if (offset < bytes.length && corruptAt(bytes, view, offset))
    return { records, validEnd: offset, corruptLsn: offset };
  return { records, validEnd: offset };
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
