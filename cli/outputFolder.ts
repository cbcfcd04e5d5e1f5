/**
 * Output folders that commands write into (a gate's or sweep's `--out`, a store), made and checked
 * before any run starts: a folder that cannot be made is one line naming the option (exit 254),
 * not a stack trace after every run was made and its results lost; and the closing files they end
 * with, each whole or absent, a refused one said in a line while the verdict stands. A module of
 * its own so that a command needing only this (shrink) does not load the gate and its terminal view.
 */
import { accessSync, constants, statSync } from "node:fs";
import {
  ArtifactLog,
  fileSystemReason,
  isFileSystemError,
  unwrittenSummary,
} from "../harness/store/atomic.ts";
import { makeFolders } from "../harness/store/store.ts";
import { UsageError } from "./main.ts";

/**
 * Creates `dir` (with its parents) and checks it is a folder and writable; a UsageError naming
 * `--option` if not. A file already at `dir` is refused here: makeFolders takes any existing path
 * as made, and a gate then ran every seed only to find it could not write its junit.xml into it.
 */
export function prepareFolder(option: string, dir: string): void {
  try {
    makeFolders(dir);
    if (!statSync(dir).isDirectory())
      throw new UsageError(`--${option} ${dir}: not a folder (a file of that name is there)`);
    accessSync(dir, constants.W_OK);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (!isFileSystemError(error)) throw error;
    throw new UsageError(
      `--${option} ${dir}: cannot create or write this folder: ${fileSystemReason(error)}`,
    );
  }
}

/**
 * Writes a command's closing files into `out` (a gate's junit.xml, a sweep report, shrink.json),
 * each whole or not at all (a temporary, fsynced and renamed into place), the folder fsynced once.
 * A file the file system refuses (a full disk) is said on stderr in one line and the others are
 * still written; the verdict, printed before, stands. Returns the names of the files written.
 */
export function writeClosingFiles(
  command: string,
  out: string,
  files: readonly (readonly [string, () => string])[],
): string[] {
  const artifacts = new ArtifactLog(out);
  const written: string[] = [];
  artifacts.together(() => {
    for (const [file, render] of files) if (artifacts.write(file, render())) written.push(file);
  });
  const unwritten = unwrittenSummary(out, artifacts.unwritten());
  if (unwritten !== undefined) process.stderr.write(`faultline ${command}: ${unwritten}\n`);
  return written;
}
