/**
 * Where a history's text comes from: a file, a pipe (`/dev/stdin`, `<(…)`, a FIFO) or standard
 * input (`-`). Everything is read front to back as a stream of decoded chunks, so nothing depends
 * on a file's size or on seeking: a pipe reads exactly like a file. The text is UTF-8, each chunk
 * held to it as it is read (utf8.ts: a byte that is not is bad input, named by its line); a
 * byte-order mark at the start is dropped (editors on Windows write one). A budget, when given, is
 * charged per chunk, so a time limit holds while a huge file is still being read.
 *
 * A source hands out its first chunk (`head`, enough to tell the format) and then either its
 * lines, one at a time (JSON Lines is read that way, never held whole), or its whole text (EDN and
 * the log formats are parsed as one text).
 */
import { constants as bufferConstants } from "node:buffer";
import { closeSync, createReadStream, existsSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { Budget } from "../budget.ts";
import { BudgetExhausted } from "../budget.ts";
import { Utf8Guard } from "./utf8.ts";
import { HistoryFormatError } from "./validate.ts";

const LINE_FEED = 0x0a;

/** What `-` is called in messages and results. */
export const stdinName = "stdin";

/** The name a source goes by in messages: the path, or `stdin` for `-`. */
export function sourceName(path: string): string {
  return path === "-" ? stdinName : path;
}

function cannotRead(name: string, error: unknown): HistoryFormatError {
  const code = (error as { code?: unknown }).code;
  const why =
    code === "ENOENT"
      ? "no such file"
      : code === "EISDIR"
        ? `is a directory, expected a history file${runFolderHint(name)}`
        : code === "EACCES"
          ? "permission denied"
          : name.includes("\u0000")
            ? "not a file name (it holds a NUL character)"
            : error instanceof Error
              ? error.message
              : String(error);
  return new HistoryFormatError(name, 0, `cannot read: ${why}`);
}

/** For a store's run folder given as a history: the file in it that is one. */
function runFolderHint(folder: string): string {
  const history = join(folder, "history.jsonl");
  return existsSync(history) ? ` (a run folder: its history is ${history})` : "";
}

/**
 * The longest line a history read a line at a time (JSONL) may have, in bytes: a line is held
 * whole to be parsed, and no operation comes near it (a read of a million-element set is about 8
 * MB). Larger than any one read (`readSizeFor`), so only a line that spans reads can pass it, and
 * only where such a line is gathered is it counted. Before, a line had no bound: one of 600 MB
 * with no line break was gathered whole and `faultline check` ended in an internal error (V8's
 * longest string), on the streamed path after minutes of copying.
 */
export const historyLineBytesMax = 64 << 20;

/** The bound of `historyLineBytesMax` as the error says it: file, line, what was expected. */
export function lineTooLong(file: string, line: number, bytesMax = historyLineBytesMax): HistoryFormatError {
  return new HistoryFormatError(
    file,
    line,
    `expected a line of at most ${bytesMax} bytes (one operation's JSON); this one is longer, with no line break within its first ${bytesMax} bytes`,
  );
}

/**
 * The longest text a history read whole (EDN, Jepsen JSON, the logs) may have, in UTF-16 units:
 * the longest string V8 makes. Before, a longer one was an internal error ("Invalid string length").
 */
export const historyTextCharsMax = bufferConstants.MAX_STRING_LENGTH;

/** Bytes per budget step while reading: a step is about as dear as parsing a short line. */
const bytesPerStep = 256;
/** Characters the head holds at least (unless the source is shorter): enough to tell the format. */
const headChars = 4096;

/**
 * Bytes per read: large reads for a large file (a history of gigabytes is read in a few thousand
 * of them), Node's usual 64 KiB otherwise (a buffer of 1 MiB per small file cost a check of a
 * hundred small logs several percent).
 */
const readSizeFor = (size: number): number => (size > 8 << 20 ? 1 << 20 : 1 << 16);

/**
 * A regular file's chunks, read synchronously: no stream machinery (loading node's streams and an
 * asynchronous open per file cost more than reading a small log), and no other work to overlap
 * with in a command that checks one file after another. Errors come at the first read.
 */
class FileChunks implements AsyncIterator<Buffer> {
  private fd: number | undefined;
  private done = false;
  /** The buffer read into again and again by callers that are done with each chunk before the next. */
  private reused: Buffer | undefined;

  constructor(
    private readonly path: string,
    private readonly size: number,
  ) {}

  /**
   * The next chunk; `reuse`: into the same buffer as the last such call (the caller holds no
   * earlier chunk), sparing the garbage collector a buffer per MiB read.
   */
  async next(reuse = false): Promise<IteratorResult<Buffer>> {
    if (this.done) return { done: true, value: undefined };
    this.fd ??= openSync(this.path, "r");
    const size = readSizeFor(this.size);
    const buffer = reuse ? (this.reused ??= Buffer.allocUnsafeSlow(size)) : Buffer.allocUnsafeSlow(size);
    const read = readSync(this.fd, buffer, 0, buffer.length, null);
    if (read === 0) {
      this.close();
      return { done: true, value: undefined };
    }
    return { done: false, value: read < buffer.length ? buffer.subarray(0, read) : buffer };
  }

  close(): void {
    this.done = true;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Line feeds in the file's first `end` bytes, read again (only to name a bad byte's line). */
  lineFeedsBefore(end: number): number {
    const fd = openSync(this.path, "r");
    try {
      const buffer = Buffer.allocUnsafeSlow(readSizeFor(this.size));
      let count = 0;
      // Each read takes at least a byte, so the rounds are bounded by `end`.
      for (let at = 0; at < end;) {
        const read = readSync(fd, buffer, 0, Math.min(buffer.length, end - at), at);
        if (read === 0) break;
        for (
          let lf = buffer.indexOf(LINE_FEED);
          lf !== -1 && lf < read;
          lf = buffer.indexOf(LINE_FEED, lf + 1)
        )
          count++;
        at += read;
      }
      return count;
    } finally {
      closeSync(fd);
    }
  }
}

export class HistorySource {
  private readonly decoder = new StringDecoder("utf8");
  /** Bytes read ahead (by `head`) and not handed out yet. */
  private pending: Buffer[] = [];
  private done = false;
  private decoderEnded = false;
  private first = true;
  private bytesRead = 0;
  private readonly utf8: Utf8Guard;
  /**
   * The bytes read stopped being UTF-8: the error, given once the whole lines before it were
   * handed out (so that a reader meets an earlier bad line first, as it would without this one).
   */
  private notUtf8: HistoryFormatError | undefined;
  /** Told the bytes read so far after each read (progress of a large file). */
  onRead: ((bytesRead: number) => void) | undefined;

  private constructor(
    /** The name used in messages: the path, or `stdin`. */
    readonly name: string,
    /** The chunks: a regular file's read directly, anything else's (pipes, stdin) through a stream. */
    private readonly iterator: AsyncIterator<unknown, unknown, boolean | undefined> & { close?(): void },
    private readonly stream: Readable | undefined,
    private readonly budget: Budget | undefined,
    /** The size of a regular file, as it was opened; undefined for a pipe or standard input. */
    readonly sizeBytes?: number,
  ) {
    // A file is read again to name a bad byte's line; a pipe's lines are counted as they pass.
    this.utf8 = new Utf8Guard(!(iterator instanceof FileChunks));
  }

  /** Opens `path` (`-`: standard input). Errors surface at the first read, naming the source. */
  static open(path: string, budget?: Budget): HistorySource {
    const name = sourceName(path);
    if (path === "-")
      return new HistorySource(name, process.stdin[Symbol.asyncIterator](), process.stdin, budget);
    let size: number | undefined;
    try {
      const stat = statSync(path);
      if (stat.isFile()) size = stat.size;
    } catch {
      // The read itself says why the path cannot be read.
    }
    if (size !== undefined)
      return new HistorySource(name, new FileChunks(path, size), undefined, budget, size);
    let stream: Readable;
    try {
      stream = createReadStream(path, { highWaterMark: readSizeFor(0) });
    } catch (error) {
      // node refuses some paths at once (one holding a NUL character): bad input like a missing file.
      throw cannotRead(name, error);
    }
    return new HistorySource(name, stream[Symbol.asyncIterator](), stream, budget);
  }

  /** The next chunk of bytes, or undefined at the end. */
  /** `reuse`: the caller is done with the chunk before it asks for the next (see FileChunks). */
  private async nextBytes(reuse = false): Promise<Buffer | undefined> {
    if (this.pending.length > 0) return this.pending.shift();
    if (this.notUtf8 !== undefined) throw this.notUtf8;
    if (this.done) return undefined;
    let bytes: Buffer;
    try {
      const next = await this.iterator.next(reuse);
      if (next.done === true) {
        this.done = true;
        return undefined;
      }
      bytes = next.value as Buffer;
      this.budget?.step(Math.ceil(bytes.length / bytesPerStep));
      this.bytesRead += bytes.length;
      this.onRead?.(this.bytesRead);
    } catch (error) {
      this.close();
      if (error instanceof BudgetExhausted) throw error;
      throw cannotRead(this.name, error);
    }
    const notUtf8 = this.utf8.check(bytes);
    if (notUtf8 === undefined) return bytes;
    this.notUtf8 = new HistoryFormatError(this.name, this.linesBefore(bytes) + notUtf8.line, notUtf8.detail);
    if (notUtf8.wholeLinesEnd === 0) throw this.notUtf8;
    return bytes.subarray(0, notUtf8.wholeLinesEnd);
  }

  /** The lines before `chunk`, the last read, when the guard does not count them (a file's). */
  private linesBefore(chunk: Buffer): number {
    if (!(this.iterator instanceof FileChunks)) return 0;
    try {
      return this.iterator.lineFeedsBefore(this.bytesRead - chunk.length);
    } catch (error) {
      this.close();
      throw cannotRead(this.name, error);
    }
  }

  /** The next decoded chunk, or undefined at the end. */
  private async nextChunk(): Promise<string | undefined> {
    // Decoded at once (the decoder copies what it keeps): the chunk's buffer may be read into again.
    const bytes = await this.nextBytes(true);
    let text: string;
    if (bytes === undefined) {
      if (this.decoderEnded) return undefined;
      this.decoderEnded = true;
      text = this.decoder.end();
      if (text === "") return undefined;
    } else {
      text = this.decoder.write(bytes);
    }
    if (this.first && text !== "") {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    return text;
  }

  /** The first `headChars` characters or so (all of a shorter source), without consuming them. */
  async head(): Promise<string> {
    const decoder = new StringDecoder("utf8");
    const chunks: Buffer[] = [];
    let text = "";
    // Up to bytes that are not UTF-8, if any: their error is the reader's to meet, in its turn.
    while (text.length < headChars) {
      let bytes: Buffer | undefined;
      try {
        bytes = await this.nextBytes();
      } catch (error) {
        if (error !== this.notUtf8) throw error;
        break;
      }
      if (bytes === undefined) break;
      chunks.push(bytes);
      text += decoder.write(bytes);
    }
    text += decoder.end();
    this.pending = [...chunks, ...this.pending];
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  /**
   * The source's bytes, chunk by chunk, as read (a byte-order mark included: a reader of bytes
   * drops it itself). Use either this or the text (`lines`, `text`), not both. Each chunk is valid
   * until the next is asked for (a file is read into one buffer again and again): keep a copy of
   * what must outlive it.
   */
  async *bytes(): AsyncGenerator<Buffer> {
    for (let bytes = await this.nextBytes(true); bytes !== undefined; bytes = await this.nextBytes(true))
      yield bytes;
  }

  /**
   * Every line, in order, without its line break (a final line without one included). A line that
   * spans reads is gathered up to `historyLineBytesMax` bytes; past them, a `HistoryFormatError`
   * naming its line.
   */
  async *lines(): AsyncGenerator<string> {
    let carry = "";
    let carryBytes = 0;
    let line = 0;
    for (let chunk = await this.nextChunk(); chunk !== undefined; chunk = await this.nextChunk()) {
      let start = 0;
      for (let at = chunk.indexOf("\n"); at !== -1; at = chunk.indexOf("\n", start)) {
        const segment = chunk.slice(start, at);
        // A line within one read is shorter than the bound; one that spans reads is counted.
        if (carryBytes > 0 && carryBytes + Buffer.byteLength(segment) > historyLineBytesMax)
          throw lineTooLong(this.name, line + 1);
        const text = carry + segment;
        carry = "";
        carryBytes = 0;
        line++;
        yield text.endsWith("\r") ? text.slice(0, -1) : text;
        start = at + 1;
      }
      const rest = chunk.slice(start);
      carryBytes += Buffer.byteLength(rest);
      if (carryBytes > historyLineBytesMax) throw lineTooLong(this.name, line + 1);
      carry += rest;
    }
    if (carry !== "") {
      this.unterminated = true;
      yield carry.endsWith("\r") ? carry.slice(0, -1) : carry;
    }
  }

  private unterminated = false;

  /** Whether `lines()` has just given the file's last line, and no line break followed it. */
  get lastLineUnterminated(): boolean {
    return this.unterminated;
  }

  /**
   * The whole (remaining) text, at most `charsMax` UTF-16 units of it (`historyTextCharsMax`); past
   * them, a `HistoryFormatError` naming the line where the text passed them.
   */
  async text(charsMax = historyTextCharsMax): Promise<string> {
    const parts: string[] = [];
    let chars = 0;
    for (let chunk = await this.nextChunk(); chunk !== undefined; chunk = await this.nextChunk()) {
      if (chars + chunk.length > charsMax) {
        const before = charsMax - chars;
        let line = 1;
        for (const part of [...parts, chunk.slice(0, before)])
          for (let at = part.indexOf("\n"); at !== -1; at = part.indexOf("\n", at + 1)) line++;
        throw new HistoryFormatError(
          this.name,
          line,
          `expected a history of at most ${charsMax} characters in this format, which is read whole (JSONL is read a line at a time); the text is longer`,
        );
      }
      chars += chunk.length;
      parts.push(chunk);
    }
    return parts.join("");
  }

  /** Stops reading (a file is closed; standard input is left to the process). */
  close(): void {
    this.iterator.close?.();
    if (this.stream !== undefined && this.stream !== process.stdin) this.stream.destroy();
  }
}
