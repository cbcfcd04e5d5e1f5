/**
 * One door for every history file: `readHistoryFile` tells the format from the content (the
 * extension only breaks ties, e.g. for an empty file) and hands it to its reader. Formats:
 * - `jsonl`: faultline's own, `{"index":0,…}` per line;
 * - `jepsen-edn`: a Jepsen `history.edn`, a vector of op maps or one op map per line;
 * - `jepsen-log`: Porcupine's etcd Jepsen logs, `INFO  jepsen.util - 3	:invoke	:cas	[1 4]`;
 * - `porcupine-kv`: Porcupine's kv histories, one EDN op map with a `:key` per line.
 * Whatever goes wrong (a missing file, a bad line) is a `HistoryFormatError` naming the file and,
 * when there is one, the line.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parseJepsenEdn, parseJepsenLog, parsePorcupineKv } from "./jepsen.ts";
import { readJsonlHistoryAll } from "./jsonl.ts";
import type { Op } from "./op.ts";
import { HistoryFormatError } from "./validate.ts";

export type HistoryFormat = "jsonl" | "jepsen-edn" | "jepsen-log" | "porcupine-kv";

export interface HistoryFile {
  readonly format: HistoryFormat;
  readonly ops: Op[];
}

/** Bytes read from the start of a file to tell its format. */
const headBytes = 4096;

/**
 * The format of a history from its first bytes, with the file's extension as a hint when the
 * content says nothing (an empty file). Undefined when it looks like none of them.
 */
export function detectHistoryFormat(head: string, path: string): HistoryFormat | undefined {
  const ext = extname(path).toLowerCase();
  // The first line that is not blank and not an EDN comment.
  const first = head
    .split("\n")
    .map((line) => line.trim())
    .find((line) => line !== "" && !line.startsWith(";"));
  if (first === undefined) {
    if (ext === ".log") return "jepsen-log";
    if (ext === ".edn") return "jepsen-edn";
    if (ext === ".txt") return "porcupine-kv";
    return "jsonl";
  }
  if (/^INFO\s+jepsen\.util\b/.test(first)) return "jepsen-log";
  if (/^\{\s*"/.test(first) || first === "{")
    return first === "{" && ext !== ".jsonl" ? "jepsen-edn" : "jsonl";
  if (/^\{\s*:/.test(first)) return /:key[\s,]/.test(first) ? "porcupine-kv" : "jepsen-edn";
  if (/^[[(#]/.test(first)) return "jepsen-edn";
  return undefined;
}

function readHead(path: string): string {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(headBytes);
    const n = readSync(fd, buffer, 0, headBytes, 0);
    return buffer.subarray(0, n).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

function cannotRead(path: string, error: unknown): HistoryFormatError {
  const code = (error as { code?: unknown }).code;
  const why =
    code === "ENOENT"
      ? "no such file"
      : code === "EISDIR"
        ? "is a directory, expected a history file"
        : error instanceof Error
          ? error.message
          : String(error);
  return new HistoryFormatError(path, 0, `cannot read: ${why}`);
}

/** Reads and validates a history file of any supported format. */
export async function readHistoryFile(path: string): Promise<HistoryFile> {
  let head: string;
  try {
    head = readHead(path);
  } catch (error) {
    throw cannotRead(path, error);
  }
  const format = detectHistoryFormat(head, path);
  if (format === undefined) {
    const line = head.split("\n").findIndex((l) => l.trim() !== "") + 1;
    throw new HistoryFormatError(
      path,
      line,
      'expected a history: JSONL ({"index":0,...} per line), Jepsen EDN ([{:process 0, :type :invoke, ...}] ' +
        "or one {...} per line) or a Jepsen log (INFO  jepsen.util - 3\t:invoke\t:read\tnil)",
    );
  }
  if (format === "jsonl") return { format, ops: await readJsonlHistoryAll(path) };
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw cannotRead(path, error);
  }
  const parse =
    format === "jepsen-log" ? parseJepsenLog : format === "porcupine-kv" ? parsePorcupineKv : parseJepsenEdn;
  return { format, ops: parse(text, path) };
}
