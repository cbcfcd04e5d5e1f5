/**
 * From a history to the parts the search checks: each client operation's invocation paired with
 * its completion, given the meaning its outcome has for linearizability, then split into
 * independent parts by the model's partition (its key).
 *
 * Outcomes: `ok` happened, and its completion's value is its result. `fail` did not happen and is
 * dropped, except a CAS that completed and found another value (`error: "cas-mismatch"`, as the
 * etcd log reader writes it): that one returned a result the model must explain. `info`, or no
 * completion at all, may have happened at any point after the invocation, or never; it keeps its
 * invocation's value. An operation of unknown outcome that cannot change the state (a read) is
 * dropped: it constrains nothing. Nemesis operations are ignored.
 */
import type { Budget } from "../../harness/budget.ts";
import type { Key, Op, Process } from "../../harness/history/op.ts";
import { HistoryShapeError } from "../../harness/history/op.ts";
import type { LinearizableModel, ModelOp } from "./model.ts";
import { KeyTexts, ModelInputError } from "./model.ts";
import type { TimedOp } from "./search.ts";

/** A part's operation with the history ops it came from (for explanations). */
export interface SourcedOp extends TimedOp {
  readonly invoke: Op;
  readonly complete: Op | undefined;
}

export interface Part {
  /** The part's key; undefined when the history is checked whole. */
  readonly key: Key | undefined;
  readonly ops: readonly SourcedOp[];
}

export interface PreparedHistory {
  readonly parts: readonly Part[];
  /** Client operations in the history (invocations). */
  readonly opCount: number;
  /** Operations dropped because they certainly did not happen (`fail`). */
  readonly failedCount: number;
  /** Operations dropped because their outcome is unknown and they cannot change the state. */
  readonly unknownReadCount: number;
  /** Operations kept whose result is known (not `info`): none leaves nothing to check. */
  readonly knownResultCount: number;
}

const isKey = (k: unknown): k is Key => typeof k === "string" || typeof k === "number";

export function prepareHistory<S>(
  history: readonly Op[],
  model: LinearizableModel<S>,
  partition: boolean,
  budget?: Budget,
): PreparedHistory {
  const open = new Map<Process, number>();
  const invokes: { op: Op; at: number }[] = [];
  const completions: ({ op: Op; at: number } | undefined)[] = [];
  for (let at = 0; at < history.length; at++) {
    const op = history[at]!;
    budget?.step();
    if (op.process === "nemesis") continue;
    if (op.type === "invoke") {
      if (open.has(op.process)) {
        throw new HistoryShapeError(
          `index ${op.index}: process ${op.process} invoked a new operation while one was still open`,
        );
      }
      open.set(op.process, invokes.length);
      invokes.push({ op, at });
      completions.push(undefined);
    } else {
      const i = open.get(op.process);
      if (i === undefined)
        throw new HistoryShapeError(
          `index ${op.index}: process ${op.process} completed an operation it never invoked`,
        );
      open.delete(op.process);
      completions[i] = { op, at };
    }
  }

  const parts = new Map<string, { key: Key | undefined; keyed: boolean; ops: SourcedOp[] }>();
  let failedCount = 0;
  let unknownReadCount = 0;
  let knownResultCount = 0;
  const keyTexts = new KeyTexts();
  for (let i = 0; i < invokes.length; i++) {
    budget?.step();
    const { op: invoke, at: callAt } = invokes[i]!;
    const completion = completions[i];
    const complete = completion?.op;
    let outcome: ModelOp["outcome"];
    if (complete === undefined || complete.type === "info") outcome = "info";
    else if (complete.type === "ok") outcome = "ok";
    else if (complete.error === "cas-mismatch") outcome = "fail";
    else {
      failedCount++;
      continue;
    }
    if (complete !== undefined && complete.f !== invoke.f) {
      throw new HistoryShapeError(
        `index ${complete.index}: completion f "${complete.f}" does not match its invocation's f "${invoke.f}" (index ${invoke.index})`,
      );
    }
    const value = outcome === "info" || complete?.value === undefined ? invoke.value : complete.value;
    const key = isKey(invoke["key"]) ? invoke["key"] : isKey(complete?.["key"]) ? complete["key"] : undefined;
    let modelOp: ModelOp = {
      f: invoke.f,
      value,
      outcome,
      index: invoke.index,
      process: invoke.process,
      ...(key === undefined ? {} : { key }),
    };
    try {
      if (model.prepare !== undefined) modelOp = model.prepare(modelOp);
      if (modelOp.key !== undefined) keyTexts.check(modelOp.key, invoke.index);
    } catch (error) {
      if (error instanceof ModelInputError) {
        throw new HistoryShapeError(`index ${invoke.index}: ${error.message}`);
      }
      throw error;
    }
    if (outcome === "info" && model.readOnly?.(modelOp) === true) {
      unknownReadCount++;
      continue;
    }
    const partKey = partition && model.partition !== undefined ? model.partition(modelOp) : undefined;
    const mapKey = partKey === undefined ? "" : `${typeof partKey}:${partKey}`;
    let part = parts.get(mapKey);
    if (part === undefined) {
      part = { key: partKey, keyed: false, ops: [] };
      parts.set(mapKey, part);
    }
    const returnAt = outcome === "info" ? undefined : completion!.at;
    part.ops.push({ op: modelOp, callAt, returnAt, invoke, complete });
    if (modelOp.outcome !== "info") knownResultCount++;
    if (modelOp.key !== undefined) part.keyed = true;
  }
  // A part of ops that carry no key (one register, say) has no key to report.
  const partList = [...parts.values()].map(({ key, keyed, ops }) => ({ key: keyed ? key : undefined, ops }));
  return { parts: partList, opCount: invokes.length, failedCount, unknownReadCount, knownResultCount };
}
