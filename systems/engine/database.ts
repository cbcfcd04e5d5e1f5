/**
 * The single-node database: transactions over MVCC pages, logged ahead, recovered ARIES-style.
 *
 * A `Database` runs on a `Runtime` and touches time and disk only through it. `Database.open`
 * recovers from whatever the disk holds and then serves transactions:
 * `begin/read/write/append/commit/abort`, or `transact(microOps)` and `register(f, key, value)`
 * which return `{type: "ok", value}` or `{type: "fail", error}`. This file is the front door: it
 * owns the parts and the life of a transaction; each idea behind it has its own module, listed in
 * README.md (statements, transactions, mvcc, locks, ssi, wal, heap, pages, recovery, checkpoint,
 * vacuum, background, replica, operations, commitEnds, engineOptions). The isolation levels
 * (`read-committed`, `snapshot`, `serializable`; PostgreSQL's behaviour is the reference) are
 * what statements.ts does with snapshots and locks, and ssi.ts.
 *
 * Aborts roll back at once (physically, with compensation records), so every version on a page is
 * by a committed or a running transaction. A commit is acknowledged only after its commit record
 * is fsynced (group commit in the WAL); until then the transaction still counts as running for
 * every snapshot and keeps its locks.
 *
 * Replication hooks (for the replicated engine built on top): `wal.onAppend` and
 * `walRecordsFrom` expose the log for shipping; a node opened with `role: "replica"` installs
 * shipped records with `applyShipped` and becomes a primary with `promote`;
 * `Database.truncateAbove(disk, lsn)` cuts a node's log above an LSN and drops its pages.
 */
import type { Key, MicroOp } from "../../harness/history/op.ts";
import type { Runtime } from "../../harness/runtime/types.ts";
import { flushDirtyPages, spawnBackground } from "./background.ts";
import { Checkpointer, DATABASE_FILES, removeFiles, truncateAbove } from "./checkpoint.ts";
import { CommitEnds } from "./commitEnds.ts";
import { Durability } from "./durability.ts";
import { pageSizeOf, type EngineOptions, type EngineStats } from "./engineOptions.ts";
import { Heap } from "./heap.ts";
import { LockTable } from "./locks.ts";
import { register, runTransaction, transact, type RegisterResult, type TxnResult } from "./operations.ts";
import { PagePool } from "./pages.ts";
import { recover, undo, type LoserEntry, type RecoveryReport } from "./recovery.ts";
import { ShippedLog } from "./replica.ts";
import { readStatement, writeStatement, type StatementContext } from "./statements.ts";
import { Ssi } from "./ssi.ts";
import { Vacuum } from "./vacuum.ts";
import {
  TxnAbortedError,
  TxnTable,
  type AbortReason,
  type IsolationLevel,
  type Transaction,
  type TransactionResult,
  type TxnState,
} from "./transactions.ts";
import { NO_LSN, readLog, Wal, type WalRecord } from "./wal.ts";

export {
  ISOLATION_LEVELS,
  TxnAbortedError,
  type AbortReason,
  type IsolationLevel,
  type Transaction,
  type TransactionResult,
} from "./transactions.ts";
export { RecoveryError, type RecoveryReport } from "./recovery.ts";
export { DATABASE_FILES } from "./checkpoint.ts";

export type { RegisterResult, TxnResult } from "./operations.ts";
export type { EngineOptions, EngineStats } from "./engineOptions.ts";

export class Database {
  readonly wal: Wal;
  readonly pool: PagePool;
  readonly bugs: ReadonlySet<string>;
  recovery: RecoveryReport | undefined;
  /** The I/O error that ended this instance (a failed write or fsync of its files), if one did. */
  private failed: { readonly error: unknown } | undefined;
  private readonly failureListeners: ((error: unknown) => void)[] = [];
  private role: "primary" | "replica";
  private readonly isolation: IsolationLevel;
  private readonly txns = new TxnTable();
  private readonly locks: LockTable;
  private readonly ssi: Ssi;
  private readonly heap: Heap;
  private readonly vacuumer: Vacuum;
  private readonly checkpointer: Checkpointer;
  private readonly shipped: ShippedLog;
  private readonly statements: StatementContext;
  private closed = false;
  /** What a read of some keys could have observed (commitEnds.ts). */
  private readonly commitEnds = new CommitEnds();
  private commits = 0;
  private readonly aborts = new Map<string, number>();

  private constructor(
    readonly rt: Runtime,
    private readonly options: EngineOptions,
    wal: Wal,
    durability: Durability,
  ) {
    this.wal = wal;
    this.bugs = options.bugs ?? new Set();
    this.role = options.role ?? "primary";
    this.isolation = options.isolation ?? "serializable";
    const pageSizeBytes = pageSizeOf(options);
    this.pool = new PagePool(durability, {
      pageSizeBytes,
      tornPageBug: this.bugs.has("torn-page"),
      noChecksumBug: this.bugs.has("no-checksum"),
    });
    const abort = (txn: TxnState, reason: AbortReason, detail?: string): void =>
      this.abortTxn(txn, reason, detail);
    this.locks = new LockTable(rt.clock, options.lockTimeoutNs ?? 5_000_000_000, abort);
    this.ssi = new Ssi(this.txns, abort);
    this.heap = new Heap(this.pool, wal, pageSizeBytes);
    this.vacuumer = new Vacuum(wal, this.heap, this.txns);
    this.checkpointer = new Checkpointer(
      durability,
      wal,
      this.pool,
      this.txns,
      () => this.role === "primary",
    );
    this.shipped = new ShippedLog(wal, this.heap, this.txns, (reader, detail) =>
      this.abortTxn(reader, "serialization-failure", detail),
    );
    this.statements = {
      wal,
      heap: this.heap,
      txns: this.txns,
      locks: this.locks,
      ssi: this.ssi,
      vacuum: this.vacuumer,
      bugs: this.bugs,
      isPrimary: () => this.role === "primary",
      abort,
    };
  }

  /**
   * Opens (and recovers) the database on `rt`'s disk. Throws `WalCorruptionError` for a log with
   * a record corrupted at rest (the caller decides: rebuild it from a peer, or refuse to serve).
   */
  static async open(rt: Runtime, options: EngineOptions = {}): Promise<Database> {
    const durability = new Durability(rt.disk, options.bugs ?? new Set());
    const { wal, cutBytes } = await Wal.open(rt.disk, durability);
    const db = new Database(rt, options, wal, durability);
    wal.onFailure((error) => db.fail(error));
    db.recovery = await recover(
      {
        disk: rt.disk,
        wal,
        heap: db.heap,
        txns: db.txns,
        role: db.role,
        skipUndo: db.bugs.has("skip-undo"),
        keepRunning: (analysed, losers) => db.shipped.recovered(analysed, losers),
        checkpoint: () => db.checkpoint(),
      },
      cutBytes,
    );
    db.commitEnds.raiseFloor(db.wal.endLsn);
    if (options.background ?? true) db.startBackground();
    return db;
  }

  /** Cuts the log on `disk` above `lsn` and drops pages and checkpoint (checkpoint.ts, crash-safe). */
  static truncateAbove(
    disk: Runtime["disk"],
    lsn: number,
    bugs: ReadonlySet<string> = new Set(),
  ): Promise<void> {
    return truncateAbove(new Durability(disk, bugs), lsn);
  }

  /** Removes those of `files` that exist, in order (default: the whole database, crash-safe). */
  static removeFiles(disk: Runtime["disk"], files: readonly string[] = DATABASE_FILES): Promise<void> {
    return removeFiles(disk, files);
  }

  // ---------------------------------------------------------------- transactions

  begin(isolation: IsolationLevel = this.isolation): Transaction {
    return this.txns.begin(isolation, this.role === "replica");
  }

  /** The value of `key` this transaction sees: `null` if it has none. Never waits. */
  async read(handle: Transaction, key: Key): Promise<unknown> {
    const txn = this.txns.state(handle);
    return readStatement(this.statements, txn, key);
  }

  async write(handle: Transaction, key: Key, value: unknown): Promise<void> {
    await writeStatement(this.statements, this.txns.state(handle), key, () => value);
  }

  /** Appends `element` to the list at `key` (a missing key is an empty list). */
  async append(handle: Transaction, key: Key, element: unknown): Promise<void> {
    await writeStatement(
      this.statements,
      this.txns.state(handle),
      key,
      (current) => {
        if (current === null) return [element];
        if (!Array.isArray(current)) {
          throw new TxnAbortedError(
            "type-mismatch",
            `append to ${JSON.stringify(key)}, which holds a non-list`,
          );
        }
        return [...(current as unknown[]), element];
      },
      { element },
    );
  }

  /**
   * Writes the value `compute` makes of the key's current value, read under the write's lock and
   * snapshot (so a compare-and-set is one statement). `compute` may throw `TxnAbortedError`.
   */
  update(handle: Transaction, key: Key, compute: (current: unknown) => unknown): Promise<void> {
    return writeStatement(this.statements, this.txns.state(handle), key, compute);
  }

  /** Commits; resolves once the commit is durable. Throws `TxnAbortedError` if it cannot commit. */
  async commit(handle: Transaction): Promise<void> {
    const txn = this.txns.state(handle);
    if (txn.isolation === "serializable" && txn.inConflict && txn.outConflict) {
      this.abortTxn(txn, "serialization-failure", "pivot of a dangerous structure at commit");
      throw new TxnAbortedError("serialization-failure", "pivot of a dangerous structure at commit");
    }
    if (txn.firstLsn === NO_LSN) {
      this.finish(txn, "committed");
      return;
    }
    txn.status = "committing";
    const record = this.wal.append({ kind: "commit", xid: txn.xid, txnPrevLsn: txn.lastLsn });
    txn.lastLsn = record.lsn;
    if (!this.bugs.has("ack-before-fsync")) await this.wal.flush(record.lsn + record.sizeBytes);
    this.commitEnds.committed(txn.lockedKeys, record.lsn + record.sizeBytes);
    this.finish(txn, "committed");
  }

  /**
   * The log position past which nothing a reader of `keys` can see was committed here: the newest
   * commit end of any of them, or the floor of what this node recovered or inherited, if later.
   */
  commitEndOfKeys(keys: Iterable<Key>): number {
    return this.commitEnds.ofKeys(keys);
  }

  /** Rolls back an active transaction (no-op if it already ended). */
  abort(handle: Transaction): void {
    const txn = this.txns.get(handle.xid);
    if (txn !== undefined && txn.status === "active") this.abortTxn(txn, "user-abort");
  }

  /** Runs micro-ops (`r`, `w`, `append`) as one transaction and commits it (operations.ts). */
  transact(ops: readonly MicroOp[], isolation?: IsolationLevel): Promise<TxnResult> {
    return transact(this, ops, isolation);
  }

  /** Runs `body` as one transaction and commits it (operations.ts). */
  runTransaction<T>(
    body: (txn: Transaction) => Promise<T>,
    isolation?: IsolationLevel,
  ): Promise<TransactionResult<T>> {
    return runTransaction(this, body, isolation);
  }

  /** A register `read`, `write` or `cas` as one transaction (operations.ts). */
  register(
    f: "read" | "write" | "cas",
    key: Key,
    value: unknown,
    isolation?: IsolationLevel,
  ): Promise<RegisterResult> {
    return register(this, f, key, value, isolation);
  }

  /** Every key with a value visible to a fresh snapshot, for tests and debugging. */
  dump(): Map<Key, unknown> {
    const txn = this.begin("read-committed");
    const out = new Map<Key, unknown>();
    for (const key of this.heap.keyOrder) {
      const value = readStatement(this.statements, this.txns.state(txn), key);
      if (value !== null) out.set(key, value);
    }
    this.finish(this.txns.state(txn), "committed");
    return out;
  }

  stats(): EngineStats {
    return {
      commits: this.commits,
      aborts: Object.fromEntries(this.aborts),
      walBytes: this.wal.endLsn,
      walRecords: this.wal.recordCount,
      walFsyncs: this.wal.fsyncCount,
      pagesWritten: this.pool.pagesWritten,
      versionsVacuumed: this.heap.versionsVacuumed,
      checkpoints: this.checkpointer.count,
      runningTransactions: this.txns.running.size,
    };
  }

  // ---------------------------------------------------------------- ending transactions

  private finish(txn: TxnState, status: "committed" | "aborted"): void {
    this.txns.end(txn, status);
    if (status === "committed" && txn.firstLsn !== NO_LSN) this.commits++;
    if (status === "committed" && txn.isolation === "serializable" && this.role === "primary") {
      this.ssi.retain(txn);
    }
    this.locks.release(txn);
    this.ssi.countEnd();
  }

  /** Rolls `txn` back now (compensation records, then an abort record) and ends it. */
  private abortTxn(txn: TxnState, reason: AbortReason, detail?: string): void {
    if (txn.status !== "active") return;
    txn.abortReason = reason;
    if (detail !== undefined) txn.abortDetail = detail;
    this.aborts.set(reason, (this.aborts.get(reason) ?? 0) + 1);
    if (txn.firstLsn !== NO_LSN) {
      const losers = new Map<number, LoserEntry>([
        [txn.xid, { lastLsn: txn.lastLsn, undoNextLsn: txn.lastLsn }],
      ]);
      undo(this.wal, this.heap, losers);
    }
    const wake = txn.wake;
    this.finish(txn, "aborted");
    wake?.();
  }

  // ---------------------------------------------------------------- background work

  /** Fuzzy checkpoint (checkpoint.ts); a replica takes none. */
  checkpoint(): Promise<void> {
    return this.checkpointer.take();
  }

  /** Writes up to `maxPages` dirty pages, oldest recLsn first, each after the log covering it. */
  flushDirtyPages(maxPages: number): Promise<number> {
    return flushDirtyPages(this.wal, this.pool, maxPages);
  }

  /** Visits at most `maxKeys` keys (round robin) and removes versions no snapshot can see. */
  vacuum(maxKeys: number): number {
    if (this.role !== "primary") return 0;
    return this.vacuumer.pass(maxKeys);
  }

  /** Runs a background pass every `backgroundIntervalNs` until `close` (or a crash stops the task). */
  startBackground(): void {
    spawnBackground(this.rt, this, this.options, () => this.closed);
  }

  /** Stops background work (a clean shutdown also flushes the log). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.failed === undefined) await this.wal.flush();
  }

  /**
   * Ends this instance after an I/O error (PostgreSQL PANICs): background work stops, the log
   * refuses every flush, and each `onFailure` listener hears it once. The owner reopens the
   * database, whose recovery reads what the disk really holds.
   */
  fail(error: unknown): void {
    if (this.failed !== undefined) return;
    this.failed = { error };
    this.closed = true;
    for (const listener of this.failureListeners) listener(error);
  }

  /** The error that ended this instance, if one did. */
  get failure(): unknown {
    return this.failed?.error;
  }

  /** Calls `listener` once if this instance fails (see `fail`). */
  onFailure(listener: (error: unknown) => void): void {
    this.failureListeners.push(listener);
  }

  // ---------------------------------------------------------------- replication hooks

  /**
   * Log records from `fromLsn` on, for shipping (`durableOnly`: only those already fsynced), from
   * memory. Below `wal.retainedFrom` it throws: use `readLogFrom` (disk) for a far-behind replica.
   */
  walRecordsFrom(fromLsn: number, maxCount?: number, durableOnly = true): WalRecord[] {
    const records = this.wal.recordsFrom(fromLsn, maxCount);
    return durableOnly ? records.filter((r) => this.wal.isDurable(r)) : records;
  }

  /** Durable log records from `fromLsn` on, read from disk (slow; for catching up from far behind). */
  async readLogFrom(fromLsn: number): Promise<WalRecord[]> {
    await this.wal.flush();
    return (await readLog(this.rt.disk)).filter((r) => r.lsn >= fromLsn);
  }

  /**
   * Keeps log records from `lsn` on in memory for shipping (undefined: no floor, the default).
   * Without a floor, each checkpoint drops from memory every record that no running transaction
   * needs for undo.
   */
  retainWalFrom(lsn: number | undefined): void {
    this.checkpointer.retainFromLsn = lsn;
  }

  /** Replica: installs records shipped from the primary (replica.ts); resolves once they are durable. */
  applyShipped(records: readonly WalRecord[]): Promise<void> {
    if (this.role !== "replica") {
      return Promise.reject(new Error("applyShipped needs a node opened with role: replica"));
    }
    return this.shipped.install(records);
  }

  /** Replica → primary: rolls back the shipped transactions left unfinished, then serves writes. */
  async promote(): Promise<void> {
    if (this.role === "primary") return;
    const unfinished = this.shipped.endStream();
    // A promotion finishes a replica's recovery: bug skip-undo skips its undo here too.
    if (!this.bugs.has("skip-undo")) undo(this.wal, this.heap, unfinished);
    this.role = "primary";
    this.commitEnds.raiseFloor(this.wal.endLsn);
    await this.wal.flush();
    await this.checkpoint();
  }

  get isReplica(): boolean {
    return this.role === "replica";
  }
}
