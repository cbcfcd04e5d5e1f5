/**
 * Node logs: `nodes/<endpoint>.log` in a run folder, one line per event, `<seconds> <line>` with
 * the true test time (virtual in simulation), written as they happen. Like the history, each line
 * is written synchronously, so a killed run keeps its logs up to the kill; unlike the history, a
 * log is for people, so a run with a chatty endpoint is bounded: past `maxLinesPerEndpoint` lines
 * an endpoint's log says so once and drops the rest (the history, never bounded, is the record).
 *
 * Files are opened on an endpoint's first line, so an endpoint that logged nothing has no file.
 * A log the file system refuses (a full disk) is cut back to its last whole line and takes no
 * more; the failure is kept (`unwritten`) for the run to report, and the run goes on.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { fsyncInBackground, writeAllSync } from "../history/jsonl.ts";
import { fileSystemReason, fsyncFolder, isFileSystemError, type UnwrittenArtifact } from "./atomic.ts";
import type { EndpointLogSink } from "../runtime/types.ts";

const endpointNamePattern = /^[A-Za-z0-9._-]+$/;

interface OpenLog {
  /** Undefined once closed, or when the file system refused the file. */
  fd: number | undefined;
  /** Whether the file exists (it may have been refused before it was created). */
  readonly hasFile: boolean;
  lines: number;
  /** Bytes of whole lines written. */
  size: number;
}

export class NodeLogs {
  private readonly open = new Map<string, OpenLog>();
  private readonly failures: UnwrittenArtifact[] = [];
  private closed = false;

  /** `dir` is the run folder; logs go to `dir/nodes/`. */
  constructor(
    private readonly dir: string,
    private readonly maxLinesPerEndpoint = 100_000,
  ) {}

  /** The sink a world writes through. */
  readonly sink: EndpointLogSink = (endpoint, timeNs, line) => this.write(endpoint, timeNs, line);

  write(endpoint: string, timeNs: number, line: string): void {
    if (this.closed) return;
    if (!endpointNamePattern.test(endpoint)) throw new Error(`node log: bad endpoint name "${endpoint}"`);
    const file = `nodes/${endpoint}.log`;
    let log = this.open.get(endpoint);
    if (log === undefined) {
      try {
        mkdirSync(join(this.dir, "nodes"), { recursive: true });
        log = { fd: openSync(join(this.dir, file), "a"), hasFile: true, lines: 0, size: 0 };
      } catch (error) {
        if (!isFileSystemError(error)) throw error;
        this.failures.push({ file, reason: fileSystemReason(error) });
        log = { fd: undefined, hasFile: false, lines: 0, size: 0 };
      }
      this.open.set(endpoint, log);
    }
    if (log.fd === undefined || log.lines > this.maxLinesPerEndpoint) return;
    log.lines += 1;
    const text =
      log.lines > this.maxLinesPerEndpoint
        ? `${formatSeconds(timeNs)} (log bound of ${this.maxLinesPerEndpoint} lines reached; later lines dropped)\n`
        : `${formatSeconds(timeNs)} ${line.replace(/\n/g, "\\n")}\n`;
    const bytes = Buffer.from(text, "utf8");
    try {
      writeAllSync(log.fd, bytes, join(this.dir, file));
      log.size += bytes.length;
    } catch (error) {
      if (!isFileSystemError(error)) throw error;
      this.failures.push({ file, reason: fileSystemReason(error), cutShort: log.size > 0 });
      try {
        ftruncateSync(log.fd, log.size);
      } catch {
        // The reader of a node log is a person; a torn last line is the worst left behind.
      }
      closeSync(log.fd);
      log.fd = undefined;
    }
  }

  /** The logs the file system refused, and why. */
  unwritten(): readonly UnwrittenArtifact[] {
    return this.failures;
  }

  /** Endpoints that have a log, in name order. */
  endpoints(): string[] {
    return [...this.open]
      .filter(([, log]) => log.hasFile)
      .map(([endpoint]) => endpoint)
      .sort();
  }

  /**
   * Forces every log to stable storage (on libuv's thread pool, all at once; then the folder that
   * names them) and closes it, as the run's history: a log the disk refused to sync is recorded
   * in `unwritten`. `endpoints()` still names them afterwards.
   */
  async closeDurably(
    fsyncFile: (fd: number) => Promise<NodeJS.ErrnoException | undefined> = fsyncInBackground,
  ): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.open].filter(([, log]) => log.fd !== undefined);
    const synced = await Promise.all(open.map(([, log]) => fsyncFile(log.fd!)));
    open.forEach(([endpoint, log], i) => {
      closeSync(log.fd!);
      log.fd = undefined;
      const error = synced[i];
      if (error !== undefined)
        this.failures.push({ file: `nodes/${endpoint}.log`, reason: fileSystemReason(error) });
    });
    if (open.length > 0) fsyncFolder(join(this.dir, "nodes"));
  }

  /** Closes every log; `endpoints()` still names them afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const log of this.open.values()) {
      if (log.fd === undefined) continue;
      closeSync(log.fd);
      log.fd = undefined;
    }
  }
}

/** `12.345678901`: seconds with nanosecond digits, fixed width after the point, so lines sort. */
export function formatSeconds(timeNs: number): string {
  const whole = Math.floor(timeNs / 1e9);
  const fraction = String(Math.floor(timeNs - whole * 1e9)).padStart(9, "0");
  return `${whole}.${fraction}`;
}
