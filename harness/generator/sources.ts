/**
 * Where operations come from, and how many. A generator here is a persistent value, as in Jepsen's
 * `jepsen.generator`: `op(context)` answers with an operation plus the generator that follows it,
 * "pending" (nothing now), or "exhausted" (nothing ever again), and never changes the receiver.
 *
 * Sources, as Jepsen's plain values:
 * - an op spec `{ f, value }` is a one-shot generator: one op for the first free thread, then done
 *   (Jepsen's maps; use `repeat` for many);
 * - a function of the context returning an op spec is an endless source: each op it is asked for is
 *   a fresh call (so values can be random, drawn from `context.random`), until it returns undefined;
 * - an array is a sequence: every op of its first element, then of the second, with no barrier.
 * A source fills in the process of the first free thread of its context and `timeNs` = the
 * context's time; when no thread is free it says "pending". Routing (which threads a source may use)
 * is the business of `clients`, `nemesis`, `reserve` and `eachThread`, which narrow the context.
 *
 * Counting: `limit(n, g)` lets through at most n ops; `once(g)` is `limit(1, g)`; `repeat(g)` asks
 * the *original* g again for every op (so `repeat({ f: "read" })` reads forever); `cycle(g)` runs g
 * to exhaustion, then starts it afresh; `mix(gs)` draws a random generator for each op.
 */
import { GeneratorError, exhaustedStep, firstFreeProcess, pendingStep, wrapStep } from "./context.ts";
import type { Op } from "../history/op.ts";
import type { GenContext, GenStep, Generator } from "./types.ts";

/** What an operation is, before a process and a time are given to it. */
export interface OpSpec {
  readonly f: string;
  readonly value?: unknown;
}

/** An endless source: called once per op; undefined means exhausted. */
export type OpSpecFn = (context: GenContext) => OpSpec | undefined;

/** Anything that can stand for a generator. */
export type GenSource = Generator | OpSpec | OpSpecFn | readonly GenSource[];

export function isGenerator(source: unknown): source is Generator {
  return (
    typeof source === "object" &&
    source !== null &&
    typeof (source as Generator).op === "function" &&
    typeof (source as Generator).update === "function"
  );
}

/** The generator a source stands for; anything else is a clear error. */
export function toGenerator(source: GenSource): Generator {
  if (Array.isArray(source)) return sequence(...(source as readonly GenSource[]));
  if (typeof source === "function") return new FnSource(source as OpSpecFn);
  if (isGenerator(source)) return source;
  if (typeof source === "object" && source !== null && typeof (source as OpSpec).f === "string") {
    return new SpecSource(source as OpSpec);
  }
  throw new GeneratorError(
    "not a generator: expected a Generator, an op spec { f, value }, a function or an array, " +
      `got ${describe(source)}`,
  );
}

function describe(x: unknown): string {
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return String(x);
  }
}

function planFrom(spec: OpSpec, context: GenContext, next: Generator): GenStep {
  const process = firstFreeProcess(context);
  if (process === undefined) return pendingStep(next);
  return {
    kind: "op",
    op: { f: spec.f, value: spec.value === undefined ? null : spec.value, process, timeNs: context.timeNs },
    next,
  };
}

/** The generator that is exhausted from the start. */
class Nothing implements Generator {
  op(): GenStep {
    return exhaustedStep;
  }
  update(): Generator {
    return this;
  }
}
export const nothing: Generator = new Nothing();

class SpecSource implements Generator {
  constructor(private readonly spec: OpSpec) {}
  op(context: GenContext): GenStep {
    const step = planFrom(this.spec, context, nothing);
    return step.kind === "op" ? step : pendingStep(this);
  }
  update(): Generator {
    return this;
  }
}

class FnSource implements Generator {
  constructor(private readonly make: OpSpecFn) {}
  op(context: GenContext): GenStep {
    // Ask the function only when a thread can take its op, so no random draw is wasted.
    if (firstFreeProcess(context) === undefined) return pendingStep(this);
    const spec = this.make(context);
    if (spec === undefined) return exhaustedStep;
    return planFrom(spec, context, this);
  }
  update(): Generator {
    return this;
  }
}

/** One op from `spec`, for the first free thread. The same as passing the spec itself. */
export function op(spec: OpSpec): Generator {
  return new SpecSource(spec);
}

/** Endless ops from `make`, called afresh for each one, until it returns undefined. */
export function fromFunction(make: OpSpecFn): Generator {
  return new FnSource(make);
}

/**
 * Every op of the first source, then of the next, and so on; no barrier between them (see
 * `phases`). Updates go to the source in progress.
 */
class Sequence implements Generator {
  constructor(
    private readonly current: Generator,
    private readonly rest: readonly GenSource[],
    private readonly restIndex: number,
  ) {}
  op(context: GenContext): GenStep {
    let current = this.current;
    let index = this.restIndex;
    // Bounded: each turn moves past one element of `rest`.
    while (true) {
      const step = current.op(context);
      if (step.kind !== "exhausted") return wrapStep(step, (next) => new Sequence(next, this.rest, index));
      if (index >= this.rest.length) return exhaustedStep;
      current = toGenerator(this.rest[index]!);
      index += 1;
    }
  }
  update(context: GenContext, event: Op): Generator {
    const current = this.current.update(context, event);
    return current === this.current ? this : new Sequence(current, this.rest, this.restIndex);
  }
}

export function sequence(...sources: readonly GenSource[]): Generator {
  if (sources.length === 0) return nothing;
  return new Sequence(toGenerator(sources[0]!), sources, 1);
}

/** `sequence` over an array. */
export function fromArray(sources: readonly GenSource[]): Generator {
  return sequence(...sources);
}

class Limit implements Generator {
  constructor(
    private readonly remaining: number,
    private readonly inner: Generator,
  ) {}
  op(context: GenContext): GenStep {
    if (this.remaining <= 0) return exhaustedStep;
    const step = this.inner.op(context);
    if (step.kind === "op")
      return { kind: "op", op: step.op, next: new Limit(this.remaining - 1, step.next) };
    return wrapStep(step, (next) => new Limit(this.remaining, next));
  }
  update(context: GenContext, event: Op): Generator {
    const inner = this.inner.update(context, event);
    return inner === this.inner ? this : new Limit(this.remaining, inner);
  }
}

function checkCount(name: string, n: number): void {
  if (!(Number.isInteger(n) && n >= 0) && n !== Infinity) {
    throw new GeneratorError(`${name} needs a whole number of operations >= 0, got ${n}`);
  }
}

/** At most `n` ops of `source`, then exhausted. Updates pass through. */
export function limit(n: number, source: GenSource): Generator {
  checkCount("limit", n);
  return new Limit(n, toGenerator(source));
}

/** The first op of `source` only. */
export function once(source: GenSource): Generator {
  return limit(1, source);
}

/**
 * Asks the original generator again for each op, `times` ops in all (or forever). A pending answer's
 * state is kept until an op comes out (so `repeat` of a sleeping source still wakes up).
 */
class Repeat implements Generator {
  constructor(
    private readonly remaining: number,
    private readonly original: Generator,
    private readonly current: Generator,
  ) {}
  op(context: GenContext): GenStep {
    if (this.remaining <= 0) return exhaustedStep;
    const step = this.current.op(context);
    switch (step.kind) {
      case "exhausted":
        return step;
      case "pending":
        return pendingStep(new Repeat(this.remaining, this.original, step.next), step.wakeAtNs);
      case "op":
        return {
          kind: "op",
          op: step.op,
          next: new Repeat(this.remaining - 1, this.original, this.original),
        };
    }
  }
  update(context: GenContext, event: Op): Generator {
    const current = this.current.update(context, event);
    return current === this.current ? this : new Repeat(this.remaining, this.original, current);
  }
}

/** `repeat(g)`: g's first op over and over, forever; `repeat(n, g)`: n times. */
export function repeat(source: GenSource): Generator;
export function repeat(times: number, source: GenSource): Generator;
export function repeat(a: number | GenSource, b?: GenSource): Generator {
  const [times, source] = typeof a === "number" ? [a, b] : [Infinity, a];
  checkCount("repeat", times);
  if (source === undefined) throw new GeneratorError("repeat(times, source) needs a source");
  const gen = toGenerator(source);
  return new Repeat(times, gen, gen);
}

/** Runs the generator to exhaustion, then from the start again; `times` runs in all (or forever). */
class Cycle implements Generator {
  constructor(
    private readonly remaining: number,
    private readonly original: Generator,
    private readonly current: Generator,
  ) {}
  op(context: GenContext): GenStep {
    if (this.remaining <= 0) return exhaustedStep;
    const step = this.current.op(context);
    if (step.kind !== "exhausted") {
      return wrapStep(step, (next) => new Cycle(this.remaining, this.original, next));
    }
    if (this.remaining - 1 <= 0) return exhaustedStep;
    // Restart once; a generator that is exhausted even when fresh would cycle forever emitting
    // nothing, so that ends the cycle (the bound on this loop).
    const fresh = this.original.op(context);
    if (fresh.kind === "exhausted") return exhaustedStep;
    return wrapStep(fresh, (next) => new Cycle(this.remaining - 1, this.original, next));
  }
  update(context: GenContext, event: Op): Generator {
    const current = this.current.update(context, event);
    return current === this.current ? this : new Cycle(this.remaining, this.original, current);
  }
}

export function cycle(source: GenSource): Generator;
export function cycle(times: number, source: GenSource): Generator;
export function cycle(a: number | GenSource, b?: GenSource): Generator {
  const [times, source] = typeof a === "number" ? [a, b] : [Infinity, a];
  checkCount("cycle", times);
  if (source === undefined) throw new GeneratorError("cycle(times, source) needs a source");
  const gen = toGenerator(source);
  return new Cycle(times, gen, gen);
}

/**
 * A random mixture: each op comes from a generator drawn uniformly (by `context.random`) from those
 * not yet exhausted. A draw that answers "pending" is kept until it yields an op, so a generator that
 * is often pending is not under-represented. Exhausted members drop out; updates reach every member.
 */
class Mix implements Generator {
  constructor(
    private readonly members: readonly Generator[],
    private readonly chosen: number | undefined,
  ) {}
  op(context: GenContext): GenStep {
    let members = this.members;
    let chosen = this.chosen;
    // Bounded: each turn removes one member.
    while (members.length > 0) {
      const index = chosen ?? context.random.int(members.length);
      const step = members[index]!.op(context);
      if (step.kind === "exhausted") {
        members = members.filter((_, i) => i !== index);
        chosen = undefined;
        continue;
      }
      const updated = members.slice();
      updated[index] = step.next;
      if (step.kind === "op") return { kind: "op", op: step.op, next: new Mix(updated, undefined) };
      return pendingStep(new Mix(updated, index), step.wakeAtNs);
    }
    return exhaustedStep;
  }
  update(context: GenContext, event: Op): Generator {
    const members = updateAll(this.members, context, event);
    return members === this.members ? this : new Mix(members, this.chosen);
  }
}

/**
 * Every member told of `event`: the same array when none of them changed (a generator is a value,
 * so an unchanged one is kept rather than copied; most sources ignore updates), else a new one.
 */
export function updateAll(
  members: readonly Generator[],
  context: GenContext,
  event: Op,
): readonly Generator[] {
  let updated: Generator[] | undefined;
  for (let i = 0; i < members.length; i++) {
    const member = members[i]!;
    const next = member.update(context, event);
    if (next !== member) (updated ??= members.slice())[i] = next;
  }
  return updated ?? members;
}

export function mix(sources: readonly GenSource[]): Generator {
  return new Mix(sources.map(toGenerator), undefined);
}
