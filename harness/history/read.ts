/**
 * One door for every history: `readHistoryFile` tells the format from the content (the extension
 * only breaks ties, e.g. for an empty file) and hands it to its reader. Formats:
 * - `jsonl`: faultline's own, `{"index":0,…}` per line;
 * - `jepsen-edn`: a Jepsen `history.edn`, a vector of op maps or one op map per line, with or
 *   without invocations (Elle's completion-only examples);
 * - `jepsen-json`: a Jepsen history as JSON, as elle-cli reads it: an array of op objects (or a
 *   `.json` file of one object per line);
 * - `jepsen-log`: Porcupine's etcd Jepsen logs, `INFO  jepsen.util - 3	:invoke	:cas	[1 4]`;
 * - `porcupine-kv`: Porcupine's kv histories, one EDN op map with a `:key` per line.
 * The source is a file, a pipe or standard input (`-`), read as a stream (source.ts). Whatever
 * goes wrong (a missing file, a bad line) is a `HistoryFormatError` naming the source and, when
 * there is one, the line.
 */
import { extname } from "node:path";
import type { Budget } from "../budget.ts";
import { parseJepsenEdn, parseJepsenJson, parseJepsenLog, parsePorcupineKv } from "./jepsen.ts";
import { parseJsonlLines, TornTail } from "./jsonl.ts";
import type { Op } from "./op.ts";
import { HistorySource } from "./source.ts";
import { HistoryFormatError } from "./validate.ts";

export type HistoryFormat = "jsonl" | "jepsen-edn" | "jepsen-json" | "jepsen-log" | "porcupine-kv";

export interface HistoryFile {
  readonly format: HistoryFormat;
  readonly ops: Op[];
  /**
   * A JSONL history's torn last line (no line break after it, and not JSON: a writer killed
   * mid-line), left out; `ops` are the lines before it.
   */
  readonly tornLastLine?: number;
}

/**
 * The format of a history from its first characters, with the file's extension as a hint when the
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
    if (ext === ".json") return "jepsen-json";
    if (ext === ".txt") return "porcupine-kv";
    return "jsonl";
  }
  if (/^INFO\s+jepsen\.util\b/.test(first)) return "jepsen-log";
  if (/^\{\s*"/.test(first) || first === "{") {
    if (first === "{" && ext !== ".jsonl" && ext !== ".json") return "jepsen-edn";
    return ext === ".json" ? "jepsen-json" : "jsonl";
  }
  if (/^\{\s*:/.test(first)) return /:key[\s,]/.test(first) ? "porcupine-kv" : "jepsen-edn";
  if (first.startsWith("[")) {
    // JSON or EDN: the first significant character after the bracket tells them apart.
    const after = head.slice(head.indexOf("[") + 1).replace(/^[\s,]+/, "");
    if (after.startsWith('{"') || /^\{\s*"/.test(after)) return "jepsen-json";
    if (after.startsWith("]")) return ext === ".json" ? "jepsen-json" : "jepsen-edn";
    return "jepsen-edn";
  }
  if (/^[(#]/.test(first)) return "jepsen-edn";
  return undefined;
}

const formatHint =
  'expected a history: JSONL ({"index":0,...} per line), Jepsen EDN ([{:process 0, :type :invoke, ...}] ' +
  'or one {...} per line), Jepsen JSON ([{"type":"invoke",...}]) or a Jepsen log ' +
  "(INFO  jepsen.util - 3\t:invoke\t:read\tnil)";

/**
 * Reads and validates a history of any supported format from `path` (`-`: standard input). A
 * budget, when given, is charged while reading, so a time limit holds here too.
 */
export async function readHistoryFile(path: string, budget?: Budget): Promise<HistoryFile> {
  const source = HistorySource.open(path, budget);
  try {
    return await readHistorySource(source, path, budget);
  } finally {
    source.close();
  }
}

/**
 * `readHistoryFile` on a source already open (its head may have been looked at): `path` gives
 * the extension, the hint when the content says nothing. The caller closes the source.
 */
export async function readHistorySource(
  source: HistorySource,
  path: string,
  budget?: Budget,
): Promise<HistoryFile> {
  const head = await source.head();
  const format = detectHistoryFormat(head, path);
  if (format === undefined) {
    const line = head.split("\n").findIndex((l) => l.trim() !== "") + 1;
    throw new HistoryFormatError(source.name, line, formatHint);
  }
  if (format === "jsonl") {
    const ops: Op[] = [];
    const torn = new TornTail(() => source.lastLineUnterminated);
    for await (const op of parseJsonlLines(source.lines(), source.name, budget, torn)) ops.push(op);
    return { format, ops, ...(torn.line !== undefined ? { tornLastLine: torn.line } : {}) };
  }
  const text = await source.text();
  const parse =
    format === "jepsen-log"
      ? parseJepsenLog
      : format === "porcupine-kv"
        ? parsePorcupineKv
        : format === "jepsen-json"
          ? parseJepsenJson
          : parseJepsenEdn;
  return { format, ops: parse(text, source.name, budget) };
}
