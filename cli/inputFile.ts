/**
 * A file the user hands us (a suite, a stored run's test.json, a shard's files), read as text
 * within a bound. Refused in one line naming it (a UsageError) when it is not a regular file, is
 * larger than its bound, cannot be read, or is not UTF-8 (named by its first bad line). Read with
 * no bound, a suite named `/dev/zero` or a pipe never ended, a folder was an internal error with a
 * stack trace, a file past V8's longest string a crash, and bytes that are not UTF-8 were read as
 * U+FFFD and judged.
 */
import { isUtf8 } from "node:buffer";
import { readFileSync, statSync, type Stats } from "node:fs";
import { lineFeeds, Utf8Guard } from "../harness/history/utf8.ts";
import { fileSystemReason, isFileSystemError } from "../harness/store/atomic.ts";
import { UsageError } from "./main.ts";

/** `path`'s text; `what` names the file in errors ("the sweep's manifest"). */
export function readInputFile(path: string, what: string, maxBytes: number): string {
  let bytes: Buffer;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new UsageError(`${path}: expected a file (${what}), found ${kindOf(stat)}`);
    if (stat.size > maxBytes)
      throw new UsageError(`${path}: ${stat.size} bytes, more than the ${maxBytes} ${what} may hold`);
    bytes = readFileSync(path);
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    throw new UsageError(`${path}: cannot read it: ${fileSystemReason(error)}`);
  }
  // Grown between the stat and the read: the bound holds for what was read, too.
  if (bytes.length > maxBytes)
    throw new UsageError(`${path}: more than the ${maxBytes} bytes ${what} may hold`);
  if (!isUtf8(bytes)) {
    // The line of the first byte that is not UTF-8, found as a history's are (utf8.ts); a
    // character that the file's end cuts short is on its last line.
    const line = new Utf8Guard().check(bytes)?.line ?? lineFeeds(bytes, bytes.length) + 1;
    throw new UsageError(`${path}:${line}: expected UTF-8 text, found bytes that are not`);
  }
  return bytes.toString("utf8");
}

/** "a folder", "a pipe", … for a path that should be a regular file. */
function kindOf(stat: Stats): string {
  return stat.isDirectory()
    ? "a folder"
    : stat.isFIFO()
      ? "a pipe"
      : stat.isSocket()
        ? "a socket"
        : stat.isCharacterDevice() || stat.isBlockDevice()
          ? "a device"
          : "not a regular file";
}
