/**
 * Background work: what a database does between transactions, one bounded pass every
 * `backgroundIntervalNs` (10 ms) until it is closed or its node crashes.
 *
 * Each pass flushes the log tail (so a commit's fsync is often already done), writes the dirty
 * pages with the oldest recLsn (each only after the log covering it is fsynced: the write-ahead
 * rule; every `pagesEveryPasses` passes, default every one), vacuums some keys, and every
 * `checkpointEveryPasses` passes takes a checkpoint. On a replica the vacuum and the checkpoint do
 * nothing (it redoes its primary's). A pass that fails (an I/O error) fails the database and ends
 * the task: the owner reopens it.
 */
import type { Runtime } from "../../harness/runtime/types.ts";
import type { PagePool } from "./pages.ts";
import type { Wal } from "./wal.ts";

export interface BackgroundOptions {
  /** Pause between background passes. Default 10 ms. */
  readonly backgroundIntervalNs?: number;
  /** Dirty pages written per page-writing pass (oldest recLsn first). Default 8. */
  readonly pagesPerPass?: number;
  /** Every this many background passes writes dirty pages. Default 1 (every pass). */
  readonly pagesEveryPasses?: number;
  /** Keys the vacuum visits per pass. Default 64. */
  readonly vacuumKeysPerPass?: number;
  /** A fuzzy checkpoint every this many background passes. Default 20. */
  readonly checkpointEveryPasses?: number;
}

/** What a pass works on (the database). */
export interface BackgroundWork {
  readonly wal: Wal;
  flushDirtyPages(maxPages: number): Promise<number>;
  vacuum(maxKeys: number): number;
  checkpoint(): Promise<void>;
  /** Ends the database after an error (database.ts). */
  fail(error: unknown): void;
}

/** Writes up to `maxPages` dirty pages, oldest recLsn first, each after the log covering it. */
export async function flushDirtyPages(wal: Wal, pool: PagePool, maxPages: number): Promise<number> {
  let written = 0;
  for (const id of pool.dirtyByAge().slice(0, Math.max(0, maxPages))) {
    const ok = await pool.flushPage(id, (lsn) => wal.flush(logEndOf(wal, lsn)));
    if (ok) written++;
  }
  return written;
}

/** End of the record at `lsn`; a record no longer in memory is already durable. */
function logEndOf(wal: Wal, lsn: number): number {
  const record = wal.get(lsn);
  if (record !== undefined) return record.lsn + record.sizeBytes;
  return lsn < wal.retainedFrom ? 0 : wal.endLsn;
}

/** One background pass: flush the log tail, write some dirty pages (when due), vacuum, sometimes checkpoint. */
async function backgroundPass(work: BackgroundWork, options: BackgroundOptions, pass: number): Promise<void> {
  if (work.wal.fsyncedEnd < work.wal.endLsn) await work.wal.flush();
  if (pass % (options.pagesEveryPasses ?? 1) === 0) await work.flushDirtyPages(options.pagesPerPass ?? 8);
  work.vacuum(options.vacuumKeysPerPass ?? 64);
  if (pass % (options.checkpointEveryPasses ?? 20) === 0) await work.checkpoint();
}

/** Runs a background pass every `backgroundIntervalNs` until `closed()` (or a crash stops the task). */
export function spawnBackground(
  rt: Runtime,
  work: BackgroundWork,
  options: BackgroundOptions,
  closed: () => boolean,
): void {
  const intervalNs = options.backgroundIntervalNs ?? 10_000_000;
  rt.spawn("engine-background", async () => {
    // Bounded by the node's life: `close` ends it and a crash stops the task.
    for (let pass = 1; !closed(); pass++) {
      await rt.clock.sleep(intervalNs);
      if (closed()) break;
      try {
        await backgroundPass(work, options, pass);
      } catch (error) {
        work.fail(error);
      }
    }
  });
}
