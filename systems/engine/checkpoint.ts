/**
 * Checkpoints, the control file that points recovery at the last one, and a database's files.
 *
 * A fuzzy checkpoint logs the transaction table (every transaction that has logged and not ended,
 * with where its undo would start), the running set (every id begun and not ended, logged or not:
 * what a replica needs, replica.ts) and the dirty page table (each dirty page with its recLsn),
 * fsyncs the log through it, and only then points the `control` file at it (written to
 * `control.tmp`, fsynced, renamed into place, the directory fsynced). Recovery's analysis starts
 * from the record that `control` names, so a crash at any step leaves either the old checkpoint or
 * the new one named, never a checkpoint that is not durable (an older one is harmless: the log is
 * never cut at its head). After a checkpoint, memory keeps only the log records
 * that undo of running transactions and shipping still need; the disk keeps the whole log.
 *
 * Files on a node's disk: `wal` (the log), `pages` (page `i` at `i * pageSizeBytes`), `dwb` (the
 * double-write slot) and `control`. Everything but the log can be rebuilt from the log.
 */
import type { Disk } from "../../harness/runtime/types.ts";
import { utf8Decoder, utf8Encoder } from "./checksum.ts";
import type { Durability } from "./durability.ts";
import { RecoveryError } from "./heap.ts";
import type { PagePool } from "./pages.ts";
import type { TxnTable } from "./transactions.ts";
import { NO_LSN, truncateLogAbove, type Wal, type WalRecordBody } from "./wal.ts";

const CONTROL_FILE = "control";
const CONTROL_TMP = "control.tmp";
/**
 * The files a database rebuilds from its log, in the order they are removed: the checkpoint first
 * (without it recovery redoes the whole log, so no page is ever assumed), then the pages.
 */
const REBUILDABLE_FILES = [CONTROL_FILE, CONTROL_TMP, "pages", "dwb"] as const;
/** Every file of a database, in the order a wipe removes them: the log last, never pages without it. */
export const DATABASE_FILES = [...REBUILDABLE_FILES, "wal"] as const;

/** The LSN of the checkpoint record `control` names, or NO_LSN when there is none. */
export async function readControl(disk: Disk): Promise<number> {
  const bytes = await disk.read(CONTROL_FILE);
  if (bytes === undefined) return NO_LSN;
  try {
    const parsed = JSON.parse(utf8Decoder.decode(bytes)) as { checkpointLsn?: unknown };
    if (typeof parsed.checkpointLsn !== "number") throw new Error("no checkpointLsn");
    return parsed.checkpointLsn;
  } catch (error) {
    throw new RecoveryError(`control file: ${String(error)}`);
  }
}

/** Takes checkpoints, one at a time, and trims the log records memory keeps. */
export class Checkpointer {
  private checkpointing = false;
  /** Checkpoints taken since open. */
  count = 0;
  /** The replication layer's floor: records from here on stay in memory for shipping. */
  retainFromLsn: number | undefined;

  constructor(
    private readonly durability: Durability,
    private readonly wal: Wal,
    private readonly pool: PagePool,
    private readonly txns: TxnTable,
    /** Only a primary checkpoints (a replica writes no log of its own). */
    private readonly isPrimary: () => boolean,
  ) {}

  /** Fuzzy checkpoint: logs the transaction and dirty page tables, then points `control` at it. */
  async take(): Promise<void> {
    if (!this.isPrimary() || this.checkpointing) return;
    this.checkpointing = true;
    try {
      const active: [number, number, number][] = [];
      const running: number[] = [];
      // A committing transaction's commit record precedes this one, so it is durable whenever the
      // checkpoint is: only active transactions can be losers, or still end after this record.
      for (const t of this.txns.values()) {
        if (t.status !== "active" || t.xid < 0) continue; // (a replica's reader, before promotion)
        running.push(t.xid);
        if (t.firstLsn !== NO_LSN) active.push([t.xid, t.lastLsn, t.lastLsn]);
      }
      const body: WalRecordBody = {
        kind: "checkpoint",
        nextXid: this.txns.nextXid,
        running,
        active,
        dirty: [...this.pool.dirty.entries()],
      };
      const record = this.wal.append(body);
      await this.wal.flush(record.lsn + record.sizeBytes);
      const disk = this.durability.disk;
      const control = utf8Encoder.encode(JSON.stringify({ checkpointLsn: record.lsn }));
      await disk.write(CONTROL_TMP, 0, control);
      await disk.truncate(CONTROL_TMP, control.length);
      await this.durability.fsync(CONTROL_TMP);
      await this.durability.renameIntoPlace(CONTROL_TMP, CONTROL_FILE);
      this.count++;
      // Memory keeps what undo of running transactions and shipping still need; the disk keeps all.
      // Records before the checkpoint record are durable, so no page flush needs them in memory.
      let floor = Math.min(this.retainFromLsn ?? record.lsn, record.lsn);
      for (const t of this.txns.values()) if (t.firstLsn !== NO_LSN && t.firstLsn < floor) floor = t.firstLsn;
      this.wal.forgetBelow(floor);
    } finally {
      this.checkpointing = false;
    }
  }
}

/**
 * Removes those of `files` that exist, in order (`DATABASE_FILES`: a whole database, crash-safe
 * at every step), then fsyncs the directory: no removed file comes back at a crash. A file that
 * vanishes meanwhile (a checkpoint renaming `control.tmp`) is fine.
 */
export async function removeFiles(disk: Disk, files: readonly string[] = DATABASE_FILES): Promise<void> {
  const present = await disk.list();
  for (const f of files) {
    if (!present.includes(f)) continue;
    try {
      await disk.remove(f);
    } catch (error) {
      if ((await disk.list()).includes(f)) throw error;
    }
  }
  await disk.fsyncDir();
}

/**
 * Cuts the log on `disk` above `lsn` and drops the pages and checkpoint, so that the next open
 * rebuilds every page from the remaining log (the log is never truncated at its head, so it holds
 * everything). For a node that must discard records past a durable point.
 *
 * The checkpoint goes first (without it, recovery redoes the whole log, so pages are never
 * needed), then the pages, the log last, and the removes are made durable before the log is cut:
 * a crash at any step leaves an uncut log that rebuilds every page, and the caller, which has not
 * seen the cut finish, cuts again. Any other order can
 * leave a cut log beside pages, or a checkpoint, of records it no longer holds; or a checkpoint
 * whose redo start assumes pages that are gone.
 */
export async function truncateAbove(durability: Durability, lsn: number): Promise<void> {
  await removeFiles(durability.disk, REBUILDABLE_FILES);
  await truncateLogAbove(durability.disk, lsn, durability);
}
