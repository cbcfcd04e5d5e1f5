/**
 * Crash recovery, ARIES-style: analysis, redo, undo.
 *
 * Whatever the disk holds after a crash, recovery rebuilds exactly the committed state:
 * 1. Load the pages (a torn page is restored from the double-write slot, pages.ts; a page rotted
 *    at rest is left out, to be rebuilt from the log); every key on them is placed, every id on
 *    them taken.
 * 2. Analysis, from the checkpoint `control` names (or the log's start): rebuild the transaction
 *    table (each transaction that logged and did not end, with its last record and where its
 *    undo resumes) and the dirty page table (each page a record changed, with its recLsn).
 * 3. Redo: repeat history from the smallest recLsn (0 for a page left out as rotten: the log is
 *    never cut at its head, so it holds every change of every page); a page whose `pageLsn` is at
 *    or past a record already holds it (heap.ts), so redo is idempotent.
 * 4. Undo: roll back every loser at once, always the largest undoNextLsn next, a compensation
 *    record (redo-only, `undoNextLsn` says where that transaction's undo resumes) per undone
 *    update and an abort record when a transaction reaches its begin. A crash during recovery is
 *    therefore safe: the next recovery redoes the compensation records and resumes undo.
 * A replica keeps its losers running instead (the stream may still end them; replica.ts), and a
 * primary finishes with a checkpoint. A rollback of a live transaction is the same undo.
 */
import type { Disk } from "../../harness/runtime/types.ts";
import { readControl } from "./checkpoint.ts";
import { RecoveryError, type Heap } from "./heap.ts";
import { keyId } from "./pages.ts";
import type { TxnTable } from "./transactions.ts";
import { NO_LSN, type Wal, type WalRecord } from "./wal.ts";

export { RecoveryError } from "./heap.ts";

/** An unfinished transaction: its last record and where its undo resumes. */
export interface LoserEntry {
  lastLsn: number;
  undoNextLsn: number;
}

export interface RecoveryReport {
  /** Bytes of torn or garbled log tail cut at open. */
  readonly cutBytes: number;
  readonly repairedPages: readonly number[];
  /** Pages rotted at rest, rebuilt from the log. */
  readonly rebuiltPages: readonly number[];
  readonly checkpointLsn: number;
  readonly redoStartLsn: number;
  readonly recordsRedone: number;
  readonly losersUndone: number;
  readonly recordsScanned: number;
}

/** What recovery works on: the database's parts, and what its role does with the losers. */
export interface RecoveryTarget {
  readonly disk: Disk;
  readonly wal: Wal;
  readonly heap: Heap;
  readonly txns: TxnTable;
  readonly role: "primary" | "replica";
  /** Bug `skip-undo`: analysis and redo, no undo. */
  readonly skipUndo: boolean;
  /**
   * A replica keeps its losers running (the stream may still commit or abort them) and rebuilds
   * the primary's running set from the records analysis read (replica.ts).
   */
  keepRunning(analysed: readonly WalRecord[], losers: ReadonlyMap<number, LoserEntry>): void;
  checkpoint(): Promise<void>;
}

/**
 * The transaction table's step for one record (analysis; a replica takes the same step for each
 * record of the stream). Every id seen is taken; a transaction's record makes it a loser until its
 * commit or abort.
 */
export function trackTransaction(txns: TxnTable, losers: Map<number, LoserEntry>, r: WalRecord): void {
  if (r.kind === "checkpoint") {
    txns.reserveBelow(r.nextXid);
    return;
  }
  if (r.kind === "vacuum" || r.kind === "move") return;
  txns.reserveBelow(r.xid + 1);
  if (r.kind === "commit" || r.kind === "abort") {
    losers.delete(r.xid);
    return;
  }
  const entry = losers.get(r.xid) ?? { lastLsn: r.lsn, undoNextLsn: r.lsn };
  entry.lastLsn = r.lsn;
  entry.undoNextLsn = r.kind === "clr" ? r.undoNextLsn : r.lsn;
  losers.set(r.xid, entry);
}

/** Recovers the database `target` describes from whatever its disk holds. */
export async function recover(target: RecoveryTarget, cutBytes: number): Promise<RecoveryReport> {
  const { wal, heap, txns } = target;
  const { repairedPages, corruptPages } = await heap.pool.load();
  for (const page of heap.pool.pages.values()) {
    for (const tuple of page.tuples.values()) {
      heap.rememberKey(tuple.key, page.id);
      for (const v of tuple.versions) txns.reserveBelow(Math.max(v.xmin + 1, v.xmax + 1));
    }
  }
  heap.resetInsertPage();

  const checkpointLsn = await readControl(target.disk);
  const { losers, dirty, scanned } = analyse(wal, txns, checkpointLsn);
  for (const id of corruptPages) dirty.set(id, 0);
  const { redoStartLsn, recordsRedone } = redo(wal, heap, dirty);
  heap.resetInsertPage();

  const losersUndone = losers.size;
  if (target.role === "replica") target.keepRunning(scanned, losers);
  else if (!target.skipUndo) undo(wal, heap, losers);
  const report: RecoveryReport = {
    cutBytes,
    repairedPages,
    rebuiltPages: corruptPages,
    checkpointLsn,
    redoStartLsn,
    recordsRedone,
    losersUndone,
    recordsScanned: scanned.length,
  };
  if (target.role === "primary") await target.checkpoint();
  return report;
}

/** Analysis: from the checkpoint at `checkpointLsn`, rebuild the transaction and dirty page tables. */
function analyse(
  wal: Wal,
  txns: TxnTable,
  checkpointLsn: number,
): { losers: Map<number, LoserEntry>; dirty: Map<number, number>; scanned: readonly WalRecord[] } {
  const losers = new Map<number, LoserEntry>();
  const dirty = new Map<number, number>();
  let start = 0;
  if (checkpointLsn !== NO_LSN) {
    const cp = wal.get(checkpointLsn);
    if (cp === undefined || cp.kind !== "checkpoint") {
      throw new RecoveryError(`control names checkpoint lsn ${checkpointLsn}, which the log does not hold`);
    }
    txns.reserveBelow(cp.nextXid);
    for (const [xid, lastLsn, undoNextLsn] of cp.active) losers.set(xid, { lastLsn, undoNextLsn });
    for (const [pageId, recLsn] of cp.dirty) dirty.set(pageId, recLsn);
    start = checkpointLsn;
  }
  const scanned = wal.recordsFrom(start);
  for (const r of scanned) {
    if (r.kind === "update" || r.kind === "clr" || r.kind === "vacuum" || r.kind === "move") {
      if (!dirty.has(r.pageId)) dirty.set(r.pageId, r.lsn);
    }
    if (r.kind === "move" && !dirty.has(r.fromPageId)) dirty.set(r.fromPageId, r.lsn);
    trackTransaction(txns, losers, r);
  }
  return { losers, dirty, scanned };
}

/** Redo: repeat history from the smallest recLsn, skipping what pages already hold. */
function redo(
  wal: Wal,
  heap: Heap,
  dirty: ReadonlyMap<number, number>,
): { redoStartLsn: number; recordsRedone: number } {
  let redoStartLsn = NO_LSN;
  for (const recLsn of dirty.values())
    if (redoStartLsn === NO_LSN || recLsn < redoStartLsn) redoStartLsn = recLsn;
  let recordsRedone = 0;
  if (redoStartLsn !== NO_LSN) {
    // A page's pageLsn alone decides (a page outside the table already holds all its records).
    for (const r of wal.recordsFrom(redoStartLsn)) if (heap.redo(r)) recordsRedone++;
  }
  return { redoStartLsn, recordsRedone };
}

/**
 * ARIES undo of every loser at once: always the largest undoNextLsn next, a compensation record
 * per undone update, an abort record when a transaction reaches its begin. Recovery, the rollback
 * of a live transaction and a replica's promotion all undo this way.
 */
export function undo(wal: Wal, heap: Heap, losers: Map<number, LoserEntry>): void {
  const bound = wal.recordCount + losers.size + 1;
  for (let step = 0; losers.size > 0; step++) {
    if (step > bound) throw new RecoveryError(`undo did not finish in ${bound} steps`);
    let xid = 0;
    let entry: LoserEntry | undefined;
    for (const [x, e] of losers)
      if (entry === undefined || e.undoNextLsn > entry.undoNextLsn) [xid, entry] = [x, e];
    const record = entry!.undoNextLsn === NO_LSN ? undefined : wal.get(entry!.undoNextLsn);
    if (entry!.undoNextLsn !== NO_LSN && record === undefined) {
      throw new RecoveryError(`undo of ${xid}: no record at lsn ${entry!.undoNextLsn}`);
    }
    if (record === undefined || record.kind === "begin") {
      wal.append({ kind: "abort", xid, txnPrevLsn: entry!.lastLsn });
      losers.delete(xid);
    } else if (record.kind === "update") {
      // The key may have moved to another page since the update: compensate where it is now.
      const pageId = heap.pageIdOf(keyId(record.key)) ?? record.pageId;
      const clr = wal.append({
        kind: "clr",
        xid,
        txnPrevLsn: entry!.lastLsn,
        undoNextLsn: record.txnPrevLsn,
        pageId,
        key: record.key,
      });
      heap.applyCompensation(heap.pool.page(pageId), record.key, xid, clr.lsn);
      entry!.lastLsn = clr.lsn;
      entry!.undoNextLsn = record.txnPrevLsn;
    } else if (record.kind === "clr") {
      entry!.undoNextLsn = record.undoNextLsn;
    } else {
      throw new RecoveryError(`undo of ${xid}: unexpected ${record.kind} record at lsn ${record.lsn}`);
    }
  }
}

/** One phrase on what recovery found and did (for node logs); `logEnd` when there was nothing. */
export function describeRecovery(report: RecoveryReport | undefined, logEnd: number): string {
  if (report === undefined) return `log end ${logEnd}, nothing to recover`;
  const r = report;
  const parts = [
    `recovered: ${r.recordsScanned} records scanned, ${r.recordsRedone} redone from lsn ${r.redoStartLsn}`,
    `${r.losersUndone} losers undone`,
  ];
  if (r.cutBytes > 0) parts.push(`torn log tail of ${r.cutBytes} bytes cut`);
  if (r.repairedPages.length > 0)
    parts.push(`pages ${r.repairedPages.join(", ")} (torn or rotted) restored from the double-write slot`);
  if (r.rebuiltPages.length > 0)
    parts.push(
      `pages ${r.rebuiltPages.join(", ")} failed their checksum (rot at rest), rebuilt from the log`,
    );
  return parts.join(", ");
}
