/**
 * A replica's side of log shipping: the primary's records installed verbatim, in order, redone
 * onto pages, and the stream's transactions tracked.
 *
 * Each shipped record must continue the local log exactly (same LSN and `prevLsn`, else
 * `WalError`), so every copy of the log is byte-identical below the point where it agrees. It is
 * redone at once (heap.ts) and takes the analysis step of recovery (recovery.ts): a shipped
 * transaction with records and no commit or abort yet is unfinished and counts as running for the
 * replica's snapshots, until the stream ends it. A batch resolves once it is fsynced here.
 * A replica writes no log of its own (no checkpoints, no vacuum; it redoes the primary's) until
 * promotion rolls back what the stream left unfinished (database.ts, `promote`).
 */
import type { Heap } from "./heap.ts";
import { trackTransaction, type LoserEntry } from "./recovery.ts";
import type { TxnTable } from "./transactions.ts";
import type { Wal, WalRecord } from "./wal.ts";

export class ShippedLog {
  /** Transactions of the stream with records but no commit or abort yet, and where their undo resumes. */
  private readonly unfinished = new Map<number, LoserEntry>();

  constructor(
    private readonly wal: Wal,
    private readonly heap: Heap,
    private readonly txns: TxnTable,
  ) {}

  /** Recovery of a replica: the losers it found stay running (the stream may still end them). */
  keepRunning(losers: ReadonlyMap<number, LoserEntry>): void {
    for (const [xid, entry] of losers) {
      this.unfinished.set(xid, entry);
      this.txns.running.add(xid);
    }
  }

  /** Installs shipped records verbatim and in order, redoes them; resolves once they are durable here. */
  async install(records: readonly WalRecord[]): Promise<void> {
    for (const shipped of records) {
      const r = this.wal.appendShipped(shipped);
      this.heap.redo(r);
      const txn = trackTransaction(this.txns, this.unfinished, r);
      if (txn?.ended === true) this.txns.running.delete(txn.xid);
      else if (txn !== undefined) this.txns.running.add(txn.xid);
    }
    await this.wal.flush();
  }

  /** Promotion: the stream's unfinished transactions stop running; returns them, to be undone. */
  endStream(): Map<number, LoserEntry> {
    for (const [xid] of this.unfinished) this.txns.running.delete(xid);
    return this.unfinished;
  }
}
