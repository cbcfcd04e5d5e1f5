/**
 * faultline's own history format: JSON Lines, one `Op` per line, in index order.
 *
 * The writer appends each op with one synchronous write, so a process killed at any moment
 * (SIGKILL included) leaves every completed line in the file: the kernel has it even though the
 * process never got to flush or close. (Surviving a power cut needs `fsync`, which `sync()` does.)
 * At worst the last line is torn; the reader reports that line like any other bad line.
 *
 * The reader streams: it validates each line as it comes (`opProblem`, `index` counting 0, 1, 2,
 * …, invocations and completions pairing up) and raises `HistoryFormatError` with the file, the
 * line and what it expected.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from "node:fs";
import type { Budget } from "../budget.ts";
import type { Op } from "./op.ts";
import { HistorySource } from "./source.ts";
import { HistoryFormatError, HistoryShapeTracker, opProblem } from "./validate.ts";

/** JSON text of an op; a `bigint` (from a huge EDN integer) is written as its decimal string. */
export function opToJsonLine(op: Op): string {
  return JSON.stringify(op, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** Appends ops to a JSONL history file, one synchronous write per op. */
/** Writes all of `bytes` to `fd` before returning; `path` names the file in an error. */
export function writeAllSync(fd: number, bytes: Uint8Array, path: string): void {
  let written = 0;
  // writeSync may write less than asked (never for a regular file in practice); the loop ends
  // because every round writes at least one byte or throws.
  while (written < bytes.length) {
    const n = writeSync(fd, bytes, written, bytes.length - written);
    if (n <= 0) throw new Error(`could not write to ${path}`);
    written += n;
  }
}

export class HistoryWriter {
  private fd: number | undefined;
  /** Bytes of whole lines in the file. */
  private size = 0;
  /** Set by a failed write: the file was cut back to its whole lines and takes no more. */
  private failed: unknown;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Creates (or truncates) `path` for writing. */
  static open(path: string): HistoryWriter {
    return new HistoryWriter(path, openSync(path, "w"));
  }

  /**
   * Writes `op` as one line; when this returns, the line survives the process being killed. When
   * the write fails (a full disk), the file is cut back to its last whole line, the error is
   * thrown, and every later append throws it again: the file stays a readable prefix.
   */
  append(op: Op): void {
    if (this.fd === undefined) throw new Error(`HistoryWriter for ${this.path} is closed`);
    if (this.failed !== undefined) throw this.failed;
    const bytes = Buffer.from(opToJsonLine(op) + "\n", "utf8");
    try {
      writeAllSync(this.fd, bytes, this.path);
      this.size += bytes.length;
    } catch (error) {
      this.failed = error;
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // Nothing more can be done for the file; the reader reports a torn last line.
      }
      throw error;
    }
  }

  /** Forces what has been written to stable storage. */
  sync(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }
}

/**
 * Parses and validates JSONL lines as they come; `file` names the source in errors. Blank lines
 * are skipped (a trailing newline is normal).
 */
export async function* parseJsonlLines(
  lines: AsyncIterable<string> | Iterable<string>,
  file: string,
  budget?: Budget,
): AsyncGenerator<Op> {
  const shape = new HistoryShapeTracker();
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    budget?.step();
    if (line.trim() === "") continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new HistoryFormatError(file, lineNumber, `expected one JSON object per line; ${why}`);
    }
    const problem = opProblem(record);
    if (problem !== undefined) throw new HistoryFormatError(file, lineNumber, problem);
    const op = record as Op;
    const shapeProblem = shape.check(op);
    if (shapeProblem !== undefined) throw new HistoryFormatError(file, lineNumber, shapeProblem);
    yield op;
  }
}

/** Streams the ops of a JSONL history file (`-`: standard input), validating each line. */
export async function* readJsonlHistory(path: string, budget?: Budget): AsyncGenerator<Op> {
  const source = HistorySource.open(path, budget);
  try {
    yield* parseJsonlLines(source.lines(), source.name, budget);
  } finally {
    source.close();
  }
}

/** Every op of a JSONL history file, validated. */
export async function readJsonlHistoryAll(path: string): Promise<Op[]> {
  const ops: Op[] = [];
  for await (const op of readJsonlHistory(path)) ops.push(op);
  return ops;
}
