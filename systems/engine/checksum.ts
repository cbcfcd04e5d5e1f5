/**
 * CRC-32 (IEEE 802.3, the zlib polynomial): the checksum on every WAL record and every page, so a
 * torn or garbled write is detected and cut instead of being misread as data. Also the UTF-8
 * codecs, and the slabs (harness/byteSlab.ts) where the short encodings of records are made.
 *
 * Long inputs go to zlib's own CRC-32 (node:zlib, the same polynomial and result): a page image of
 * a few KB is checksummed at every flush and every load, and zlib's is over ten times faster than
 * a byte at a time here (8 KB: 1.6 µs against 20 µs). Short ones (a segment line, a log frame)
 * stay in JavaScript, below the native call's own cost: eight bytes a step through eight tables
 * ("slicing by 8"; 110 bytes: 0.22 µs against 0.35 µs a byte at a time, and zlib's 0.30 µs).
 */
import { crc32 as zlibCrc32 } from "node:zlib";
import { ByteSlab } from "../../harness/byteSlab.ts";

/** Inputs at least this long are checksummed by zlib; shorter ones by the table loop. */
const ZLIB_MIN_BYTES = 128;
/**
 * Eight tables of 256 entries, one after another: table 0 is the byte-at-a-time table; table k
 * gives the CRC of a byte followed by k zero bytes, so eight bytes fold into the CRC at once.
 */
const tables = buildTables();
const table = tables.subarray(0, 256);

function buildTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const previous = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (t[previous & 0xff]! ^ (previous >>> 8)) >>> 0;
    }
  }
  return t;
}

/** CRC-32 of `bytes[start, end)`. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (end - start >= ZLIB_MIN_BYTES) {
    return zlibCrc32(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
  }
  return crc32BySlices(bytes, start, end);
}

/** CRC-32 of `bytes[start, end)`, eight bytes a step (exported for its test). */
export function crc32BySlices(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = tables;
  let c = 0xffffffff;
  let i = start;
  for (const lastStep = end - 8; i <= lastStep; i += 8) {
    const low = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c =
      t[1792 + (low & 0xff)]! ^
      t[1536 + ((low >>> 8) & 0xff)]! ^
      t[1280 + ((low >>> 16) & 0xff)]! ^
      t[1024 + (low >>> 24)]! ^
      t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-32 of `bytes[start, end)`, a byte at a time through the table (exported for its test). */
export function crc32ByTable(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const utf8Encoder = new TextEncoder();
export const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * `utf8Encoder.encode(text).length` without encoding: sizes of tuples and versions are asked for on
 * every write, and making the bytes only to count them cost the engine a tenth of a simulated
 * run. A lone surrogate counts 3 bytes, as the encoder's replacement character does.
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
      continue;
    }
    // Three bytes for one code unit; a surrogate pair is two units and four bytes.
    bytes += 2;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
  }
  return bytes;
}

// Frames and segment lines are remembered for the run; the lines of one append only until a disk
// write has copied them: two slabs, one per lifetime (harness/byteSlab.ts).
/** For encodings kept as long as the records they encode (frames, segment lines). */
export const longLivedBytes = new ByteSlab();
/** For bytes that live only until a disk write has taken its copy (the lines of one append). */
export const transientBytes = new ByteSlab();

/** `chunks` one after another, `totalBytes` in all, in `transientBytes`. */
export function joinedTransient(chunks: readonly Uint8Array[], totalBytes: number): Uint8Array {
  const bytes = transientBytes.take(totalBytes);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}

/**
 * The UTF-8 bytes of `text` after `headerBytes` zeroed bytes and before `trailerBytes` zeroed
 * ones, in `slab` (the caller fills header and trailer).
 */
export function utf8Framed(
  text: string,
  headerBytes: number,
  trailerBytes: number,
  slab: ByteSlab,
): Uint8Array {
  const textBytes = utf8Length(text);
  const out = slab.take(headerBytes + textBytes + trailerBytes);
  const { written } = utf8Encoder.encodeInto(text, out.subarray(headerBytes, headerBytes + textBytes));
  if (written !== textBytes) throw new Error(`utf8Framed: encoded ${written} bytes, counted ${textBytes}`);
  return out;
}
