/**
 * What an engine is opened with (`EngineOptions`, checked at open) and the figures it reports
 * (`EngineStats`).
 */
import type { BackgroundOptions } from "./background.ts";
import type { IsolationLevel } from "./transactions.ts";

export interface EngineOptions extends BackgroundOptions {
  /** Isolation of transactions begun without one. Default `serializable`. */
  readonly isolation?: IsolationLevel;
  /** Bug knobs (see bugs.ts). Default none. */
  readonly bugs?: ReadonlySet<string>;
  /** Default 32 KiB. A write that would overflow its key's page aborts with `page-full`. */
  readonly pageSizeBytes?: number;
  /** A lock wait longer than this aborts with `lock-timeout`; 0 waits forever. Default 5 s. */
  readonly lockTimeoutNs?: number;
  /** Start the background task (log flush, page flush, vacuum, checkpoints). Default true. */
  readonly background?: boolean;
  /** `replica`: installs shipped log records, serves read-only transactions, writes no log. */
  readonly role?: "primary" | "replica";
}

export interface EngineStats {
  readonly commits: number;
  readonly aborts: Readonly<Record<string, number>>;
  readonly walBytes: number;
  readonly walRecords: number;
  readonly walFsyncs: number;
  readonly pagesWritten: number;
  readonly versionsVacuumed: number;
  readonly checkpoints: number;
  /** Transaction ids counted as running (on a replica: the primary's, as the stream tells them). */
  readonly runningTransactions: number;
}

const MIN_PAGE_SIZE_BYTES = 128;

/** The page size `options` ask for (default 32 KiB); a RangeError for one too small or not whole. */
export function pageSizeOf(options: EngineOptions): number {
  const pageSizeBytes = options.pageSizeBytes ?? 32 * 1024;
  if (!Number.isInteger(pageSizeBytes) || pageSizeBytes < MIN_PAGE_SIZE_BYTES) {
    throw new RangeError(`pageSizeBytes must be an integer >= ${MIN_PAGE_SIZE_BYTES}, got ${pageSizeBytes}`);
  }
  return pageSizeBytes;
}
