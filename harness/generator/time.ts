/**
 * Time in generators. A generator never waits: it moves an op's `timeNs` later, and the runner holds
 * the op until then. As in Jepsen, an op whose `timeNs` lies after the context's time is a proposal:
 * the runner waits until that time *or the next event, whichever comes first*, and then asks the same
 * generator again (the op may have changed). Only an op whose time has come is invoked, and only then
 * does the runner take its `next` generator.
 *
 * - `stagger(meanIntervalNs, g)`: ops scheduled at random intervals, uniform in [0, 2·mean), over all
 *   threads together (Jepsen's total rate, not per thread). The schedule runs from the last
 *   scheduled time, so the mean rate holds while the system keeps up; an op that could only start
 *   late restarts the schedule from its own time rather than bursting to catch up.
 * - `delay(intervalNs, g)`: the same with a fixed interval.
 * - `timeLimit(durationNs, g)`: ops of g until `durationNs` after the first op it lets through (as
 *   Jepsen: the clock starts at the first op, not when the generator is built). It never emits an op
 *   timed at or after its cutoff; once the context's time reaches the cutoff it is exhausted.
 * - `sleep(durationNs)`: no op at all; pending until `durationNs` after it is first asked, then
 *   exhausted. Its pending answers carry `wakeAtNs`, so a runner with nothing in flight knows when to
 *   ask again. Use it inside a sequence or `phases` to pause.
 */
import { GeneratorError, earlierNs, exhaustedStep, pendingStep, wrapStep } from "./context.ts";
import { toGenerator } from "./sources.ts";
import type { GenSource } from "./sources.ts";
import type { Op } from "../history/op.ts";
import type { GenContext, GenStep, Generator } from "./types.ts";

function checkDuration(name: string, durationNs: number, positive: boolean): void {
  const ok = Number.isFinite(durationNs) && (positive ? durationNs > 0 : durationNs >= 0);
  if (!ok) {
    throw new GeneratorError(
      `${name} needs a finite duration in ns ${positive ? "> 0" : ">= 0"}, got ${durationNs}`,
    );
  }
}

class TimeLimit implements Generator {
  constructor(
    private readonly durationNs: number,
    private readonly cutoffNs: number | undefined,
    private readonly inner: Generator,
  ) {}
  op(context: GenContext): GenStep {
    if (this.cutoffNs !== undefined && context.timeNs >= this.cutoffNs) return exhaustedStep;
    const step = this.inner.op(context);
    switch (step.kind) {
      case "exhausted":
        return step;
      case "pending":
        return pendingStep(
          new TimeLimit(this.durationNs, this.cutoffNs, step.next),
          earlierNs(step.wakeAtNs, this.cutoffNs),
        );
      case "op": {
        const cutoffNs = this.cutoffNs ?? step.op.timeNs + this.durationNs;
        if (step.op.timeNs >= cutoffNs) return exhaustedStep;
        return { kind: "op", op: step.op, next: new TimeLimit(this.durationNs, cutoffNs, step.next) };
      }
    }
  }
  update(context: GenContext, event: Op): Generator {
    const inner = this.inner.update(context, event);
    return inner === this.inner ? this : new TimeLimit(this.durationNs, this.cutoffNs, inner);
  }
}

export function timeLimit(durationNs: number, source: GenSource): Generator {
  checkDuration("timeLimit", durationNs, false);
  return new TimeLimit(durationNs, undefined, toGenerator(source));
}

/** Shared by stagger and delay: schedules each op at or after `nextNs`, then draws the next gap. */
class Paced implements Generator {
  constructor(
    private readonly gapNs: (context: GenContext) => number,
    private readonly nextNs: number | undefined,
    private readonly inner: Generator,
  ) {}
  op(context: GenContext): GenStep {
    const step = this.inner.op(context);
    if (step.kind !== "op") return wrapStep(step, (next) => new Paced(this.gapNs, this.nextNs, next));
    const scheduledNs = this.nextNs ?? context.timeNs;
    const timeNs = Math.max(step.op.timeNs, scheduledNs);
    const op = timeNs === step.op.timeNs ? step.op : { ...step.op, timeNs };
    return { kind: "op", op, next: new Paced(this.gapNs, timeNs + this.gapNs(context), step.next) };
  }
  update(context: GenContext, event: Op): Generator {
    const inner = this.inner.update(context, event);
    return inner === this.inner ? this : new Paced(this.gapNs, this.nextNs, inner);
  }
}

/** Ops at random intervals uniform in [0, 2·meanIntervalNs), over all threads together. */
export function stagger(meanIntervalNs: number, source: GenSource): Generator {
  checkDuration("stagger", meanIntervalNs, true);
  const spanNs = 2 * meanIntervalNs;
  return new Paced((context) => Math.floor(context.random.float() * spanNs), undefined, toGenerator(source));
}

/** Ops `intervalNs` apart (or as soon as possible after, when the system falls behind). */
export function delay(intervalNs: number, source: GenSource): Generator {
  checkDuration("delay", intervalNs, false);
  return new Paced(() => intervalNs, undefined, toGenerator(source));
}

class Sleep implements Generator {
  constructor(
    private readonly durationNs: number,
    private readonly wakeAtNs: number | undefined,
  ) {}
  op(context: GenContext): GenStep {
    const wakeAtNs = this.wakeAtNs ?? context.timeNs + this.durationNs;
    if (context.timeNs >= wakeAtNs) return exhaustedStep;
    return pendingStep(new Sleep(this.durationNs, wakeAtNs), wakeAtNs);
  }
  update(): Generator {
    return this;
  }
}

/** An op-less pause of `durationNs` from when it is first asked, then exhausted. */
export function sleep(durationNs: number): Generator {
  checkDuration("sleep", durationNs, false);
  return new Sleep(durationNs, undefined);
}
