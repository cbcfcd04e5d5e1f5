/**
 * The sequential model: what a linearizability check is checked against.
 *
 * A history is linearizable when every operation can be given one instant between its invocation
 * and its completion such that, taken in the order of those instants, the operations are a legal
 * run of a sequential object. The model is that object, written as a pure step function: from a
 * state and one operation (with its result) to the next state, or `undefined` when the operation
 * could not have returned that result from that state. Everything else here is optional and only
 * makes the check faster or its explanations clearer:
 *
 * - `partition` names the independent part (a key) an operation touches; parts are checked one by
 *   one (P-compositionality: a history is linearizable iff each part is).
 * - `hash` and `equal` let the search recognise a state it has met before (default: the state's
 *   JSON text).
 * - `prepare` rewrites each operation once, before the search (to check its shape, or to move a
 *   key carried in the value to `key`).
 * - `readOnly` says an operation cannot change the state: if its result is unknown it constrains
 *   nothing, and the checker drops it.
 * - `describe` and `describeOp` word states and operations in explanations.
 *
 * Why an operation may be "info": it may or may not have happened, now or at any later time. The
 * checker lets such an operation take effect at any point after its invocation, or never; the
 * model sees it with `outcome: "info"` and the invocation's value, and decides what an unknown
 * result allows (a read with an unknown result: anything; a write: the write).
 */
import { displayText } from "../../harness/history/valueText.ts";
import type { Key, Process } from "../../harness/history/op.ts";
import { HistoryShapeError } from "../../harness/history/op.ts";

export interface ModelOp {
  readonly f: string;
  /**
   * The completion's value when the operation completed (`ok`, or a `fail` that returned a
   * result, such as a CAS that found another value); the invocation's value when the outcome is
   * unknown.
   */
  readonly value: unknown;
  /** The op's `key` field when the history gives one (Jepsen's independent keys, Porcupine's kv). */
  readonly key?: Key;
  /**
   * `ok`: it happened and `value` holds its result. `info`: it may have happened (at any point
   * after its invocation) or not; its result is unknown. `fail`: it completed with a negative
   * result that still says something about the state: the only such case is a CAS that found a
   * value other than the expected one (`error: "cas-mismatch"`). Every other `fail` did not
   * happen and never reaches the model.
   */
  readonly outcome: "ok" | "info" | "fail";
  /** The `index` of the invocation in the history. */
  readonly index: number;
  readonly process: Process;
}

/** A sequential object, as the checker sees it. `S` is a plain value the model never mutates. */
export interface LinearizableModel<S = unknown> {
  /** Used in results and explanations ("cas-register"). */
  readonly name: string;
  /** The state before any operation. */
  init(): S;
  /** The state after `op` took effect in `state`, or undefined if it could not have. Pure. */
  step(state: S, op: ModelOp): S | undefined;
  /** The independent part `op` belongs to (its key). Without it the history is checked whole. */
  partition?(op: ModelOp): Key;
  /**
   * A value that is the same for equal states. Two states with the same hash are compared with
   * `equal` before they are taken as one. Default: the state's JSON text (then `equal` is not
   * needed).
   */
  hash?(state: S): string | number;
  /** Equality of two states with the same hash. Default: their JSON texts are equal. */
  equal?(a: S, b: S): boolean;
  /** Rewrites an op once before the search; throw `ModelInputError` for an op the model cannot take. */
  prepare?(op: ModelOp): ModelOp;
  /** True when `op` cannot change any state; such ops with unknown outcome are dropped. */
  readOnly?(op: ModelOp): boolean;
  /**
   * A state in words ("3", "held", "x=0, y=2"). When `op` is given, the description is for an
   * explanation about that operation, and may show only the part of the state it touches (its
   * key). Default: the state's JSON text.
   */
  describe?(state: S, op?: ModelOp): string;
  /** An operation in words ("write 3", "cas 1→4"). Default: f and the JSON of value. */
  describeOp?(op: ModelOp): string;
}

/**
 * An operation the model cannot take (wrong f, malformed value; the checker adds its index), or
 * an `--init` it cannot start from. A kind of `HistoryShapeError`, so that callers that report bad
 * input (exit 254) report this too.
 */
export class ModelInputError extends HistoryShapeError {
  override name = "ModelInputError";
}

/**
 * The keys of a history met so far, by their text: the register models key their registers by a
 * key's text, so the number 1 and the string "1" would be one register, and a read of one would
 * pass for a read of what was written to the other. One per history checked.
 */
export class KeyTexts {
  private readonly seen = new Map<string, { readonly key: Key; readonly index: number }>();

  /** A ModelInputError when `key` (of the op at `index`) shares its text with a key of another type. */
  check(key: Key, index: number): void {
    const text = String(key);
    const seen = this.seen.get(text);
    if (seen === undefined) this.seen.set(text, { key, index });
    else if (typeof seen.key !== typeof key)
      throw new ModelInputError(
        `key ${JSON.stringify(key)} is a ${typeof key}, and key ${JSON.stringify(seen.key)} (index ${seen.index}) ` +
          `a ${typeof seen.key}: the model keys its registers by their text, so it cannot tell the two apart; ` +
          `use one type for a key throughout`,
      );
  }
}

/**
 * JSON text of a value, with `undefined` spelled as `null` (so every state has one), and a number
 * beyond a double's range (1e400 in a history, read as Infinity) or NaN spelled as itself
 * (`displayText`): an explanation read "write null; the state is then null; read → null is
 * impossible" of a write of 1e400 and a read of null.
 */
export const jsonText: (value: unknown) => string = displayText;

export function describeModelOp<S>(model: LinearizableModel<S>, op: ModelOp): string {
  if (model.describeOp !== undefined) return model.describeOp(op);
  return op.value === null || op.value === undefined ? op.f : `${op.f} ${jsonText(op.value)}`;
}

export function describeModelState<S>(model: LinearizableModel<S>, state: S, op?: ModelOp): string {
  return model.describe !== undefined ? model.describe(state, op) : jsonText(state);
}
