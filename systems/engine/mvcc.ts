/**
 * Multi-version concurrency control: which version of a key a transaction sees.
 *
 * Every version records the transaction that created it (`xmin`) and the one that replaced it
 * (`xmax`, 0 while it is the newest), as in PostgreSQL. Transaction ids are handed out in begin
 * order. A snapshot is `{ horizon, active, xmin }`: `horizon` is the next transaction id at the time
 * the snapshot was taken, `active` the ids then running (committing included), `xmin` the smallest
 * of them (or `horizon`). A transaction's effects are in a snapshot iff its id is below the horizon,
 * not in `active`, and it committed. Aborted transactions need no status lookup: rollback removes
 * their versions physically (with compensation records), so every version on a page is by a
 * committed transaction or by one still running.
 *
 * Readers never wait: they pick a visible version. The vacuum horizon is the smallest `xmin` of any
 * live snapshot (and the smallest running id): a version replaced by a transaction below it is
 * invisible to every present and future snapshot and may be removed.
 */
import type { Version } from "./pages.ts";

export interface Snapshot {
  readonly horizon: number;
  readonly active: ReadonlySet<number>;
  readonly xmin: number;
}

/** Whether the effects of transaction `xid` are in `snapshot`, given the set of running ids now. */
export function committedIn(xid: number, snapshot: Snapshot, running: ReadonlySet<number>): boolean {
  return xid < snapshot.horizon && !snapshot.active.has(xid) && !running.has(xid);
}

/**
 * Index of the version of a chain that a reader with `snapshot` (running as `self`) sees, or -1.
 * Scans newest first, so the common case (the newest version is visible) is one step.
 */
export function visibleIndex(
  versions: readonly Version[],
  snapshot: Snapshot,
  self: number,
  running: ReadonlySet<number>,
): number {
  for (let i = versions.length - 1; i >= 0; i--) {
    const v = versions[i]!;
    const created = v.xmin === self || committedIn(v.xmin, snapshot, running);
    if (!created) continue;
    if (v.xmax === 0) return i;
    if (v.xmax === self) continue; // self replaced it with a newer version
    if (!committedIn(v.xmax, snapshot, running)) return i;
  }
  return -1;
}

/**
 * How many of the oldest versions of a chain no snapshot can see: a version replaced by a finished
 * transaction below `vacuumHorizon`. The newest version is never removed.
 */
export function deadPrefix(
  versions: readonly Version[],
  vacuumHorizon: number,
  running: ReadonlySet<number>,
): number {
  let n = 0;
  while (n < versions.length - 1) {
    const v = versions[n]!;
    if (v.xmax === 0 || v.xmax >= vacuumHorizon || running.has(v.xmax)) break;
    n++;
  }
  return n;
}
