/**
 * A history's text is UTF-8 (JSON's own encoding, and EDN's and the logs' here), and a byte that
 * is not is bad input, named by its line. A decoder given such a byte does not refuse it: it
 * reads U+FFFD in its place, and two different keys (the bytes 0xFF and 0xFE) became one, so a
 * register history of two keys read as one was "not linearizable", a false alarm from bytes no
 * writer of text sends. The readers all take their bytes from one source (source.ts), which hands
 * each chunk to `Utf8Guard` as it is read, before any reader decodes it.
 *
 * A character whose bytes are cut by the end of a chunk is finished by the next; one cut by the
 * end of the source is left to the readers: it is a line cut short, as a writer killed mid-line
 * leaves its last line (see jsonl.ts `TornTail`).
 */
import { isUtf8 } from "node:buffer";

const LINE_FEED = 0x0a;

/**
 * The bytes of the UTF-8 character a lead byte opens, after it (1 to 3), and the range its first
 * continuation byte must be in (Unicode's table of well-formed UTF-8: no overlong forms, no
 * surrogates, nothing past U+10FFFF); undefined for a byte no character starts with.
 */
function characterAfter(
  lead: number,
): { readonly more: number; readonly low: number; readonly high: number } | undefined {
  if (lead >= 0xc2 && lead <= 0xdf) return { more: 1, low: 0x80, high: 0xbf };
  if (lead >= 0xe0 && lead <= 0xef)
    return { more: 2, low: lead === 0xe0 ? 0xa0 : 0x80, high: lead === 0xed ? 0x9f : 0xbf };
  if (lead >= 0xf0 && lead <= 0xf4)
    return { more: 3, low: lead === 0xf0 ? 0x90 : 0x80, high: lead === 0xf4 ? 0x8f : 0xbf };
  return undefined;
}

/** What `readUtf8` found: see there. */
export interface Utf8Reading {
  readonly bad: number;
  readonly badEnd: number;
  readonly cut: number;
}

/**
 * Reads `bytes` from `from` on as UTF-8: `bad` to `badEnd`, the first bytes that are no
 * well-formed character (the lead byte, up to the first byte that does not fit it; `bad` -1:
 * none), and `cut`, where a character the end cuts short starts (`bytes.length`: none). Only for
 * the rare chunk `isUtf8` refuses; one pass, so bounded by the chunk's length.
 */
export function readUtf8(bytes: Uint8Array, from: number): Utf8Reading {
  let at = from;
  while (at < bytes.length) {
    const lead = bytes[at]!;
    if (lead < 0x80) {
      at++;
      continue;
    }
    const character = characterAfter(lead);
    if (character === undefined) return { bad: at, badEnd: at + 1, cut: bytes.length };
    for (let k = 1; k <= character.more; k++) {
      if (at + k >= bytes.length) return { bad: -1, badEnd: -1, cut: at };
      const next = bytes[at + k]!;
      const [low, high] = k === 1 ? [character.low, character.high] : [0x80, 0xbf];
      if (next < low || next > high) return { bad: at, badEnd: at + k + 1, cut: bytes.length };
    }
    at += character.more + 1;
  }
  return { bad: -1, badEnd: -1, cut: bytes.length };
}

/**
 * Where a character that the end of `bytes` cuts short starts (its lead byte among the last three,
 * not before `from`, with fewer bytes after it than it needs), or `bytes.length`.
 */
function unfinishedAtEnd(bytes: Uint8Array, from: number): number {
  for (let at = bytes.length - 1; at >= Math.max(from, bytes.length - 3); at--) {
    const byte = bytes[at]!;
    if (byte < 0x80) return bytes.length;
    if (byte >= 0xc0) {
      const character = characterAfter(byte);
      return character !== undefined && at + character.more >= bytes.length ? at : bytes.length;
    }
  }
  return bytes.length;
}

/** Line feeds in `bytes` before `end`. */
export function lineFeeds(bytes: Uint8Array, end: number): number {
  let count = 0;
  for (let at = bytes.indexOf(LINE_FEED); at !== -1 && at < end; at = bytes.indexOf(LINE_FEED, at + 1))
    count++;
  return count;
}

/** Where a source's bytes stop being UTF-8: the line (1-based) and what was found there. */
export interface NotUtf8 {
  readonly line: number;
  /** The chunk's bytes before the line that holds the bad byte (its whole lines). */
  readonly wholeLinesEnd: number;
  readonly detail: string;
}

/**
 * Checks a source's chunks, in order, as UTF-8 (see the module header). `countLines`: the lines of
 * the chunks before are counted as they pass, so that a bad byte's line is known; a source that can
 * be read again from its start (a regular file) leaves that count out, a pass over every byte, and
 * adds the lines before the chunk itself when a byte is bad (`NotUtf8.line` is then the line within
 * the chunk).
 */
export class Utf8Guard {
  constructor(private readonly countLines = true) {}

  /** Line feeds in the chunks before the current one (when counted). */
  private linesBefore = 0;
  /** The bytes of a character the last chunk ended inside (at most 3). */
  private unfinished: Buffer | undefined;

  /** Where `chunk`, the source's next bytes, stops being UTF-8; undefined when it does not. */
  check(chunk: Buffer): NotUtf8 | undefined {
    let from = 0;
    if (this.unfinished !== undefined) {
      const unfinished = this.unfinished;
      this.unfinished = undefined;
      const more = characterAfter(unfinished[0]!)!.more + 1 - unfinished.length;
      const joined = Buffer.concat([unfinished, chunk.subarray(0, more)]);
      const read = readUtf8(joined, 0);
      // The character began in the chunk before: its line is the one this chunk starts on.
      if (read.bad !== -1) return this.notUtf8(chunk, 0, joined.subarray(0, read.badEnd));
      if (read.cut < joined.length) {
        this.unfinished = joined; // a chunk of one or two bytes, still inside the character
        return undefined;
      }
      from = more;
    }
    if (!isUtf8(from === 0 ? chunk : chunk.subarray(from))) {
      // Most often only a character cut by the chunk's end, in text that is not ASCII: the rest is
      // held to UTF-8 natively, not read byte by byte.
      const cut = unfinishedAtEnd(chunk, from);
      const read =
        cut < chunk.length && isUtf8(chunk.subarray(from, cut))
          ? readUtf8(chunk, cut)
          : readUtf8(chunk, from);
      if (read.bad !== -1) return this.notUtf8(chunk, read.bad, chunk.subarray(read.bad, read.badEnd));
      if (read.cut < chunk.length) this.unfinished = Buffer.from(chunk.subarray(read.cut));
    }
    if (this.countLines) this.linesBefore += lineFeeds(chunk, chunk.length);
    return undefined;
  }

  /** The bad bytes `found`, at `at` of `chunk` (0 when they began in the chunk before). */
  private notUtf8(chunk: Buffer, at: number, found: Uint8Array): NotUtf8 {
    const shown = [...found].map((byte) => `0x${byte.toString(16).padStart(2, "0")}`).join(" ");
    return {
      line: this.linesBefore + lineFeeds(chunk, at) + 1,
      wholeLinesEnd: at === 0 ? 0 : chunk.lastIndexOf(LINE_FEED, at - 1) + 1,
      detail: `expected UTF-8 text (a history is read as UTF-8, as JSON is); got ${found.length === 1 ? "the byte" : "the bytes"} ${shown}, which ${found.length === 1 ? "is" : "are"} not UTF-8`,
    };
  }
}
