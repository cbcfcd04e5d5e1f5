/**
 * Node logs: `nodes/<endpoint>.log` in a run folder, one line per event, `<seconds> <line>` with
 * the true test time (virtual in simulation), written as they happen. Like the history, each line
 * is written synchronously, so a killed run keeps its logs up to the kill; unlike the history, a
 * log is for people, so a run with a chatty endpoint is bounded: past `maxLinesPerEndpoint` lines
 * an endpoint's log says so once and drops the rest (the history, never bounded, is the record).
 *
 * Files are opened on an endpoint's first line, so an endpoint that logged nothing has no file.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { writeAllSync } from "../history/jsonl.ts";
import type { EndpointLogSink } from "../runtime/types.ts";

const endpointNamePattern = /^[A-Za-z0-9._-]+$/;

interface OpenLog {
  readonly fd: number;
  lines: number;
}

export class NodeLogs {
  private readonly open = new Map<string, OpenLog>();
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
    let log = this.open.get(endpoint);
    if (log === undefined) {
      const folder = join(this.dir, "nodes");
      mkdirSync(folder, { recursive: true });
      log = { fd: openSync(join(folder, `${endpoint}.log`), "a"), lines: 0 };
      this.open.set(endpoint, log);
    }
    if (log.lines > this.maxLinesPerEndpoint) return;
    log.lines += 1;
    const text =
      log.lines > this.maxLinesPerEndpoint
        ? `${formatSeconds(timeNs)} (log bound of ${this.maxLinesPerEndpoint} lines reached; later lines dropped)\n`
        : `${formatSeconds(timeNs)} ${line.replace(/\n/g, "\\n")}\n`;
    writeAllSync(log.fd, Buffer.from(text, "utf8"), join(this.dir, "nodes", `${endpoint}.log`));
  }

  /** Endpoints that have a log, in name order. */
  endpoints(): string[] {
    return [...this.open.keys()].sort();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const log of this.open.values()) closeSync(log.fd);
    this.open.clear();
  }
}

/** `12.345678901`: seconds with nanosecond digits, fixed width after the point, so lines sort. */
export function formatSeconds(timeNs: number): string {
  const whole = Math.floor(timeNs / 1e9);
  const fraction = String(Math.floor(timeNs - whole * 1e9)).padStart(9, "0");
  return `${whole}.${fraction}`;
}
