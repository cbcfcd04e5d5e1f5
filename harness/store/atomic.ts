/**
 * Artifacts written whole or not at all. A run's files (test.json, results.json, the reports, the
 * anomaly files) are each written to a temporary file beside their place, fsynced, and renamed
 * over it, then the folder is fsynced: a reader, a crash or a full disk sees the old file or the
 * new one, never a 0-byte or half-written one, and a failed write leaves no temporary behind.
 *
 * A write that fails on the file system (a full disk, a read-only folder, a quota) is not a bug of
 * ours: `ArtifactLog` collects such failures, so a run still prints its verdict and exits with its
 * verdict's code, and says in one line what could not be written (`unwrittenSummary`). Errors that
 * are not the file system's (a renderer's TypeError) still propagate.
 *
 * Files written together (a run's closing test.json and its reports) fsync their folder once,
 * after the last rename (`ArtifactLog.together`), not after each: every file is still fsynced
 * before its rename, so each is whole or absent whatever happens; only which of the renames a
 * power cut may undo changes, and either way a reader sees an old file or a new one. Each folder
 * fsync waits for the disk: a memory run of 60 s wrote six files, twelve fsyncs, about 64 ms of
 * its wall time.
 *
 * A run's closing files go further (`ArtifactLog.togetherOverlapping`): each is written in turn,
 * then all of them are fsynced at once and each renamed into place once its own fsync is done. On
 * a journalling file system (ext4) fsyncs waiting at the same time share a commit of the journal,
 * where one after another waited for a commit each (the six file fsyncs of a 60-s memory run took
 * 13-127 ms of its wall time on a busy 2-core machine). Still every file is fsynced before its
 * rename.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsyncInBackground, writeAllSync } from "../history/jsonl.ts";

let temporaryCounter = 0;

/**
 * Writes `data` to `path` through a temporary file, fsync and rename: whole or not at all.
 * `syncFolder` false leaves the folder's fsync (the rename's durability) to the caller.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, syncFolder = true): void {
  const written = writeTemporary(path, data);
  try {
    fsyncSync(written.fd);
  } catch (error) {
    discardTemporary(written);
    throw error;
  }
  renameTemporary(written, path);
  if (syncFolder) fsyncFolder(dirname(path));
}

/** A temporary file beside its place, written in full and still open (not yet fsynced). */
interface WrittenTemporary {
  readonly temporary: string;
  readonly fd: number;
}

/** `data` in a new temporary file beside `path`; on failure none is left behind. */
function writeTemporary(path: string, data: string | Uint8Array): WrittenTemporary {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}-${temporaryCounter++}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(temporary, "wx");
    writeAllSync(fd, bytes, path);
    return { temporary, fd };
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** Closes and removes a temporary that will not be renamed into place. */
function discardTemporary({ temporary, fd }: WrittenTemporary): void {
  closeSync(fd);
  rmSync(temporary, { force: true });
}

/** Closes a written and fsynced temporary and renames it over `path`; on failure removes it. */
function renameTemporary({ temporary, fd }: WrittenTemporary, path: string): void {
  let open = true;
  try {
    closeSync(fd);
    open = false;
    renameSync(temporary, path);
  } catch (error) {
    if (open) closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Makes a rename in `folder` durable. Best effort: some file systems refuse to fsync a folder
 * (EINVAL); the file itself is whole either way, only its surviving a power cut is at stake.
 */
export function fsyncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, "r");
    fsyncSync(fd);
  } catch {
    // See above.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Whether an error came from the file system (it has an errno code such as ENOSPC). */
export function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === "string" && /^E[A-Z0-9]+$/.test(code);
}

const reasons: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "a part of the path is not a folder",
  EISDIR: "is a folder",
  ENOENT: "no such file or folder",
  EEXIST: "already exists",
  EIO: "input/output error",
  ENAMETOOLONG: "name too long",
  EMFILE: "too many open files",
};

/** "no space left on device (ENOSPC)": a file-system error in words, with its code. */
export function fileSystemReason(error: unknown): string {
  if (!isFileSystemError(error)) return error instanceof Error ? error.message : String(error);
  const code = error.code!;
  return `${reasons[code] ?? error.message.split(",")[0] ?? code} (${code})`;
}

export interface UnwrittenArtifact {
  /** The file, relative to the run folder (`report.html`, `nodes/n1.log`). */
  readonly file: string;
  readonly reason: string;
  /** True when part of it was written and kept (a streamed file cut short at a whole line). */
  readonly cutShort?: boolean;
}

/** The artifacts of one run folder that could not be written, and why. */
export class ArtifactLog {
  private readonly failures: UnwrittenArtifact[] = [];
  /** Depth of `together` calls under way: while above 0, folders are fsynced when the outermost ends. */
  private togetherDepth = 0;
  /** Folders written into during `together`, not yet fsynced. */
  private readonly unsyncedFolders = new Set<string>();
  /** While `togetherOverlapping` runs its writes: each file written, or why it could not be. */
  private overlapping: ({ readonly file: string; readonly path: string } & (
    { readonly written: WrittenTemporary } | { readonly failure: UnwrittenArtifact }
  ))[] = [];
  private overlappingDepth = 0;

  /** @param syncFolder makes a folder's renames durable (tests count its calls). */
  constructor(
    readonly dir: string,
    private readonly syncFolder: (folder: string) => void = fsyncFolder,
  ) {}

  /**
   * Writes `dir/file` atomically. A file-system failure is recorded and answered with false;
   * any other error propagates.
   */
  write(file: string, data: string | Uint8Array): boolean {
    if (this.overlappingDepth > 0) return this.writeForOverlap(file, data);
    try {
      const path = join(this.dir, file);
      const deferred = this.togetherDepth > 0;
      writeFileAtomic(path, data, false);
      if (deferred) this.unsyncedFolders.add(dirname(path));
      else this.syncFolder(dirname(path));
      return true;
    } catch (error) {
      if (!isFileSystemError(error)) throw error;
      this.record({ file, reason: fileSystemReason(error) });
      return false;
    }
  }

  /**
   * Runs `writes` (calls of `write`), fsyncing each folder they wrote into once, when the
   * outermost `together` ends (also when `writes` throws), instead of after every file.
   */
  together<T>(writes: () => T): T {
    this.togetherDepth++;
    try {
      return writes();
    } finally {
      if (--this.togetherDepth === 0) {
        for (const folder of this.unsyncedFolders) this.syncFolder(folder);
        this.unsyncedFolders.clear();
      }
    }
  }

  /**
   * `together`, with the files' fsyncs overlapping (see the module header): each `write` of
   * `writes` writes its file to a temporary at once, in order (a nearly full disk still refuses the
   * later, larger files first); then every temporary is fsynced at the same time, each is renamed
   * into place (in the order written) once its fsync is done, and each folder is fsynced once, after
   * the last rename. Failures are recorded in the order the files were written. Also when
   * `writes` throws, what it wrote before is finished so.
   */
  async togetherOverlapping(writes: () => void): Promise<void> {
    if (this.overlappingDepth > 0) return this.together(writes);
    this.overlappingDepth++;
    this.togetherDepth++;
    try {
      writes();
    } finally {
      this.overlappingDepth--;
      const files = this.overlapping;
      this.overlapping = [];
      const fsyncErrors = await Promise.all(
        files.map((f) => ("written" in f ? fsyncInBackground(f.written.fd) : undefined)),
      );
      try {
        files.forEach((f, i) => {
          if (!("written" in f)) return this.record(f.failure);
          const fsyncError = fsyncErrors[i];
          try {
            if (fsyncError !== undefined) {
              discardTemporary(f.written);
              throw fsyncError;
            }
            renameTemporary(f.written, f.path);
            this.unsyncedFolders.add(dirname(f.path));
          } catch (error) {
            if (!isFileSystemError(error)) throw error;
            this.record({ file: f.file, reason: fileSystemReason(error) });
          }
        });
      } finally {
        if (--this.togetherDepth === 0) {
          for (const folder of this.unsyncedFolders) this.syncFolder(folder);
          this.unsyncedFolders.clear();
        }
      }
    }
  }

  /** `write` within `togetherOverlapping`: the temporary only, its fsync and rename to come. */
  private writeForOverlap(file: string, data: string | Uint8Array): boolean {
    const path = join(this.dir, file);
    try {
      this.overlapping.push({ file, path, written: writeTemporary(path, data) });
      return true;
    } catch (error) {
      if (!isFileSystemError(error)) throw error;
      this.overlapping.push({ file, path, failure: { file, reason: fileSystemReason(error) } });
      return false;
    }
  }

  record(failure: UnwrittenArtifact): void {
    if (!this.failures.some((f) => f.file === failure.file)) this.failures.push(failure);
  }

  unwritten(): readonly UnwrittenArtifact[] {
    return this.failures;
  }
}

/**
 * One line saying what could not be written, or undefined when everything was:
 * `could not write report.html, junit.xml (no space left on device (ENOSPC)) and history.jsonl
 * (cut short: …) in store/x/2026…`.
 */
export function unwrittenSummary(dir: string, unwritten: readonly UnwrittenArtifact[]): string | undefined {
  if (unwritten.length === 0) return undefined;
  const byReason = new Map<string, string[]>();
  for (const u of unwritten) {
    const key = u.cutShort === true ? `cut short at a whole line: ${u.reason}` : u.reason;
    byReason.set(key, [...(byReason.get(key) ?? []), u.file]);
  }
  const parts = [...byReason].map(([reason, files]) => `${files.join(", ")} (${reason})`);
  return `could not write ${parts.join("; ")} in ${dir}`;
}
