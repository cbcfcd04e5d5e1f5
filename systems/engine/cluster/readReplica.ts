/**
 * A quorum read replica's buffer: it holds the writer's stream in memory and applies it only
 * below the told durable point (../README.md's glossary), so it never serves a commit that a
 * failover may truncate (Aurora: a replica makes visible only what lies below the durable point).
 * Bug `replica-read-past-durable-point`: it applies the stream as it arrives.
 *
 * Its acked end is the end of what it applied plus the gap-free run it buffers above, so the
 * writer resends from there.
 */
import type { Database } from "../database.ts";
import type { WalRecord } from "../wal.ts";
import type { AppendedMessage, AppendMessage } from "./protocol.ts";

/** Records buffered at most (more wait for the writer's resend). */
const maxPendingRecords = 20_000;

export class ReadReplicaBuffer {
  /** Records above the applied log, by LSN. */
  private readonly pending = new Map<number, WalRecord>();
  /** The highest durable point a writer of this node's epoch told it. */
  toldDurablePoint = 0;

  constructor(private readonly applyPastDurablePoint: boolean) {}

  /** Buffers the append's records and applies those now below the told durable point. */
  async apply(db: Database, body: AppendMessage): Promise<AppendedMessage> {
    for (const r of body.records) {
      if (r.lsn >= db.wal.endLsn && this.pending.size < maxPendingRecords) this.pending.set(r.lsn, r);
    }
    this.toldDurablePoint = Math.max(this.toldDurablePoint, body.durablePoint);
    const batch: WalRecord[] = [];
    let at = db.wal.endLsn;
    for (let r = this.pending.get(at); r !== undefined; r = this.pending.get(at)) {
      if (!this.applyPastDurablePoint && r.lsn + r.sizeBytes > this.toldDurablePoint) break;
      batch.push(r);
      this.pending.delete(at);
      at = r.lsn + r.sizeBytes;
    }
    if (batch.length > 0) {
      try {
        await db.applyShipped(batch);
      } catch {
        this.pending.clear();
      }
    }
    let end = db.wal.endLsn;
    for (let r = this.pending.get(end); r !== undefined; r = this.pending.get(end)) end = r.lsn + r.sizeBytes;
    return { epoch: body.epoch, ackedEnd: end, gap: body.records.length > 0 && body.records[0]!.lsn > end };
  }

  /** The log was cut at `cut`: records from there on belong to a timeline that lost. */
  dropFrom(cut: number): void {
    for (const lsn of [...this.pending.keys()]) if (lsn >= cut) this.pending.delete(lsn);
  }

  clear(): void {
    this.pending.clear();
  }
}
