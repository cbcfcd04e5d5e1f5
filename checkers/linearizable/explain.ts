/**
 * Explaining a violation to a person, as data and as words: the part (key) that fails, the
 * longest linearizable prefix the search found, the operation that cannot be placed after it,
 * and the states it could have met. The data holds history indices, so a reader can find every
 * operation in the history; the text names the operations in the model's words.
 */
import type { Key } from "../../harness/history/op.ts";
import type { AnomalyCase } from "../../harness/results.ts";
import type { LinearizableModel } from "./model.ts";
import { describeModelOp, describeModelState } from "./model.ts";
import type { SourcedOp } from "./prepare.ts";

/** How many operations of the prefix the text shows (the data holds them all). */
export const prefixShownMax = 5;

export interface NonlinearizableCase extends AnomalyCase {
  readonly key: Key | null;
  /** History indices of the prefix's invocations, in the order they were linearized. */
  readonly prefix: readonly number[];
  /** The model state after the prefix. */
  readonly prefixState: string;
  readonly op: {
    readonly index: number;
    readonly completeIndex: number | null;
    readonly process: number | string;
    readonly f: string;
    readonly value: unknown;
    readonly description: string;
  };
  /** The states in which the operation had to take effect and could not. */
  readonly statesMet: readonly string[];
}

function opWords<S>(model: LinearizableModel<S>, o: SourcedOp): string {
  return `process ${String(o.invoke.process)}'s ${describeModelOp(model, o.op)} (index ${o.invoke.index})`;
}

export function explainViolation<S>(
  model: LinearizableModel<S>,
  key: Key | undefined,
  ops: readonly SourcedOp[],
  found: {
    readonly prefix: readonly number[];
    readonly prefixState: S;
    readonly blocked: number;
    readonly statesMet: readonly S[];
  },
): NonlinearizableCase {
  const blocked = ops[found.blocked]!;
  const statesMet = [...new Set(found.statesMet.map((s) => describeModelState(model, s, blocked.op)))];
  const prefixState = describeModelState(model, found.prefixState, blocked.op);
  const where = key === undefined ? "The history" : `Key ${JSON.stringify(key)}`;
  const lines: string[] = [`${where} is not linearizable under the ${model.name} model.`];
  const n = found.prefix.length;
  if (n === 0) {
    lines.push(
      `No operation can be linearized first: from the initial state ${prefixState}, none of the operations that could come first is possible.`,
    );
  } else {
    const shown = found.prefix.slice(-prefixShownMax).map((i) => opWords(model, ops[i]!));
    const lead = n > shown.length ? `…, ` : "";
    lines.push(
      `The longest linearizable prefix found places ${n} of ${ops.length} operations, ending ${lead}${shown.join(", ")}; the state is then ${prefixState}.`,
    );
  }
  const completed = blocked.complete === undefined ? "" : `, completed at index ${blocked.complete.index}`;
  const states =
    statesMet.length === 1
      ? `the only state it could meet (${statesMet[0]})`
      : `every state it could meet (${statesMet.join("; ")})`;
  lines.push(
    `After it, ${opWords(model, blocked).replace(/ \(index \d+\)$/, "")} (invoked at index ${blocked.invoke.index}${completed}) cannot be placed: ` +
      `it must take effect before it completed, and in ${states}, it is impossible.`,
  );
  return {
    explanation: lines.join("\n"),
    key: key ?? null,
    prefix: found.prefix.map((i) => ops[i]!.invoke.index),
    prefixState,
    op: {
      index: blocked.invoke.index,
      completeIndex: blocked.complete?.index ?? null,
      process: blocked.invoke.process,
      f: blocked.op.f,
      value: blocked.op.value,
      description: describeModelOp(model, blocked.op),
    },
    statesMet,
  };
}
