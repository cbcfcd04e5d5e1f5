/**
 * Making bytes and names durable: the engine's only way to fsync.
 *
 * A file's bytes are durable once its fsync returns; its name (its creation, a rename, a remove)
 * only once the directory is fsynced too (the `Disk` contract). So the engine creates every file
 * it relies on durably (create, fsync, fsync the directory) before it writes what matters into
 * it, fsyncs the directory after every rename into place and every remove that must not come
 * undone, and treats a failed fsync as the end of the database instance: the bytes it covered are
 * gone (the kernel dropped them; fsyncing again would succeed and prove nothing), so the caller
 * stops and recovers from what the disk holds, as PostgreSQL does since 2018 (it PANICs).
 *
 * Bugs: `retry-fsync` is PostgreSQL before 2018: a failed fsync is retried, and then the engine
 * carries on believing its writes durable whatever the retries said (the kernel has dropped them).
 * `no-dir-fsync` renames files into place (a checkpoint's control file, a storage segment, an
 * epoch file) without fsyncing the directory, so a crash may undo the rename.
 */
import type { Disk } from "../../harness/runtime/types.ts";

/** Fsync attempts under bug `retry-fsync` (the first and its retries). */
const MAX_FSYNC_ATTEMPTS = 3;

export class Durability {
  readonly retryFailedFsync: boolean;
  readonly syncDirectoryAfterRename: boolean;

  constructor(
    readonly disk: Disk,
    bugs: ReadonlySet<string>,
  ) {
    this.retryFailedFsync = bugs.has("retry-fsync");
    this.syncDirectoryAfterRename = !bugs.has("no-dir-fsync");
  }

  /**
   * Fsyncs `file`; a failure is final (bug `retry-fsync`: retried, then forgotten). Without the
   * bug it is the disk's own promise: no async wrapper (two promise hops) around every fsync.
   */
  fsync(file: string): Promise<void> {
    return this.retryFailedFsync ? this.fsyncRetrying(file) : this.disk.fsync(file);
  }

  private async fsyncRetrying(file: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.disk.fsync(file);
        return;
      } catch {
        if (attempt >= MAX_FSYNC_ATTEMPTS) return;
      }
    }
  }

  /**
   * Creates each of `files` that does not exist (empty), then fsyncs the directory: from then on
   * their names survive any crash (so do those of files an earlier incarnation created and a
   * process death left unsynced).
   */
  async ensureFiles(files: readonly string[]): Promise<void> {
    const present = await this.disk.list();
    for (const file of files) {
      if (present.includes(file)) continue;
      await this.disk.append(file, new Uint8Array(0));
      await this.fsync(file);
    }
    await this.disk.fsyncDir();
  }

  /** Renames `from` into place as `to`, durably (bug `no-dir-fsync`: the directory is not fsynced). */
  async renameIntoPlace(from: string, to: string): Promise<void> {
    await this.disk.rename(from, to);
    if (this.syncDirectoryAfterRename) await this.disk.fsyncDir();
  }

  /** Makes earlier removes (and creations) durable. */
  syncDirectory(): Promise<void> {
    return this.disk.fsyncDir();
  }
}
