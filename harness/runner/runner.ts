/**
 * The runner: Jepsen's interpreter. Worker threads (one logical process each) take operations
 * from the generator, invoke them through a client, and record the invocation and the completion
 * in the history. The nemesis thread runs nemesis operations through the nemesis, recorded with
 * process "nemesis".
 *
 * Rules, as in Jepsen: a thread runs one operation at a time; an `info` completion, an exception or
 * a timeout gives the thread a new process id (old id + concurrency) and a fresh client, because
 * the old operation may still take effect at any later time. The main phase ends when the client
 * generator is exhausted (the nemesis generator is then dropped); the final phase heals every
 * fault, waits for the system to recover, and runs the workload's final reads. An abort signal
 * (SIGINT/SIGTERM) ends the main phase early, still heals, and keeps everything recorded.
 *
 * Every wait is bounded: client operations and closing a client by `opTimeoutNs`, idle waits by
 * `idlePollNs`. A nemesis operation that throws, or a node control call whose promise is rejected,
 * is a nemesis failure (`RunOutcome.nemesisFailures`): the fault asked for was not applied.
 */
import type { Generator, GenContext, GenStep, PlannedOp, Thread } from "../generator/types.ts";
import type { Op, Process } from "../history/op.ts";
import type { Nemesis } from "../nemesis.ts";
import type { Random } from "../runtime/random.ts";
import type { World } from "../runtime/types.ts";
import type { Client, Completion, NodeControl, SystemUnderTest } from "../system.ts";
import type { NodeStatus, OpCounts, RunObserver, RunProgress } from "./events.ts";

export interface RunSpec {
  readonly concurrency: number;
  readonly system: SystemUnderTest;
  /** Client operations of the main phase; the phase ends when it is exhausted. */
  readonly clientGenerator: Generator;
  /** Nemesis operations of the main phase (dropped when the client generator is exhausted). */
  readonly nemesisGenerator?: Generator;
  readonly nemesis?: Nemesis;
  /** Client operations after healing: final reads. */
  readonly finalGenerator?: Generator;
  /** A client operation still open after this long completes as `info` ("timeout"). */
  readonly opTimeoutNs: number;
  /** Quiet time between healing and the final reads, so the system can recover. */
  readonly recoveryDelayNs: number;
  /** Receives every operation as it is recorded (the history writer). */
  readonly record: (op: Op) => void;
  /**
   * False: the runner keeps no history of its own (`RunOutcome.history` is empty), so an op lives
   * only as long as `record` keeps it (a run of faultline: cli/runHistory.ts). Default true.
   */
  readonly keepHistory?: boolean;
  readonly observer?: RunObserver;
  readonly signal?: AbortSignal;
  /** Progress reports at most this often, real ms. */
  readonly progressIntervalMs?: number;
}

/**
 * A fault the nemesis was asked for that did not happen as recorded: its invocation threw (the
 * history has it as `info` with the error), or a promise the system's node control returned for it
 * was rejected later (the history says nothing of that).
 */
export interface NemesisFailure {
  /** When, ns of test time. */
  readonly timeNs: number;
  /** The nemesis operation (`start-crash`) or the node control call (`crash("n1")`). */
  readonly what: string;
  readonly error: string;
}

export interface RunOutcome {
  /** Every op recorded, in order; empty when the spec's `keepHistory` is false. */
  readonly history: Op[];
  /** Every nemesis failure, in order; empty when every fault asked for was applied. */
  readonly nemesisFailures: readonly NemesisFailure[];
  /** True when an abort signal ended the run early (in the main phase or the final reads). */
  readonly aborted: boolean;
  /** When the runner saw the abort, ns of test time; undefined when it ran to its end. */
  readonly abortedAtNs?: number;
}

/** The longest the runner waits idle before asking the generators again, ns of test time. */
const idlePollNs = 1_000_000_000;

interface ThreadState {
  process: Process;
  busy: boolean;
  client?: Client;
}

export class Runner {
  private readonly history: Op[] = [];
  /** Ops recorded so far: the next op's index. */
  private recorded = 0;
  /** Client thread t's state at index t. */
  private readonly clientStates: ThreadState[];
  private readonly nemesisState: ThreadState | undefined;
  /** Every thread's state: the clients' in order, then the nemesis's. */
  private readonly allStates: readonly ThreadState[];
  private readonly clientThreads: number[];
  /**
   * Bumped whenever a thread becomes busy or free: a context made at the same test time and
   * version says the same (its free threads), so the runner hands out the one it made instead of
   * building another for every question and every event.
   */
  private busyVersion = 0;
  private readonly contextCache = new Map<readonly Thread[], RunnerContext>();
  /** Where the next client context's list of free threads starts (see `context`). */
  private nextClientThread = 0;
  private readonly events: Op[] = [];
  private wake: (() => void) | undefined;
  private readonly random: Random;
  private readonly control: NodeControl;
  private readonly counts: Record<string, { invoke: number; ok: number; fail: number; info: number }> = {};
  private completedClientOps = 0;
  private lastProgressMs = -Infinity;
  private readonly startRealMs = performance.now();
  private phase = "running";
  private abortedAtNs: number | undefined;
  private readonly nemesisFailures: NemesisFailure[] = [];

  constructor(
    private readonly world: World,
    private readonly spec: RunSpec,
  ) {
    if (!(spec.concurrency >= 1))
      throw new RangeError(`concurrency must be at least 1, got ${spec.concurrency}`);
    this.clientThreads = Array.from({ length: spec.concurrency }, (_, i) => i);
    this.clientStates = this.clientThreads.map((t) => ({ process: t, busy: false }));
    this.nemesisState = spec.nemesis !== undefined ? { process: "nemesis", busy: false } : undefined;
    this.allStates =
      this.nemesisState !== undefined ? [...this.clientStates, this.nemesisState] : this.clientStates;
    this.random = world.random.fork("generator");
    this.control = controlNotingRejections(spec.system.control(world), (what, error) =>
      this.nemesisFailures.push({ timeNs: Math.round(world.nowNs()), what, error: describeError(error) }),
    );
  }

  async run(): Promise<RunOutcome> {
    const { spec } = this;
    await Promise.all(this.clientThreads.map((t) => this.openClient(t)));
    await this.runPhase(spec.clientGenerator, spec.nemesisGenerator);
    this.phase = "healing";
    await this.heal();
    if (this.abortedAtNs === undefined && spec.finalGenerator !== undefined) {
      await this.world.sleep(spec.recoveryDelayNs);
      this.phase = "final reads";
      await this.runPhase(spec.finalGenerator, undefined);
    }
    // A client that never finishes closing is left behind after an operation's timeout.
    await Promise.all(this.allStates.map((s) => this.closeClient(s.client)));
    this.reportProgress(true);
    return {
      history: this.history,
      nemesisFailures: this.nemesisFailures,
      aborted: this.abortedAtNs !== undefined,
      ...(this.abortedAtNs !== undefined ? { abortedAtNs: this.abortedAtNs } : {}),
    };
  }

  progress(): RunProgress {
    const elapsedS = this.world.nowNs() / 1e9;
    return {
      testTimeNs: this.world.nowNs(),
      realElapsedMs: performance.now() - this.startRealMs,
      opsPerSecond: elapsedS > 0 ? this.completedClientOps / elapsedS : 0,
      counts: this.counts as Record<string, OpCounts>,
      nodes: this.nodeStatuses(),
      activeFaults: this.activeFaults(),
      phase: this.phase,
    };
  }

  private nodeStatuses(): NodeStatus[] {
    const roles = new Map(this.control.nodes().map((n) => [n.name, n]));
    const writer = this.control.writer();
    const grudge = worldGrudge(this.world);
    return this.world
      .endpoints()
      .filter((e) => e.kind === "node")
      .map((e) => ({
        name: e.name,
        up: e.up,
        paused: e.paused,
        role: roles.get(e.name)?.role ?? "node",
        ...(writer?.node === e.name ? { epoch: writer.epoch } : {}),
        ...(roles.get(e.name)?.zone !== undefined ? { zone: roles.get(e.name)!.zone! } : {}),
        clockOffsetNs: e.clockOffsetNs,
        cutOffFrom: [...(grudge?.get(e.name) ?? [])].sort(),
      }));
  }

  private activeFaults(): string[] {
    const faults: string[] = [];
    for (const n of this.nodeStatuses()) {
      if (!n.up) faults.push(`${n.name} crashed`);
      if (n.paused) faults.push(`${n.name} paused`);
      if (n.cutOffFrom.length > 0) faults.push(`${n.name} drops ${n.cutOffFrom.join(" ")}`);
      if (n.clockOffsetNs !== 0) faults.push(`${n.name} clock ${(n.clockOffsetNs / 1e6).toFixed(0)} ms`);
    }
    return faults;
  }

  private reportProgress(force = false): void {
    const observer = this.spec.observer;
    if (observer?.onProgress === undefined) return;
    const nowMs = performance.now();
    if (!force && nowMs - this.lastProgressMs < (this.spec.progressIntervalMs ?? 250)) return;
    this.lastProgressMs = nowMs;
    try {
      observer.onProgress(this.progress());
    } catch {
      // An observer must never break a run.
    }
  }

  private stateOf(thread: Thread): ThreadState | undefined {
    return thread === "nemesis" ? this.nemesisState : this.clientStates[thread];
  }

  private setBusy(state: ThreadState, busy: boolean): void {
    state.busy = busy;
    this.busyVersion++;
  }

  private context(threads: readonly Thread[]): GenContext {
    const timeNs = this.world.nowNs();
    const cached = this.contextCache.get(threads);
    if (cached !== undefined && cached.timeNs === timeNs && cached.busyVersion === this.busyVersion)
      return cached;
    // Free threads are listed from the one after the last thread given an op, wrapping round, as
    // Jepsen's context does: a generator that takes the first free thread (most do) so rotates
    // through the workers instead of giving the lowest-numbered idle one nearly every op, which
    // in process mode sent most operations to that worker's node alone. (The start moves only
    // when a thread becomes busy, which also bumps `busyVersion`, so a cached context holds.)
    const free: Thread[] = [];
    const count = threads.length;
    const start = threads === this.clientThreads ? this.nextClientThread % count : 0;
    for (let i = 0; i < count; i++) {
      const t = threads[(start + i) % count]!;
      if (!this.stateOf(t)!.busy) free.push(t);
    }
    const context = new RunnerContext(timeNs, this.random, threads, free, this, this.busyVersion);
    this.contextCache.set(threads, context);
    return context;
  }

  /** The process `thread` runs as now (GenContext.processOf). */
  processOf(thread: Thread): Process {
    return this.stateOf(thread)?.process ?? (thread === "nemesis" ? "nemesis" : thread);
  }

  /** The thread that runs `process`, if that process is current (GenContext.threadOf). */
  threadOf(process: Process): Thread | undefined {
    if (process === "nemesis") return this.nemesisState !== undefined ? "nemesis" : undefined;
    const t = process % this.spec.concurrency;
    return this.clientStates[t]?.process === process ? t : undefined;
  }

  /** Runs one phase until the client generator is exhausted and every operation it started completed. */
  private async runPhase(clientGen: Generator, nemesisGen: Generator | undefined): Promise<void> {
    let client: Generator | undefined = clientGen;
    let nemesis: Generator | undefined = this.nemesisState !== undefined ? nemesisGen : undefined;
    const nemesisThreads: Thread[] = ["nemesis"];
    const signal = this.spec.signal;

    while (client !== undefined || this.anyBusy()) {
      // Tell the generators of everything that happened since we last asked.
      for (let event = this.events.shift(); event !== undefined; event = this.events.shift()) {
        const thread = event.process === "nemesis" ? "nemesis" : this.threadOfEvent(event);
        if (thread === "nemesis") nemesis = nemesis?.update(this.context(nemesisThreads), event);
        else client = client?.update(this.context(this.clientThreads), event);
      }
      if (signal?.aborted === true) {
        this.abortedAtNs ??= this.world.nowNs();
        client = nemesis = undefined;
      }
      if (client === undefined) nemesis = undefined;
      this.reportProgress();
      if (client === undefined) {
        await this.waitForEvent(idlePollNs);
        continue;
      }

      const clientStep: GenStep = client.op(this.context(this.clientThreads));
      const nemesisStep: GenStep | undefined = nemesis?.op(this.context(nemesisThreads));
      if (clientStep.kind === "exhausted") {
        client = undefined;
        continue;
      }
      if (nemesisStep?.kind === "exhausted") nemesis = undefined;

      // Take the soonest operation of the two; ties go to the nemesis.
      const clientOp = clientStep.kind === "op" ? clientStep.op : undefined;
      const nemesisOp = nemesisStep?.kind === "op" ? nemesisStep.op : undefined;
      if (clientOp === undefined && nemesisOp === undefined) {
        client = clientStep.next;
        if (nemesisStep !== undefined && nemesisStep.kind !== "exhausted") nemesis = nemesisStep.next;
        // Both pending: wait for an event, or until a generator said its answer may change.
        const now = this.world.nowNs();
        let waitNs = idlePollNs;
        for (const step of [clientStep, nemesisStep]) {
          if (step?.kind === "pending" && step.wakeAtNs !== undefined)
            waitNs = Math.min(waitNs, Math.max(1, step.wakeAtNs - now));
        }
        await this.waitForEvent(waitNs);
        continue;
      }
      const isNemesis =
        nemesisOp !== undefined && (clientOp === undefined || nemesisOp.timeNs <= clientOp.timeNs);
      const chosen: PlannedOp = isNemesis ? nemesisOp : clientOp!;
      const now = this.world.nowNs();
      if (chosen.timeNs > now) {
        // Not yet: wait for that time or for an event, then ask again (generators are pure).
        await this.waitForEvent(chosen.timeNs - now);
        continue;
      }
      if (isNemesis) nemesis = (nemesisStep as Extract<GenStep, { kind: "op" }>).next;
      else client = (clientStep as Extract<GenStep, { kind: "op" }>).next;
      // A generator that answered "pending" moves on to the state it returned (a running sleep
      // must keep its start); one whose op was not chosen is asked again later, unchanged.
      if (clientStep.kind === "pending") client = clientStep.next;
      if (nemesisStep?.kind === "pending") nemesis = nemesisStep.next;
      const invoke = this.invoke(chosen);
      if (isNemesis) nemesis = nemesis?.update(this.context(nemesisThreads), invoke);
      else client = client?.update(this.context(this.clientThreads), invoke);
    }
  }

  private threadOfEvent(event: Op): Thread | undefined {
    const states = this.clientStates;
    for (let t = 0; t < states.length; t++) if (states[t]!.process === event.process) return t;
    if (this.nemesisState?.process === event.process) return "nemesis";
    // The process already moved on (info): its thread is process mod concurrency.
    return typeof event.process === "number" ? event.process % this.spec.concurrency : undefined;
  }

  private anyBusy(): boolean {
    for (const state of this.allStates) if (state.busy) return true;
    return false;
  }

  /** Records an op; its fields in this order (the history's JSON keeps it). */
  private append(
    process: Process,
    type: Op["type"],
    f: string,
    value: unknown,
    node?: string,
    error?: unknown,
  ): Op {
    const op: { -readonly [K in keyof Op]: Op[K] } = {
      index: this.recorded++,
      time: Math.round(this.world.nowNs()),
      process,
      type,
      f,
      value,
    };
    if (node !== undefined) op.node = node;
    if (error !== undefined) op.error = error;
    if (this.spec.keepHistory !== false) this.history.push(op);
    this.spec.record(op);
    if (op.process !== "nemesis") {
      const c = (this.counts[op.f] ??= { invoke: 0, ok: 0, fail: 0, info: 0 });
      c[op.type]++;
      if (op.type !== "invoke") this.completedClientOps++;
    }
    try {
      this.spec.observer?.onOp?.(op);
    } catch {
      // An observer must never break a run.
    }
    return op;
  }

  private invoke(planned: PlannedOp): Op {
    const thread: Thread | undefined =
      planned.process === "nemesis" ? "nemesis" : this.threadOf(planned.process);
    if (thread === undefined)
      throw new Error(`generator planned an op for unknown process ${String(planned.process)}`);
    const state = this.stateOf(thread)!;
    if (state.busy) throw new Error(`generator planned an op for busy thread ${String(thread)}`);
    if (typeof thread === "number") this.nextClientThread = thread + 1;
    this.setBusy(state, true);
    const invoke = this.append(state.process, "invoke", planned.f, planned.value);
    const complete = (completion: Completion): void => {
      const op = this.append(
        invoke.process,
        completion.type,
        invoke.f,
        completion.value,
        completion.node,
        completion.error,
      );
      this.setBusy(state, false);
      if (completion.type === "info" && thread !== "nemesis") {
        state.process = (state.process as number) + this.spec.concurrency;
        const old = state.client;
        state.client = undefined;
        void old?.close().catch(() => undefined);
        void this.openClient(thread as number);
      }
      this.events.push(op);
      this.notify();
    };
    // A client with its client open (nearly every operation) completes through a callback, not a
    // promise the runner then waits on: one promise and one microtask fewer for every operation.
    const client = state.client;
    if (thread !== "nemesis" && client !== undefined) this.invokeClient(client, invoke, complete);
    else void this.execute(thread, state, invoke).then(complete);
    return invoke;
  }

  /**
   * Calls `callback` after `durationNs` of test time; returns a way to drop it early: the world's
   * timer when it has one (a dropped timer is never run: a simulation whose every operation left a
   * timeout and every wait a wake-up behind ran twice the events it needed).
   */
  private after(durationNs: number, callback: () => void): () => void {
    const world = this.world;
    if (world.setTimer !== undefined) return world.setTimer(durationNs, callback);
    void world.sleep(durationNs).then(callback);
    return () => undefined;
  }

  private execute(thread: Thread, state: ThreadState, invoke: Op): Promise<Completion> {
    if (thread === "nemesis") return this.executeNemesis(invoke);
    const client = state.client;
    return client !== undefined
      ? new Promise<Completion>((resolve) => this.invokeClient(client, invoke, resolve))
      : this.invokeOnceOpen(state, invoke);
  }

  private async executeNemesis(invoke: Op): Promise<Completion> {
    try {
      return await this.spec.nemesis!.invoke(
        { f: invoke.f, value: invoke.value },
        { control: this.control, random: this.random, nowNs: this.world.nowNs() },
      );
    } catch (error) {
      const described = describeError(error);
      this.nemesisFailures.push({ timeNs: Math.round(this.world.nowNs()), what: invoke.f, error: described });
      return { type: "info", value: invoke.value, error: described };
    }
  }

  /** Closes a client, waiting at most `opTimeoutNs` of test time for it. */
  private closeClient(client: Client | undefined): Promise<void> {
    if (client === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cancel = this.after(this.spec.opTimeoutNs, resolve);
      let closing: Promise<void>;
      try {
        closing = client.close();
      } catch {
        closing = Promise.resolve();
      }
      closing.then(
        () => (cancel(), resolve()),
        () => (cancel(), resolve()),
      );
    });
  }

  /** A thread whose client is still being opened (after an `info`) waits for it, 1 ms at a time. */
  private async invokeOnceOpen(state: ThreadState, invoke: Op): Promise<Completion> {
    for (let i = 0; state.client === undefined && i < 100; i++) await this.world.sleep(1_000_000);
    const client = state.client;
    if (client === undefined)
      return { type: "fail", value: invoke.value, error: "no client could be opened" };
    return new Promise<Completion>((resolve) => this.invokeClient(client, invoke, resolve));
  }

  /**
   * Hands `complete` the client's answer or, `opTimeoutNs` later, an `info` "timeout", whichever
   * comes first; a thrown error is an `info` too. Whichever answers first calls `complete` (not a
   * race of two promises, awaited in an async function: three promise hops fewer for every
   * operation). `complete` never runs before this returns: an answer comes through a promise, a
   * timeout in a later event, and a thrown error is handed on in a microtask, as a settled
   * promise's would be.
   */
  private invokeClient(client: Client, invoke: Op, complete: (completion: Completion) => void): void {
    let settled = false;
    let cancelTimeout: () => void = () => undefined;
    const settle = (completion: Completion): void => {
      if (settled) return;
      settled = true;
      cancelTimeout();
      complete(completion);
    };
    const fail = (error: unknown): void =>
      settle({ type: "info", value: invoke.value, error: describeError(error) });
    // The timer first, then the request: the order the world schedules them in is the run's.
    cancelTimeout = this.after(this.spec.opTimeoutNs, () =>
      settle({ type: "info", value: invoke.value, error: "timeout" }),
    );
    let answer: Promise<Completion>;
    try {
      answer = client.invoke({ f: invoke.f, value: invoke.value });
    } catch (error) {
      void Promise.resolve().then(() => fail(error));
      return;
    }
    answer.then(settle, fail);
  }

  private async openClient(thread: number): Promise<void> {
    const state = this.clientStates[thread]!;
    state.client = await this.spec.system.openClient(this.world, `c${state.process as number}`);
  }

  /** Resolves at the next recorded completion, or after `maxWaitNs` of test time. */
  private waitForEvent(maxWaitNs: number): Promise<void> {
    if (this.events.length > 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let settled = false;
      let cancel: () => void = () => undefined;
      const finish = () => {
        if (settled) return;
        settled = true;
        this.wake = undefined;
        cancel();
        resolve();
      };
      this.wake = finish;
      cancel = this.after(Math.max(1, Math.ceil(maxWaitNs)), finish);
    });
  }

  private notify(): void {
    this.wake?.();
  }

  /** Runs every heal invocation of the nemesis through the nemesis thread, recorded. */
  private async heal(): Promise<void> {
    // Let operations already in flight finish (each is bounded by its timeout).
    while (this.anyBusy()) await this.waitForEvent(idlePollNs);
    this.events.length = 0;
    const nemesis = this.spec.nemesis;
    if (nemesis === undefined) return;
    for (const invocation of nemesis.healInvocations()) {
      const state = this.nemesisState!;
      this.setBusy(state, true);
      const invoke = this.append("nemesis", "invoke", invocation.f, invocation.value);
      const completion = await this.execute("nemesis", state, invoke);
      this.append("nemesis", completion.type, invocation.f, completion.value, undefined, completion.error);
      this.setBusy(state, false);
    }
    this.events.length = 0;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * `control` as the nemesis sees it: each call goes through unchanged, but a promise a call returns
 * (node control is synchronous; a system's may start work it finishes later) is watched, and its
 * rejection is handed to `onRejected` instead of going unhandled, which would end the process.
 */
function controlNotingRejections(
  control: NodeControl,
  onRejected: (what: string, error: unknown) => void,
): NodeControl {
  if (control === null || typeof control !== "object") return control;
  return new Proxy(control, {
    get(target, key) {
      const member: unknown = Reflect.get(target, key, target);
      if (typeof member !== "function") return member;
      return (...args: unknown[]): unknown => {
        const result: unknown = (member as (...a: unknown[]) => unknown).apply(target, args);
        if (
          result !== null &&
          typeof result === "object" &&
          typeof (result as PromiseLike<unknown>).then === "function"
        ) {
          const call = `${String(key)}(${args.length > 0 && typeof args[0] === "string" ? JSON.stringify(args[0]) : ""})`;
          (result as PromiseLike<unknown>).then(undefined, (error: unknown) => onRejected(call, error));
        }
        return result;
      };
    },
  });
}

function worldGrudge(world: World): ReadonlyMap<string, ReadonlySet<string>> | undefined {
  const w = world as { grudge?: () => ReadonlyMap<string, ReadonlySet<string>> };
  return typeof w.grudge === "function" ? w.grudge() : undefined;
}

/** Runs a test's phases on a world and returns the history. */
export function runTest(world: World, spec: RunSpec): Promise<RunOutcome> {
  return new Runner(world, spec).run();
}

/**
 * What the runner tells a generator: a class rather than an object of closures, since the runner
 * makes several for every operation.
 */
class RunnerContext implements GenContext {
  constructor(
    readonly timeNs: number,
    readonly random: Random,
    readonly allThreads: readonly Thread[],
    readonly freeThreads: readonly Thread[],
    private readonly runner: Runner,
    /** The runner's busy version this context was made at (see Runner.context). */
    readonly busyVersion: number,
  ) {}

  processOf(thread: Thread): Process {
    return this.runner.processOf(thread);
  }

  threadOf(process: Process): Thread | undefined {
    return this.runner.threadOf(process);
  }
}
