/**
 * faultline's own history format: JSON Lines, one `Op` per line, in index order.
 *
 * The writer appends each op with one synchronous write, so a process killed at any moment
 * (SIGKILL included) leaves every completed line in the file: the kernel has it even though the
 * process never got to flush or close. (Surviving a power cut needs `fsync`, which `sync()` does.)
 * At worst the last line is torn: no line break after it, and not JSON. The readers, given a
 * `TornTail`, leave such a line out and say which it was (a killed run's history is a prefix of
 * what ran, and a check of it is a check of that prefix); a torn line anywhere else, or one that
 * is JSON but no operation, is an error like any other bad line. A writer
 * opened with `bufferMs` (a simulated run, which records thousands of ops per real millisecond,
 * where a system call per op cost more than the simulation) gathers lines and writes them
 * together at most that many real milliseconds later (or once 64 KiB are waiting), whole lines
 * per write: a SIGKILL then loses at most the lines of those last milliseconds, and the file is
 * still a readable prefix of the history.
 *
 * The reader streams: it validates each line as it comes (`opProblem`, `index` counting 0, 1, 2,
 * …, invocations and completions pairing up) and raises `HistoryFormatError` with the file, the
 * line and what it expected.
 */
import { closeSync, fsync, fsyncSync, ftruncateSync, openSync, writeSync } from "node:fs";
import type { Budget } from "../budget.ts";
import { bigintAsDigits, parseJsonExact } from "./exactJson.ts";
import type { Op } from "./op.ts";
import { JsonlScanner, viewOf } from "./jsonlScan.ts";
import { HistorySource, historyLineBytesMax, lineTooLong } from "./source.ts";
import { HistoryFormatError, HistoryShapeTracker, opProblem } from "./validate.ts";

/**
 * JSON text of an op; a `bigint` (a client's 64-bit value) is written as its decimal string, as
 * the readers read such an integer back (exactJson.ts).
 */
export function opToJsonLine(op: Op): string {
  try {
    // Without a replacer JSON.stringify stays in native code; only a bigint needs one.
    return JSON.stringify(op);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(op, bigintAsDigits);
  }
}

/** fsync(2) of `fd` on libuv's thread pool; resolves to its error, or undefined once done. */
export function fsyncInBackground(fd: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => fsync(fd, (error) => resolve(error ?? undefined)));
}

/**
 * Writes all of `bytes` to `fd` before returning, at `position` if given (else at the file's
 * offset); `path` names the file in an error.
 */
export function writeAllSync(fd: number, bytes: Uint8Array, path: string, position?: number): void {
  let written = 0;
  // writeSync may write less than asked (never for a regular file in practice); the loop ends
  // because every round writes at least one byte or throws.
  while (written < bytes.length) {
    const at = position === undefined ? null : position + written;
    const n = writeSync(fd, bytes, written, bytes.length - written, at);
    if (n <= 0) throw new Error(`could not write to ${path}`);
    written += n;
  }
}

/** Characters of waiting lines that make a buffered writer write them at once. */
const bufferChars = 64 * 1024;

export interface HistoryWriterOptions {
  /**
   * Gather lines for up to this many real milliseconds (or 64 KiB) and write them together; 0
   * (the default) writes each line when it is appended. See the module header for what a kill
   * then loses.
   */
  readonly bufferMs?: number;
}

/** Appends ops to a JSONL history file: one synchronous write per op, or per batch (`bufferMs`). */
export class HistoryWriter {
  private fd: number | undefined;
  /** Bytes of whole lines in the file. */
  private size = 0;
  /** Whole lines in the file. */
  private lines = 0;
  /** Set by a failed write: the file was cut back to its whole lines and takes no more. */
  private failed: unknown;
  /** Whether `failed` has been thrown to the caller yet (a timer's failure waits for the next call). */
  private failureReported = false;
  private readonly bufferMs: number;
  /** Lines waiting to be written, one string (a rope V8 flattens once, when it is written). */
  private pending = "";
  private pendingLines = 0;
  private oldestPendingMs = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    readonly path: string,
    fd: number,
    options: HistoryWriterOptions,
  ) {
    this.fd = fd;
    this.bufferMs = Math.max(0, options.bufferMs ?? 0);
  }

  /** Creates (or truncates) `path` for writing. */
  static open(path: string, options: HistoryWriterOptions = {}): HistoryWriter {
    return new HistoryWriter(path, openSync(path, "w"), options);
  }

  /**
   * Writes `op` as one line; when this returns, the line survives the process being killed (with
   * `bufferMs`: once that time has passed). When a write fails (a full disk), the file is cut back
   * to its last whole line, the error is thrown, and every later append throws it again: the file
   * stays a readable prefix.
   */
  append(op: Op): void {
    if (this.fd === undefined) throw new Error(`HistoryWriter for ${this.path} is closed`);
    this.throwIfFailed();
    const line = opToJsonLine(op) + "\n";
    if (this.bufferMs === 0) {
      this.write(line);
      return;
    }
    this.pending += line;
    this.pendingLines++;
    if (this.pendingLines === 1) {
      this.oldestPendingMs = performance.now();
      this.timer = setTimeout(() => this.flushQuietly(), this.bufferMs);
      this.timer.unref();
    } else if (
      this.pending.length >= bufferChars ||
      performance.now() - this.oldestPendingMs >= this.bufferMs
    ) {
      this.flush();
    }
  }

  /** Bytes of whole lines written to the file so far. */
  get writtenBytes(): number {
    return this.size;
  }

  /** Whole lines written to the file so far (the ops of its first `writtenLines` appends). */
  get writtenLines(): number {
    return this.lines;
  }

  /** Writes the lines waiting in the buffer now. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pendingLines === 0 || this.fd === undefined) return;
    const text = this.pending;
    const count = this.pendingLines;
    this.pending = "";
    this.pendingLines = 0;
    this.throwIfFailed();
    if (count === 1) {
      this.write(text);
      return;
    }
    try {
      this.writeText(text);
      this.lines += count;
    } catch {
      // Keep as many whole lines as the file takes: the batch again, one line at a time (a JSON
      // line holds no line break of its own: JSON.stringify escapes them).
      this.cutBack();
      for (const line of text.slice(0, -1).split("\n")) this.write(line + "\n");
    }
  }

  /** The timer's flush: a failure is kept and thrown by the next call. */
  private flushQuietly(): void {
    this.timer = undefined;
    const failedBefore = this.failed !== undefined;
    try {
      this.flush();
    } catch {
      if (!failedBefore) this.failureReported = false;
    }
  }

  private throwIfFailed(): void {
    if (this.failed === undefined) return;
    this.failureReported = true;
    throw this.failed;
  }

  private writeBytes(bytes: Uint8Array): void {
    // At the end of the whole lines: after a failed write was cut back, the file's offset is past it.
    writeAllSync(this.fd!, bytes, this.path, this.size);
    this.size += bytes.length;
  }

  /**
   * Writes a batch of lines as it is, a string, without making it a Buffer first: Node encodes a
   * string into memory of its own for the write, where a Buffer of 64 KiB is memory the garbage
   * collector must account for and free.
   */
  private writeText(text: string): void {
    const bytes = Buffer.byteLength(text, "utf8");
    const written = writeSync(this.fd!, text, this.size, "utf8");
    // Never short for a regular file in practice; the rest, if ever, through the byte loop.
    if (written < bytes)
      writeAllSync(this.fd!, Buffer.from(text, "utf8").subarray(written), this.path, this.size + written);
    this.size += bytes;
  }

  /** Cuts the file back to its last whole line. */
  private cutBack(): void {
    try {
      ftruncateSync(this.fd!, this.size);
    } catch {
      // Nothing more can be done for the file; the reader reports a torn last line.
    }
  }

  /** Writes whole lines; a failure cuts the file back to its last whole line and is kept. */
  private write(text: string): void {
    try {
      this.writeBytes(Buffer.from(text, "utf8"));
      this.lines++;
    } catch (error) {
      this.failed = error;
      this.failureReported = true;
      this.cutBack();
      throw error;
    }
  }

  /** Writes what is buffered and forces what has been written to stable storage. */
  sync(): void {
    this.flush();
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  /**
   * Writes what is buffered, forces the file to stable storage and closes it; rejects with a write
   * or fsync failure (closed either way). The fsync waits on libuv's thread pool, so the caller
   * goes on meanwhile (a run's node logs reach the disk beside it); a run checks its history once
   * it is on stable storage, and writes its results only after (a power cut then never leaves
   * results.json without the history it judged).
   */
  async closeDurably(
    fsyncFile: (fd: number) => Promise<NodeJS.ErrnoException | undefined> = fsyncInBackground,
  ): Promise<void> {
    if (this.fd === undefined) return;
    const { fd, failure } = this.flushAndRelease();
    // A file cut back after a failed write is still made durable: its whole lines are the record.
    let syncFailure: NodeJS.ErrnoException | undefined;
    try {
      if (failure === undefined) syncFailure = await fsyncFile(fd);
    } finally {
      closeSync(fd);
    }
    this.throwCloseFailure(failure);
    if (syncFailure !== undefined) throw syncFailure;
  }

  /** Writes what is buffered and closes the file; throws a write failure not yet reported. */
  close(): void {
    if (this.fd === undefined) return;
    const { fd, failure } = this.flushAndRelease();
    closeSync(fd);
    this.throwCloseFailure(failure);
  }

  /** Writes what is buffered and marks the writer closed: the file, still open, and a failure. */
  private flushAndRelease(): { fd: number; failure: unknown } {
    let failure: unknown;
    try {
      this.flush();
    } catch (error) {
      failure = error;
    }
    const fd = this.fd!;
    this.fd = undefined;
    return { fd, failure };
  }

  /** After closing: the flush's failure, else a failed write not yet reported. */
  private throwCloseFailure(failure: unknown): void {
    if (failure !== undefined) throw failure;
    if (this.failed !== undefined && !this.failureReported) this.throwIfFailed();
  }
}

/** A line that is not JSON at all (as a torn line is not). */
class UnparsableLineError extends HistoryFormatError {}

/**
 * Where a reader notes the torn last line it left out. `unterminated` says whether the line just
 * read was the file's last and had no line break after it.
 */
export class TornTail {
  /** The line left out, once one was. */
  line: number | undefined;
  constructor(readonly unterminated: () => boolean = () => true) {}
}

/** How `check` and `report` say that a history's torn last line, `line`, was left out. */
export function tornLineLeftOut(line: number): string {
  return `line ${line} left out: torn (the last line, no line break after it, not JSON, as a writer killed mid-line leaves it)`;
}

/** One line the ordinary way: parsed, checked as an op and against the history so far. */
function parseJsonlLine(line: string, lineNumber: number, file: string, shape: HistoryShapeTracker): Op {
  let record: unknown;
  try {
    record = parseJsonExact(line);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new UnparsableLineError(file, lineNumber, `expected one JSON object per line; ${why}`);
  }
  const problem = opProblem(record);
  if (problem !== undefined) throw new HistoryFormatError(file, lineNumber, problem);
  const op = record as Op;
  const shapeProblem = shape.check(op);
  if (shapeProblem !== undefined) throw new HistoryFormatError(file, lineNumber, shapeProblem);
  return op;
}

/**
 * Parses and validates JSONL lines as they come; `file` names the source in errors. Blank lines
 * are skipped (a trailing newline is normal). With `torn`, a last line that had no line break and
 * is not JSON is left out and noted there.
 */
export async function* parseJsonlLines(
  lines: AsyncIterable<string> | Iterable<string>,
  file: string,
  budget?: Budget,
  torn?: TornTail,
): AsyncGenerator<Op> {
  const shape = new HistoryShapeTracker();
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    budget?.step();
    if (line.trim() === "") continue;
    let op: Op;
    try {
      op = parseJsonlLine(line, lineNumber, file, shape);
    } catch (error) {
      if (!(error instanceof UnparsableLineError && torn?.unterminated() === true)) throw error;
      torn.line = lineNumber;
      return;
    }
    yield op;
  }
}

/** Where `scanJsonl` delivers each operation. */
export interface ScannedJsonlConsumer {
  /** A line the fast path read: its fields are in `scanner` (until the next line). */
  scanned(scanner: JsonlScanner): void;
  /** A line read the ordinary way. */
  op(op: Op): void;
}

const NEWLINE = 0x0a;

/**
 * Reads a JSONL history from the source's bytes, every line as `parseJsonlLines` reads it (the
 * same checks, the same errors, the same line numbers), but a line of faultline's own shape
 * through `JsonlScanner`, without making a string or an object of it. For a consumer that keeps
 * only what it needs of each operation (the Elle checker's tables), a history of any length is
 * read in memory that does not grow with its text.
 */
export async function scanJsonl(
  source: HistorySource,
  consumer: ScannedJsonlConsumer,
  budget?: Budget,
  torn?: TornTail,
): Promise<void> {
  const file = source.name;
  const shape = new HistoryShapeTracker();
  const scanner = new JsonlScanner();
  const decoder = new TextDecoder();
  let lineNumber = 0;
  let first = true;
  /** Checks and hands on the line the scanner has just read (line `lineNumber`). */
  const scanned = (): void => {
    const problem = shape.checkFields(scanner.index, scanner.process, scanner.type, scanner.f, scanner.time);
    if (problem !== undefined) throw new HistoryFormatError(file, lineNumber, problem);
    consumer.scanned(scanner);
  };
  const line = (bytes: Uint8Array, start: number, end: number): void => {
    lineNumber++;
    budget?.step();
    if (first) {
      first = false;
      if (end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf)
        start += 3;
    }
    if (scanner.scan(bytes, start, end)) {
      scanned();
      return;
    }
    let text = decoder.decode(bytes.subarray(start, end));
    if (text.endsWith("\r")) text = text.slice(0, -1);
    if (text.trim() === "") return;
    consumer.op(parseJsonlLine(text, lineNumber, file, shape));
  };
  /**
   * Reads the whole lines of `chunk` from `start` on, up to its last line break `lastBreak`
   * (`view`: a view of it); where the rest (a line not ended yet) starts. The usual line,
   * faultline's own bytes, is read through to its line break, which is then not searched for (a
   * native call per line: a 100k-transaction check took about 3% more CPU with it); only up to the
   * chunk's last line break, so that the scanner never reads past the bytes it was given (V8 threw
   * its optimised code away at each such read: 16% more CPU). A function of its own, not a loop of
   * this asynchronous one, and given what it needs of the chunk: V8 compiles the loop that runs
   * long as part of its function, smaller here, and code that ran before feedback was kept (the
   * first call's start, the end of its chunk) would stop the compiled code the next time.
   */
  const lines = (
    chunk: Buffer,
    view: DataView<ArrayBufferLike>,
    start: number,
    lastBreak: number,
  ): number => {
    for (;;) {
      if (start > lastBreak) return start;
      const through = first ? -1 : scanner.scanThrough(chunk, start, lastBreak + 1, view);
      if (through !== -1) {
        lineNumber++;
        budget?.step();
        scanned();
        start = through + 1;
        continue;
      }
      const at = chunk.indexOf(NEWLINE, start);
      line(chunk, start, at);
      start = at + 1;
    }
  };
  // A line that began in an earlier chunk: its pieces, joined once it ends (joined at every chunk,
  // a line of 600 MB took minutes of copying), and up to `historyLineBytesMax` bytes of them.
  const carry: Buffer[] = [];
  let carryBytes = 0;
  const gather = (piece: Buffer): void => {
    carryBytes += piece.length;
    if (carryBytes > historyLineBytesMax) throw lineTooLong(file, lineNumber + 1);
    carry.push(piece);
  };
  const carried = (): Buffer => {
    const whole = carry.length === 1 ? carry[0]! : Buffer.concat(carry, carryBytes);
    carry.length = 0;
    carryBytes = 0;
    return whole;
  };
  for await (const chunk of source.bytes()) {
    let start = 0;
    if (carry.length > 0) {
      // The line that began in an earlier chunk: completed from this one's first line break.
      const at = chunk.indexOf(NEWLINE);
      if (at === -1) {
        gather(Buffer.from(chunk));
        continue;
      }
      gather(chunk.subarray(0, at));
      const whole = carried();
      line(whole, 0, whole.length);
      start = at + 1;
    }
    start = lines(chunk, viewOf(chunk), start, chunk.lastIndexOf(NEWLINE));
    // The rest begins a line: copied, so the chunk is not kept alive for it.
    if (start < chunk.length) gather(Buffer.from(chunk.subarray(start)));
  }
  if (carry.length === 0) return;
  // The last line, with no line break after it.
  const last = carried();
  try {
    line(last, 0, last.length);
  } catch (error) {
    if (!(error instanceof UnparsableLineError && torn !== undefined)) throw error;
    torn.line = lineNumber;
  }
}

/**
 * Streams the ops of a JSONL history file (`-`: standard input), validating each line. With
 * `torn`, a torn last line (see the module header) is left out and noted there, as
 * `faultline check` does; without, it is an error like any other bad line.
 */
export async function* readJsonlHistory(path: string, budget?: Budget, torn?: TornTail): AsyncGenerator<Op> {
  const source = HistorySource.open(path, budget);
  // Only the file's very last line, when no line break follows it, may be the torn one.
  const tail = torn === undefined ? undefined : new TornTail(() => source.lastLineUnterminated);
  try {
    yield* parseJsonlLines(source.lines(), source.name, budget, tail);
  } finally {
    source.close();
    if (torn !== undefined && tail?.line !== undefined) torn.line = tail.line;
  }
}

/** Every op of a JSONL history file, validated; `torn` as for `readJsonlHistory`. */
export async function readJsonlHistoryAll(path: string, torn?: TornTail): Promise<Op[]> {
  const ops: Op[] = [];
  for await (const op of readJsonlHistory(path, undefined, torn)) ops.push(op);
  return ops;
}
