/**
 * A source of operations that each carry a unique number: the value a set add inserts, the write
 * id a transfer stamps on the rows it writes, the base of a list-append transaction's values.
 *
 * Generators must stay pure (the runner may ask the same generator value twice and use only one
 * answer), so the counter lives in the generator value itself, never in a closure: asking
 * `uniqueSource(make, n)` twice proposes id n twice, and only the `next` generator the runner
 * keeps moves on to n + 1. An id is consumed only when its op is actually emitted.
 */
import type { GenContext, GenStep, Generator, OpSpec } from "../harness/generator/index.ts";

/** Makes the op for one id; undefined ends the source. */
export type UniqueOpFn = (context: GenContext, id: number) => OpSpec | undefined;

class UniqueSource implements Generator {
  constructor(
    private readonly make: UniqueOpFn,
    private readonly id: number,
    private readonly step: number,
  ) {}
  op(context: GenContext): GenStep {
    const thread = context.freeThreads[0];
    if (thread === undefined) return { kind: "pending", next: this };
    const spec = this.make(context, this.id);
    if (spec === undefined) return { kind: "exhausted" };
    return {
      kind: "op",
      op: {
        f: spec.f,
        value: spec.value === undefined ? null : spec.value,
        process: context.processOf(thread),
        timeNs: context.timeNs,
      },
      next: new UniqueSource(this.make, this.id + this.step, this.step),
    };
  }
  update(): Generator {
    return this;
  }
}

/**
 * Endless ops from `make`, the k-th emitted one given id `firstId + k·step` (a negative step
 * counts down, so two sources can share a key space without meeting).
 */
export function uniqueSource(make: UniqueOpFn, firstId = 0, step = 1): Generator {
  if (!Number.isSafeInteger(firstId) || !Number.isSafeInteger(step) || step === 0) {
    throw new RangeError(`uniqueSource needs whole numbers and a non-zero step, got ${firstId}, ${step}`);
  }
  return new UniqueSource(make, firstId, step);
}
