/**
 * Progress of `faultline check` on a large history, on standard error (standard output holds the
 * verdicts): reading is the long part of a big file and its size is known, so the progress is the
 * share of its bytes read, then a "checking" phase until the verdict.
 *
 * Two views, one state: on a terminal (and not under CI) a single line redrawn in place, at most
 * every `redrawMs`, and erased before the verdict is printed; otherwise (CI, a pipe, a log file)
 * plain lines, one per tenth of the file read and one when checking starts, never a cursor
 * movement. `--quiet` shows none, and files smaller than `minBytes` none unless asked
 * (`--progress`). The caller passes the clock in, so tests drive it; writing never throws (a
 * closed terminal loses the progress, never the check). Plain text without Ink: one line does not
 * earn the start-up cost of React.
 */
import { visibleText } from "../harness/history/validate.ts";

/** Files at least this large show progress by default: a check of one takes about a second. */
export const defaultProgressMinBytes = 64 << 20;
/** Least time between two redraws of the terminal line. */
export const redrawMs = 100;

export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CheckProgressOptions {
  readonly output: ProgressOutput;
  /** Whether to draw in place (a terminal, not CI) or print plain lines. */
  readonly interactive: boolean;
  readonly nowMs: () => number;
}

/** Whether CI is set the way CI services set it (CI=true, CI=1): plain lines even on a terminal. */
export function ciFromEnv(env: NodeJS.ProcessEnv): boolean {
  const ci = env["CI"];
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(bytes < 10e6 ? 1 : 0)} MB`;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const barWidth = 24;

/** The progress of one file: `read` as bytes arrive, `checking` once they all have, `end` before its verdict. */
export class FileProgress {
  private readonly startMs: number;
  private lastDrawMs = -Infinity;
  private tenthsPrinted = 0;
  private drawn = false;
  private ended = false;

  constructor(
    private readonly options: CheckProgressOptions,
    /** The file as messages name it. */
    private readonly file: string,
    private readonly totalBytes: number,
  ) {
    this.startMs = options.nowMs();
  }

  /** `bytesRead` of the file's bytes have been read. */
  read(bytesRead: number): void {
    if (this.ended) return;
    const fraction = this.totalBytes > 0 ? Math.min(1, bytesRead / this.totalBytes) : 1;
    const now = this.options.nowMs();
    const elapsedMs = now - this.startMs;
    if (this.options.interactive) {
      if (now - this.lastDrawMs < redrawMs && fraction < 1) return;
      this.lastDrawMs = now;
      const filled = Math.round(fraction * barWidth);
      this.draw(
        `reading ${this.file} [${"#".repeat(filled)}${".".repeat(barWidth - filled)}] ` +
          `${Math.floor(fraction * 100)}% ${megabytes(bytesRead)} of ${megabytes(this.totalBytes)}, ${seconds(elapsedMs)}`,
      );
      return;
    }
    const tenths = Math.floor(fraction * 10);
    if (tenths <= this.tenthsPrinted) return;
    this.tenthsPrinted = tenths;
    this.line(
      `faultline check: ${this.file}: read ${tenths * 10}% (${megabytes(bytesRead)} of ${megabytes(this.totalBytes)}), ${seconds(elapsedMs)}`,
    );
  }

  /** Reading is over; the checkers run. */
  checking(what: string): void {
    if (this.ended) return;
    const elapsedMs = this.options.nowMs() - this.startMs;
    const text = `faultline check: ${this.file}: read in ${seconds(elapsedMs)}; checking ${what}`;
    if (this.options.interactive) this.draw(text);
    else this.line(text);
  }

  /** The check is over: the terminal line is erased, so the verdict stands alone. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.drawn) this.write("\r\x1b[K");
  }

  private draw(text: string): void {
    const columns = this.options.output.columns;
    const shown = visibleText(text);
    const fitted =
      columns !== undefined && columns > 1 && shown.length >= columns ? shown.slice(0, columns - 1) : shown;
    this.drawn = true;
    this.write(`\r\x1b[K${fitted}`);
  }

  private line(text: string): void {
    this.write(visibleText(text) + "\n");
  }

  private write(text: string): void {
    try {
      this.options.output.write(text);
    } catch {
      // A closed terminal or pipe loses the progress, never the check.
    }
  }
}
