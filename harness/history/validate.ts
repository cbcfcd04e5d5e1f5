/**
 * What every history reader checks, whatever the format: each record is a well-formed `Op`
 * (`opProblem`, with messages a person can act on), `index` counts 0, 1, 2, …, and invocations
 * and completions pair up per process (no completion without an invocation, no second invocation
 * while one is open; a completion's `f` is its invocation's, and its `time` is not before its
 * invocation's). A record that fails is reported as `file:line: expected …; got …` through
 * `HistoryFormatError`, so a bad line in a million-line history is found at once. Messages never
 * carry invisible characters raw (a byte-order mark, a NUL, a bidirectional override): they are
 * shown escaped, so what a person reads is what the file holds.
 */
import { grownToHold, isSmallProcess, type Op, type OpType, type Process } from "./op.ts";

/** A history file that does not parse or does not make sense, with the place to look. */
export class HistoryFormatError extends Error {
  override name = "HistoryFormatError";
  constructor(
    readonly file: string,
    /** 1-based line; 0 when the problem is with the file as a whole. */
    readonly line: number,
    /** What was expected and what was found, without the place. */
    readonly detail: string,
  ) {
    super(
      line > 0
        ? `${visibleText(file)}:${line}: ${visibleText(detail)}`
        : `${visibleText(file)}: ${visibleText(detail)}`,
    );
  }
}

/**
 * Characters a terminal would not show as themselves: C0 and C1 controls (tab aside; line breaks
 * included), the byte-order mark and other zero-width characters, and bidirectional overrides and
 * isolates, which reorder the text around them.
 */
const invisiblePattern =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

/** `text` with every invisible character (see `invisiblePattern`) written as a `\uXXXX` escape. */
export function visibleText(text: string): string {
  return text.replace(invisiblePattern, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const opTypes = ["invoke", "ok", "fail", "info"] as const;

/** A short rendering of a found value for an error message. */
export function describeFound(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "bigint") return value.toString();
  // JSON writes these as null; a number too large for a double (1e400) is read as Infinity.
  if (typeof value === "number" && !Number.isFinite(value))
    return Number.isNaN(value) ? "NaN" : `${String(value)} (a number beyond a double's range)`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? text.slice(0, 57) + "..." : text;
}

/** A non-negative integer that a double holds exactly. */
const isNatural = (v: unknown): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isOpType = (v: unknown): boolean => v === "invoke" || v === "ok" || v === "fail" || v === "info";

/**
 * Why `record` is not an `Op`, in words ("expected "type" to be one of invoke, ok, fail, info;
 * got "okay""), or undefined when it is one. Field names are given as `fieldName(name)` renders
 * them (EDN readers say `:type`).
 */
export function opProblem(
  record: unknown,
  fieldName: (name: string) => string = (n) => `"${n}"`,
): string | undefined {
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    return `expected an operation (an object with index, time, process, type, f, value); got ${describeFound(record)}`;
  }
  const r = record as Record<string, unknown>;
  // The common case first, in one expression: a reader calls this for every line of a history
  // that may hold millions (a schema library's parse cost microseconds a record, and seconds
  // of start-up to load).
  if (
    isNatural(r["index"]) &&
    isNatural(r["time"]) &&
    (isNatural(r["process"]) || r["process"] === "nemesis") &&
    isOpType(r["type"]) &&
    typeof r["f"] === "string" &&
    (r["node"] === undefined || typeof r["node"] === "string") &&
    Object.prototype.hasOwnProperty.call(r, "value")
  )
    return undefined;
  const field = (name: string, expected: string, ok: (v: unknown) => boolean): string | undefined =>
    ok(r[name]) ? undefined : `expected ${fieldName(name)} to be ${expected}; got ${describeFound(r[name])}`;
  return (
    field("type", `one of ${opTypes.join(", ")}`, isOpType) ??
    field("process", 'a non-negative integer or "nemesis"', (v) => isNatural(v) || v === "nemesis") ??
    field("f", "a string", (v) => typeof v === "string") ??
    field("index", "a non-negative integer", isNatural) ??
    field("time", "a non-negative integer (nanoseconds)", isNatural) ??
    field("node", "a string when present", (v) => v === undefined || typeof v === "string") ??
    `expected a ${fieldName("value")} field`
  );
}

/**
 * Checks ops one at a time as a reader produces them: the index sequence and the pairing of
 * invocations with completions. Returns the problem in words, or undefined.
 */
export class HistoryShapeTracker {
  private nextIndex = 0;
  /**
   * The `f` and `time` of each process's open invocation: in arrays for small whole-number
   * processes (Jepsen's and faultline's: no object and no map entry per operation of a long
   * history), in the map for the rest.
   */
  private readonly open = new Map<Process, { f: string; time: number }>();
  private readonly smallOpenF: (string | undefined)[] = [];
  private smallOpenTime = new Float64Array(64);

  check(op: Op): string | undefined {
    return this.checkFields(op.index, op.process, op.type, op.f, op.time);
  }

  /** `check`, given the fields it reads. */
  checkFields(index: number, process: Process, type: OpType, f: string, time: number): string | undefined {
    if (index !== this.nextIndex) {
      return `expected "index" to be ${this.nextIndex} (indices count 0, 1, 2, ...); got ${describeFound(index)}`;
    }
    this.nextIndex++;
    if (isSmallProcess(process)) return this.checkSmall(process, type, f, time);
    const open = this.open.get(process);
    if (type === "invoke") {
      if (open !== undefined) return invokedWhileOpen(process, open.f, f);
      this.open.set(process, { f, time });
      return undefined;
    }
    if (open === undefined) {
      // Jepsen logs nemesis activity as completions alone.
      if (process === "nemesis") return undefined;
      return completedNoneOpen(process, type);
    }
    const problem = completionProblem(process, type, open.f, open.time, f, time);
    if (problem !== undefined) return problem;
    this.open.delete(process);
    return undefined;
  }

  /** `checkFields` past the index, for a small whole-number process. */
  private checkSmall(process: number, type: OpType, f: string, time: number): string | undefined {
    const openF = this.smallOpenF[process];
    if (type === "invoke") {
      if (openF !== undefined) return invokedWhileOpen(process, openF, f);
      this.smallOpenTime = grownToHold(this.smallOpenTime, process);
      this.smallOpenF[process] = f;
      this.smallOpenTime[process] = time;
      return undefined;
    }
    if (openF === undefined) return completedNoneOpen(process, type);
    const problem = completionProblem(process, type, openF, this.smallOpenTime[process]!, f, time);
    if (problem !== undefined) return problem;
    this.smallOpenF[process] = undefined;
    return undefined;
  }
}

const invokedWhileOpen = (process: Process, openF: string, f: string): string =>
  `expected a completion for process ${String(process)}'s open "${openF}" before it invokes again; got an invoke of "${f}"`;

const completedNoneOpen = (process: Process, type: OpType): string =>
  `expected process ${String(process)} to have invoked an operation before this "${type}" completion; it has none open`;

/** What is wrong with a completion of the open invocation (`openF` at `openTime`), if anything. */
function completionProblem(
  process: Process,
  type: OpType,
  openF: string,
  openTime: number,
  f: string,
  time: number,
): string | undefined {
  if (openF !== f) {
    return `expected process ${String(process)}'s completion to have f "${openF}" like its invocation; got "${f}"`;
  }
  if (time < openTime) {
    return `expected process ${String(process)}'s "${type}" completion not to be timed before its invocation (time ${openTime}); got time ${time}`;
  }
  return undefined;
}
