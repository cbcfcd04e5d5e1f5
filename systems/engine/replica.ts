/**
 * A replica's side of log shipping: the primary's records installed verbatim, in order, redone
 * onto pages, and the primary's running transactions tracked for the replica's snapshots.
 *
 * Each shipped record must continue the local log exactly (same LSN and `prevLsn`, else
 * `WalError`), so every copy of the log is byte-identical below the point where it agrees. It is
 * redone at once (heap.ts) and takes the analysis step of recovery (recovery.ts). A batch resolves
 * once it is fsynced here. A replica writes no log of its own (no checkpoints, no vacuum; it
 * redoes the primary's) until promotion rolls back what the stream left unfinished (database.ts,
 * `promote`).
 *
 * The running set (PostgreSQL's KnownAssignedXids). A replica's snapshot must count as running
 * every transaction the primary may still commit, including one that began before the snapshot
 * but has logged nothing yet: counting only the ids whose records arrived would let its commit,
 * arriving mid-read, show half of it. So the replica keeps `observedNext`, the id after the
 * highest it knows has begun, and counts as running every id below it that it has not seen end:
 * - a record of transaction `x` at or above `observedNext` means every id from `observedNext` to
 *   `x` has begun (ids are handed out in begin order): all of them join the running set, the gap
 *   included;
 * - a commit or abort record takes its id out;
 * - a checkpoint record carries the primary's running set and next id (its running-xacts record):
 *   every id below that next id that is not in it has ended, with its end record earlier in the
 *   log or with nothing logged at all, so the running set becomes exactly that set. This prunes
 *   the ids that never reach the log (read-only transactions, rollbacks before any write), so
 *   the set stays as small as the primary's between two checkpoints.
 * Recovery of a replica takes the same steps over the records it analyses, from its last
 * checkpoint record on. Promotion forgets the whole set: the old primary's transactions can
 * no longer commit.
 *
 * Conflicts with the primary's vacuum. The primary removes versions no snapshot of its own can
 * see; a replica's snapshot may still see one. Before redoing a `vacuum` record, the replica
 * cancels each live reader whose snapshot sees a version the record removes (it is rolled back
 * with `serialization-failure`, as PostgreSQL cancels a standby query on a recovery conflict), so
 * a reader is never shown a key as missing or older than its snapshot holds it.
 */
import type { Heap } from "./heap.ts";
import { committedIn } from "./mvcc.ts";
import { trackTransaction, type LoserEntry } from "./recovery.ts";
import type { TxnState, TxnTable } from "./transactions.ts";
import type { Wal, WalRecord } from "./wal.ts";

export class ShippedLog {
  /** Transactions of the stream with records but no commit or abort yet, and where their undo resumes. */
  private readonly unfinished = new Map<number, LoserEntry>();
  /** The id after the highest the replica knows the primary handed out. */
  private observedNext = 1;

  constructor(
    private readonly wal: Wal,
    private readonly heap: Heap,
    private readonly txns: TxnTable,
    /** Rolls back a live reader (database.ts). */
    private readonly cancel: (reader: TxnState, detail: string) => void,
  ) {}

  /**
   * Recovery of a replica: the running set from the records analysis read (from the checkpoint
   * on), and the losers it found stay unfinished (the stream may still end them).
   */
  recovered(analysed: readonly WalRecord[], losers: ReadonlyMap<number, LoserEntry>): void {
    for (const r of analysed) this.observe(r);
    for (const [xid, entry] of losers) {
      this.unfinished.set(xid, entry);
      this.txns.running.add(xid);
    }
  }

  /** Installs shipped records verbatim and in order, redoes them; resolves once they are durable here. */
  async install(records: readonly WalRecord[]): Promise<void> {
    for (const shipped of records) {
      const r = this.wal.appendShipped(shipped);
      if (r.kind === "vacuum") this.cancelConflicts(r);
      this.heap.redo(r);
      trackTransaction(this.txns, this.unfinished, r);
      this.observe(r);
    }
    await this.wal.flush();
  }

  /** Cancels each live reader whose snapshot sees a version `vacuum` removes (see the header). */
  private cancelConflicts(vacuum: Extract<WalRecord, { kind: "vacuum" }>): void {
    const removed = this.heap.tupleOf(vacuum.key)?.versions.slice(0, vacuum.removeCount) ?? [];
    if (removed.length === 0) return;
    const running = this.txns.running;
    for (const reader of [...this.txns.values()]) {
      // A read-committed reader takes a new snapshot per statement, and a statement never waits.
      const snapshot = reader.isolation === "read-committed" ? undefined : reader.snapshot;
      if (reader.status !== "active" || snapshot === undefined) continue;
      const sees = removed.some(
        (v) => committedIn(v.xmin, snapshot, running) && !committedIn(v.xmax, snapshot, running),
      );
      if (sees) {
        this.cancel(
          reader,
          `conflict with recovery: the primary's vacuum removed a version of ${JSON.stringify(vacuum.key)} this snapshot sees`,
        );
      }
    }
  }

  /** The running set's step for one record of the stream (see the header). */
  private observe(r: WalRecord): void {
    const running = this.txns.running;
    if (r.kind === "checkpoint") {
      for (const x of running) if (x < r.nextXid) running.delete(x);
      for (const x of r.running) running.add(x);
      this.observedNext = Math.max(this.observedNext, r.nextXid);
    } else if (r.kind !== "vacuum" && r.kind !== "move") {
      // Bounded: ids are dense, so a gap is at most the transactions begun since the last record.
      for (; this.observedNext <= r.xid; this.observedNext++) running.add(this.observedNext);
      if (r.kind === "commit" || r.kind === "abort") running.delete(r.xid);
      else running.add(r.xid);
    }
    this.txns.reserveBelow(this.observedNext);
  }

  /** Promotion: the stream's transactions stop running; returns those that logged, to be undone. */
  endStream(): Map<number, LoserEntry> {
    this.txns.running.clear();
    return this.unfinished;
  }
}
