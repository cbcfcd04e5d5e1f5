/**
 * The single-node database: transactions over MVCC pages, logged ahead, recovered ARIES-style.
 *
 * A `Database` runs on a `Runtime` and touches time and disk only through it. `Database.open`
 * recovers from whatever the disk holds (analysis from the last checkpoint, redo from the smallest
 * recLsn, undo of losers with compensation records) and then serves transactions:
 * `begin/read/write/append/commit/abort`, or `transact(microOps)` and `register(f, key, value)`
 * which return `{type: "ok", value}` or `{type: "fail", error}`.
 *
 * Isolation levels (PostgreSQL's behaviour is the reference):
 * - `read-committed`: a fresh snapshot per statement. A write waits for the row's current writer,
 *   then writes over the newest committed version (so lost updates are possible).
 * - `snapshot`: one snapshot per transaction, taken at its first statement; first committer wins:
 *   writing a key whose newest version was committed after the snapshot aborts with
 *   `write-conflict`. Allows write skew (G2-item).
 * - `serializable`: serializable snapshot isolation (Cahill, Röhm and Fekete; PostgreSQL's SSI),
 *   chosen over strict two-phase locking because it keeps the engine's central promise that
 *   readers never wait for writers, and it matches the PostgreSQL reference. Readers leave SIREAD
 *   marks; a rw-antidependency T→W (T read a version W replaced, concurrently) sets T.out and W.in;
 *   a transaction with both is the pivot of a dangerous structure and is aborted with
 *   `serialization-failure` (if the pivot already committed, the transaction acting now is aborted).
 *   Conservative: it may abort transactions that were in fact serializable, never the reverse.
 *
 * Writers lock the keys they write until they end. A writer that finds a key locked waits; if the
 * wait would close a cycle in the waits-for graph it aborts itself with `deadlock` (deadlock
 * detection at the moment of waiting, so no cycle ever forms), and a wait longer than
 * `lockTimeoutNs` aborts with `lock-timeout`. Aborts roll back at once (physically, with
 * compensation records), so every version on a page is by a committed or a running transaction.
 *
 * A commit is acknowledged only after its commit record is fsynced (group commit in the WAL);
 * until then the transaction still counts as running for every snapshot and keeps its locks.
 *
 * Replication hooks (for the replicated engine built on top): `wal.onAppend` and
 * `walRecordsFrom` expose the log with LSNs for shipping; a node opened with `role: "replica"`
 * installs shipped records verbatim with `applyShipped` (redo only; its read-only transactions
 * see what the stream has committed) and becomes a primary with `promote` (which undoes the
 * transactions the stream left unfinished); `Database.truncateAbove(disk, lsn)` cuts a node's log
 * above an LSN and drops its pages, which the next `open` rebuilds from the log.
 */
import type { Key, MicroOp } from "../../harness/history/op.ts";
import type { Runtime } from "../../harness/runtime/types.ts";
import { deadPrefix, visibleIndex, type Snapshot } from "./mvcc.ts";
import {
  grownTupleSize,
  keyId,
  PAGE_HEADER_BYTES,
  PagePool,
  tupleSize,
  type Page,
  type Tuple,
  type Version,
} from "./pages.ts";
import { NO_LSN, readLog, truncateLogAbove, Wal, type WalRecord, type WalRecordBody } from "./wal.ts";
import { utf8Decoder, utf8Encoder } from "./checksum.ts";

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

export class RecoveryError extends Error {
  override name = "RecoveryError";
}

/** How a whole transaction ended: `ok` with what it produced, or `fail` (certainly not committed). */
export type TransactionResult<T> =
  | { readonly type: "ok"; readonly value: T }
  | { readonly type: "fail"; readonly error: AbortReason; readonly detail?: string };

export type TxnResult = TransactionResult<MicroOp[]>;

export type RegisterResult = TransactionResult<unknown>;

export interface EngineOptions {
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
  /** Pause between background passes. Default 10 ms. */
  readonly backgroundIntervalNs?: number;
  /** Dirty pages written per background pass (oldest recLsn first). Default 8. */
  readonly pagesPerPass?: number;
  /** Keys the vacuum visits per pass. Default 64. */
  readonly vacuumKeysPerPass?: number;
  /** A fuzzy checkpoint every this many background passes. Default 20. */
  readonly checkpointEveryPasses?: number;
  /** `replica`: installs shipped log records, serves read-only transactions, writes no log. */
  readonly role?: "primary" | "replica";
}

/** A transaction handle. */
export interface Transaction {
  readonly xid: number;
  readonly isolation: IsolationLevel;
}

type TxnStatus = "active" | "committing" | "committed" | "aborted";

interface TxnState extends Transaction {
  status: TxnStatus;
  snapshot: Snapshot | undefined;
  /** First and last log records (NO_LSN until the first write). */
  firstLsn: number;
  lastLsn: number;
  readonly lockedKeys: string[];
  abortReason?: AbortReason;
  abortDetail?: string;
  waitingFor?: TxnState;
  wake?: () => void;
  inConflict: boolean;
  outConflict: boolean;
}

/** Analysis's view of an unfinished transaction: where its undo resumes. */
interface LoserEntry {
  lastLsn: number;
  undoNextLsn: number;
}

export interface RecoveryReport {
  readonly cutBytes: number;
  readonly repairedPages: readonly number[];
  readonly checkpointLsn: number;
  readonly redoStartLsn: number;
  readonly recordsRedone: number;
  readonly losersUndone: number;
  readonly recordsScanned: number;
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
}

const CONTROL_FILE = "control";
const CONTROL_TMP = "control.tmp";
/**
 * The files a database rebuilds from its log, in the order they are removed: the checkpoint first
 * (without it recovery redoes the whole log, so no page is ever assumed), then the pages.
 */
const REBUILDABLE_FILES = [CONTROL_FILE, CONTROL_TMP, "pages", "dwb"] as const;
/** Every file of a database, in the order a wipe removes them: the log last, never pages without it. */
export const DATABASE_FILES = [...REBUILDABLE_FILES, "wal"] as const;
const SSI_PRUNE_EVERY_ENDS = 64;
const MIN_PAGE_SIZE_BYTES = 128;
/** Lock waits one statement may go through (each ends when a holder ends) before giving up. */
const MAX_WAITS_PER_STATEMENT = 10_000;

export class Database {
  readonly wal: Wal;
  readonly pool: PagePool;
  readonly bugs: ReadonlySet<string>;
  private role: "primary" | "replica";
  private readonly isolation: IsolationLevel;
  private readonly pageSizeBytes: number;
  private nextXid = 1;
  /** Read-only transactions of a replica take negative ids so they never collide with shipped ones. */
  private nextReplicaReaderId = -1;
  /** Ids of transactions that may still commit or roll back: their versions are not committed. */
  private readonly running = new Set<number>();
  private readonly txns = new Map<number, TxnState>();
  /** Committed serializable transactions still concurrent with some running one (SSI). */
  private readonly retained = new Map<number, TxnState>();
  private readonly sireads = new Map<string, Set<TxnState>>();
  private readonly locks = new Map<string, TxnState>();
  private readonly waiters = new Map<number, Set<() => void>>();
  private readonly pageOf = new Map<string, number>();
  private readonly keyOrder: Key[] = [];
  private insertPageId = 0;
  private pageCount = 0;
  private vacuumCursor = 0;
  /** Replica: unfinished transactions of the shipped stream. */
  private readonly shippedLosers = new Map<number, LoserEntry>();
  private endsSincePrune = 0;
  private checkpointing = false;
  /** The replication layer's floor: records from here on stay in memory for shipping. */
  private shippingFloorLsn: number | undefined;
  private closed = false;
  /**
   * Per key, the end of the commit record of the newest committed write to it, and the floor
   * below which this node did not record them (everything it recovered or inherited). A read of a
   * set of keys observed nothing committed past `commitEndOfKeys` of them: the replication layer
   * waits for exactly that to be confirmed, not for unrelated commits (see cluster/dataNode.ts).
   */
  private readonly keyCommitEnd = new Map<string, number>();
  private commitEndFloor = 0;
  private commits = 0;
  private readonly aborts = new Map<string, number>();
  private versionsVacuumed = 0;
  private checkpoints = 0;
  recovery: RecoveryReport | undefined;

  private constructor(
    readonly rt: Runtime,
    private readonly options: EngineOptions,
    wal: Wal,
  ) {
    this.wal = wal;
    this.bugs = options.bugs ?? new Set();
    this.role = options.role ?? "primary";
    this.isolation = options.isolation ?? "serializable";
    this.pageSizeBytes = options.pageSizeBytes ?? 32 * 1024;
    if (!Number.isInteger(this.pageSizeBytes) || this.pageSizeBytes < MIN_PAGE_SIZE_BYTES) {
      throw new RangeError(
        `pageSizeBytes must be an integer >= ${MIN_PAGE_SIZE_BYTES}, got ${this.pageSizeBytes}`,
      );
    }
    this.pool = new PagePool(rt.disk, {
      pageSizeBytes: this.pageSizeBytes,
      tornPageBug: this.bugs.has("torn-page"),
    });
  }

  /** Opens (and recovers) the database on `rt`'s disk. */
  static async open(rt: Runtime, options: EngineOptions = {}): Promise<Database> {
    const { wal, cutBytes } = await Wal.open(rt.disk);
    const db = new Database(rt, options, wal);
    await db.recover(cutBytes);
    db.commitEndFloor = db.wal.endLsn;
    if (options.background ?? true) db.startBackground();
    return db;
  }

  /**
   * Cuts the log on `disk` above `lsn` and drops the pages and checkpoint, so that the next `open`
   * rebuilds every page from the remaining log (the log is never truncated at its head, so it
   * holds everything). For a node that must discard records past a durable point.
   *
   * The checkpoint goes first (without it, recovery redoes the whole log, so pages are never
   * needed), then the pages, the log last: a crash at any step leaves an uncut log that rebuilds
   * every page, and the caller, which has not seen the cut finish, cuts again. Any other order can
   * leave a cut log beside pages, or a checkpoint, of records it no longer holds; or a checkpoint
   * whose redo start assumes pages that are gone.
   */
  static async truncateAbove(disk: Runtime["disk"], lsn: number): Promise<void> {
    await Database.removeFiles(disk, REBUILDABLE_FILES);
    await truncateLogAbove(disk, lsn);
  }

  /**
   * Removes those of `files` that exist, in order (`DATABASE_FILES`: a whole database, crash-safe
   * at every step). A file that vanishes meanwhile (a checkpoint renaming `control.tmp`) is fine.
   */
  static async removeFiles(disk: Runtime["disk"], files: readonly string[] = DATABASE_FILES): Promise<void> {
    const present = await disk.list();
    for (const f of files) {
      if (!present.includes(f)) continue;
      try {
        await disk.remove(f);
      } catch (error) {
        if ((await disk.list()).includes(f)) throw error;
      }
    }
  }

  // ---------------------------------------------------------------- transactions

  begin(isolation: IsolationLevel = this.isolation): Transaction {
    if (!ISOLATION_LEVELS.includes(isolation)) {
      throw new RangeError(
        `unknown isolation level "${String(isolation)}"; known: ${ISOLATION_LEVELS.join(", ")}`,
      );
    }
    const xid = this.role === "replica" ? this.nextReplicaReaderId-- : this.nextXid++;
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
    if (this.role === "primary") this.running.add(xid);
    this.txns.set(xid, txn);
    return txn;
  }

  /** The value of `key` this transaction sees: `null` if it has none. Never waits. */
  async read(handle: Transaction, key: Key): Promise<unknown> {
    const txn = this.state(handle);
    return this.readNow(txn, key);
  }

  async write(handle: Transaction, key: Key, value: unknown): Promise<void> {
    await this.modify(this.state(handle), key, () => value);
  }

  /** Appends `element` to the list at `key` (a missing key is an empty list). */
  async append(handle: Transaction, key: Key, element: unknown): Promise<void> {
    await this.modify(
      this.state(handle),
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

  /** Commits; resolves once the commit is durable. Throws `TxnAbortedError` if it cannot commit. */
  async commit(handle: Transaction): Promise<void> {
    const txn = this.state(handle);
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
    for (const kid of txn.lockedKeys) this.keyCommitEnd.set(kid, record.lsn + record.sizeBytes);
    this.finish(txn, "committed");
  }

  /**
   * The log position past which nothing a reader of `keys` can see was committed here: the newest
   * commit to any of them, or the floor of what this node recovered or inherited, whichever is later.
   */
  commitEndOfKeys(keys: Iterable<Key>): number {
    let end = this.commitEndFloor;
    for (const key of keys) end = Math.max(end, this.keyCommitEnd.get(keyId(key)) ?? 0);
    return end;
  }

  /** Rolls back an active transaction (no-op if it already ended). */
  abort(handle: Transaction): void {
    const txn = this.txns.get(handle.xid);
    if (txn !== undefined && txn.status === "active") this.abortTxn(txn, "user-abort");
  }

  /**
   * Runs micro-ops `["r", k, null]`, `["w", k, v]`, `["append", k, v]` as one transaction and
   * commits it. `ok` carries the ops with reads filled in; `fail` means it certainly did not commit.
   */
  async transact(ops: readonly MicroOp[], isolation?: IsolationLevel): Promise<TxnResult> {
    return this.runTransaction(async (txn) => {
      const out: MicroOp[] = [];
      for (const op of ops) {
        const [kind, key, value] = op;
        if (typeof key !== "string" && typeof key !== "number") {
          throw new TxnAbortedError("invalid-op", `key must be a string or integer: ${JSON.stringify(op)}`);
        }
        if (kind === "r") out.push(["r", key, await this.read(txn, key)]);
        else if (kind === "w") {
          await this.write(txn, key, value);
          out.push(op);
        } else if (kind === "append") {
          await this.append(txn, key, value);
          out.push(op);
        } else throw new TxnAbortedError("invalid-op", `unknown micro-op ${JSON.stringify(op)}`);
      }
      return out;
    }, isolation);
  }

  /**
   * Runs `body` as one transaction and commits it. `ok` carries what the body returned, once the
   * commit is durable; when the body or the commit aborts (a `TxnAbortedError`), the transaction
   * is rolled back and the answer is `fail` with the reason. Any other error rolls back and is
   * rethrown: the caller cannot know more than that it did not commit here.
   */
  async runTransaction<T>(
    body: (txn: Transaction) => Promise<T>,
    isolation?: IsolationLevel,
  ): Promise<TransactionResult<T>> {
    const txn = this.begin(isolation);
    try {
      const value = await body(txn);
      await this.commit(txn);
      return { type: "ok", value };
    } catch (error) {
      this.abort(txn);
      if (error instanceof TxnAbortedError) {
        return error.detail === undefined
          ? { type: "fail", error: error.reason }
          : { type: "fail", error: error.reason, detail: error.detail };
      }
      throw error;
    }
  }

  /**
   * A register operation as one transaction: `read` (value ignored) returns the value; `write`
   * sets it; `cas` with `[expected, next]` sets `next` if the value is `expected`, else fails
   * with `cas-mismatch`.
   */
  async register(
    f: "read" | "write" | "cas",
    key: Key,
    value: unknown,
    isolation?: IsolationLevel,
  ): Promise<RegisterResult> {
    return this.runTransaction(async (txn) => {
      if (f === "read") return this.read(txn, key);
      if (f === "write") await this.write(txn, key, value);
      else if (f === "cas") {
        if (!Array.isArray(value) || value.length !== 2) {
          throw new TxnAbortedError("invalid-op", "cas takes [expected, next]");
        }
        const [expected, next] = value as [unknown, unknown];
        await this.modify(this.state(txn), key, (current) => {
          if (JSON.stringify(current) !== JSON.stringify(expected)) {
            throw new TxnAbortedError("cas-mismatch", `value is ${JSON.stringify(current)}`);
          }
          return next;
        });
      } else throw new TxnAbortedError("invalid-op", `unknown register op ${String(f)}`);
      return value;
    }, isolation);
  }

  /** Every key with a value visible to a fresh snapshot, for tests and debugging. */
  dump(): Map<Key, unknown> {
    const txn = this.begin("read-committed");
    const out = new Map<Key, unknown>();
    for (const key of this.keyOrder) {
      const value = this.readNow(this.state(txn), key);
      if (value !== null) out.set(key, value);
    }
    this.finish(this.state(txn), "committed");
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
      versionsVacuumed: this.versionsVacuumed,
      checkpoints: this.checkpoints,
    };
  }

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
    this.shippingFloorLsn = lsn;
  }

  // ---------------------------------------------------------------- statements

  private state(handle: Transaction): TxnState {
    const txn = this.txns.get(handle.xid);
    const known = txn ?? (handle as TxnState);
    if (known.status === "aborted") {
      throw new TxnAbortedError(known.abortReason ?? "user-abort", known.abortDetail);
    }
    if (txn === undefined || txn.status !== "active") {
      throw new Error(`transaction ${handle.xid} is not active (${known.status})`);
    }
    return txn;
  }

  private takeSnapshot(): Snapshot {
    const active = new Set(this.running);
    let xmin = this.nextXid;
    for (const x of active) if (x < xmin) xmin = x;
    return { horizon: this.nextXid, active, xmin };
  }

  private statementSnapshot(txn: TxnState): Snapshot {
    if (txn.isolation === "read-committed" || txn.snapshot === undefined) txn.snapshot = this.takeSnapshot();
    return txn.snapshot;
  }

  private tupleOf(key: Key): Tuple | undefined {
    const id = this.pageOf.get(keyId(key));
    return id === undefined ? undefined : this.pool.pages.get(id)?.tuples.get(keyId(key));
  }

  private readNow(txn: TxnState, key: Key): unknown {
    const snapshot = this.statementSnapshot(txn);
    const tuple = this.tupleOf(key);
    const versions = tuple?.versions ?? [];
    const index = this.bugs.has("dirty-read")
      ? versions.length - 1
      : visibleIndex(versions, snapshot, txn.xid, this.running);
    if (txn.isolation === "serializable" && this.role === "primary")
      this.ssiOnRead(txn, key, versions, index);
    return index < 0 ? null : versions[index]!.value;
  }

  /** A write statement: waits for the key's lock, checks conflicts, logs and applies a new version. */
  /**
   * `appended`: the element, when `compute` appends it to the base list; the log then carries
   * only the element (redo appends it to the newest version on the page) instead of the list.
   */
  private async modify(
    txn: TxnState,
    key: Key,
    compute: (current: unknown) => unknown,
    appended?: { readonly element: unknown },
  ): Promise<void> {
    if (this.role !== "primary") throw new TxnAbortedError("read-only", "this node is a replica");
    const kid = keyId(key);
    for (let waits = 0; ; waits++) {
      const holder = this.locks.get(kid);
      if (holder === undefined || holder === txn) break;
      if (waits >= MAX_WAITS_PER_STATEMENT) {
        this.abortTxn(txn, "lock-timeout", `gave up after ${waits} waits`);
        throw new TxnAbortedError("lock-timeout");
      }
      await this.waitFor(txn, holder);
      this.state(txn); // throws if it was aborted while waiting
    }
    const snapshot = this.statementSnapshot(txn);
    const tuple = this.tupleOf(key);
    const versions = tuple?.versions ?? [];
    const newest = versions.at(-1);
    let base: unknown = null;
    if (txn.isolation === "read-committed") {
      base = newest === undefined ? null : newest.value; // the lock guarantees it is committed or ours
    } else {
      const index = visibleIndex(versions, snapshot, txn.xid, this.running);
      const conflict = newest !== undefined && index !== versions.length - 1;
      if (conflict && !this.bugs.has("no-first-committer-wins")) {
        this.abortTxn(
          txn,
          "write-conflict",
          `${JSON.stringify(key)} was written by a concurrent transaction`,
        );
        throw new TxnAbortedError("write-conflict");
      }
      base = index < 0 ? null : versions[index]!.value;
    }
    if (txn.isolation === "serializable") this.ssiOnWrite(txn, kid);
    let value: unknown;
    try {
      value = compute(base);
    } catch (error) {
      if (error instanceof TxnAbortedError) this.abortTxn(txn, error.reason, error.detail);
      throw error;
    }
    const page = this.pageForWrite(key, versions, value, txn);
    if (txn.firstLsn === NO_LSN) {
      const begin = this.wal.append({ kind: "begin", xid: txn.xid, txnPrevLsn: NO_LSN });
      txn.firstLsn = begin.lsn;
      txn.lastLsn = begin.lsn;
    }
    const common = { kind: "update", xid: txn.xid, txnPrevLsn: txn.lastLsn, pageId: page.id, key } as const;
    // Logging the element alone is exact only when the base is the newest version's value.
    const newestValue = page.tuples.get(kid)?.versions.at(-1)?.value ?? null;
    const record =
      appended !== undefined && base === newestValue
        ? this.wal.append({ ...common, value: appended.element, append: true })
        : this.wal.append({ ...common, value });
    txn.lastLsn = record.lsn;
    this.applyUpdate(page, key, txn.xid, value, record.lsn);
    if (!this.locks.has(kid)) {
      this.locks.set(kid, txn);
      txn.lockedKeys.push(kid);
    }
  }

  /**
   * The page that will hold the new version. A full page is vacuumed first; if the key still does
   * not fit, its version chain moves to a fresh page (logged); a chain that fills a page alone
   * aborts the transaction with `page-full`.
   */
  private pageForWrite(key: Key, versions: readonly Version[], value: unknown, txn: TxnState): Page {
    const kid = keyId(key);
    const fits = (page: Page): boolean => {
      const tuple = page.tuples.get(kid);
      const grown = grownTupleSize(key, tuple?.versions ?? versions, txn.xid, value);
      return PAGE_HEADER_BYTES + page.tupleBytes - (tuple?.encodedBytes ?? 0) + grown <= this.pageSizeBytes;
    };
    const pageId = this.pageOf.get(kid);
    if (pageId === undefined) {
      const current = this.pool.page(this.insertPageId);
      if (current.tupleBytes <= this.pageSizeBytes / 4 && fits(current)) return current;
      const fresh = this.pool.page(this.pageCount);
      this.insertPageId = fresh.id;
      this.pageCount++;
      if (fits(fresh)) return fresh;
    } else {
      const page = this.pool.page(pageId);
      if (fits(page)) return page;
      const horizon = this.vacuumHorizon();
      for (const t of [...page.tuples.values()]) this.vacuumTuple(page, t, horizon);
      if (fits(page)) return page;
      const tuple = page.tuples.get(kid);
      const fresh = this.pool.page(this.pageCount);
      if (tuple !== undefined && fits(fresh)) {
        this.pageCount++;
        const record = this.wal.append({
          kind: "move",
          fromPageId: page.id,
          pageId: fresh.id,
          key,
          versions: tuple.versions.map((v) => [v.xmin, v.xmax, v.value] as const),
        });
        this.redo(record);
        return fresh;
      }
    }
    this.abortTxn(txn, "page-full", `the versions of ${JSON.stringify(key)} do not fit in one page`);
    throw new TxnAbortedError("page-full");
  }

  private waitFor(txn: TxnState, holder: TxnState): Promise<void> {
    for (
      let h: TxnState | undefined = holder, i = 0;
      h !== undefined && i <= this.txns.size;
      h = h.waitingFor, i++
    ) {
      if (h === txn) {
        this.abortTxn(txn, "deadlock", `waiting for transaction ${holder.xid} would close a cycle`);
        throw new TxnAbortedError("deadlock");
      }
    }
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(holder.xid);
      if (set === undefined) this.waiters.set(holder.xid, (set = new Set()));
      const timeoutNs = this.options.lockTimeoutNs ?? 5_000_000_000;
      let cancelTimer: (() => void) | undefined;
      const wake = (): void => {
        set.delete(wake);
        cancelTimer?.();
        txn.waitingFor = undefined;
        txn.wake = undefined;
        resolve();
      };
      set.add(wake);
      txn.waitingFor = holder;
      txn.wake = wake;
      if (timeoutNs > 0) {
        cancelTimer = this.rt.clock.setTimer(timeoutNs, () => {
          cancelTimer = undefined;
          if (txn.wake === wake && txn.status === "active") {
            this.abortTxn(txn, "lock-timeout", `waited ${timeoutNs} ns for transaction ${holder.xid}`);
          }
        });
      }
    });
  }

  // ---------------------------------------------------------------- serializable snapshot isolation

  private ssiOnRead(txn: TxnState, key: Key, versions: readonly Version[], index: number): void {
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

  private ssiOnWrite(txn: TxnState, kid: string): void {
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
      this.abortTxn(victim, "serialization-failure", detail);
      if (victim === actor) throw new TxnAbortedError("serialization-failure", detail);
      // The new edge died with its endpoint; a structure through the other one is caught at its commit.
      if (victim === reader || victim === writer) break;
    }
  }

  private pruneSsi(): void {
    const horizon = this.vacuumHorizon();
    for (const [xid] of this.retained) if (xid < horizon) this.retained.delete(xid);
    for (const [kid, readers] of this.sireads) {
      for (const r of readers) {
        if (r.status === "aborted" || (r.status === "committed" && !this.retained.has(r.xid)))
          readers.delete(r);
      }
      if (readers.size === 0) this.sireads.delete(kid);
    }
  }

  // ---------------------------------------------------------------- ending transactions

  private finish(txn: TxnState, status: "committed" | "aborted"): void {
    txn.status = status;
    this.running.delete(txn.xid);
    this.txns.delete(txn.xid);
    if (status === "committed" && txn.firstLsn !== NO_LSN) this.commits++;
    if (status === "committed" && txn.isolation === "serializable" && this.role === "primary") {
      this.retained.set(txn.xid, txn);
    }
    for (const kid of txn.lockedKeys) if (this.locks.get(kid) === txn) this.locks.delete(kid);
    const waiting = this.waiters.get(txn.xid);
    this.waiters.delete(txn.xid);
    if (waiting !== undefined) for (const wake of [...waiting]) wake();
    if (++this.endsSincePrune >= SSI_PRUNE_EVERY_ENDS) {
      this.endsSincePrune = 0;
      this.pruneSsi();
    }
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
      this.undo(losers);
    }
    const wake = txn.wake;
    this.finish(txn, "aborted");
    wake?.();
  }

  // ---------------------------------------------------------------- page changes (do and redo)

  private rememberKey(key: Key, pageId: number): void {
    const kid = keyId(key);
    if (!this.pageOf.has(kid)) this.keyOrder.push(key);
    this.pageOf.set(kid, pageId);
    if (pageId >= this.pageCount) this.pageCount = pageId + 1;
  }

  private touch(page: Page, tuple: Tuple, lsn: number): void {
    const before = tuple.encodedBytes;
    tuple.encodedBytes = tupleSize(tuple.key, tuple.versions);
    page.tupleBytes += tuple.encodedBytes - before;
    page.pageLsn = lsn;
    this.pool.markDirty(page.id, lsn);
  }

  private applyUpdate(page: Page, key: Key, xid: number, value: unknown, lsn: number): void {
    const kid = keyId(key);
    let tuple = page.tuples.get(kid);
    if (tuple === undefined) {
      tuple = { key, versions: [], encodedBytes: 0 };
      page.tuples.set(kid, tuple);
    }
    const newest = tuple.versions.at(-1);
    if (newest !== undefined && newest.xmax === 0) newest.xmax = xid;
    tuple.versions.push({ xmin: xid, xmax: 0, value });
    this.rememberKey(key, page.id);
    this.touch(page, tuple, lsn);
  }

  private applyCompensation(page: Page, key: Key, xid: number, lsn: number): void {
    const tuple = page.tuples.get(keyId(key));
    const popped = tuple?.versions.pop();
    if (tuple === undefined || popped === undefined || popped.xmin !== xid) {
      throw new RecoveryError(
        `undo of ${JSON.stringify(key)} by ${xid} at lsn ${lsn}: newest version is not ${xid}'s`,
      );
    }
    const newest = tuple.versions.at(-1);
    if (newest !== undefined && newest.xmax === xid) newest.xmax = 0;
    this.rememberKey(key, page.id);
    this.touch(page, tuple, lsn);
  }

  private applyVacuum(page: Page, key: Key, removeCount: number, lsn: number): void {
    const tuple = page.tuples.get(keyId(key));
    if (tuple === undefined || removeCount >= tuple.versions.length) {
      throw new RecoveryError(
        `vacuum of ${JSON.stringify(key)} at lsn ${lsn} would remove its newest version`,
      );
    }
    tuple.versions.splice(0, removeCount);
    this.versionsVacuumed += removeCount;
    this.rememberKey(key, page.id);
    this.touch(page, tuple, lsn);
  }

  /** Redo of one record onto its page(s), where a page has not seen it yet. Returns whether it applied. */
  private redo(record: WalRecord): boolean {
    if (record.kind === "move") {
      this.rememberKey(record.key, record.pageId);
      let applied = false;
      const from = this.pool.page(record.fromPageId);
      if (from.pageLsn < record.lsn) {
        const tuple = from.tuples.get(keyId(record.key));
        if (tuple !== undefined) {
          from.tuples.delete(keyId(record.key));
          from.tupleBytes -= tuple.encodedBytes;
        }
        from.pageLsn = record.lsn;
        this.pool.markDirty(from.id, record.lsn);
        applied = true;
      }
      const to = this.pool.page(record.pageId);
      if (to.pageLsn < record.lsn) {
        const versions = record.versions.map(([xmin, xmax, value]) => ({ xmin, xmax, value }));
        const old = to.tuples.get(keyId(record.key));
        if (old !== undefined) to.tupleBytes -= old.encodedBytes;
        const tuple: Tuple = { key: record.key, versions, encodedBytes: 0 };
        to.tuples.set(keyId(record.key), tuple);
        this.touch(to, tuple, record.lsn);
        applied = true;
      }
      return applied;
    }
    if (record.kind !== "update" && record.kind !== "clr" && record.kind !== "vacuum") return false;
    this.rememberKey(record.key, record.pageId);
    const page = this.pool.page(record.pageId);
    if (page.pageLsn >= record.lsn) return false;
    if (record.kind === "update") {
      let value = record.value;
      if (record.append === true) {
        const base = page.tuples.get(keyId(record.key))?.versions.at(-1)?.value ?? null;
        value = [...((base as unknown[] | null) ?? []), record.value];
      }
      this.applyUpdate(page, record.key, record.xid, value, record.lsn);
    } else if (record.kind === "clr") this.applyCompensation(page, record.key, record.xid, record.lsn);
    else this.applyVacuum(page, record.key, record.removeCount, record.lsn);
    return true;
  }

  /**
   * ARIES undo of every loser at once: always the largest undoNextLsn next, a compensation record
   * per undone update, an abort record when a transaction reaches its begin.
   */
  private undo(losers: Map<number, LoserEntry>): void {
    const bound = this.wal.recordCount + losers.size + 1;
    for (let step = 0; losers.size > 0; step++) {
      if (step > bound) throw new RecoveryError(`undo did not finish in ${bound} steps`);
      let xid = 0;
      let entry: LoserEntry | undefined;
      for (const [x, e] of losers)
        if (entry === undefined || e.undoNextLsn > entry.undoNextLsn) [xid, entry] = [x, e];
      const record = entry!.undoNextLsn === NO_LSN ? undefined : this.wal.get(entry!.undoNextLsn);
      if (entry!.undoNextLsn !== NO_LSN && record === undefined) {
        throw new RecoveryError(`undo of ${xid}: no record at lsn ${entry!.undoNextLsn}`);
      }
      if (record === undefined || record.kind === "begin") {
        this.wal.append({ kind: "abort", xid, txnPrevLsn: entry!.lastLsn });
        losers.delete(xid);
      } else if (record.kind === "update") {
        // The key may have moved to another page since the update: compensate where it is now.
        const pageId = this.pageOf.get(keyId(record.key)) ?? record.pageId;
        const clr = this.wal.append({
          kind: "clr",
          xid,
          txnPrevLsn: entry!.lastLsn,
          undoNextLsn: record.txnPrevLsn,
          pageId,
          key: record.key,
        });
        this.applyCompensation(this.pool.page(pageId), record.key, xid, clr.lsn);
        entry!.lastLsn = clr.lsn;
        entry!.undoNextLsn = record.txnPrevLsn;
      } else if (record.kind === "clr") {
        entry!.undoNextLsn = record.undoNextLsn;
      } else {
        throw new RecoveryError(`undo of ${xid}: unexpected ${record.kind} record at lsn ${record.lsn}`);
      }
    }
  }

  // ---------------------------------------------------------------- recovery

  private async readControl(): Promise<number> {
    const bytes = await this.rt.disk.read(CONTROL_FILE);
    if (bytes === undefined) return NO_LSN;
    try {
      const parsed = JSON.parse(utf8Decoder.decode(bytes)) as { checkpointLsn?: unknown };
      if (typeof parsed.checkpointLsn !== "number") throw new Error("no checkpointLsn");
      return parsed.checkpointLsn;
    } catch (error) {
      throw new RecoveryError(`control file: ${String(error)}`);
    }
  }

  private async recover(cutBytes: number): Promise<void> {
    const { repairedPages } = await this.pool.load();
    for (const page of this.pool.pages.values()) {
      for (const tuple of page.tuples.values()) {
        this.rememberKey(tuple.key, page.id);
        for (const v of tuple.versions) this.nextXid = Math.max(this.nextXid, v.xmin + 1, v.xmax + 1);
      }
    }
    this.insertPageId = Math.max(0, this.pageCount - 1);

    // Analysis: from the last checkpoint, rebuild the transaction and dirty page tables.
    const checkpointLsn = await this.readControl();
    const losers = new Map<number, LoserEntry>();
    const dirty = new Map<number, number>();
    let start = 0;
    if (checkpointLsn !== NO_LSN) {
      const cp = this.wal.get(checkpointLsn);
      if (cp === undefined || cp.kind !== "checkpoint") {
        throw new RecoveryError(`control names checkpoint lsn ${checkpointLsn}, which the log does not hold`);
      }
      this.nextXid = Math.max(this.nextXid, cp.nextXid);
      for (const [xid, lastLsn, undoNextLsn] of cp.active) losers.set(xid, { lastLsn, undoNextLsn });
      for (const [pageId, recLsn] of cp.dirty) dirty.set(pageId, recLsn);
      start = checkpointLsn;
    }
    const scanned = this.wal.recordsFrom(start);
    for (const r of scanned) {
      if (r.kind === "checkpoint") {
        this.nextXid = Math.max(this.nextXid, r.nextXid);
        continue;
      }
      if (r.kind === "update" || r.kind === "clr" || r.kind === "vacuum" || r.kind === "move") {
        if (!dirty.has(r.pageId)) dirty.set(r.pageId, r.lsn);
      }
      if (r.kind === "move" && !dirty.has(r.fromPageId)) dirty.set(r.fromPageId, r.lsn);
      if (r.kind === "vacuum" || r.kind === "move") continue;
      this.nextXid = Math.max(this.nextXid, r.xid + 1);
      if (r.kind === "commit" || r.kind === "abort") {
        losers.delete(r.xid);
        continue;
      }
      const entry = losers.get(r.xid) ?? { lastLsn: r.lsn, undoNextLsn: r.lsn };
      entry.lastLsn = r.lsn;
      entry.undoNextLsn = r.kind === "clr" ? r.undoNextLsn : r.lsn;
      losers.set(r.xid, entry);
    }

    // Redo: repeat history from the smallest recLsn, skipping what pages already hold.
    let redoStartLsn = NO_LSN;
    for (const recLsn of dirty.values())
      if (redoStartLsn === NO_LSN || recLsn < redoStartLsn) redoStartLsn = recLsn;
    let recordsRedone = 0;
    if (redoStartLsn !== NO_LSN) {
      // A page's pageLsn alone decides (a page outside the table already holds all its records).
      for (const r of this.wal.recordsFrom(redoStartLsn)) if (this.redo(r)) recordsRedone++;
    }
    this.insertPageId = Math.max(0, this.pageCount - 1);

    // Undo: roll back every loser (a replica keeps them running: the stream may still end them).
    const losersUndone = losers.size;
    if (this.role === "replica") {
      for (const [xid, entry] of losers) {
        this.shippedLosers.set(xid, entry);
        this.running.add(xid);
      }
    } else if (!this.bugs.has("skip-undo")) {
      this.undo(losers);
    }
    this.recovery = {
      cutBytes,
      repairedPages,
      checkpointLsn,
      redoStartLsn,
      recordsRedone,
      losersUndone,
      recordsScanned: scanned.length,
    };
    if (this.role === "primary") await this.checkpoint();
  }

  // ---------------------------------------------------------------- background work

  /** Fuzzy checkpoint: logs the transaction and dirty page tables, then points `control` at it. */
  async checkpoint(): Promise<void> {
    if (this.role !== "primary" || this.checkpointing) return;
    this.checkpointing = true;
    try {
      const active: [number, number, number][] = [];
      // A committing transaction's commit record precedes this one, so it is durable whenever the
      // checkpoint is: only active transactions can be losers.
      for (const t of this.txns.values()) {
        if (t.firstLsn !== NO_LSN && t.status === "active") active.push([t.xid, t.lastLsn, t.lastLsn]);
      }
      const body: WalRecordBody = {
        kind: "checkpoint",
        nextXid: this.nextXid,
        active,
        dirty: [...this.pool.dirty.entries()],
      };
      const record = this.wal.append(body);
      await this.wal.flush(record.lsn + record.sizeBytes);
      const disk = this.rt.disk;
      await disk.write(CONTROL_TMP, 0, utf8Encoder.encode(JSON.stringify({ checkpointLsn: record.lsn })));
      await disk.truncate(
        CONTROL_TMP,
        utf8Encoder.encode(JSON.stringify({ checkpointLsn: record.lsn })).length,
      );
      await disk.fsync(CONTROL_TMP);
      await disk.rename(CONTROL_TMP, CONTROL_FILE);
      this.checkpoints++;
      // Memory keeps what undo of running transactions and shipping still need; the disk keeps all.
      // Records before the checkpoint record are durable, so no page flush needs them in memory.
      let floor = Math.min(this.shippingFloorLsn ?? record.lsn, record.lsn);
      for (const t of this.txns.values()) if (t.firstLsn !== NO_LSN && t.firstLsn < floor) floor = t.firstLsn;
      this.wal.forgetBelow(floor);
    } finally {
      this.checkpointing = false;
    }
  }

  /** Writes up to `maxPages` dirty pages, oldest recLsn first, each after the log covering it. */
  async flushDirtyPages(maxPages: number): Promise<number> {
    let written = 0;
    for (const id of this.pool.dirtyByAge().slice(0, Math.max(0, maxPages))) {
      const ok = await this.pool.flushPage(id, (lsn) => this.wal.flush(this.logEndOf(lsn)));
      if (ok) written++;
    }
    return written;
  }

  /** End of the record at `lsn`; a record no longer in memory is already durable. */
  private logEndOf(lsn: number): number {
    const record = this.wal.get(lsn);
    if (record !== undefined) return record.lsn + record.sizeBytes;
    return lsn < this.wal.retainedFrom ? 0 : this.wal.endLsn;
  }

  /** The smallest id any running transaction or live snapshot may still need to tell apart. */
  private vacuumHorizon(): number {
    let horizon = this.nextXid;
    for (const t of this.txns.values()) {
      if (t.xid > 0 && t.xid < horizon) horizon = t.xid;
      if (t.snapshot !== undefined && t.snapshot.xmin < horizon) horizon = t.snapshot.xmin;
    }
    return horizon;
  }

  private vacuumTuple(page: Page, tuple: Tuple, horizon: number): number {
    const n = deadPrefix(tuple.versions, horizon, this.running);
    if (n === 0) return 0;
    const record = this.wal.append({ kind: "vacuum", pageId: page.id, key: tuple.key, removeCount: n });
    this.applyVacuum(page, tuple.key, n, record.lsn);
    return n;
  }

  /** Visits at most `maxKeys` keys (round robin) and removes versions no snapshot can see. */
  vacuum(maxKeys: number): number {
    if (this.role !== "primary" || this.keyOrder.length === 0) return 0;
    const horizon = this.vacuumHorizon();
    let removed = 0;
    const visits = Math.min(maxKeys, this.keyOrder.length);
    for (let i = 0; i < visits; i++) {
      this.vacuumCursor = (this.vacuumCursor + 1) % this.keyOrder.length;
      const key = this.keyOrder[this.vacuumCursor]!;
      const pageId = this.pageOf.get(keyId(key));
      const page = pageId === undefined ? undefined : this.pool.pages.get(pageId);
      const tuple = page?.tuples.get(keyId(key));
      if (page !== undefined && tuple !== undefined) removed += this.vacuumTuple(page, tuple, horizon);
    }
    return removed;
  }

  /** One background pass: flush the log tail, write some dirty pages, vacuum, sometimes checkpoint. */
  async backgroundPass(pass: number): Promise<void> {
    if (this.wal.durableEnd < this.wal.endLsn) await this.wal.flush();
    await this.flushDirtyPages(this.options.pagesPerPass ?? 8);
    this.vacuum(this.options.vacuumKeysPerPass ?? 64);
    if (pass % (this.options.checkpointEveryPasses ?? 20) === 0) await this.checkpoint();
  }

  /** Runs `backgroundPass` every `backgroundIntervalNs` until `close` (or a crash stops the task). */
  startBackground(): void {
    const intervalNs = this.options.backgroundIntervalNs ?? 10_000_000;
    this.rt.spawn("engine-background", async () => {
      // Bounded by the node's life: `close` ends it and a crash stops the task.
      for (let pass = 1; !this.closed; pass++) {
        await this.rt.clock.sleep(intervalNs);
        if (!this.closed) await this.backgroundPass(pass);
      }
    });
  }

  /** Stops background work (a clean shutdown also flushes the log). */
  async close(): Promise<void> {
    this.closed = true;
    await this.wal.flush();
  }

  // ---------------------------------------------------------------- replication hooks

  /**
   * Replica: installs records shipped from the primary, verbatim and in order, redoes them onto
   * pages and tracks which shipped transactions are unfinished; resolves once they are durable here.
   */
  async applyShipped(records: readonly WalRecord[]): Promise<void> {
    if (this.role !== "replica") throw new Error("applyShipped needs a node opened with role: replica");
    for (const shipped of records) {
      const r = this.wal.appendShipped(shipped);
      this.redo(r);
      if (r.kind === "checkpoint") {
        this.nextXid = Math.max(this.nextXid, r.nextXid);
        continue;
      }
      if (r.kind === "vacuum" || r.kind === "move") continue;
      this.nextXid = Math.max(this.nextXid, r.xid + 1);
      if (r.kind === "commit" || r.kind === "abort") {
        this.shippedLosers.delete(r.xid);
        this.running.delete(r.xid);
      } else {
        const entry = this.shippedLosers.get(r.xid) ?? { lastLsn: r.lsn, undoNextLsn: r.lsn };
        entry.lastLsn = r.lsn;
        entry.undoNextLsn = r.kind === "clr" ? r.undoNextLsn : r.lsn;
        this.shippedLosers.set(r.xid, entry);
        this.running.add(r.xid);
      }
    }
    await this.wal.flush();
  }

  /** Replica → primary: rolls back the shipped transactions left unfinished, then serves writes. */
  async promote(): Promise<void> {
    if (this.role === "primary") return;
    for (const [xid] of this.shippedLosers) this.running.delete(xid);
    // A promotion finishes a replica's recovery: bug skip-undo skips its undo here too.
    if (!this.bugs.has("skip-undo")) this.undo(this.shippedLosers);
    this.role = "primary";
    this.commitEndFloor = this.wal.endLsn;
    await this.wal.flush();
    await this.checkpoint();
  }

  get isReplica(): boolean {
    return this.role === "replica";
  }
}
