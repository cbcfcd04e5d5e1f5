/**
 * What a run keeps of its history while it runs, and where the whole of it is: in history.jsonl.
 *
 * A run used to keep every op in memory to check it at the end, which bounded a run to about a
 * million operations (a 1.18M-transaction run peaked at 2.7 GB, a longer one died out of heap).
 * Now the file is the history: once it is complete and on stable storage, the run checks it as
 * `faultline check` checks a stored run (cli/check.ts `checkRunHistory`), through the same
 * streamed path. While it runs, the run keeps only
 * - `RunTally`: counts and the last time, for test.json and the summary lines;
 * - `RunTally.reportHistory`: the history as the reports read it, in columns, each client op
 *   without its value (a list-append read's value is most of an op's size); the few values the
 *   HTML timeline shows are read back from the file at the end (`withValuesOf`), or, for a short
 *   history, taken from the ops the tally kept whole (`RunTally.wholeOps`);
 * - `StreamedHistory.inMemory`: only once the file system refused the file (a full disk), the
 *   whole history again, read back from the file's whole lines and kept from there on, so such a
 *   run is still checked in full, under the old bound on operations.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { parseJsonExact } from "../harness/history/exactJson.ts";
import { HistoryWriter } from "../harness/history/jsonl.ts";
import { historyLineBytesMax, lineTooLong } from "../harness/history/source.ts";
import { grownToHold, OperationTally, type Op, type OpType } from "../harness/history/op.ts";
import { fileSystemReason, isFileSystemError, type ArtifactLog } from "../harness/store/atomic.ts";

/** The op types, by their code in `RunTally`'s column. */
const opTypes: readonly OpType[] = ["invoke", "ok", "fail", "info"];
const opTypeCodes: Readonly<Record<OpType, number>> = { invoke: 0, ok: 1, fail: 2, info: 3 };

/**
 * The most entries `RunTally` keeps whole (values included): the timeline of a history this short
 * shows every client op (`htmlLimits.timelineOpsMax`, 8,000, a client op being two entries, with
 * room for nemesis ops), so its values would all be read back from the file; kept, a short run
 * skips that read (about 30 ms of a 60-simulated-second memory run's 0.55 s). A few MB at most.
 */
export const wholeEntriesKeptMax = 20_000;

/** How many distinct `f`s `RunTally`'s column numbers (an op with another is kept whole). */
const fCodesMax = 0xffff;

/**
 * Counts and the report's history of a run, kept as its ops are recorded. The report's history
 * is kept in columns (test time, process, type, f: 19 bytes an entry, where an op object without
 * its value took about 110), and made into op objects only when the reports ask for it, after
 * checking (`reportHistory`). A nemesis op, and a client op with an error (summarizeHistory reads
 * it), is kept as an object: the nemesis op whole (fault windows read its value), the client op
 * without its value. What the reports read of a client op: index, time, process, type, f, error.
 */
export class RunTally {
  private readonly tally = new OperationTally();
  /** Test time of the last op recorded, ns (0 before the first). */
  lastTimeNs = 0;
  private times = new Float64Array(1024);
  private processes = new Float64Array(1024);
  private types = new Uint8Array(1024);
  private fCodes = new Uint16Array(1024);
  private readonly fNames: string[] = [];
  private readonly fCodeOf = new Map<string, number>();
  /** The ops kept as objects (see above), by index. */
  private readonly objects = new Map<number, Op>();
  private materialized: Op[] | undefined;
  /** Every op whole while there are at most `wholeKeptMax` (see `wholeEntriesKeptMax`). */
  private whole: Op[] | undefined = [];

  constructor(private readonly wholeKeptMax = wholeEntriesKeptMax) {}

  add(op: Op): void {
    const at = this.tally.entries;
    if (this.whole !== undefined) {
      if (at < this.wholeKeptMax) this.whole.push(op);
      else this.whole = undefined;
    }
    this.tally.add(op.process, op.type);
    this.lastTimeNs = op.time;
    if (op.process === "nemesis") {
      this.objects.set(at, op);
      return;
    }
    const fCode = this.fCodeFor(op.f);
    if (op.error !== undefined || typeof op.process !== "number" || fCode === undefined) {
      this.objects.set(at, withoutValue(op));
      return;
    }
    this.times = grownToHold(this.times, at);
    this.processes = grownToHold(this.processes, at);
    this.types = grownToHold(this.types, at);
    this.fCodes = grownToHold(this.fCodes, at);
    this.times[at] = op.time;
    this.processes[at] = op.process;
    this.types[at] = opTypeCodes[op.type];
    this.fCodes[at] = fCode;
  }

  private fCodeFor(f: string): number | undefined {
    const known = this.fCodeOf.get(f);
    if (known !== undefined || this.fNames.length >= fCodesMax) return known;
    this.fCodeOf.set(f, this.fNames.length);
    this.fNames.push(f);
    return this.fNames.length - 1;
  }

  /**
   * Every op recorded, whole, when there were at most `wholeEntriesKeptMax` (a longer history's
   * values are in its file only): the values the report's timeline shows, without reading them back.
   */
  get wholeOps(): readonly Op[] | undefined {
    return this.whole;
  }

  /** Client operations: an invocation with its completion is one (countClientOperations). */
  get operations(): number {
    return this.tally.clientOperations;
  }

  get entries(): number {
    return this.tally.entries;
  }

  /**
   * Every op recorded, a client op's without its value (see the class): what the reports read.
   * Made once, when first asked for.
   */
  get reportHistory(): readonly Op[] {
    if (this.materialized !== undefined) return this.materialized;
    const ops: Op[] = new Array<Op>(this.entries);
    for (let index = 0; index < ops.length; index++) {
      ops[index] = this.objects.get(index) ?? {
        index,
        time: this.times[index]!,
        process: this.processes[index]!,
        type: opTypes[this.types[index]!]!,
        f: this.fNames[this.fCodes[index]!]!,
        value: undefined,
      };
    }
    this.materialized = ops;
    return ops;
  }
}

/** `op` without its value (a runner's op has no fields but these). */
function withoutValue(op: Op): Op {
  const light: { -readonly [K in keyof Op]?: Op[K] } = {
    index: op.index,
    time: op.time,
    process: op.process,
    type: op.type,
    f: op.f,
    value: undefined,
  };
  if (op.error !== undefined) light.error = op.error;
  return light as Op;
}

/**
 * `history` with the ops at `indices` replaced by `fullOps`' (by index), for a report that shows
 * their values. A copy; `history` is left as it is.
 */
export function withValuesOf(history: readonly Op[], fullOps: ReadonlyMap<number, Op>): Op[] {
  const filled = history.slice();
  for (const [index, op] of fullOps) if (index < filled.length) filled[index] = op;
  return filled;
}

/** How many bytes `readHistoryLines` reads at a time. */
const readChunkBytes = 1 << 20;

/**
 * The ops on the lines of a faultline JSONL file whose numbers (0-based: an op's index) `wanted`
 * says, at most `maxLines` lines read (the file's whole lines: `HistoryWriter.writtenLines`).
 * Reads the file once, a chunk at a time, parsing only the lines wanted. A line is gathered up to
 * `historyLineBytesMax` bytes, as `faultline check` reads one; a longer one is an error naming the
 * file and line. Before, the lines were bounded but not their bytes: a file whose line was
 * replaced by gigabytes with no line break was gathered whole.
 */
export function readHistoryLines(
  path: string,
  wanted: (line: number) => boolean,
  maxLines = Number.POSITIVE_INFINITY,
): Op[] {
  const ops: Op[] = [];
  const fd = openSync(path, "r");
  try {
    const chunk = Buffer.alloc(readChunkBytes);
    let carry: Buffer[] = [];
    let carryBytes = 0;
    let line = 0;
    // Each round reads a chunk and takes its whole lines; the file's size bounds the rounds.
    for (let bytes = readSync(fd, chunk); bytes > 0 && line < maxLines; bytes = readSync(fd, chunk)) {
      let start = 0;
      for (let end = chunk.indexOf(10, start); end !== -1 && end < bytes; end = chunk.indexOf(10, start)) {
        if (carryBytes + end - start > historyLineBytesMax) throw lineTooLong(path, line + 1);
        if (wanted(line)) {
          const text = Buffer.concat([...carry, chunk.subarray(start, end)]).toString("utf8");
          try {
            ops.push(parseJsonExact(text) as Op);
          } catch (error) {
            throw new Error(`${path}:${line + 1}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
        carry = [];
        carryBytes = 0;
        start = end + 1;
        if (++line >= maxLines) break;
      }
      if (start < bytes && line < maxLines) {
        carryBytes += bytes - start;
        if (carryBytes > historyLineBytesMax) throw lineTooLong(path, line + 1);
        carry.push(Buffer.from(chunk.subarray(start, bytes)));
      }
    }
  } finally {
    closeSync(fd);
  }
  return ops;
}

/**
 * The run's whole history as op objects (a library caller's `history`): exactly the `entries` it
 * recorded, indices 0, 1, 2, …, from the history kept in memory or read back from history.jsonl
 * (at most `entries` + 1 lines read, so a file grown since is noticed, not read to its end). When
 * that cannot be had, an error saying why, never a part passed off as the whole: a prefix the
 * disk refused and that was not read back (before, the ops after it were returned, a history that
 * silently started later), or a file cut short, grown, torn or changed since the run wrote it
 * (before, whatever the file then held, read with no bound, a torn last line dropped).
 */
export function wholeRunHistory(history: StreamedHistory, entries: number): Op[] {
  const notWhole = (why: string): Error => new Error(`the run's history cannot be given whole: ${why}`);
  if (history.prefixLost !== undefined)
    throw notWhole(
      `the disk refused ${history.path}, and its lines before that were not read back (${history.prefixLost})`,
    );
  let ops: Op[];
  if (history.inMemory !== undefined) ops = history.inMemory;
  else {
    try {
      ops = readHistoryLines(history.path, () => true, entries + 1);
    } catch (error) {
      // A line that is not JSON is named by readHistoryLines (path and line).
      throw notWhole(
        isFileSystemError(error)
          ? `${history.path}: ${fileSystemReason(error)}`
          : error instanceof Error
            ? error.message
            : String(error),
      );
    }
  }
  if (ops.length !== entries) throw notWhole(entryCountMismatch(history.path, ops.length, entries));
  for (let i = 0; i < ops.length; i++) {
    const wrong = notTheEntryAt(history.path, i, ops[i]);
    if (wrong !== undefined) throw notWhole(wrong);
  }
  return ops;
}

/** A file of `lines` whole lines where the run recorded `entries`, in words. */
function entryCountMismatch(path: string, lines: number, entries: number): string {
  return lines < entries
    ? `${path} holds ${lines} of the ${entries} entries the run recorded (cut short since)`
    : `${path} holds more than the ${entries} entries the run recorded (changed since)`;
}

/** Why `op`, read from `line` (0-based), is not the entry the run recorded there, if it is not. */
function notTheEntryAt(path: string, line: number, op: unknown): string | undefined {
  const index = (op as { index?: unknown } | null)?.index;
  return index === line
    ? undefined
    : `${path}:${line + 1}: expected the entry of index ${line}, found ${JSON.stringify(index) ?? "none"} (changed since)`;
}

/** history.jsonl does not hold what the run recorded there: cut, grown, or changed since. */
export class HistoryNotAsRecorded extends Error {
  override name = "HistoryNotAsRecorded";
}

/**
 * The ops at the lines `wanted` of a run's history.jsonl (the report's timeline values), read as
 * `wholeRunHistory` reads the file: at most `entries` + 1 lines, so a file grown since is noticed
 * rather than read to its end. A file that does not hold exactly the `entries` the run recorded,
 * or whose wanted line is not JSON or not the entry of that index, is a `HistoryNotAsRecorded`
 * naming the file (and line). Before, the file was read to its end whatever it held, a line that
 * was not JSON ended the run with a stack trace (exit 255) after it was checked, and an op of
 * another index was shown at that index. A file the file system refuses throws its own error.
 */
export function recordedOpsAt(path: string, wanted: ReadonlySet<number>, entries: number): Map<number, Op> {
  let lines = 0;
  const wantedLines: number[] = [];
  let ops: Op[];
  try {
    ops = readHistoryLines(
      path,
      (line) => {
        lines = line + 1;
        if (!wanted.has(line)) return false;
        wantedLines.push(line);
        return true;
      },
      entries + 1,
    );
  } catch (error) {
    if (isFileSystemError(error)) throw error;
    // A line that is not JSON, named by readHistoryLines (path and line).
    throw new HistoryNotAsRecorded(error instanceof Error ? error.message : String(error));
  }
  if (lines !== entries) throw new HistoryNotAsRecorded(entryCountMismatch(path, lines, entries));
  const found = new Map<number, Op>();
  for (let i = 0; i < ops.length; i++) {
    const line = wantedLines[i]!;
    const wrong = notTheEntryAt(path, line, ops[i]);
    if (wrong !== undefined) throw new HistoryNotAsRecorded(wrong);
    found.set(line, ops[i]!);
  }
  return found;
}

/**
 * history.jsonl, streamed. When the file system refuses a line (a full disk), the file is kept
 * cut at its last whole line, the failure is logged, and the run goes on with its history in
 * memory (`inMemory`): the file's whole lines read back, and every op from there on, so the run is
 * still checked in full.
 */
export class StreamedHistory {
  private writer: HistoryWriter | undefined;
  complete = true;
  /**
   * Ops appended that may not be in the file yet (the writer's buffer), oldest first: at most
   * what the writer holds back (`historyBufferMs`, 64 KiB of lines), and one more.
   */
  private unconfirmed: Op[] = [];
  /** The whole history, once the file was refused (undefined while the file takes it all). */
  inMemory: Op[] | undefined;
  /** Why the file's lines written before it was refused could not be read back, if they could not. */
  prefixLost: string | undefined;

  /**
   * `maxLinesInMemory`: the most lines read back when the file is refused (a run's bound for op
   * objects, two entries an operation); a file refused past them is not read back, and the run's
   * history is not checked (`prefixLost` says why) rather than the run running out of heap.
   */
  constructor(
    readonly path: string,
    private readonly artifacts: ArtifactLog,
    bufferMs = 0,
    private readonly maxLinesInMemory = Number.POSITIVE_INFINITY,
  ) {
    try {
      this.writer = HistoryWriter.open(path, { bufferMs });
    } catch (error) {
      this.fail(error, false, 0);
    }
  }

  append(op: Op): void {
    if (this.inMemory !== undefined) {
      this.inMemory.push(op);
      return;
    }
    const writer = this.writer;
    if (writer === undefined) return;
    this.unconfirmed.push(op);
    try {
      writer.append(op);
    } catch (error) {
      this.closeAfterFailure();
      this.fail(error, op.index > 0, writer.writtenLines);
      return;
    }
    const written = writer.writtenLines;
    const oldest = this.unconfirmed[0]!.index;
    if (written > oldest) this.unconfirmed.splice(0, written - oldest);
  }

  /** Writes the buffered lines now (the process is about to end: harness/mainThreadWatch.ts). */
  flushNow(): void {
    try {
      this.writer?.flush();
    } catch {
      // A file the file system refuses keeps its whole lines; the process ends anyway.
    }
  }

  /** Closes the file once what was written is on stable storage (see HistoryWriter.closeDurably). */
  async closeDurably(): Promise<void> {
    if (this.writer === undefined) return;
    const writer = this.writer;
    this.writer = undefined;
    try {
      await writer.closeDurably();
    } catch (error) {
      this.fail(error, writer.writtenBytes > 0, writer.writtenLines);
    }
    this.unconfirmed = [];
  }

  private closeAfterFailure(): void {
    try {
      this.writer?.close();
    } catch {
      // The failure that brought us here is the one to report.
    }
    this.writer = undefined;
  }

  /** The file refused: logged, and the history kept in memory from here on (`inMemory`). */
  private fail(error: unknown, cutShort: boolean, writtenLines: number): void {
    if (!isFileSystemError(error)) throw error;
    this.complete = false;
    this.artifacts.record({ file: "history.jsonl", reason: fileSystemReason(error), cutShort });
    let prefix: Op[] = [];
    if (writtenLines > this.maxLinesInMemory) {
      this.prefixLost = `its ${writtenLines} lines are more than a run holds in memory (${this.maxLinesInMemory})`;
    } else if (writtenLines > 0) {
      try {
        prefix = readHistoryLines(this.path, () => true, writtenLines);
        if (prefix.length < writtenLines)
          this.prefixLost = `the file held ${prefix.length} of its ${writtenLines} lines`;
      } catch (readError) {
        this.prefixLost = isFileSystemError(readError)
          ? fileSystemReason(readError)
          : readError instanceof Error
            ? readError.message
            : String(readError);
      }
    }
    const unwritten = this.unconfirmed.filter((op) => op.index >= writtenLines);
    this.unconfirmed = [];
    this.inMemory = [...prefix, ...unwritten];
  }
}
