/**
 * The store: one folder per run, `store/<test-name>/<YYYYMMDDTHHMMSS.mmm>/`, holding the resolved
 * config (`test.json`), the history streamed while the test runs (`history.jsonl`), the results
 * and the reports. `store/latest` is a relative symlink to the newest run, replaced atomically.
 * Files are written whole or not at all (atomic.ts). A store root that cannot hold a run folder
 * (a path through a file, a read-only or full disk) is a `StoreError` naming the folder and why.
 */
import { accessSync, constants, mkdirSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileSystemReason, isFileSystemError, writeFileAtomic } from "./atomic.ts";

/** The store cannot hold a run folder: the user's to fix (another --store, room on the disk). */
export class StoreError extends Error {
  override name = "StoreError";
}

export interface RunDir {
  readonly root: string;
  readonly dir: string;
  readonly historyPath: string;
}

/** `20261122T031045.123` in UTC. */
export function runTimestamp(date: Date): string {
  const iso = date.toISOString(); // 2026-11-22T03:10:45.123Z
  return iso.slice(0, 19).replace(/[-:]/g, "") + "." + iso.slice(20, 23);
}

const testNamePattern = /^[A-Za-z0-9._-]+$/;

/**
 * Creates the run's folder and points `latest` at it, unless `pointLatest` is false: a run whose
 * folder may be removed once its verdict is known (a gate's or a sweep's seed that holds) points
 * `latest` at itself only once it is kept (`pointLatestAt`), so that `latest` never names a folder
 * that is gone.
 */
export function createRunDir(
  storeRoot: string,
  testName: string,
  startedAt: Date,
  pointLatest = true,
): RunDir {
  if (!testNamePattern.test(testName)) {
    throw new Error(`test name "${testName}" may hold only letters, digits, ".", "_" and "-"`);
  }
  try {
    return createRunDirIn(storeRoot, testName, startedAt, pointLatest);
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    throw new StoreError(`cannot create a run folder in ${storeRoot}: ${fileSystemReason(error)}`);
  }
}

/**
 * `mkdir -p`, bounded: creates each missing folder of `path`, from the nearest one that exists,
 * one level at a time. Node's own `mkdirSync(…, { recursive: true })` loops for ever, at full CPU
 * and deaf to signals, where mkdir fails with ENOENT under a parent that exists (any path under
 * /proc: `--store /proc/x` hung `faultline run` before it printed anything); here that ENOENT is
 * thrown. At most 4,096 levels.
 */
export function makeFolders(path: string): void {
  const missing: string[] = [];
  for (let at = resolve(path), depth = 0; depth < 4096; depth++) {
    try {
      statSync(at);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder);
    } catch (error) {
      // Made meanwhile by another process (two runs starting at once): as good.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

function createRunDirIn(storeRoot: string, testName: string, startedAt: Date, pointLatest: boolean): RunDir {
  const base = join(storeRoot, testName, runTimestamp(startedAt));
  makeFolders(join(storeRoot, testName));
  // Two runs in the same millisecond get distinct folders; past the bound it is an error, never
  // a folder shared by two runs.
  const maxSuffix = 1000;
  let dir: string | undefined;
  for (let n = 0; n < maxSuffix && dir === undefined; n++) {
    const candidate = n === 0 ? base : `${base}-${n}`;
    try {
      mkdirSync(candidate);
      dir = candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  if (dir === undefined) throw new Error(`${maxSuffix} runs of ${testName} already started at ${base}`);
  if (pointLatest) pointLatestAt(storeRoot, dir);
  return { root: storeRoot, dir, historyPath: join(dir, "history.jsonl") };
}

/** Points `storeRoot/latest` at the run folder `dir`, replacing the link atomically. */
export function pointLatestAt(storeRoot: string, dir: string): void {
  const link = join(storeRoot, "latest");
  const tmp = join(storeRoot, `.latest-${process.pid}`);
  rmSync(tmp, { force: true });
  symlinkSync(relative(storeRoot, dir), tmp);
  renameSync(tmp, link);
}

/** Writes `value` as indented JSON, whole or not at all. */
export function writeJsonFile(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/**
 * Why `storeRoot` cannot hold run folders, without creating anything, or undefined when it looks
 * able to: the nearest existing folder on its path must be a writable folder.
 */
export function storeRootProblem(storeRoot: string): string | undefined {
  let path = resolve(storeRoot);
  // Every round moves one level up; the root of the file system ends it.
  for (;;) {
    try {
      if (!statSync(path).isDirectory()) return `${path} is not a folder`;
      accessSync(path, constants.W_OK);
      return undefined;
    } catch (error) {
      if (!isFileSystemError(error)) throw error;
      if (error.code !== "ENOENT") return `${path}: ${fileSystemReason(error)}`;
    }
    const parent = dirname(path);
    if (parent === path) return `no folder of ${storeRoot} exists`;
    path = parent;
  }
}
