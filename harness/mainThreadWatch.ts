/**
 * A bound on code that never gives the event loop back: a plugin's client, generator or node
 * control that loops synchronously (`for (;;) {}`, or a retry loop without an await) hung
 * `faultline run` for good, and no signal handler could run to stop it; only SIGKILL ended it.
 *
 * Faultline's own code never holds the event loop long while a run runs: the simulation yields a
 * macrotask every 1,000 events, process mode waits on real I/O. So while code that is not
 * faultline's may run (armed: loading a plugin, calling its definition, a run of a plugin system or
 * workload, up to the checkers), a timer on the main thread beats, and a worker thread watches the
 * beat. When it has not moved for `stuckAfterMs`, the worker asks V8, through the inspector, to run
 * the main thread's `onStuck` in the middle of whatever holds it (an inspector message interrupts
 * running JavaScript; `vm`'s watchdog, by contrast, has to wrap each call, a thread per call). That
 * handler sees the stuck code's frames in its own stack, says where it was, and ends the process.
 *
 * Unless what holds the loop is Node loading modules (`isLoadingModules`): on Node 22 and later tsx
 * resolves and compiles a TypeScript plugin and everything it imports on the main thread (Node's
 * synchronous module hooks), where Node 20 ran them on a thread of their own, and a big plugin on a
 * busy machine took longer than the bound (a plugin importing faultline's process supervisor was
 * stopped as stuck "at validateResolve (node:internal/modules/customization_hooks…)" under load).
 * Loading is not code looping: the watch then waits again, up to ten times the bound or a minute in
 * all (`loadingLimitMs`), after which a load still going is stopped like anything else.
 *
 * Off unless the process is faultline's own (`enableMainThreadWatch`, by the bin's `main`): a
 * library caller's process is never ended from here. Not armed, it costs nothing: no worker, no
 * timer. Checkers are never watched: faultline's own bound themselves with budgets, a plugin's
 * run under `vm`'s watchdog (boundedCall.ts), and a long check holds the loop on purpose. A Node
 * built without the inspector (rare: `node:inspector` throws) gets no watch: the process is then
 * as it was before, ended only by SIGKILL (a gate bounds each row's run by its worker's time limit).
 */
import { createRequire } from "node:module";
import type * as WorkerThreads from "node:worker_threads";

/**
 * What `onStuck` is told: how long the loop was held, the innermost frames that held it, and what
 * the armed callers' `beforeStop` saved (a line each).
 */
export interface Stuck {
  readonly heldMs: number;
  readonly frames: readonly string[];
  readonly saved: readonly string[];
}

interface Enabled {
  readonly stuckAfterMs: number;
  readonly onStuck: (stuck: Stuck) => void;
  /** [beat, armed]: the main thread's timer moves the beat; the worker reads both. */
  readonly shared: Int32Array;
  armed: number;
  /** What must reach the disk before the process ends (a history's buffered lines). */
  readonly beforeStop: Set<() => string | undefined>;
  beat: NodeJS.Timeout | undefined;
  worker: WorkerThreads.Worker | undefined;
}

let enabled: Enabled | undefined;

/** The global the inspector calls: one name, looked up by the worker's `Runtime.evaluate`. */
const handlerName = "__faultlineMainThreadStuck";

/**
 * How long a hold may last while Node is loading modules (see the header), in all: ten times the
 * bound, and at least a minute (a cold compile of a big plugin on a loaded machine takes seconds,
 * whatever bound a test sets). Loading is bounded too, only more loosely.
 */
const loadingLimitMs = (stuckAfterMs: number): number => Math.max(10 * stuckAfterMs, 60_000);

/**
 * True when `frames` (innermost first, as a stack prints them) are Node loading a module. The
 * first frame that is neither native (`Atomics.wait (<anonymous>)`) nor one of Node's own internals
 * (`node:…`) decides: Node's module loader (`node:internal/modules/…`), or a loader hook's code
 * (tsx's, and esbuild's, which tsx compiles with, and get-tsconfig's) is loading; anything else
 * (a module's top level that loops, a plugin's client, faultline's own code) is not.
 */
export function isLoadingModules(frames: readonly string[]): boolean {
  for (const frame of frames) {
    if (/\(?node:internal\/modules\//.test(frame)) return true;
    if (/\(<anonymous>\)$|\(native\)$|\(?node:/.test(frame)) continue;
    return /[\\/]node_modules[\\/](tsx|esbuild|get-tsconfig)[\\/]/.test(frame);
  }
  return false;
}

/** How often the main thread's timer beats; a quarter of the bound at most, so it can tell. */
const beatEveryMs = (stuckAfterMs: number): number => Math.max(5, Math.min(250, stuckAfterMs / 4));

/**
 * Lets `armMainThreadWatch` watch this process: a held loop is reported to `onStuck` (which must
 * end the process) once it has been held `stuckAfterMs`. Only the process's owner calls this.
 */
export function enableMainThreadWatch(stuckAfterMs: number, onStuck: (stuck: Stuck) => void): void {
  enabled = {
    stuckAfterMs,
    onStuck,
    shared: new Int32Array(new SharedArrayBuffer(8)),
    armed: 0,
    beforeStop: new Set(),
    beat: undefined,
    worker: undefined,
  };
  const state = enabled;
  (globalThis as Record<string, unknown>)[handlerName] = (heldMs: number, mayWait: boolean): string => {
    // Called by the inspector on top of the frames that hold the loop: this frame, the inspector's
    // `<anonymous>` one, then the stuck code's.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 40; // deep enough to pass Node's own frames when loading
    const lines = (new Error().stack ?? "").split("\n").map((line) => line.trim());
    Error.stackTraceLimit = limit;
    const below = lines.findIndex((line) => line.startsWith("at <anonymous>"));
    const frames = lines.slice(below + 1).filter((line) => line.startsWith("at "));
    if (mayWait && isLoadingModules(frames)) return "loading";
    const saved: string[] = [];
    for (const save of state.beforeStop) {
      try {
        const line = save();
        if (line !== undefined) saved.push(line);
      } catch {
        // What could not be saved stays unsaved; the stop goes on.
      }
    }
    state.onStuck({ heldMs, frames: frames.slice(0, 4).map((line) => line.slice(3)), saved });
    return "stopped";
  };
}

/**
 * Watches the main thread until the returned function is called (calls nest: the watch holds
 * while any is armed); `beforeStop`, if given, runs (synchronously) before a stuck process ends,
 * while this arm holds, and may return a line saying what it saved. Does nothing unless
 * `enableMainThreadWatch` was called.
 */
export function armMainThreadWatch(beforeStop?: () => string | undefined): () => void {
  const state = enabled;
  if (state === undefined) return () => {};
  if (beforeStop !== undefined) state.beforeStop.add(beforeStop);
  if (state.armed++ === 0) {
    state.worker ??= startWatcher(state);
    Atomics.add(state.shared, 0, 1);
    Atomics.store(state.shared, 1, 1);
    // A timer, not the simulation's clock: it measures the real event loop.
    state.beat = setInterval(() => Atomics.add(state.shared, 0, 1), beatEveryMs(state.stuckAfterMs));
    state.beat.unref();
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (beforeStop !== undefined) state.beforeStop.delete(beforeStop);
    if (--state.armed > 0) return;
    Atomics.store(state.shared, 1, 0);
    clearInterval(state.beat);
    state.beat = undefined;
  };
}

/** The watcher: polls the beat; a beat held `stuckAfterMs` while armed calls the handler once. */
function startWatcher(state: Enabled): WorkerThreads.Worker | undefined {
  const source = `
const { workerData } = require("node:worker_threads");
const { shared, stuckAfterMs, loadingLimitMs, pollMs, handlerName } = workerData;
let inspector;
try { inspector = require("node:inspector"); } catch { inspector = undefined; }
let lastBeat = Atomics.load(shared, 0);
let heldSinceMs = Date.now();
// How long this hold may last before the main thread is asked (longer once it said "loading"),
// and whether an answer is awaited.
let limitMs = stuckAfterMs;
let asking = false;
const poll = setInterval(() => {
  const beat = Atomics.load(shared, 0);
  const nowMs = Date.now();
  if (beat !== lastBeat || Atomics.load(shared, 1) === 0) {
    lastBeat = beat;
    heldSinceMs = nowMs;
    limitMs = stuckAfterMs;
    return;
  }
  if (asking || nowMs - heldSinceMs < limitMs || inspector === undefined) return;
  const heldMs = nowMs - heldSinceMs;
  const mayWait = heldMs < loadingLimitMs;
  // A session of its own for each question, closed once answered "loading": a session still open
  // when the process ends makes Node print "Waiting for the debugger to disconnect..." on stderr.
  const session = new inspector.Session();
  session.connectToMainThread();
  asking = true;
  session.post(
    "Runtime.evaluate",
    { expression: "globalThis." + handlerName + "(" + heldMs + ", " + mayWait + ")", returnByValue: true },
    (error, answer) => {
      asking = false;
      if (error === null && answer && answer.result && answer.result.value === "loading") {
        session.disconnect();
        limitMs = Math.min(loadingLimitMs, heldMs + stuckAfterMs);
        return;
      }
      clearInterval(poll);
    },
  );
}, pollMs);
`;
  try {
    // node:worker_threads is loaded here, when a watch is first armed, not with this module: the
    // bin's `main` imports this module for every command, and importing it loads a dozen of Node's
    // own modules (a check that loads no plugin never arms a watch).
    const { Worker } = createRequire(import.meta.url)("node:worker_threads") as typeof WorkerThreads;
    const worker = new Worker(source, {
      eval: true,
      workerData: {
        shared: state.shared,
        stuckAfterMs: state.stuckAfterMs,
        loadingLimitMs: loadingLimitMs(state.stuckAfterMs),
        pollMs: beatEveryMs(state.stuckAfterMs),
        handlerName,
      },
    });
    worker.unref();
    // A watcher that fails leaves the process as it was without one.
    worker.on("error", () => {});
    return worker;
  } catch {
    return undefined;
  }
}
