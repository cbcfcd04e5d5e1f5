/**
 * Transactions: their ids, their life, and the snapshots they read from.
 *
 * A transaction gets its id at begin, in begin order (a replica's read-only transactions take
 * negative ids, so they never collide with the ids of the primary's transactions it installs). It
 * is `active` while it runs, `committing` while its commit record waits for its fsync (it still
 * counts as running for every snapshot then, and keeps its locks), and ends `committed` or
 * `aborted`. It logs nothing until its first write (its `begin` record), so a reader's `firstLsn`
 * stays `NO_LSN`.
 *
 * `running` holds the ids whose versions are not committed yet. A snapshot copies it, with the
 * next id as its horizon (mvcc.ts says what a snapshot sees). `read-committed` takes a snapshot
 * per statement; `snapshot` and `serializable` one per transaction, at its first statement.
 */
import { NO_LSN } from "./wal.ts";
import type { Snapshot } from "./mvcc.ts";

export type IsolationLevel = "read-committed" | "snapshot" | "serializable";
export const ISOLATION_LEVELS: readonly IsolationLevel[] = ["read-committed", "snapshot", "serializable"];

/** Why a transaction certainly did not commit. */
export type AbortReason =
  | "write-conflict"
  | "serialization-failure"
  | "deadlock"
  | "lock-timeout"
  | "page-full"
  | "type-mismatch"
  | "cas-mismatch"
  | "invalid-op"
  | "read-only"
  | "user-abort";

export class TxnAbortedError extends Error {
  override name = "TxnAbortedError";
  constructor(
    readonly reason: AbortReason,
    readonly detail?: string,
  ) {
    super(detail === undefined ? reason : `${reason}: ${detail}`);
  }
}

/** How a whole transaction ended: `ok` with what it produced, or `fail` (certainly not committed). */
export type TransactionResult<T> =
  | { readonly type: "ok"; readonly value: T }
  | { readonly type: "fail"; readonly error: AbortReason; readonly detail?: string };

/** A transaction handle. */
export interface Transaction {
  readonly xid: number;
  readonly isolation: IsolationLevel;
}

export type TxnStatus = "active" | "committing" | "committed" | "aborted";

/** Everything the engine keeps of one transaction while it lives. */
export interface TxnState extends Transaction {
  status: TxnStatus;
  snapshot: Snapshot | undefined;
  /** First and last log records (NO_LSN until the first write). */
  firstLsn: number;
  lastLsn: number;
  /** Keys it locked by writing them (keyId form), released when it ends. */
  readonly lockedKeys: string[];
  abortReason?: AbortReason;
  abortDetail?: string;
  /** The lock holder it waits for, and how to wake it (locks.ts). */
  waitingFor?: TxnState;
  wake?: () => void;
  /** SSI: a rw-antidependency into it, and one out of it (ssi.ts). */
  inConflict: boolean;
  outConflict: boolean;
}

/** The live transactions, the ids that are not committed yet, and the next id. */
export class TxnTable {
  /** The id the next transaction gets; also every snapshot's horizon. */
  nextXid = 1;
  private nextReplicaReaderId = -1;
  /** Ids of transactions that may still commit or roll back: their versions are not committed. */
  readonly running = new Set<number>();
  private readonly live = new Map<number, TxnState>();

  /**
   * Begins a transaction. A replica's reader takes a negative id and is not `running` (it writes
   * nothing, so no snapshot needs to tell its versions apart).
   */
  begin(isolation: IsolationLevel, replicaReader: boolean): TxnState {
    if (!ISOLATION_LEVELS.includes(isolation)) {
      throw new RangeError(
        `unknown isolation level "${String(isolation)}"; known: ${ISOLATION_LEVELS.join(", ")}`,
      );
    }
    const xid = replicaReader ? this.nextReplicaReaderId-- : this.nextXid++;
    const txn: TxnState = {
      xid,
      isolation,
      status: "active",
      snapshot: undefined,
      firstLsn: NO_LSN,
      lastLsn: NO_LSN,
      lockedKeys: [],
      inConflict: false,
      outConflict: false,
    };
    if (!replicaReader) this.running.add(xid);
    this.live.set(xid, txn);
    return txn;
  }

  /** Raises the next id to at least `xid` (ids seen in the log or on pages are taken). */
  reserveBelow(xid: number): void {
    if (xid > this.nextXid) this.nextXid = xid;
  }

  get(xid: number): TxnState | undefined {
    return this.live.get(xid);
  }

  /** Live transactions, in begin order. */
  values(): IterableIterator<TxnState> {
    return this.live.values();
  }

  get size(): number {
    return this.live.size;
  }

  /**
   * The live state behind a handle. Throws `TxnAbortedError` (with its reason) for one that was
   * rolled back, and an Error for one that ended otherwise or never existed.
   */
  state(handle: Transaction): TxnState {
    const txn = this.live.get(handle.xid);
    const known = txn ?? (handle as TxnState);
    if (known.status === "aborted") {
      throw new TxnAbortedError(known.abortReason ?? "user-abort", known.abortDetail);
    }
    if (txn === undefined || txn.status !== "active") {
      throw new Error(`transaction ${handle.xid} is not active (${known.status})`);
    }
    return txn;
  }

  /** Ends a transaction: its versions are committed (or gone) for every later snapshot. */
  end(txn: TxnState, status: "committed" | "aborted"): void {
    txn.status = status;
    this.running.delete(txn.xid);
    this.live.delete(txn.xid);
  }

  /** A snapshot now: every id below the next one, except those still running. */
  takeSnapshot(): Snapshot {
    const active = new Set(this.running);
    let xmin = this.nextXid;
    for (const x of active) if (x < xmin) xmin = x;
    return { horizon: this.nextXid, active, xmin };
  }

  /** The snapshot a statement of `txn` reads from (a fresh one per statement under read-committed). */
  statementSnapshot(txn: TxnState): Snapshot {
    if (txn.isolation === "read-committed" || txn.snapshot === undefined) txn.snapshot = this.takeSnapshot();
    return txn.snapshot;
  }

  /** The smallest id any running transaction or live snapshot may still need to tell apart. */
  vacuumHorizon(): number {
    let horizon = this.nextXid;
    for (const t of this.live.values()) {
      if (t.xid > 0 && t.xid < horizon) horizon = t.xid;
      if (t.snapshot !== undefined && t.snapshot.xmin < horizon) horizon = t.snapshot.xmin;
    }
    return horizon;
  }
}
