/**
 * Output folders that commands write into (a gate's or sweep's `--out`, a store), made and checked
 * before any run starts: a folder that cannot be made is one line naming the option (exit 254),
 * not a stack trace after every run was made and its results lost. A module of its own so that a
 * command needing only this (shrink) does not load the gate and its terminal view.
 */
import { accessSync, constants, mkdirSync } from "node:fs";
import { fileSystemReason, isFileSystemError } from "../harness/store/atomic.ts";
import { UsageError } from "./main.ts";

/** Creates `dir` (with its parents) and checks it is writable; a UsageError naming `--option` if not. */
export function prepareFolder(option: string, dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    throw new UsageError(
      `--${option} ${dir}: cannot create or write this folder: ${fileSystemReason(error)}`,
    );
  }
}
