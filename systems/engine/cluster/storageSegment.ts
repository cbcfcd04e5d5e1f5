/**
 * A storage replica's segment: the writer's redo records it holds, each tagged with the epoch of
 * the writer that sent it, in memory by LSN and on disk in an append-only file of checksummed
 * lines, fsynced before the replica acknowledges them.
 *
 * It follows the back-pointers from LSN 0 to know its log end (the end of the gap-free chain) and
 * keeps its fsynced end (the log end as of the last completed fsync). A record replaces one at the
 * same LSN only under a newer epoch, and never where the timeline says a later epoch superseded
 * it; learning such a timeline drops every superseded record (the truncation recovery decided),
 * after which the file is rewritten (to a temporary file, fsynced, renamed into place).
 *
 * A line that fails its checksum (torn, or rotted at rest) is dropped at load: the replica's peers
 * fill the gap by gossip (storageNode.ts).
 */
import type { Runtime } from "../../../harness/runtime/types.ts";
import { crc32, joinedTransient, longLivedBytes, utf8Framed } from "../checksum.ts";
import {
  DecodedPrefixes,
  deepFreezeJsonData,
  isCanonicalFlatRecord,
  isCanonicalJsonData,
  sameBytes,
  WeakChecksumIndex,
} from "../decodedMemo.ts";
import type { Durability } from "../durability.ts";
import type { WalRecord } from "../wal.ts";
import { sameRecord } from "./storagePages.ts";
import { cutPoint, superseded, type EpochStart, type History } from "./timeline.ts";

/** A record with the epoch of the writer that sent it. */
export interface Stored {
  readonly epoch: number;
  readonly record: WalRecord;
}

export const segmentFile = "segment";
const hexDigits = "0123456789abcdef";
/** Lenient (a torn line decodes, then fails its checksum); a BOM is data, as it is past a file's start. */
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** One segment line: `<crc32 of the JSON, 8 hex digits> <JSON of the stored record>\n`, as UTF-8 bytes. */
function segmentLine(stored: Stored): Uint8Array {
  const plain = isPlainStored(stored);
  const memo = plain ? lineMemo.get(stored.record) : undefined;
  if (memo !== undefined && memo.epoch === stored.epoch) return memo.line;
  const line = utf8Framed(JSON.stringify(stored), 9, 1, longLivedBytes);
  const checksum = crc32(line, 9, line.length - 1);
  for (let i = 0; i < 8; i++) line[i] = hexDigits.charCodeAt((checksum >>> (28 - 4 * i)) & 0xf);
  line[8] = 0x20;
  line[line.length - 1] = 0x0a;
  if (plain && Object.isFrozen(stored.record)) {
    lineMemo.set(stored.record, { epoch: stored.epoch, line });
    if (Number.isSafeInteger(stored.epoch) && isCanonicalFlatRecord(stored.record))
      linesRead.remember(checksum, stored.record);
  }
  return line;
}

/** Whether `stored`'s own enumerable keys are exactly `epoch`, `record` (so its JSON is the memo's). */
function isPlainStored(stored: Stored): boolean {
  let count = 0;
  for (const key in stored) {
    if (key !== (count === 0 ? "epoch" : count === 1 ? "record" : undefined)) return false;
    count++;
  }
  return count === 2;
}

/**
 * Segment lines, one after another, as one byte array, only ever copied from (a single line is
 * its remembered bytes; several are joined in `transientBytes`: a disk write copies them at once).
 */
export function segmentLines(stored: Iterable<Stored>): Uint8Array {
  const lines: Uint8Array[] = [];
  let bytes = 0;
  for (const s of stored) {
    const line = segmentLine(s);
    lines.push(line);
    bytes += line.length;
  }
  return lines.length === 1 ? lines[0]! : joinedTransient(lines, bytes);
}

/**
 * The segment line of `{ epoch, record }` for a frozen record, by record, with the epoch it was
 * made for: a memo of `segmentLine` (a frozen record never changes, so neither does its line
 * under one epoch). Every storage replica is shipped the writer's own frozen record (the simulated
 * network shares frozen values) and writes the same line for it: one of them encodes it. Its
 * bytes are only ever copied from.
 */
const lineMemo = new WeakMap<WalRecord, { readonly epoch: number; readonly line: Uint8Array }>();

/**
 * The frozen records of `lineMemo` that equal their JSON round trip, by the checksum of their line
 * (decodedMemo.ts): a restarted replica reads back thousands of lines it wrote, and one whose bytes
 * are a remembered line's is that record under the line's epoch, with no decoding or parsing.
 */
const linesRead = new WeakChecksumIndex<WalRecord>(1 << 17);

/**
 * The stored record of the segment line `bytes[start, end)` (its newline excluded) when that line
 * is byte for byte a remembered one: found by the checksum its first 8 bytes claim, and valid
 * without computing the checksum, since the remembered line's is right.
 */
function rememberedLine(bytes: Uint8Array, start: number, end: number): Stored | undefined {
  let claimed = 0;
  for (let i = 0; i < 8; i++) {
    const c = bytes[start + i]!;
    // Lower-case hex, as `segmentLine` writes it.
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (digit < 0) return undefined;
    claimed = claimed * 16 + digit;
  }
  const record = linesRead.get(claimed);
  const memo = record === undefined ? undefined : lineMemo.get(record);
  if (memo === undefined || memo.line.length - 1 !== end - start) return undefined;
  return sameBytes(bytes, start, memo.line, 0, end - start)
    ? { epoch: memo.epoch, record: record! }
    : undefined;
}

/**
 * The record of the segment line `bytes[start, end)` (its newline excluded), or undefined when it
 * is torn or fails its checksum. Read from the bytes as they lie: a line that is not valid UTF-8
 * was torn or rotted, and fails its checksum either way.
 */
function parseSegmentLine(bytes: Uint8Array, start: number, end: number): Stored | undefined {
  if (end - start < 9 || bytes[start + 8] !== 0x20) return undefined;
  const remembered = rememberedLine(bytes, start, end);
  if (remembered !== undefined) return remembered;
  const crc = crc32(bytes, start + 9, end);
  for (let i = 0; i < 8; i++) {
    if (bytes[start + i] !== hexDigits.charCodeAt((crc >>> (28 - 4 * i)) & 0xf)) return undefined;
  }
  try {
    return JSON.parse(decoder.decode(bytes.subarray(start + 9, end))) as Stored;
  } catch {
    return undefined;
  }
}

/**
 * Segment files read before, by content (decodedMemo.ts: `DecodedPrefixes`): a restarted replica's
 * segment begins with what it read at its last restart, or with what a peer holding the same lines
 * read (after a crash several replicas restart at once). An item is a line's stored record, frozen
 * with its record, so every reader is handed the same one: a record remembered by `linesRead`, or
 * one parsed from the line that equals its JSON round trip and is flat or a checkpoint (frozen as
 * it is parsed, a checkpoint's tables too: nobody changes a stored record, and a checkpoint's are
 * only read). Other lines' items are undefined: decoded again. Only lines up to the first bad one
 * are remembered.
 */
const segmentsRead = new DecodedPrefixes<Stored>(8, 32 << 20);

/**
 * The stored record of a good line, frozen when it may be handed to every reader (see
 * `segmentsRead`), else as parsed.
 */
function shareableStored(s: Stored): Stored | undefined {
  // `s` is the line's own (remembered records come in a new `{ epoch, record }`, parsed ones are
  // fresh): freezing it takes it from nobody.
  if (Object.isFrozen(s.record)) return Object.freeze(s);
  if (!isPlainStored(s) || typeof s.epoch !== "number" || !Number.isFinite(s.epoch) || Object.is(s.epoch, -0))
    return undefined;
  const record = s.record as unknown as object;
  // Flat records, and checkpoints (arrays of numbers only recovery reads); not a record holding a
  // structured value, which the pages built from it keep as a version's value.
  if (isCanonicalFlatRecord(record)) Object.freeze(record);
  else if ((record as { kind?: unknown }).kind === "checkpoint" && isCanonicalJsonData(record))
    deepFreezeJsonData(record);
  else return undefined;
  return Object.freeze(s);
}

/**
 * The stored records of a run of lines `segmentsRead` remembers, the first `count` of them: each
 * the very object `parseSegment` hands out for its line (an item of the run, not a new parse).
 */
export interface RememberedLines {
  readonly items: readonly (Stored | undefined)[];
  readonly count: number;
}

/** What `parseSegment` read, and which remembered runs of lines it came from. */
export interface ParsedSegment {
  /** The records of the good lines, in file order. */
  readonly stored: Stored[];
  /** Lines that failed their checksum. */
  readonly bad: number;
  /** The remembered run `stored` begins with (its first `count` items), when every one was handed out as is. */
  readonly begins: RememberedLines | undefined;
  /** The run remembered for this file (`stored` begins with all of its items), when every item is one. */
  readonly remembered: RememberedLines | undefined;
}

/** Whether every one of the first `count` items is defined (handed out as is). */
function allDefined(items: readonly (Stored | undefined)[], count: number): boolean {
  for (let i = 0; i < count; i++) if (items[i] === undefined) return false;
  return true;
}

/** The records of a segment file's lines, in file order, and how many lines failed their checksum. */
export function parseSegment(bytes: Uint8Array): ParsedSegment {
  // The lines read whole and good so far, for `segmentsRead`: where each ends, what it held.
  let ends: number[];
  let items: (Stored | undefined)[];
  let stored: Stored[];
  let allGood = true;
  let bad = 0;
  // As a text decoder reads a file: a byte order mark at its very start is not content.
  let start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const known = segmentsRead.longestPrefix(bytes);
  if (known === undefined) {
    ends = [];
    items = [];
    stored = [];
  } else {
    // The remembered lines' stored records as they are (copied as arrays, not one by one).
    ends = known.ends.slice(0, known.count);
    items = known.items.slice(0, known.count);
    const firstUndecoded = items.indexOf(undefined);
    if (firstUndecoded < 0) stored = items.slice() as Stored[];
    else {
      stored = items.slice(0, firstUndecoded) as Stored[];
      for (let i = firstUndecoded; i < items.length; i++) {
        const item = items[i];
        // A remembered run holds good lines only, so decoding one again finds it good.
        if (item === undefined) bad += parseLines(bytes, i === 0 ? start : ends[i - 1]!, ends[i]!, stored);
        else stored.push(item);
      }
    }
    if (ends.length > 0) start = ends.at(-1)!;
  }
  const rememberedCount = ends.length;
  const begins =
    known !== undefined && allDefined(known.items, known.count)
      ? { items: known.items, count: known.count }
      : undefined;
  while (start < bytes.length) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline < 0 ? bytes.length : newline;
    if (end > start) {
      const parsed = parseSegmentLine(bytes, start, end);
      if (parsed === undefined) {
        bad++;
        allGood = false;
      } else {
        const shared = allGood && newline >= 0 ? shareableStored(parsed) : undefined;
        stored.push(shared ?? parsed);
        if (allGood && newline >= 0) {
          ends.push(newline + 1);
          items.push(shared);
        }
      }
    }
    start = end + 1;
  }
  let remembered: RememberedLines | undefined;
  if (ends.length > rememberedCount) {
    segmentsRead.remember(bytes, ends, items);
    if (allDefined(items, items.length)) remembered = { items, count: items.length };
  }
  return { stored, bad, begins, remembered };
}

/**
 * What keeping the stored records of a remembered run of lines left in an empty segment (see
 * `keptStates`): its records (as two arrays, which cost a fraction of a map's copy to make and to
 * hold), log end, highest end, the strict walk's state, and the LSNs it reported dropped, in order.
 */
interface KeptState {
  readonly count: number;
  /** The timeline they were kept under (a copy): which of them it supersedes is all it decides. */
  readonly history: readonly EpochStart[];
  /** The highest LSN among them (kept or not). */
  readonly maxLsn: number;
  /** The records held, in the map's order: their LSNs, and the stored records at the same index. */
  readonly lsns: readonly number[];
  readonly stored: readonly Stored[];
  readonly endLsn: number;
  readonly heldEnd: number;
  readonly strict: { readonly end: number; readonly lastLsn: number; readonly valid: boolean };
  readonly dropped: readonly number[];
}

/**
 * Per remembered run of lines (by its items array, held weakly with the run), the state keeping
 * all of its records left in an empty segment under a timeline: a memo of a pure function. A
 * restarted replica keeps every record of its segment again (thousands at every restart, each a
 * few map operations: in a 300 s run, 1.6 million keeps), and its segment begins with a run read
 * before (by it or a peer holding the same lines); the records are the same frozen objects, kept
 * in the same order from the same empty state, so keeping them again can only reach this state.
 */
const keptStates = new WeakMap<readonly (Stored | undefined)[], KeptState>();

/** Loads that resumed from a remembered state (for tests). */
export let loadsResumed = 0;

/**
 * Whether keeping records whose LSNs are at most `maxLsn` under `history` decides exactly as under
 * `base`: `history` is `base` with epochs added after it (timelines only grow) that all start
 * above `maxLsn`, so it supersedes none of those records that `base` did not (a record is
 * superseded by a later epoch that starts at or below its LSN). A failover between two restarts
 * adds an epoch, which starts at the recovery point, above what the replica read before.
 */
function decidesAlike(history: History, base: readonly EpochStart[], maxLsn: number): boolean {
  if (history.length < base.length) return false;
  for (let i = 0; i < base.length; i++) {
    const [a, b] = [history[i]!, base[i]!];
    if (a.epoch !== b.epoch || a.startLsn !== b.startLsn || a.writer !== b.writer) return false;
  }
  for (let i = base.length; i < history.length; i++) if (!(history[i]!.startLsn > maxLsn)) return false;
  return true;
}

/** Pushes the stored records of the good lines in `bytes[start, end)`; returns how many lines were bad. */
function parseLines(bytes: Uint8Array, start: number, end: number, out: Stored[]): number {
  let bad = 0;
  for (let at = start; at < end;) {
    const newline = bytes.indexOf(0x0a, at);
    const lineEnd = newline < 0 || newline > end ? end : newline;
    if (lineEnd > at) {
      const s = parseSegmentLine(bytes, at, lineEnd);
      if (s === undefined) bad++;
      else out.push(s);
    }
    at = lineEnd + 1;
  }
  return bad;
}

export class StorageSegment {
  readonly records = new Map<number, Stored>();
  /** The log end: the end of the gap-free chain of records this replica holds, from LSN 0. */
  endLsn = 0;
  /** The fsynced end: the log end as of the last completed segment fsync (records below it are durable here). */
  fsyncedEnd = 0;
  /** The end of the highest record held (`endLsn` unless records lie past a gap). */
  private heldEnd = 0;
  /**
   * The chain from LSN 0 with every back-pointer checked, as far as it was last walked: its end,
   * the LSN of its last record (-1 for none), and whether it still holds. A kept record changes it
   * only when it replaces one below its end with another back-pointer or size (the chain hangs on
   * those alone: a new writer resending a record under its epoch leaves it as it was), and so do
   * dropped records; then it is walked again from 0. Otherwise a walk from 0 would find the same
   * records up to its end, so it resumes there: a resent record no longer costs a walk of the
   * whole log (thousands of them after each failover, on every replica).
   */
  private strict = { end: 0, lastLsn: -1, valid: true };
  /** While a load keeps records: the LSNs its keeps reported to `dropped`, in order. */
  private droppedLog: number[] | undefined;

  constructor(
    private readonly rt: Runtime,
    private readonly durability: Durability,
    /** The timeline the replica knows (which records a later epoch superseded). */
    private readonly history: () => History,
    /** A record the segment held is gone or replaced: pages built on it must go. */
    private readonly dropped: (lsn: number) => void,
  ) {}

  /**
   * Reads the segment file (creating it durably if it is new), replacing what memory held, and
   * drops what the timeline superseded: how many lines failed their checksum, how many records went.
   */
  async load(): Promise<{ readonly bad: number; readonly dropped: number }> {
    await this.durability.ensureFiles([segmentFile]);
    this.records.clear();
    this.strict.valid = false;
    this.endLsn = 0;
    this.heldEnd = 0;
    const bytes = await this.rt.disk.read(segmentFile);
    let bad = 0;
    if (bytes !== undefined) {
      const parsed = parseSegment(bytes);
      bad = parsed.bad;
      this.keepAll(parsed);
    }
    const dropped = this.dropSuperseded();
    this.fsyncedEnd = this.endLsn;
    return { bad, dropped };
  }

  /**
   * Keeps every record of a parsed file, in order, into the empty segment, resuming from the
   * state a remembered run's records left (`keptStates`) when the file begins with that run and
   * the timeline is the one they were kept under, and remembering the state the run remembered
   * for this file leaves.
   */
  private keepAll(parsed: ParsedSegment): void {
    const { stored, begins, remembered } = parsed;
    const history = this.history();
    // What this load's keeps report to `dropped` (a state remembered must replay them).
    const droppedNow: number[] = [];
    this.droppedLog = droppedNow;
    try {
      let from = 0;
      let maxLsn = Number.NEGATIVE_INFINITY;
      const state = begins === undefined ? undefined : keptStates.get(begins.items);
      if (
        state !== undefined &&
        state.count <= begins!.count &&
        decidesAlike(history, state.history, state.maxLsn)
      ) {
        const { lsns, stored: held } = state;
        for (let i = 0; i < lsns.length; i++) this.records.set(lsns[i]!, held[i]!);
        this.endLsn = state.endLsn;
        this.heldEnd = state.heldEnd;
        this.strict = { ...state.strict };
        for (const lsn of state.dropped) {
          this.dropped(lsn);
          droppedNow.push(lsn);
        }
        from = state.count;
        maxLsn = state.maxLsn;
        loadsResumed++;
      }
      const rememberAt = remembered !== undefined && remembered.count > from ? remembered.count : -1;
      for (let i = from; i < stored.length; i++) {
        this.keep(stored[i]!);
        maxLsn = Math.max(maxLsn, stored[i]!.record.lsn);
        if (i + 1 === rememberAt) {
          const lsns: number[] = [];
          const held: Stored[] = [];
          this.records.forEach((s, lsn) => {
            lsns.push(lsn);
            held.push(s);
          });
          keptStates.set(remembered!.items, {
            count: rememberAt,
            history: history.map((e) => ({ epoch: e.epoch, writer: e.writer, startLsn: e.startLsn })),
            maxLsn,
            lsns,
            stored: held,
            endLsn: this.endLsn,
            heldEnd: this.heldEnd,
            strict: { ...this.strict },
            dropped: droppedNow.slice(),
          });
        }
      }
    } finally {
      this.droppedLog = undefined;
    }
  }

  /** Keeps a record in memory unless it holds one as new or the timeline superseded it. */
  keep(stored: Stored): boolean {
    const have = this.records.get(stored.record.lsn);
    if (have !== undefined && have.epoch >= stored.epoch) return false;
    if (superseded(this.history(), stored.epoch, stored.record.lsn)) return false;
    this.records.set(stored.record.lsn, stored);
    const end = stored.record.lsn + stored.record.sizeBytes;
    if (
      have === undefined &&
      stored.record.lsn === this.endLsn &&
      this.endLsn !== 0 &&
      !this.records.has(end)
    ) {
      // A new record at the log end with nothing held at its end (nearly every record an append or
      // a load keeps): the walk from the log end would take it and stop there.
      this.heldEnd = Math.max(this.heldEnd, end);
      this.endLsn = end;
      return true;
    }
    if (
      have !== undefined &&
      stored.record.lsn < this.strict.end &&
      (have.record.prevLsn !== stored.record.prevLsn || have.record.sizeBytes !== stored.record.sizeBytes)
    )
      this.strict.valid = false;
    if (have !== undefined && have.record.lsn + have.record.sizeBytes === this.heldEnd && end < this.heldEnd)
      this.recomputeHeldEnd();
    else this.heldEnd = Math.max(this.heldEnd, end);
    if (have !== undefined && !sameRecord(have.record, stored.record)) {
      // A different record replaced: pages built on the old one must go, and the new one is not
      // fsynced yet. (A new writer resending the same record under its epoch changes nothing.)
      this.dropped(stored.record.lsn);
      this.droppedLog?.push(stored.record.lsn);
      this.fsyncedEnd = Math.min(this.fsyncedEnd, stored.record.lsn);
    }
    if (have !== undefined && stored.record.lsn < this.endLsn) this.recomputeEnd(0);
    else this.recomputeEnd(this.endLsn);
    return true;
  }

  /** Whether it holds records past a gap: records it knows it is missing, which peers may have. */
  get holdsPastGap(): boolean {
    return this.heldEnd > this.endLsn;
  }

  private recomputeHeldEnd(): void {
    let end = 0;
    this.records.forEach((s) => (end = Math.max(end, s.record.lsn + s.record.sizeBytes)));
    this.heldEnd = end;
  }

  /**
   * The log end from `from`: from 0, the end of the chain with every back-pointer checked; from a
   * later LSN, the end of the chain from there (the back-pointer of its first record unchecked).
   */
  private recomputeEnd(from: number): void {
    if (from === 0) {
      this.endLsn = this.strictChainEnd();
      return;
    }
    let end = from;
    let prev: number | undefined;
    for (let s = this.records.get(end); s !== undefined; s = this.records.get(end)) {
      if (prev !== undefined && s.record.prevLsn !== prev) break;
      prev = end;
      end = s.record.lsn + s.record.sizeBytes;
    }
    this.endLsn = end;
  }

  /** The end of the chain from LSN 0 with every back-pointer checked (see `strict`). */
  private strictChainEnd(): number {
    const strict = this.strict;
    if (!strict.valid) {
      strict.end = 0;
      strict.lastLsn = -1;
      strict.valid = true;
    }
    let end = strict.end;
    let prev = strict.lastLsn;
    for (
      let s = this.records.get(end);
      s !== undefined && s.record.prevLsn === prev;
      s = this.records.get(end)
    ) {
      prev = end;
      end = s.record.lsn + s.record.sizeBytes;
    }
    strict.end = end;
    strict.lastLsn = prev;
    return end;
  }

  /** Drops records that a later epoch superseded; returns how many went. */
  dropSuperseded(): number {
    let dropped = 0;
    const history = this.history();
    // The cut of the epoch met last (`superseded` is `lsn >= cutPoint(history, epoch)`): records
    // come in long runs of one epoch, so nearly every record costs a comparison, not a lookup.
    let epoch = Number.NaN;
    let cut = Number.POSITIVE_INFINITY;
    // forEach, not for-of: no entry pair made per record (every record is visited at each learn).
    this.records.forEach((s, lsn) => {
      if (s.epoch !== epoch) {
        epoch = s.epoch;
        cut = cutPoint(history, epoch) ?? Number.POSITIVE_INFINITY;
      }
      if (lsn >= cut) {
        this.records.delete(lsn);
        this.dropped(lsn);
        dropped += 1;
      }
    });
    if (dropped > 0) {
      this.strict.valid = false;
      this.recomputeEnd(0);
      this.recomputeHeldEnd();
      this.fsyncedEnd = Math.min(this.fsyncedEnd, this.endLsn);
    }
    return dropped;
  }

  /** Rewrites the file with what memory holds (after records were dropped), durably. */
  async rewrite(): Promise<void> {
    const lines = segmentLines(this.records.values());
    const tmp = `${segmentFile}.tmp`;
    if ((await this.rt.disk.list()).includes(tmp)) await this.rt.disk.remove(tmp);
    await this.rt.disk.write(tmp, 0, lines);
    await this.durability.fsync(tmp);
    await this.durability.renameIntoPlace(tmp, segmentFile);
  }

  /**
   * Appends and fsyncs records already kept; then the fsynced end is the log end. Throws on a
   * failed write or fsync (the caller reloads: what is not on the disk is not held).
   */
  async persist(stored: readonly Stored[]): Promise<void> {
    if (stored.length > 0) {
      await this.rt.disk.append(segmentFile, segmentLines(stored));
      await this.durability.fsync(segmentFile);
    }
    this.fsyncedEnd = this.endLsn;
  }

  /** The gap-free run of records from `fromLsn`, below `toLsn`, at most `maxCount` of them. */
  chainFrom(fromLsn: number, maxCount: number, toLsn: number): Stored[] {
    const out: Stored[] = [];
    let at = fromLsn;
    for (
      let s = this.records.get(at);
      s !== undefined && at < toLsn && out.length < maxCount;
      s = this.records.get(at)
    ) {
      out.push(s);
      at = s.record.lsn + s.record.sizeBytes;
    }
    return out;
  }
}
