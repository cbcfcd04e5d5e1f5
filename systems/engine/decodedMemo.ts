/**
 * Decoding by content, remembered: the record decoded from a checksummed run of bytes (a log frame,
 * a segment line), found again by that run's checksum and a comparison of its bytes, so the same
 * bytes read again are not parsed again. Every replica of a log holds the same frames and lines,
 * and a restarted node reads back thousands of them that it, or a peer, decoded or encoded before:
 * comparing a line's bytes costs a fraction of decoding its UTF-8 and parsing its JSON.
 *
 * Only a record that is frozen and JSON-canonical (`isCanonicalFlatRecord`) is remembered: then
 * handing the one object to every reader is the same as handing each its own parse (nobody can
 * change it, and it equals its JSON round trip, field order included). So a hit and a miss give
 * the same answer, and a run does not depend on which it got.
 *
 * Held weakly: a remembered record lives only as long as some node holds it; once collected its
 * bytes are simply decoded again. The index of checksums is bounded (`maxEntries`): when full, it
 * drops the entries whose record is gone, and starts over if that is not enough.
 *
 * Whole files too (`DecodedPrefixes`): a file read from its start that begins with the bytes of
 * one decoded before begins with the same records, so only its new part is decoded.
 */
import { Buffer } from "node:buffer";

/** True when `bytes[start, start + length)` equals `other[otherStart, otherStart + length)`. */
export function sameBytes(
  bytes: Uint8Array,
  start: number,
  other: Uint8Array,
  otherStart: number,
  length: number,
): boolean {
  if (start + length > bytes.length || otherStart + length > other.length) return false;
  for (let i = 0; i < length; i++) if (bytes[start + i] !== other[otherStart + i]) return false;
  return true;
}

/**
 * True when `record` is a plain object (Object.prototype, no `toJSON`) whose own enumerable fields
 * are all strings, booleans, null or finite numbers other than -0: its JSON round trip is itself,
 * field for field and in the same order. (A record holding an object or array, such as a
 * checkpoint's tables, is not flat; one holding undefined, NaN or -0 is not canonical.)
 */
export function isCanonicalFlatRecord(record: object): boolean {
  if (Object.getPrototypeOf(record) !== Object.prototype || "toJSON" in record) return false;
  for (const key in record) {
    const value = (record as Record<string, unknown>)[key];
    switch (typeof value) {
      case "string":
      case "boolean":
        continue;
      case "number":
        if (!Number.isFinite(value) || Object.is(value, -0)) return false;
        continue;
      case "object":
        if (value === null) continue;
        return false;
      default:
        return false;
    }
  }
  return true;
}

/** Records by the checksum of the bytes they were decoded from (or encoded to), held weakly. */
export class WeakChecksumIndex<T extends object> {
  private readonly refs = new Map<number, WeakRef<T>>();

  constructor(private readonly maxEntries: number) {}

  /** Checksums indexed (some may name records already gone). */
  get size(): number {
    return this.refs.size;
  }

  /** The record last remembered under `checksum`, if it is still alive. */
  get(checksum: number): T | undefined {
    return this.refs.get(checksum)?.deref();
  }

  remember(checksum: number, record: T): void {
    if (this.refs.size >= this.maxEntries && !this.refs.has(checksum)) this.sweep();
    this.refs.set(checksum, new WeakRef(record));
  }

  /** Drops the entries whose record is gone; all of them if that leaves the index over half full. */
  private sweep(): void {
    for (const [checksum, ref] of this.refs) if (ref.deref() === undefined) this.refs.delete(checksum);
    if (this.refs.size >= this.maxEntries / 2) this.refs.clear();
  }
}

/**
 * The length of the longest common prefix of `a` and `b`: compared natively a block at a time, then
 * byte by byte inside the first block that differs.
 */
export function commonPrefixBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  const blockBytes = 1 << 16;
  let at = 0;
  // Bounded: each round moves `at` on by a block, or stops.
  while (at < length) {
    const end = Math.min(at + blockBytes, length);
    if (Buffer.compare(a.subarray(at, end), b.subarray(at, end)) !== 0) break;
    at = end;
  }
  while (at < length && a[at] === b[at]) at++;
  return at;
}

/**
 * True when `value` is plain JSON data all through whose JSON round trip is itself: plain objects
 * (Object.prototype, no `toJSON`) and dense arrays (Array.prototype) holding strings, booleans,
 * null, finite numbers other than -0, or such objects and arrays, no deeper than `maxDepth`. A
 * value freshly parsed from JSON is such data unless it holds -0 or a number too large (Infinity).
 */
export function isCanonicalJsonData(value: unknown, maxDepth = 16): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (maxDepth <= 0) return false;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype || "toJSON" in value) return false;
        for (let i = 0; i < value.length; i++)
          if (!(i in value) || !isCanonicalJsonData(value[i], maxDepth - 1)) return false;
        return true;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype || "toJSON" in value) return false;
      for (const key in value)
        if (!isCanonicalJsonData((value as Record<string, unknown>)[key], maxDepth - 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/** Freezes `value` and every object and array inside it (plain JSON data: `isCanonicalJsonData`). */
export function deepFreezeJsonData<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const key in value) deepFreezeJsonData((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

/**
 * A file read and decoded before: its bytes up to the end of its last item (in pieces, one after
 * another: a run that extends another shares that one's pieces, so only its new part is copied),
 * and its items.
 */
interface DecodedRun<T> {
  /** The bytes, piece after piece; the memo's own, never changed. */
  readonly pieces: readonly Uint8Array[];
  /** Bytes in all pieces: `ends.at(-1)`. */
  readonly length: number;
  /** Where item `i` ends (and the next begins), increasing; the last is `length`. */
  readonly ends: readonly number[];
  /** Item `i`, or undefined: an item that may not be handed out twice (decode its bytes again). */
  readonly items: readonly (T | undefined)[];
  lastUsed: number;
}

/** What a file starts with, as remembered: its first `count` items, and where they end. */
export interface DecodedPrefix<T> {
  readonly count: number;
  /** `ends[i]` for i < count: where item i ends (item 0 begins at 0). */
  readonly ends: readonly number[];
  readonly items: readonly (T | undefined)[];
}

/** What `longestPrefix` found, kept for `remember` of the same bytes. */
interface Lookup<T> {
  /** Held weakly: a lookup no `remember` followed must not keep a whole file alive. */
  readonly bytes: WeakRef<Uint8Array>;
  /** The run the prefix came from, and its items in the prefix. */
  readonly best: DecodedRun<T> | undefined;
  readonly bestCount: number;
  /** Each run's common prefix with `bytes`, as the runs stood then. */
  readonly commons: Map<DecodedRun<T>, number>;
}

/** Pieces past which a run's bytes are copied into one piece again (a bound on a run's pieces). */
const maxPieces = 32;

/**
 * Whole files decoded, remembered by content: a log read from its start decodes every item of it
 * in order, each from its own bytes (and those before it), so a file that begins with the bytes of
 * one decoded before begins with the same items, up to the last item that lies whole in the
 * common part. A restarted node reads back its whole segment or log, and the replicas of one log
 * hold the same bytes (and several restart together, after one crash): comparing a file with one
 * read before costs a memory comparison instead of decoding each item, and only the part past the
 * common prefix is decoded.
 *
 * An item is handed out again only when it is immutable and equal to a fresh decoding (what the
 * caller vouches for by giving it, not undefined, to `remember`), exactly as the per-item memo
 * above; others are decoded again from their bytes. Runs are kept by copy (a caller may reuse its
 * buffer): of the part past the prefix `longestPrefix` found, when `remember` is told the same
 * bytes right after it (the part before is that run's own copy, shared), else of all of it. At
 * most `maxRuns` runs and `maxBytes` of their bytes are kept (a piece shared is counted in each),
 * the least recently used making room; a run that a file extended is replaced by the longer one.
 * A file longer than `maxBytes` is not remembered.
 */
export class DecodedPrefixes<T> {
  private readonly runs: DecodedRun<T>[] = [];
  private uses = 0;
  private lastLookup: Lookup<T> | undefined;

  constructor(
    private readonly maxRuns: number,
    private readonly maxBytes: number,
  ) {}

  /**
   * The longest remembered prefix of `bytes` that ends where an item ends, or undefined. (What it
   * found serves a `remember` of the same bytes, unchanged, that comes next.)
   */
  longestPrefix(bytes: Uint8Array): DecodedPrefix<T> | undefined {
    let best: DecodedRun<T> | undefined;
    let bestCount = 0;
    const commons = new Map<DecodedRun<T>, number>();
    for (const run of this.runs) {
      const common = commonPrefixOfPieces(run.pieces, bytes);
      commons.set(run, common);
      const count = itemsWithin(run.ends, common);
      if (count > bestCount) {
        best = run;
        bestCount = count;
      }
    }
    this.lastLookup = { bytes: new WeakRef(bytes), best, bestCount, commons };
    if (best === undefined) return undefined;
    best.lastUsed = ++this.uses;
    return { count: bestCount, ends: best.ends, items: best.items };
  }

  /**
   * Remembers that `bytes` up to `ends.at(-1)` decode to `items` (`ends` and `items` of the same
   * length, taken as they are: the caller gives them up). When the last `longestPrefix` was asked
   * of these very bytes, they must not have changed since.
   */
  remember(bytes: Uint8Array, ends: number[], items: (T | undefined)[]): void {
    const lookup = this.lastLookup?.bytes.deref() === bytes ? this.lastLookup : undefined;
    this.lastLookup = undefined;
    const length = ends.at(-1);
    if (length === undefined || ends.length !== items.length || length > this.maxBytes) return;
    // The bytes up to the end of the prefix's last item are that run's (its own copy, unchanged).
    let pieces: Uint8Array[];
    const shared = lookup?.best === undefined ? 0 : lookup.best.ends[lookup.bestCount - 1]!;
    if (lookup?.best !== undefined && shared <= length) {
      pieces = piecesUpTo(lookup.best.pieces, shared);
      if (length > shared) pieces.push(bytes.slice(shared, length));
      if (pieces.length > maxPieces) pieces = [joined(pieces, length)];
    } else pieces = [bytes.slice(0, length)];
    // A run this one extends (or repeats) says nothing more: it goes.
    for (let i = this.runs.length - 1; i >= 0; i--) {
      const run = this.runs[i]!;
      if (run.length > length) continue;
      const common = lookup?.commons.get(run) ?? commonPrefixOfPieces(run.pieces, bytes);
      if (common >= run.length) this.runs.splice(i, 1);
    }
    let bytesKept = length;
    for (const run of this.runs) bytesKept += run.length;
    // Bounded: each round drops a run.
    while (this.runs.length > 0 && (this.runs.length >= this.maxRuns || bytesKept > this.maxBytes)) {
      let oldest = 0;
      for (let i = 1; i < this.runs.length; i++)
        if (this.runs[i]!.lastUsed < this.runs[oldest]!.lastUsed) oldest = i;
      bytesKept -= this.runs[oldest]!.length;
      this.runs.splice(oldest, 1);
    }
    this.runs.push({ pieces, length, ends, items, lastUsed: ++this.uses });
  }
}

/** The length of the longest common prefix of the bytes of `pieces` (one after another) and `bytes`. */
function commonPrefixOfPieces(pieces: readonly Uint8Array[], bytes: Uint8Array): number {
  let at = 0;
  for (const piece of pieces) {
    const common = commonPrefixBytes(piece, bytes.subarray(at));
    at += common;
    if (common < piece.length) break;
  }
  return at;
}

/**
 * The pieces' first `length` bytes, as pieces: those that lie whole in them as they are (shared),
 * a piece cut by `length` copied (a view would keep all of it alive, unaccounted for).
 */
function piecesUpTo(pieces: readonly Uint8Array[], length: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const piece of pieces) {
    if (at >= length) break;
    out.push(at + piece.length <= length ? piece : piece.slice(0, length - at));
    at += piece.length;
  }
  return out;
}

/** The pieces' bytes copied into one array of `length` bytes. */
function joined(pieces: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/** How many of the items ending at `ends` (increasing) end at or before `length`. */
function itemsWithin(ends: readonly number[], length: number): number {
  let low = 0;
  let high = ends.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (ends[middle]! <= length) low = middle + 1;
    else high = middle;
  }
  return low;
}
