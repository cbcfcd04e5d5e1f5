/**
 * Order and shape: combinators that decide which of several generators speaks next, when a phase
 * may begin, and what the ops look like.
 *
 * - `synchronize(g)`: pending until every thread of its context is free, then g (a barrier, once).
 * - `phases(a, b, …)`: a, then b, …, each behind a barrier, so no op of one phase overlaps an op of
 *   the next (Jepsen's `phases`). `andThen(a, b)`: a, barrier, b: Jepsen's `then`, in reading order.
 *   (Not named `then`: a module exporting `then` is a thenable, and `await import()` of it hangs.)
 * - `any(a, b, …)`: whichever has the soonest op (ties drawn at random, so none starves); every
 *   member is told of every event.
 * - `flipFlop(a, b)`: one op from a, one from b, and so on, until either is exhausted.
 * - `untilOk(g)`: ops of g until one of them completes ok.
 * - `map(fn, g)`, `fMap(mapping, g)`, `filter(pred, g)`: reshape or drop ops. A filter that rejects
 *   `maxRejectsPerAsk` ops in a row (default 1000) throws a GeneratorError instead of looping.
 */
import {
  GeneratorError,
  chooseSoonest,
  earlierNs,
  everyThreadFree,
  exhaustedStep,
  pendingStep,
  wrapStep,
} from "./context.ts";
import { sequence, toGenerator, updateAll } from "./sources.ts";
import type { GenSource } from "./sources.ts";
import type { Op, Process } from "../history/op.ts";
import type { GenContext, GenStep, Generator, PlannedOp } from "./types.ts";

class Synchronize implements Generator {
  constructor(private readonly inner: Generator) {}
  op(context: GenContext): GenStep {
    // Once every thread is free the barrier dissolves: the inner generator replaces it.
    if (everyThreadFree(context)) return this.inner.op(context);
    return pendingStep(this);
  }
  update(context: GenContext, event: Op): Generator {
    const inner = this.inner.update(context, event);
    return inner === this.inner ? this : new Synchronize(inner);
  }
}

export function synchronize(source: GenSource): Generator {
  return new Synchronize(toGenerator(source));
}

export function phases(...sources: readonly GenSource[]): Generator {
  return sequence(...sources.map((source) => synchronize(source)));
}

export function andThen(first: GenSource, second: GenSource): Generator {
  return sequence(first, synchronize(second));
}

class Any implements Generator {
  constructor(private readonly members: readonly Generator[]) {}
  op(context: GenContext): GenStep {
    const steps: GenStep[] = [];
    // The soonest op; ties (rare) go to chooseSoonest, which draws among them.
    let soonest: number | undefined;
    let soonestNs = Infinity;
    let tied = false;
    let wakeAtNs: number | undefined;
    for (let i = 0; i < this.members.length; i++) {
      const step = this.members[i]!.op(context);
      steps.push(step);
      if (step.kind === "pending") wakeAtNs = earlierNs(wakeAtNs, step.wakeAtNs);
      else if (step.kind === "op") {
        if (soonest === undefined || step.op.timeNs < soonestNs) {
          soonest = i;
          soonestNs = step.op.timeNs;
          tied = false;
        } else if (step.op.timeNs === soonestNs) tied = true;
      }
    }
    const index = tied
      ? chooseSoonest(
          steps.map((step) => ({ step, weight: 1 })),
          context.random,
        ).index
      : soonest;
    // An op not chosen was not performed: keep the member that proposed it. When no member
    // moved on, this generator is still the one to ask.
    let members: Generator[] | undefined;
    let kept = 0;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if (step.kind === "exhausted") {
        members ??= this.members.slice(0, i);
        continue;
      }
      const member = step.kind === "op" && i !== index ? this.members[i]! : step.next;
      if (members === undefined && member !== this.members[i]) members = this.members.slice(0, i);
      members?.push(member);
      kept++;
    }
    const next = members === undefined ? this : new Any(members);
    if (index !== undefined) {
      const step = steps[index]!;
      if (step.kind === "op") return { kind: "op", op: step.op, next };
    }
    if (kept === 0) return exhaustedStep;
    return pendingStep(next, wakeAtNs);
  }
  update(context: GenContext, event: Op): Generator {
    const members = updateAll(this.members, context, event);
    return members === this.members ? this : new Any(members);
  }
}

export function any(...sources: readonly GenSource[]): Generator {
  return new Any(sources.map(toGenerator));
}

class FlipFlop implements Generator {
  constructor(
    private readonly members: readonly [Generator, Generator],
    private readonly turn: 0 | 1,
  ) {}
  op(context: GenContext): GenStep {
    const step = this.members[this.turn].op(context);
    if (step.kind === "exhausted") return step;
    const members: [Generator, Generator] = [this.members[0], this.members[1]];
    members[this.turn] = step.next;
    if (step.kind === "pending") return pendingStep(new FlipFlop(members, this.turn), step.wakeAtNs);
    return { kind: "op", op: step.op, next: new FlipFlop(members, this.turn === 0 ? 1 : 0) };
  }
  update(context: GenContext, event: Op): Generator {
    const a = this.members[0].update(context, event);
    const b = this.members[1].update(context, event);
    return a === this.members[0] && b === this.members[1] ? this : new FlipFlop([a, b], this.turn);
  }
}

export function flipFlop(a: GenSource, b: GenSource): Generator {
  return new FlipFlop([toGenerator(a), toGenerator(b)], 0);
}

class UntilOk implements Generator {
  constructor(
    private readonly inner: Generator,
    private readonly done: boolean,
    /** Processes running an op this generator emitted. */
    private readonly active: ReadonlySet<Process>,
  ) {}
  op(context: GenContext): GenStep {
    if (this.done) return exhaustedStep;
    const step = this.inner.op(context);
    if (step.kind !== "op") return wrapStep(step, (next) => new UntilOk(next, false, this.active));
    return {
      kind: "op",
      op: step.op,
      next: new UntilOk(step.next, false, new Set([...this.active, step.op.process])),
    };
  }
  update(context: GenContext, event: Op): Generator {
    const inner = this.inner.update(context, event);
    if (!this.active.has(event.process) || event.type === "invoke") {
      return new UntilOk(inner, this.done, this.active);
    }
    const active = new Set(this.active);
    active.delete(event.process);
    return new UntilOk(inner, this.done || event.type === "ok", active);
  }
}

export function untilOk(source: GenSource): Generator {
  return new UntilOk(toGenerator(source), false, new Set());
}

class MapOps implements Generator {
  constructor(
    private readonly fn: (op: PlannedOp, context: GenContext) => PlannedOp,
    private readonly inner: Generator,
  ) {}
  op(context: GenContext): GenStep {
    const step = this.inner.op(context);
    if (step.kind !== "op") return wrapStep(step, (next) => new MapOps(this.fn, next));
    return { kind: "op", op: this.fn(step.op, context), next: new MapOps(this.fn, step.next) };
  }
  update(context: GenContext, event: Op): Generator {
    const inner = this.inner.update(context, event);
    return inner === this.inner ? this : new MapOps(this.fn, inner);
  }
}

/** Every op transformed by `fn` (which should keep `process`, and not move `timeNs` earlier). */
export function map(fn: (op: PlannedOp, context: GenContext) => PlannedOp, source: GenSource): Generator {
  return new MapOps(fn, toGenerator(source));
}

/** Renames `f`s by `mapping` (those it does not name pass unchanged): Jepsen's `f-map`. */
export function fMap(mapping: Readonly<Record<string, string>>, source: GenSource): Generator {
  return map((op) => (Object.hasOwn(mapping, op.f) ? { ...op, f: mapping[op.f]! } : op), source);
}

export const defaultMaxRejectsPerAsk = 1000;

class Filter implements Generator {
  constructor(
    private readonly predicate: (op: PlannedOp) => boolean,
    private readonly maxRejectsPerAsk: number,
    private readonly inner: Generator,
  ) {}
  op(context: GenContext): GenStep {
    let inner = this.inner;
    for (let rejected = 0; rejected <= this.maxRejectsPerAsk; rejected++) {
      const step = inner.op(context);
      if (step.kind !== "op" || this.predicate(step.op)) {
        return wrapStep(step, (next) => new Filter(this.predicate, this.maxRejectsPerAsk, next));
      }
      inner = step.next;
    }
    throw new GeneratorError(
      `filter rejected ${this.maxRejectsPerAsk + 1} operations in a row; its predicate probably ` +
        `rejects everything its source makes (raise maxRejectsPerAsk if it is merely picky)`,
    );
  }
  update(context: GenContext, event: Op): Generator {
    const inner = this.inner.update(context, event);
    return inner === this.inner ? this : new Filter(this.predicate, this.maxRejectsPerAsk, inner);
  }
}

/** Only the ops `predicate` accepts; pending and exhaustion pass through. */
export function filter(
  predicate: (op: PlannedOp) => boolean,
  source: GenSource,
  maxRejectsPerAsk = defaultMaxRejectsPerAsk,
): Generator {
  if (!(Number.isInteger(maxRejectsPerAsk) && maxRejectsPerAsk >= 0)) {
    throw new GeneratorError(
      `filter needs maxRejectsPerAsk to be a whole number >= 0, got ${maxRejectsPerAsk}`,
    );
  }
  return new Filter(predicate, maxRejectsPerAsk, toGenerator(source));
}
