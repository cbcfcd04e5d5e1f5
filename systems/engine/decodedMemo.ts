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
 */

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
