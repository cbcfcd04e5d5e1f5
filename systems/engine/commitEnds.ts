/**
 * Commit ends by key: what a read of some keys could have observed.
 *
 * For each key, the commit end (README glossary) of the newest committed write to it, never below
 * a floor: the log end at open or promotion (commits this node recovered or inherited are not
 * tracked per key). A read of a set of keys observed nothing committed past `ofKeys` of them, so
 * the replication layer waits for exactly that to be confirmed before answering, not for
 * unrelated commits (cluster/clients.ts).
 */
import type { Key } from "../../harness/history/op.ts";
import { keyId } from "./pages.ts";

export class CommitEnds {
  /** Newest commit end per key, by key id. */
  private readonly byKey = new Map<string, number>();
  private floor = 0;

  /** Every key's commit end is at least `end` from now on (the log end at open or promotion). */
  raiseFloor(end: number): void {
    this.floor = end;
  }

  /** A transaction that locked (wrote) the keys `keyIds` committed; its record ends at `end`. */
  committed(keyIds: readonly string[], end: number): void {
    for (const kid of keyIds) this.byKey.set(kid, end);
  }

  /** The newest commit end of any of `keys`, or the floor if later. */
  ofKeys(keys: Iterable<Key>): number {
    let end = this.floor;
    for (const key of keys) end = Math.max(end, this.byKey.get(keyId(key)) ?? 0);
    return end;
  }
}
