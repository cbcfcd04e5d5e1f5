/**
 * Readers for histories recorded by Jepsen and the tools around it, and by Porcupine's test data,
 * mapped to `Op`.
 *
 * - Jepsen `history.edn`: either one vector (or list) of op maps, or one op map per line (newer
 *   Jepsen writes `#jepsen.history.Op{…}`; the tag is dropped). Porcupine's kv files are the
 *   per-line form with a `:key` field.
 * - Jepsen histories as JSON, as elle-cli reads them: one array of op objects (or one object per
 *   line), `"type": "ok"`, `"f": "txn"`, micro-ops `["append", 1, 2]`; a leading `:` on a
 *   keyword-like string (`":ok"`) is dropped.
 * - Porcupine's etcd Jepsen logs: `INFO  jepsen.util - 3	:invoke	:cas	[1 4]` (tab- or
 *   space-separated).
 *
 * The mapping, fixed here for every checker:
 * - keywords become plain strings; `:process` is a number, or "nemesis"; `:type`, `:f` and
 *   `:value` map to their fields (a missing `:value` is `null`, as EDN `nil` is; a missing `:f`
 *   is "txn" when the value is a list of micro-ops, as Elle's examples write them); other fields
 *   (`:key`, `:error`, `:node`) are kept as they are;
 * - `index` is the op's position in the file (a Jepsen `:index` is replaced by it); `time` is
 *   `:time` when present, else the index, so that time order is file order. A Jepsen `:index`,
 *   where an op has one, must be a non-negative integer above every earlier op's: Jepsen numbers
 *   a history in order, and a filtered history (client ops only) keeps the numbers, so gaps are
 *   fine, but an index met twice (two histories run together, an op written twice) or going back
 *   is an error naming both lines, as faultline's JSONL, which counts 0, 1, 2, …, refuses one;
 * - Jepsen EDN `:fail` stays `fail`: the operation did not happen;
 * - in the etcd logs, `:fail :cas [a b]` is a CAS that completed and found a value other than
 *   `a`; it becomes `type: "fail", f: "cas", value: [a, b], error: "cas-mismatch"` (definitely did
 *   not swap, and the register did not hold `from`). A completion whose value is a keyword
 *   (`:info :write :timed-out`, `:fail :read :timed-out`) carries that keyword as `error` and its
 *   invocation's value as `value`; such a `:fail :read` becomes `info` (a read with an unknown
 *   result).
 *
 * Completion-only histories (Elle's README and test examples: no invocations, often no `:f`,
 * sometimes no `:process`): a history whose first client operation is a completion is read as
 * one, and an invocation later in it is an error. Nothing records when such operations began, so
 * faultline assumes nothing about it: every operation gets an invocation at the very start of the
 * history, under a process of its own (the recorded `:process`, if any, is kept as
 * `recordedProcess`). The operations are then all concurrent: no real-time and no process order
 * is inferred. (Elle takes process order from the order of a process's completions in the file;
 * see checkers/README.md.)
 */
import type { Budget } from "../budget.ts";
import type { EdnValue } from "./edn.ts";
import { EdnParseError, EdnReader, isEdnSet, parseEdn } from "./edn.ts";
import { parseJsonExact } from "./exactJson.ts";
import type { Op, OpType, Process } from "./op.ts";
import { HistoryFormatError, HistoryShapeTracker, describeFound, opProblem } from "./validate.ts";

const ednFieldName = (name: string): string => `:${name}`;
const jsonFieldName = (name: string): string => `"${name}"`;

function ednError(file: string, error: unknown): unknown {
  if (error instanceof EdnParseError) {
    return new HistoryFormatError(file, error.line, `${error.detail} (column ${error.column})`);
  }
  return error;
}

const microOpKinds = new Set(["r", "w", "append"]);
const keywordLike = (v: unknown): unknown => (typeof v === "string" && v.startsWith(":") ? v.slice(1) : v);

/** A list of micro-ops like `[["append", "x", 1], ["r", "y", null]]`. */
function isMicroOpList(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((m) => Array.isArray(m) && m.length === 3 && microOpKinds.has(keywordLike(m[0]) as string))
  );
}

/**
 * Maps one Jepsen op record to an `Op` (missing `:process` allowed for now: the history decides),
 * or raises a `HistoryFormatError` naming the line.
 */
export function opFromJepsenRecord(
  record: EdnValue | unknown,
  index: number,
  file: string,
  line: number,
  fieldName: (name: string) => string = ednFieldName,
): Op {
  const op = normalizeRecord(record, index, file, line, fieldName);
  const problem = opProblem(op, fieldName);
  if (problem !== undefined) throw new HistoryFormatError(file, line, problem);
  return op as Op;
}

function normalizeRecord(
  record: unknown,
  index: number,
  file: string,
  line: number,
  fieldName: (name: string) => string,
): Record<string, unknown> {
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    throw new HistoryFormatError(
      file,
      line,
      `expected an op map such as {${fieldName("process")} 0, ${fieldName("type")} invoke, ${fieldName("f")} read, ${fieldName("value")} nil}; got ${describeFound(record)}`,
    );
  }
  const fields = record as Record<string, unknown>;
  const value = fields["value"] ?? null;
  const op: Record<string, unknown> = { ...fields, index, time: fields["time"] ?? index, value };
  if (typeof op["type"] === "string") op["type"] = keywordLike(op["type"]);
  if (typeof op["f"] === "string") op["f"] = keywordLike(op["f"]);
  else if (op["f"] === undefined && isMicroOpList(value)) op["f"] = "txn";
  if (op["process"] === ":nemesis") op["process"] = "nemesis";
  // Keyword-like micro-op names (`":append"`, from JSON) lose their colon; EDN keywords already did.
  if (
    Array.isArray(value) &&
    value.some((m) => Array.isArray(m) && typeof m[0] === "string" && m[0].startsWith(":")) &&
    isMicroOpList(value)
  ) {
    op["value"] = value.map((m: unknown[]) => [keywordLike(m[0]), m[1], m[2]]);
  }
  return op;
}

/**
 * Turns the records of one history into its ops as they come: validates each, and reads a history
 * whose first client record is a completion as completion-only (see the module header). Records
 * of an ordinary history become ops at once (the record can then be dropped), so reading stays
 * one pass.
 */
class JepsenHistoryBuilder {
  private readonly ops: Op[] = [];
  private readonly shape = new HistoryShapeTracker();
  /** Undecided until the first client record; then whether the history is completion-only. */
  private completionOnly: boolean | undefined;
  private firstClientLine = 0;
  /** Completion-only: the completions, with their lines and whether they are client operations. */
  private readonly completions: { fields: Record<string, unknown>; line: number; client: boolean }[] = [];
  private largestProcess = -1;
  /** Whether a record appends (a list-append history), and the first read that returned a set. */
  private appends = false;
  private firstSetRead: { line: number; key: unknown } | undefined;
  /** The last recorded `:index` met, and its line (see the module header). */
  private lastIndex = -1;
  private lastIndexLine = 0;

  constructor(
    private readonly file: string,
    private readonly fieldName: (name: string) => string,
  ) {}

  add(fields: Record<string, unknown>, line: number): void {
    this.checkRecordedIndex(fields["index"], line);
    this.noteMicroOps(fields["value"], line);
    const client = fields["process"] !== "nemesis" && fields["process"] !== ":nemesis";
    const isInvoke = keywordLike(fields["type"]) === "invoke";
    if (this.completionOnly === undefined && client) {
      this.completionOnly = !isInvoke;
      this.firstClientLine = line;
    }
    if (this.completionOnly !== true) {
      const op = opFromJepsenRecord(fields, this.ops.length, this.file, line, this.fieldName);
      const problem = this.shape.check(op);
      if (problem !== undefined) throw new HistoryFormatError(this.file, line, problem);
      this.ops.push(op);
      return;
    }
    if (client && isInvoke) {
      throw new HistoryFormatError(
        this.file,
        line,
        `expected only completions: this history's first operation (line ${this.firstClientLine}) is a completion, so it is read as completion-only; got an invocation`,
      );
    }
    const p = fields["process"];
    if (typeof p === "number" && Number.isSafeInteger(p))
      this.largestProcess = Math.max(this.largestProcess, p);
    this.completions.push({ fields, line, client });
  }

  /** A recorded `:index` must be a whole number above every earlier one (see the module header). */
  private checkRecordedIndex(index: unknown, line: number): void {
    if (index === undefined) return;
    const name = this.fieldName("index");
    if (typeof index !== "number" || !Number.isSafeInteger(index) || index < 0) {
      throw new HistoryFormatError(
        this.file,
        line,
        `expected ${name}, when present, to be a non-negative integer; got ${describeFound(index)}`,
      );
    }
    if (index <= this.lastIndex) {
      throw new HistoryFormatError(
        this.file,
        line,
        `expected ${name} to be above ${this.lastIndex}, the ${name} of the operation on line ${this.lastIndexLine} ` +
          `(a history numbers its operations in order; gaps are fine, repeats are not); got ${index}`,
      );
    }
    this.lastIndex = index;
    this.lastIndexLine = line;
  }

  /** Notes an append micro-op, and the first read micro-op that returned an EDN set. */
  private noteMicroOps(value: unknown, line: number): void {
    if (!Array.isArray(value)) return;
    for (const m of value as unknown[]) {
      if (!Array.isArray(m) || m.length !== 3) continue;
      const kind = keywordLike(m[0]);
      if (kind === "append") this.appends = true;
      else if (kind === "r" && this.firstSetRead === undefined && isEdnSet(m[2]))
        this.firstSetRead = { line, key: m[1] };
    }
  }

  finish(): Op[] {
    // A list-append read is a list: its order is what Elle checks, and a set has none (Elle's own
    // reader fails on one). Read as a sorted array, it would be checked as an order nobody saw.
    if (this.appends && this.firstSetRead !== undefined)
      throw new HistoryFormatError(
        this.file,
        this.firstSetRead.line,
        `expected a read of key ${describeFound(this.firstSetRead.key)} to return a vector or list, as a list-append history's reads do (it appends); got a set #{...}, which has no order`,
      );
    if (this.completionOnly !== true) return this.ops;
    // Nemesis records seen before the first client record were taken as ops already; they stay
    // first. Every client op is invoked at the start, each under a process of its own.
    const head = this.ops;
    let nextProcess = this.largestProcess + 1;
    const completed: Op[] = [];
    const lines: number[] = [];
    for (const { fields: recorded, line, client } of this.completions) {
      const fields: Record<string, unknown> = { ...recorded };
      if (client) {
        if (fields["process"] !== undefined) fields["recordedProcess"] = fields["process"];
        fields["process"] = nextProcess++;
      }
      completed.push(opFromJepsenRecord(fields, 0, this.file, line, this.fieldName));
      lines.push(line);
    }
    const ops: Op[] = [];
    const shape = new HistoryShapeTracker();
    const push = (op: Op, line: number): void => {
      const indexed = { ...op, index: ops.length };
      const problem = shape.check(indexed);
      if (problem !== undefined) throw new HistoryFormatError(this.file, line, problem);
      ops.push(indexed);
    };
    for (let i = 0; i < completed.length; i++) {
      const c = completed[i]!;
      if (c.process === "nemesis") continue;
      // Reads carry nothing at invocation, as Jepsen writes them.
      const value = c.f === "txn" && Array.isArray(c.value) ? c.value.map(invokedMicroOp) : c.value;
      push({ ...c, type: "invoke", time: 0, value }, lines[i]!);
    }
    for (const op of head) push(op, 0);
    for (let i = 0; i < completed.length; i++) push(completed[i]!, lines[i]!);
    return ops;
  }
}

const invokedMicroOp = (m: unknown): unknown =>
  Array.isArray(m) && m.length === 3 && m[0] === "r" ? ["r", m[1], null] : m;

/**
 * Parses a Jepsen `history.edn`: one vector or list of op maps, or one op map per line.
 * `file` names the source in errors.
 */
export function parseJepsenEdn(text: string, file: string, budget?: Budget): Op[] {
  const reader = new EdnReader(text);
  const builder = new JepsenHistoryBuilder(file, ednFieldName);
  const add = (value: EdnValue, line: number): void => {
    budget?.step();
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      normalizeRecord(value, 0, file, line, ednFieldName); // throws with the line
    }
    builder.add(value as Record<string, unknown>, line);
  };
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
        add(form.value, form.line);
      }
      if (!reader.atEnd()) {
        throw new HistoryFormatError(
          file,
          reader.position().line,
          "expected the end of the file after the history's closing bracket",
        );
      }
    } else {
      for (let form = reader.readForm(); form !== undefined; form = reader.readForm())
        add(form.value, form.line);
    }
  } catch (error) {
    throw ednError(file, error);
  }
  return builder.finish();
}

/**
 * Parses a Jepsen history as JSON (elle-cli's form): one array of op objects, or one op object per
 * line. Each object is parsed on its own, so an error names the line it starts on.
 */
export function parseJepsenJson(text: string, file: string, budget?: Budget): Op[] {
  const builder = new JepsenHistoryBuilder(file, jsonFieldName);
  for (const { text: element, line } of jsonElements(text, file)) {
    budget?.step();
    let value: unknown;
    try {
      value = parseJsonExact(element);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new HistoryFormatError(file, line, `expected a JSON op object; ${why}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      normalizeRecord(value, 0, file, line, jsonFieldName); // throws with the line
    }
    builder.add(value as Record<string, unknown>, line);
  }
  return builder.finish();
}

/**
 * The top-level values of a JSON text that is either one array (its elements) or a sequence of
 * values (one per line, say), each with the line it starts on. Strings and nesting are tracked,
 * so a bracket inside a string does not count.
 */
function* jsonElements(text: string, file: string): Generator<{ text: string; line: number }> {
  let at = 0;
  let line = 1;
  const skipSpace = (): void => {
    while (at < text.length) {
      const c = text[at]!;
      if (c === "\n") line++;
      else if (c !== " " && c !== "\t" && c !== "\r") return;
      at++;
    }
  };
  skipSpace();
  const inArray = text[at] === "[";
  const arrayLine = line;
  if (inArray) at++;
  while (true) {
    skipSpace();
    if (at >= text.length) {
      if (inArray)
        throw new HistoryFormatError(
          file,
          line,
          `expected "]" to close the history opened on line ${arrayLine}`,
        );
      return;
    }
    if (inArray && text[at] === "]") {
      at++;
      skipSpace();
      if (at < text.length)
        throw new HistoryFormatError(
          file,
          line,
          "expected the end of the file after the history's closing bracket",
        );
      return;
    }
    const start = at;
    const startLine = line;
    let depth = 0;
    let inString = false;
    for (; at < text.length; at++) {
      const c = text[at]!;
      if (c === "\n") line++;
      if (inString) {
        if (c === "\\") at++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0) {
          at++;
          break;
        }
        if (depth < 0) break;
      } else if (depth === 0 && (c === "," || c === "\n" || c === " ")) break;
    }
    yield { text: text.slice(start, at), line: startLine };
    skipSpace();
    if (inArray && text[at] === ",") at++;
  }
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

const logLinePattern = /^INFO\s+jepsen\.util\s+-\s+(\d+|:nemesis)\s+:([\w-]+)\s+:(\S+)(?:\s+(.*?))?\s*$/;
const logTypes: readonly string[] = ["invoke", "ok", "fail", "info"];

/** Parses one of Porcupine's etcd Jepsen logs (see the module header for what each line means). */
export function parseJepsenLog(text: string, file: string, budget?: Budget): Op[] {
  const checked = shapeChecker(file);
  const ops: Op[] = [];
  /** Each process's open invocation value, for completions that carry only an error keyword. */
  const invokedValue = new Map<Process, EdnValue>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    budget?.step();
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
export function parsePorcupineKv(text: string, file: string, budget?: Budget): Op[] {
  return parsePorcupineKvLines(text, file, budget) ?? parseJepsenEdn(text, file, budget);
}

/**
 * A line of Porcupine's kv test data as it writes every line: a small process number, a string
 * key and a string or nil value, no escapes.
 */
const porcupineKvLine =
  /^\{:process (0|[1-9]\d{0,8}), :type :(invoke|ok|fail|info), :f :(get|put|append), :key "([^"\\]*)", :value (?:nil|"([^"\\]*)")\}$/;

/**
 * Porcupine's kv histories the quick way: each line matched by one regular expression (the
 * general EDN reader, a form at a time, took longer than the linearizability check of the file)
 * into the op the EDN reader makes of it, validated the same way. Undefined, to be read as EDN,
 * at the first line of any other shape or when the first op is a completion (a completion-only
 * history): the EDN reader then reads it, or says what is wrong with it.
 */
function parsePorcupineKvLines(text: string, file: string, budget?: Budget): Op[] | undefined {
  const ops: Op[] = [];
  const shape = new HistoryShapeTracker();
  let line = 0;
  for (let start = 0; start < text.length;) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    line++;
    const row = text.slice(start, end);
    start = end + 1;
    if (row.length === 0) continue;
    const m = porcupineKvLine.exec(row);
    if (m === null) return undefined;
    const index = ops.length;
    const op: Op = {
      process: Number(m[1]),
      type: m[2] as OpType,
      f: m[3]!,
      key: m[4]!,
      value: m[5] ?? null,
      index,
      time: index,
    };
    if (index === 0 && op.type !== "invoke") return undefined;
    const problem = opProblem(op, ednFieldName) ?? shape.check(op);
    if (problem !== undefined) throw new HistoryFormatError(file, line, problem);
    ops.push(op);
  }
  // Charged once read, so that a history read as EDN after all is not charged twice.
  budget?.step(ops.length);
  return ops;
}
