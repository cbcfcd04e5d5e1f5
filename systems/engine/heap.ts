/**
 * The heap: which page holds each key, and every change to a page.
 *
 * A change is made the same way whether a transaction makes it now or recovery (or a replica)
 * redoes it from the log, so the two can never disagree: `applyUpdate` pushes a new version,
 * `applyCompensation` pops the one an undone update pushed, `applyVacuum` drops dead versions,
 * and `redo` replays any logged change onto the page(s) whose `pageLsn` is below its LSN (which
 * makes redo idempotent). Each change sets the page's `pageLsn` and marks it dirty (pages.ts).
 *
 * Placement: a new key goes to the current insert page while that page is at most a quarter
 * full, else to a fresh page. A key whose version chain outgrows its page is vacuumed first,
 * then moves whole to a fresh page (a `move` record: one record for both pages, so a crash never
 * leaves the key on two pages or none).
 */
import type { Key } from "../../harness/history/op.ts";
import {
  cacheAppendedValue,
  grownTupleSize,
  keyId,
  PAGE_HEADER_BYTES,
  tupleSize,
  versionBytes,
  type Page,
  type PagePool,
  type Tuple,
  type Version,
} from "./pages.ts";
import type { Wal, WalRecord } from "./wal.ts";

/** The log and the pages disagree: recovery (or a rollback) cannot go on. */
export class RecoveryError extends Error {
  override name = "RecoveryError";
}

export class Heap {
  /** keyId → the page holding the key's version chain. */
  private readonly pageOf = new Map<string, number>();
  /** Every key, in the order it was first seen (the vacuum's round robin; `dump`). */
  readonly keyOrder: Key[] = [];
  private insertPageId = 0;
  private pageCount = 0;
  /** Versions removed by vacuum records, done or redone. */
  versionsVacuumed = 0;

  constructor(
    readonly pool: PagePool,
    private readonly wal: Wal,
    private readonly pageSizeBytes: number,
  ) {}

  /** The page id holding `key` (keyId form), if any page does. */
  pageIdOf(kid: string): number | undefined {
    return this.pageOf.get(kid);
  }

  tupleOf(key: Key): Tuple | undefined {
    const id = this.pageOf.get(keyId(key));
    return id === undefined ? undefined : this.pool.pages.get(id)?.tuples.get(keyId(key));
  }

  /** Inserts continue on the last page (after loading pages, or after redo). */
  resetInsertPage(): void {
    this.insertPageId = Math.max(0, this.pageCount - 1);
  }

  rememberKey(key: Key, pageId: number): void {
    const kid = keyId(key);
    // One lookup when nothing changes (nearly every call: redo and every update remember the key).
    const known = this.pageOf.get(kid);
    if (known !== pageId) {
      if (known === undefined) this.keyOrder.push(key);
      this.pageOf.set(kid, pageId);
    }
    if (pageId >= this.pageCount) this.pageCount = pageId + 1;
  }

  /** The tuple changed: its size (`sizeBytes`, else counted from scratch), the page's, and the page is dirty. */
  private touch(page: Page, tuple: Tuple, lsn: number, sizeBytes?: number): void {
    const before = tuple.encodedBytes;
    tuple.image = undefined;
    tuple.encodedBytes = sizeBytes ?? tupleSize(tuple.key, tuple.versions);
    page.tupleBytes += tuple.encodedBytes - before;
    page.pageLsn = lsn;
    this.pool.markDirty(page.id, lsn);
  }

  /**
   * `xid` writes `value` as the newest version of `key`, replacing the previous newest. `appended`:
   * the caller vouches that `value` is the newest version's value, a list, with this element
   * appended (its JSON is then made from that version's: `cacheAppendedValue`).
   */
  applyUpdate(
    page: Page,
    key: Key,
    xid: number,
    value: unknown,
    lsn: number,
    appended?: { readonly element: unknown },
  ): void {
    const kid = keyId(key);
    let tuple = page.tuples.get(kid);
    if (tuple === undefined) {
      tuple = { key, versions: [], encodedBytes: 0 };
      page.tuples.set(kid, tuple);
    }
    const newest = tuple.versions.at(-1);
    // A chain that grows is sized from its size before (the newest version's JSON before and after
    // its xmax changes, a comma, the new version's JSON), not by counting every version again:
    // replicas and storage redo every update, and chains grow long between vacuums.
    const newestBytesBefore = newest === undefined ? 0 : versionBytes(newest);
    if (newest !== undefined && newest.xmax === 0) newest.xmax = xid;
    const version: Version = { xmin: xid, xmax: 0, value };
    if (appended !== undefined && newest !== undefined) cacheAppendedValue(version, newest, appended.element);
    tuple.versions.push(version);
    this.rememberKey(key, page.id);
    const grownBytes =
      newest === undefined
        ? undefined
        : tuple.encodedBytes - newestBytesBefore + versionBytes(newest) + 1 + versionBytes(version);
    this.touch(page, tuple, lsn, grownBytes);
  }

  /** Undoes `xid`'s newest version of `key` (it must be the newest), reviving the one it replaced. */
  applyCompensation(page: Page, key: Key, xid: number, lsn: number): void {
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

  /** Drops the `removeCount` oldest (dead) versions of `key`; never its newest. */
  applyVacuum(page: Page, key: Key, removeCount: number, lsn: number): void {
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
  redo(record: WalRecord): boolean {
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
      // An append to the newest version's list (the base above): its JSON is made from that one's.
      const appended = record.append === true ? { element: record.value } : undefined;
      this.applyUpdate(page, record.key, record.xid, value, record.lsn, appended);
    } else if (record.kind === "clr") this.applyCompensation(page, record.key, record.xid, record.lsn);
    else this.applyVacuum(page, record.key, record.removeCount, record.lsn);
    return true;
  }

  /**
   * The page that will hold `xid`'s new version `value` of `key` (whose chain is `versions`), or
   * undefined when the chain would not fit even in a page of its own (the caller aborts the
   * transaction with `page-full`). A full page is vacuumed first (`vacuumPage`); if the key still
   * does not fit, its chain moves to a fresh page (logged).
   */
  placeWrite(
    key: Key,
    versions: readonly Version[],
    value: unknown,
    xid: number,
    vacuumPage: (page: Page) => void,
  ): Page | undefined {
    const kid = keyId(key);
    const fits = (page: Page): boolean => {
      const tuple = page.tuples.get(kid);
      const grown = grownTupleSize(key, tuple?.versions ?? versions, xid, value);
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
      vacuumPage(page);
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
    return undefined;
  }
}
