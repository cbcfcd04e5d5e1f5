/**
 * The vacuum: removes versions no snapshot can see any more.
 *
 * A version replaced by a transaction below the vacuum horizon (the smallest id any running
 * transaction or live snapshot may still need to tell apart) and not running is dead (mvcc.ts,
 * `deadPrefix`); the newest version is never removed. Each removal is logged (a redo-only `vacuum`
 * record) and applied through the heap, so redo repeats it exactly. The background pass visits a
 * bounded number of keys round robin; a write that finds its page full vacuums that page first.
 * Only a primary vacuums: a replica redoes its primary's vacuum records.
 */
import { deadPrefix } from "./mvcc.ts";
import { keyId, type Page, type Tuple } from "./pages.ts";
import type { Heap } from "./heap.ts";
import type { TxnTable } from "./transactions.ts";
import type { Wal } from "./wal.ts";

export class Vacuum {
  private cursor = 0;

  constructor(
    private readonly wal: Wal,
    private readonly heap: Heap,
    private readonly txns: TxnTable,
  ) {}

  private vacuumTuple(page: Page, tuple: Tuple, horizon: number): number {
    const n = deadPrefix(tuple.versions, horizon, this.txns.running);
    if (n === 0) return 0;
    const record = this.wal.append({ kind: "vacuum", pageId: page.id, key: tuple.key, removeCount: n });
    this.heap.applyVacuum(page, tuple.key, n, record.lsn);
    return n;
  }

  /** Vacuums every key of one page (a write found it full). */
  vacuumPage(page: Page): void {
    const horizon = this.txns.vacuumHorizon();
    for (const t of [...page.tuples.values()]) this.vacuumTuple(page, t, horizon);
  }

  /** Visits at most `maxKeys` keys (round robin) and removes versions no snapshot can see. */
  pass(maxKeys: number): number {
    const keyOrder = this.heap.keyOrder;
    if (keyOrder.length === 0) return 0;
    const horizon = this.txns.vacuumHorizon();
    let removed = 0;
    const visits = Math.min(maxKeys, keyOrder.length);
    for (let i = 0; i < visits; i++) {
      this.cursor = (this.cursor + 1) % keyOrder.length;
      const kid = keyId(keyOrder[this.cursor]!);
      const pageId = this.heap.pageIdOf(kid);
      const page = pageId === undefined ? undefined : this.heap.pool.pages.get(pageId);
      const tuple = page?.tuples.get(kid);
      if (page !== undefined && tuple !== undefined) removed += this.vacuumTuple(page, tuple, horizon);
    }
    return removed;
  }
}
