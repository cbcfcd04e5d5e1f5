/**
 * Bug knobs of the single-node engine: deliberate faults the harness must catch. All are off by
 * default; a node gets them as `bugs: ReadonlySet<string>`. Each names the anomaly it must cause
 * (tests in bugs.test.ts show that it does, and that the engine without it does not).
 *
 * - `ack-before-fsync`: a commit is acknowledged (and made visible) as soon as its commit record
 *   is appended to the log tail, before the fsync. A crash then loses acknowledged commits
 *   (lost acknowledged writes after restart).
 * - `dirty-read`: a read returns the newest version of a key whatever its creator's status, so
 *   transactions read uncommitted and later-aborted writes (G1a aborted read, G1b intermediate read).
 * - `no-first-committer-wins`: snapshot and serializable transactions skip the write-conflict
 *   check and write over a version committed after their snapshot, computing appends from their
 *   stale snapshot (P4 lost update).
 * - `skip-undo`: recovery runs analysis and redo but not undo, so writes of transactions that
 *   never committed survive a crash and become visible (uncommitted writes after restart; G1a).
 * - `torn-page`: pages are written without checksums or double writes and read leniently, so a
 *   page write torn by a crash is read back as data (committed writes lost or garbled after restart).
 * - `retry-fsync`: a failed fsync is retried, succeeds, and the engine carries on (PostgreSQL
 *   before 2018, "fsyncgate"); the writes it covered are gone, so acknowledged commits vanish
 *   at the next restart (lost acknowledged writes).
 * - `no-dir-fsync`: files are renamed into place (the checkpoint's control file, a storage
 *   segment, the epoch files of nodes and control plane) without fsyncing the directory, so a crash
 *   undoes the rename: a node forgets the epoch it was fenced at, the control plane reuses an
 *   epoch (lost acknowledged writes under failovers).
 * - `no-checksum`: pages are read without verifying their checksum, so a page rotted at rest is
 *   served as data (wrong or missing values after a restart).
 */
export const ENGINE_BUGS = [
  "ack-before-fsync",
  "dirty-read",
  "no-first-committer-wins",
  "skip-undo",
  "torn-page",
  "retry-fsync",
  "no-dir-fsync",
  "no-checksum",
] as const;

export type EngineBug = (typeof ENGINE_BUGS)[number];

export class UnknownBugError extends Error {
  override name = "UnknownBugError";
}

/** Rejects names that are not engine bugs of this layer, naming the ones that are. */
export function checkEngineBugs(bugs: ReadonlySet<string>, known: readonly string[] = ENGINE_BUGS): void {
  for (const bug of bugs) {
    if (!known.includes(bug)) {
      throw new UnknownBugError(`unknown engine bug "${bug}"; known: ${known.join(", ")}`);
    }
  }
}
