/**
 * Readers for histories recorded by Jepsen and by Porcupine's test data, mapped to `Op`.
 *
 * - Jepsen `history.edn`: either one vector (or list) of op maps, or one op map per line (newer
 *   Jepsen writes `#jepsen.history.Op{…}`; the tag is dropped). Porcupine's kv files are the
 *   per-line form with a `:key` field.
 * - Porcupine's etcd Jepsen logs: `INFO  jepsen.util - 3	:invoke	:cas	[1 4]` (tab- or
 *   space-separated).
 *
 * The mapping, fixed here for every checker:
 * - keywords become plain strings; `:process` is a number, or "nemesis"; `:type`, `:f` and
 *   `:value` map to their fields (a missing `:value` is `null`, as EDN `nil` is); other fields
 *   (`:key`, `:error`, `:node`) are kept as they are;
 * - `index` is the op's position in the file (a Jepsen `:index` is replaced by it); `time` is
 *   `:time` when present, else the index, so that time order is file order;
 * - Jepsen EDN `:fail` stays `fail`: the operation did not happen;
 * - in the etcd logs, `:fail :cas [a b]` is a CAS that completed and found a value other than
 *   `a`; it becomes `type: "fail", f: "cas", value: [a, b], error: "cas-mismatch"` (definitely did
 *   not swap, and the register did not hold `from`). A completion whose value is a keyword
 *   (`:info :write :timed-out`, `:fail :read :timed-out`) carries that keyword as `error` and its
 *   invocation's value as `value`; such a `:fail :read` becomes `info` (a read with an unknown
 *   result).
 */
import type { EdnValue } from "./edn.ts";
import { EdnParseError, EdnReader, parseEdn } from "./edn.ts";
import type { Op, OpType, Process } from "./op.ts";
import { HistoryFormatError, HistoryShapeTracker, describeFound, opProblem } from "./validate.ts";

const ednFieldName = (name: string): string => `:${name}`;

function ednError(file: string, error: unknown): unknown {
  if (error instanceof EdnParseError) {
    return new HistoryFormatError(file, error.line, `${error.detail} (column ${error.column})`);
  }
  return error;
}

/** Maps one Jepsen op map to an `Op`, or raises a `HistoryFormatError` naming the line. */
export function opFromJepsenRecord(record: EdnValue, index: number, file: string, line: number): Op {
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    throw new HistoryFormatError(
      file,
      line,
      `expected an op map such as {:process 0, :type :invoke, :f :read, :value nil}; got ${describeFound(record)}`,
    );
  }
  const fields = record as { readonly [key: string]: EdnValue };
  const time = fields["time"] === undefined ? index : fields["time"];
  const op: Record<string, unknown> = { ...fields, index, time, value: fields["value"] ?? null };
  const problem = opProblem(op, ednFieldName);
  if (problem !== undefined) throw new HistoryFormatError(file, line, problem);
  return op as Op;
}

/** Validates the shape of a sequence of ops as they are produced (index order and pairing). */
function shapeChecker(file: string): (op: Op, line: number) => Op {
  const shape = new HistoryShapeTracker();
  return (op, line) => {
    const problem = shape.check(op);
    if (problem !== undefined) throw new HistoryFormatError(file, line, problem);
    return op;
  };
}

/**
 * Parses a Jepsen `history.edn`: one vector or list of op maps, or one op map per line.
 * `file` names the source in errors.
 */
export function parseJepsenEdn(text: string, file: string): Op[] {
  const reader = new EdnReader(text);
  const checked = shapeChecker(file);
  const ops: Op[] = [];
  try {
    const first = reader.peek();
    if (first === "[" || first === "(") {
      const close = first === "[" ? "]" : ")";
      const { line } = reader.position();
      reader.advance();
      while (true) {
        const next = reader.peek();
        if (next === undefined) {
          throw new HistoryFormatError(
            file,
            reader.position().line,
            `expected "${close}" to close the history opened on line ${line}`,
          );
        }
        if (next === close) {
          reader.advance();
          break;
        }
        const form = reader.readForm()!;
        ops.push(checked(opFromJepsenRecord(form.value, ops.length, file, form.line), form.line));
      }
      if (!reader.atEnd()) {
        throw new HistoryFormatError(
          file,
          reader.position().line,
          "expected the end of the file after the history's closing bracket",
        );
      }
    } else {
      for (let form = reader.readForm(); form !== undefined; form = reader.readForm()) {
        ops.push(checked(opFromJepsenRecord(form.value, ops.length, file, form.line), form.line));
      }
    }
  } catch (error) {
    throw ednError(file, error);
  }
  return ops;
}

const logLinePattern = /^INFO\s+jepsen\.util\s+-\s+(\d+|:nemesis)\s+:([\w-]+)\s+:(\S+)(?:\s+(.*?))?\s*$/;
const logTypes: readonly string[] = ["invoke", "ok", "fail", "info"];

/** Parses one of Porcupine's etcd Jepsen logs (see the module header for what each line means). */
export function parseJepsenLog(text: string, file: string): Op[] {
  const checked = shapeChecker(file);
  const ops: Op[] = [];
  /** Each process's open invocation value, for completions that carry only an error keyword. */
  const invokedValue = new Map<Process, EdnValue>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const lineNumber = i + 1;
    const line = lines[i]!.replace(/\r$/, "");
    if (line.trim() === "") continue;
    const match = logLinePattern.exec(line);
    if (match === null) {
      throw new HistoryFormatError(
        file,
        lineNumber,
        `expected a Jepsen log line such as "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]"; got ${JSON.stringify(line.slice(0, 60))}`,
      );
    }
    const [, processText, typeText, f, valueText = "nil"] = match;
    if (!logTypes.includes(typeText!)) {
      throw new HistoryFormatError(
        file,
        lineNumber,
        `expected the type to be one of :invoke, :ok, :fail, :info; got ":${typeText}"`,
      );
    }
    const process: Process = processText === ":nemesis" ? "nemesis" : Number(processText);
    let value: EdnValue;
    try {
      value = parseEdn(valueText === "" ? "nil" : valueText);
    } catch (error) {
      if (!(error instanceof EdnParseError)) throw error;
      throw new HistoryFormatError(file, lineNumber, `expected an EDN value after ":${f}": ${error.detail}`);
    }
    let type = typeText as OpType;
    let error: string | undefined;
    if (type === "invoke") {
      invokedValue.set(process, value);
    } else {
      if (valueText.startsWith(":") && typeof value === "string") {
        // A keyword in the value position of a completion is an error, not a result.
        error = value;
        value = invokedValue.get(process) ?? null;
        if (type === "fail" && f === "read") type = "info";
      } else if (type === "fail" && f === "cas") {
        error = "cas-mismatch";
      }
      invokedValue.delete(process);
    }
    const op: Op = {
      index: ops.length,
      time: ops.length,
      process,
      type,
      f: f!,
      value,
      ...(error === undefined ? {} : { error }),
    };
    const problem = opProblem(op);
    if (problem !== undefined) throw new HistoryFormatError(file, lineNumber, problem);
    ops.push(checked(op, lineNumber));
  }
  return ops;
}

/** Parses Porcupine's kv histories: one EDN op map per line, with a `:key`. */
export function parsePorcupineKv(text: string, file: string): Op[] {
  return parseJepsenEdn(text, file);
}
