/**
 * Serializable snapshot isolation (Cahill, Röhm and Fekete; PostgreSQL's SSI), the engine's
 * `serializable`: snapshot isolation plus a watch for the one structure every non-serializable
 * SI execution contains.
 *
 * Chosen over strict two-phase locking because it keeps the engine's central promise that readers
 * never wait for writers, and it matches the PostgreSQL reference. Readers leave SIREAD marks on
 * the keys they read. A rw-antidependency T→W (T read a version that W, concurrent with T,
 * replaced) sets `T.outConflict` and `W.inConflict`; a transaction with both is the pivot of a
 * dangerous structure and is aborted with `serialization-failure` (if the pivot already
 * committed, the transaction acting now is aborted instead). Conservative: it may abort
 * transactions that were in fact serializable, never the reverse.
 *
 * A committed serializable transaction is retained while some running transaction may still be
 * concurrent with it; marks and retained transactions are pruned every `PRUNE_EVERY_ENDS` ends.
 */
import type { Key } from "../../harness/history/op.ts";
import type { AbortTxn } from "./locks.ts";
import { keyId, type Version } from "./pages.ts";
import { TxnAbortedError, type TxnState, type TxnTable } from "./transactions.ts";

const PRUNE_EVERY_ENDS = 64;

export class Ssi {
  /** keyId → transactions that read it (SIREAD marks). */
  private readonly sireads = new Map<string, Set<TxnState>>();
  /** Committed serializable transactions still concurrent with some running one. */
  private readonly retained = new Map<number, TxnState>();
  private endsSincePrune = 0;

  constructor(
    private readonly txns: TxnTable,
    private readonly abort: AbortTxn,
  ) {}

  /** `txn` read the version at `index` of `key`'s chain: every newer version's writer is a rw edge. */
  onRead(txn: TxnState, key: Key, versions: readonly Version[], index: number): void {
    const kid = keyId(key);
    let readers = this.sireads.get(kid);
    if (readers === undefined) this.sireads.set(kid, (readers = new Set()));
    readers.add(txn);
    for (let i = index + 1; i < versions.length; i++) {
      const writerXid = versions[i]!.xmin;
      if (writerXid === txn.xid) continue;
      const writer = this.txns.get(writerXid) ?? this.retained.get(writerXid);
      if (writer !== undefined && writer.isolation === "serializable") this.rwEdge(txn, writer, txn);
    }
  }

  /** `txn` writes `kid`: every concurrent reader of it gets a rw edge into `txn`. */
  onWrite(txn: TxnState, kid: string): void {
    const readers = this.sireads.get(kid);
    if (readers === undefined) return;
    const snapshot = txn.snapshot!;
    for (const reader of [...readers]) {
      if (reader === txn || reader.status === "aborted") continue;
      const concurrent =
        reader.status !== "committed" || reader.xid >= snapshot.horizon || snapshot.active.has(reader.xid);
      if (concurrent) this.rwEdge(reader, txn, txn);
    }
  }

  /** Records `reader --rw--> writer` and aborts the pivot it completes (or the actor). */
  private rwEdge(reader: TxnState, writer: TxnState, actor: TxnState): void {
    reader.outConflict = true;
    writer.inConflict = true;
    for (const x of [reader, writer]) {
      if (!x.inConflict || !x.outConflict || x.status === "aborted") continue;
      const victim = x.status === "active" ? x : actor;
      if (victim.status !== "active") continue;
      const detail = `transaction ${x.xid} is the pivot of a dangerous structure`;
      this.abort(victim, "serialization-failure", detail);
      if (victim === actor) throw new TxnAbortedError("serialization-failure", detail);
      // The new edge died with its endpoint; a structure through the other one is caught at its commit.
      if (victim === reader || victim === writer) break;
    }
  }

  /** A committed serializable transaction: kept while a running one may still be concurrent with it. */
  retain(txn: TxnState): void {
    this.retained.set(txn.xid, txn);
  }

  /** Counts one more ended transaction; every `PRUNE_EVERY_ENDS` of them, drops what no one needs. */
  countEnd(): void {
    if (++this.endsSincePrune >= PRUNE_EVERY_ENDS) {
      this.endsSincePrune = 0;
      this.prune();
    }
  }

  private prune(): void {
    const horizon = this.txns.vacuumHorizon();
    for (const [xid] of this.retained) if (xid < horizon) this.retained.delete(xid);
    for (const [kid, readers] of this.sireads) {
      for (const r of readers) {
        if (r.status === "aborted" || (r.status === "committed" && !this.retained.has(r.xid)))
          readers.delete(r);
      }
      if (readers.size === 0) this.sireads.delete(kid);
    }
  }
}
