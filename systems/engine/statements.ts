/**
 * The two statements every transaction is made of: a read and a write. This is the engine's hot
 * path; everything it consults has its own module.
 *
 * A read takes the statement's snapshot (transactions.ts), picks the version of the key that
 * snapshot sees (mvcc.ts) and, under `serializable`, leaves an SIREAD mark (ssi.ts). It never
 * waits and writes nothing.
 *
 * A write waits for the key's write lock (locks.ts), then takes its snapshot. Under `snapshot` and
 * `serializable` the newest version must be the one the snapshot sees, else a concurrent
 * transaction committed first and this one aborts with `write-conflict` (first committer wins;
 * bug `no-first-committer-wins` skips the check). Under `read-committed` it writes over the newest
 * version (the lock guarantees it is committed or its own). It computes the new value from the
 * version it builds on, finds the page (heap.ts), logs the change (a `begin` record first, for the
 * transaction's first write), applies it and keeps the lock until the transaction ends.
 */
import type { Key } from "../../harness/history/op.ts";
import type { Heap } from "./heap.ts";
import type { AbortTxn, LockTable } from "./locks.ts";
import { visibleIndex } from "./mvcc.ts";
import { keyId } from "./pages.ts";
import type { Ssi } from "./ssi.ts";
import { TxnAbortedError, type TxnState, type TxnTable } from "./transactions.ts";
import type { Vacuum } from "./vacuum.ts";
import { NO_LSN, type Wal } from "./wal.ts";

/** Lock waits one statement may go through (each ends when a holder ends) before giving up. */
const MAX_WAITS_PER_STATEMENT = 10_000;

/** What the statements work on: the database's parts. */
export interface StatementContext {
  readonly wal: Wal;
  readonly heap: Heap;
  readonly txns: TxnTable;
  readonly locks: LockTable;
  readonly ssi: Ssi;
  readonly vacuum: Vacuum;
  readonly bugs: ReadonlySet<string>;
  /** A replica takes no part in SSI and refuses writes. */
  isPrimary(): boolean;
  readonly abort: AbortTxn;
}

/** A read statement: the version its snapshot sees (SSI marks the read); never waits. */
export function readStatement(ctx: StatementContext, txn: TxnState, key: Key): unknown {
  const snapshot = ctx.txns.statementSnapshot(txn);
  const tuple = ctx.heap.tupleOf(key);
  const versions = tuple?.versions ?? [];
  const index = ctx.bugs.has("dirty-read")
    ? versions.length - 1
    : visibleIndex(versions, snapshot, txn.xid, ctx.txns.running);
  if (txn.isolation === "serializable" && ctx.isPrimary()) ctx.ssi.onRead(txn, key, versions, index);
  return index < 0 ? null : versions[index]!.value;
}

/**
 * A write statement: waits for the key's lock, checks conflicts, logs and applies a new version.
 * `appended`: the element, when `compute` appends it to the base list; the log then carries
 * only the element (redo appends it to the newest version on the page) instead of the list.
 */
export async function writeStatement(
  ctx: StatementContext,
  txn: TxnState,
  key: Key,
  compute: (current: unknown) => unknown,
  appended?: { readonly element: unknown },
): Promise<void> {
  if (!ctx.isPrimary()) throw new TxnAbortedError("read-only", "this node is a replica");
  const kid = keyId(key);
  for (let waits = 0; ; waits++) {
    const holder = ctx.locks.holder(kid);
    if (holder === undefined || holder === txn) break;
    if (waits >= MAX_WAITS_PER_STATEMENT) {
      ctx.abort(txn, "lock-timeout", `gave up after ${waits} waits`);
      throw new TxnAbortedError("lock-timeout");
    }
    await ctx.locks.waitFor(txn, holder, ctx.txns.size);
    ctx.txns.state(txn); // throws if it was aborted while waiting
  }
  const snapshot = ctx.txns.statementSnapshot(txn);
  const versions = ctx.heap.tupleOf(key)?.versions ?? [];
  const newest = versions.at(-1);
  let base: unknown = null;
  if (txn.isolation === "read-committed") {
    base = newest === undefined ? null : newest.value; // the lock guarantees it is committed or ours
  } else {
    const index = visibleIndex(versions, snapshot, txn.xid, ctx.txns.running);
    const conflict = newest !== undefined && index !== versions.length - 1;
    if (conflict && !ctx.bugs.has("no-first-committer-wins")) {
      ctx.abort(txn, "write-conflict", `${JSON.stringify(key)} was written by a concurrent transaction`);
      throw new TxnAbortedError("write-conflict");
    }
    base = index < 0 ? null : versions[index]!.value;
  }
  if (txn.isolation === "serializable") ctx.ssi.onWrite(txn, kid);
  let value: unknown;
  try {
    value = compute(base);
  } catch (error) {
    if (error instanceof TxnAbortedError) ctx.abort(txn, error.reason, error.detail);
    throw error;
  }
  const page = ctx.heap.placeWrite(key, versions, value, txn.xid, (full) => ctx.vacuum.vacuumPage(full));
  if (page === undefined) {
    ctx.abort(txn, "page-full", `the versions of ${JSON.stringify(key)} do not fit in one page`);
    throw new TxnAbortedError("page-full");
  }
  if (txn.firstLsn === NO_LSN) {
    const begin = ctx.wal.append({ kind: "begin", xid: txn.xid, txnPrevLsn: NO_LSN });
    txn.firstLsn = begin.lsn;
    txn.lastLsn = begin.lsn;
  }
  const common = { kind: "update", xid: txn.xid, txnPrevLsn: txn.lastLsn, pageId: page.id, key } as const;
  // Logging the element alone is exact only when the base is the newest version's value.
  const newestValue = page.tuples.get(kid)?.versions.at(-1)?.value ?? null;
  const appendsToNewest = appended !== undefined && base === newestValue;
  const record = appendsToNewest
    ? ctx.wal.append({ ...common, value: appended.element, append: true })
    : ctx.wal.append({ ...common, value });
  txn.lastLsn = record.lsn;
  ctx.heap.applyUpdate(page, key, txn.xid, value, record.lsn, appendsToNewest ? appended : undefined);
  ctx.locks.take(txn, kid);
}
