/**
 * The operation: the one record every part of faultline shares.
 *
 * A history is a sequence of operations in index order. A client's operation appears twice: an
 * `invoke` when it starts and a completion when it ends: `ok` (it happened), `fail` (it certainly
 * did not happen) or `info` (unknown: it may have happened, now or at any later time). A worker
 * whose operation ended in `info` continues under a new process id (old id + concurrency), as in
 * Jepsen, so that one process never has two operations open at once. Nemesis operations use the
 * process `"nemesis"`. Times are integer nanoseconds since the test started (virtual time in
 * simulation). Readers of foreign formats keep fields they do not know (Jepsen's `:key`, say).
 * What makes a record an `Op` is checked by `opProblem` (validate.ts).
 */
export type OpType = "invoke" | "ok" | "fail" | "info";
export type Process = number | "nemesis";

export interface Op {
  readonly index: number;
  readonly time: number;
  readonly process: Process;
  readonly type: OpType;
  readonly f: string;
  readonly value: unknown;
  readonly node?: string;
  readonly error?: unknown;
  /** Fields of foreign formats that faultline has no name for, kept as read. */
  readonly [field: string]: unknown;
}

/** A transaction micro-op: `["r", k, v]`, `["w", k, v]`, `["append", k, v]`. */
export type MicroOpKind = "r" | "w" | "append";
export type Key = string | number;
export type MicroOp = readonly [MicroOpKind, Key, unknown];

export const isClientOp = (op: Op): boolean => op.process !== "nemesis";
export const isInvoke = (op: Op): boolean => op.type === "invoke";
export const isCompletion = (op: Op): boolean => op.type !== "invoke";

/** One client operation with its invocation and (if it has one) its completion. */
export interface OpPair {
  readonly invoke: Op;
  /** Absent when the history ended before the operation completed. */
  readonly complete?: Op;
}

/**
 * Pairs every invocation with the completion of the same process that follows it. A completion
 * with no open invocation, or a second invocation on a process that already has one open, is a
 * malformed history: the error names the index.
 */
export function pairOps(history: readonly Op[]): OpPair[] {
  const pairs: OpPair[] = [];
  const open = new Map<Process, number>();
  for (const op of history) {
    if (op.type === "invoke") {
      if (open.has(op.process)) {
        throw new HistoryShapeError(
          `index ${op.index}: process ${String(op.process)} invoked a new operation while one was still open`,
        );
      }
      open.set(op.process, pairs.length);
      pairs.push({ invoke: op });
    } else {
      const at = open.get(op.process);
      if (at === undefined) {
        // Nemesis completions without an invocation are tolerated (some formats log only them).
        if (op.process === "nemesis") continue;
        throw new HistoryShapeError(
          `index ${op.index}: process ${String(op.process)} completed an operation it never invoked`,
        );
      }
      open.delete(op.process);
      const pair = pairs[at]!;
      pairs[at] = { invoke: pair.invoke, complete: op };
    }
  }
  return pairs;
}

/** A history that parses but does not make sense (a completion with no invocation, say). */
export class HistoryShapeError extends Error {
  override name = "HistoryShapeError";
}

/**
 * Why `history` gives a checker nothing to check, or undefined when it holds at least one
 * completed client operation. An empty file, blank lines, an empty EDN vector or a lone
 * invocation all land here, and every checker answers them "unknown" with this reason: a broken
 * pipeline that recorded nothing must never pass as valid.
 */
export function nothingToCheck(history: readonly Op[]): string | undefined {
  const tally = new OperationTally();
  for (const op of history) tally.add(op.process, op.type);
  return tally.nothingToCheck();
}

/**
 * Whether `process` is a small whole number (below 65,536): such processes (Jepsen's and
 * faultline's) are kept in arrays indexed by process, the rest in maps and sets, so a long history
 * makes no object or map entry per operation.
 */
export function isSmallProcess(process: unknown): process is number {
  return typeof process === "number" && process >= 0 && process < 1 << 16 && (process | 0) === process;
}

/** `array`, or a copy at least twice as long, long enough to hold index `index`. */
export function grownToHold<T extends Uint8Array | Uint16Array | Float64Array>(array: T, index: number): T {
  if (index < array.length) return array;
  const grown = new (array.constructor as new (length: number) => T)(Math.max(index + 1, array.length * 2));
  grown.set(array);
  return grown;
}

/**
 * Counts kept while a history streams past, for what would otherwise need the whole history:
 * `nothingToCheck` and `countClientOperations` (historyStats.ts), one operation at a time.
 */
export class OperationTally {
  /** Entries of the history. */
  entries = 0;
  private invocations = 0;
  private nemesis = 0;
  private completed = false;
  /** Client operations: an invocation with its completion is one, and so is a lone completion. */
  clientOperations = 0;
  /** Processes with an open invocation: small whole numbers in `smallOpen` (1: open), the rest here. */
  private readonly open = new Set<Process>();
  private smallOpen = new Uint8Array(64);

  add(process: Process, type: OpType): void {
    this.entries++;
    if (process === "nemesis") {
      this.nemesis++;
      return;
    }
    if (type === "invoke") this.invocations++;
    else this.completed = true;
    if (typeof process !== "number") return;
    if (isSmallProcess(process)) {
      if (type === "invoke") {
        this.smallOpen = grownToHold(this.smallOpen, process);
        this.smallOpen[process] = 1;
        this.clientOperations++;
      } else if (this.smallOpen[process] === 1) {
        this.smallOpen[process] = 0;
      } else {
        this.clientOperations++;
      }
      return;
    }
    if (type === "invoke") {
      this.open.add(process);
      this.clientOperations++;
    } else if (!this.open.delete(process)) {
      this.clientOperations++;
    }
  }

  /** See `nothingToCheck`. */
  nothingToCheck(): string | undefined {
    if (this.completed) return undefined;
    if (this.entries === 0) return "the history is empty: no operation to check";
    const parts = [
      ...(this.invocations > 0 ? [`${this.invocations} invocation${this.invocations === 1 ? "" : "s"}`] : []),
      ...(this.nemesis > 0 ? [`${this.nemesis} nemesis operation${this.nemesis === 1 ? "" : "s"}`] : []),
    ];
    return `no client operation completed (the history holds only ${parts.join(" and ")}), so there is nothing to check`;
  }
}

/**
 * How many client operations a history holds: the one count every report and message gives
 * ("1,054 operations"). An operation is an invocation with its completion, counted once; a
 * completion recorded without an invocation (completion-only histories) is one too; an
 * invocation still open at the end is one. Nemesis operations are not counted; history entries
 * (two per operation) are not operations.
 */
export function countClientOperations(history: readonly Op[]): number {
  const open = new Set<Process>();
  let count = 0;
  for (const op of history) {
    if (op.process === "nemesis" || typeof op.process !== "number") continue;
    if (op.type === "invoke") {
      open.add(op.process);
      count++;
    } else if (!open.delete(op.process)) {
      count++;
    }
  }
  return count;
}
