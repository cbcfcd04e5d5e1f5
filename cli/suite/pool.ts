/**
 * A pool of worker processes for gates and sweeps: seed jobs go, one at a time, to whichever worker
 * is free; each worker is a Node process running cli/suite/worker.ts (execa, with IPC), so runs use
 * every core and one run's crash or memory blow-up cannot take the others with it.
 *
 * Bounds: at most `jobs` workers; a worker says it is ready once its modules are loaded (within
 * `startupTimeoutMs`), and from then each run has a wall-clock limit (`runTimeoutMs`) past which
 * its worker is killed by its pid and the seed counts as undecided, with why; a worker that dies takes
 * only its current seed with it (that seed is undecided) and is replaced for the next. A job that
 * `skip` gives a reason for, as its turn comes, is not run (a gate's decided row). On abort,
 * every worker is killed by its pid and the seeds not run are left out; so it is when the pool's own
 * code fails (a throwing `onDone`), and then the pool rejects with that error. When the pool ends,
 * no worker is left: each is asked to exit, and killed if it does not within `exitGraceMs`.
 *
 * Entry: from the TypeScript sources, the worker is the sibling module of this one, `worker.ts`
 * (with tsx's loader, resolved from this package); from a compiled tree, the bundle's `worker.js`
 * (dist/bundle/, build/bundleCli.mjs: the worker's modules in a few files, shared with the CLI's
 * and the API's, as a plugin it loads needs), both found relative to `import.meta.url` (the
 * bundle gives each module the URL it had in dist/). A worker start loads about 30 files so
 * rather than every compiled module it uses: a worker's start and a short run took 0.86x the CPU
 * (paired, medians of 7: 0.27-0.31 s against 0.36-0.37 s).
 */
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ResultPromise, execaNode as ExecaNodeFunction } from "execa";
import { seedWithoutRun, type SeedRun } from "./judge.ts";
import { reproduceOf, type SeedJob } from "./seedRun.ts";

export interface PoolOptions {
  /** Worker processes at most. */
  readonly jobs: number;
  readonly signal?: AbortSignal;
  /** Called as each seed finishes, in completion order. */
  readonly onDone?: (run: SeedRun, job: SeedJob) => void;
  /** Called as a seed is handed to a worker (a seed cut short by an abort was started, not done). */
  readonly onStart?: (job: SeedJob) => void;
  /** Wall-clock limit of one run, ms. */
  readonly runTimeoutMs?: number;
  /**
   * Asked as a job's turn comes: a reason not to run it (a gate's row already decided), and then it
   * is not run, and comes back with that reason as `notRun` (through `onDone` too).
   */
  readonly skip?: (job: SeedJob) => string | undefined;
}

export const defaultRunTimeoutMs = 15 * 60_000;
/** Longest a worker may take to load its modules and say it is ready. */
const startupTimeoutMs = 120_000;
const exitGraceMs = 5_000;
const stderrTailChars = 2_000;

export interface WorkerEntry {
  readonly file: string;
  readonly nodeOptions: readonly string[];
}

/** The worker module beside `moduleUrl`, with the loader a TypeScript source needs. */
export function workerEntryFor(moduleUrl: string): WorkerEntry {
  const fromSources = new URL(moduleUrl).pathname.endsWith(".ts");
  const file = fileURLToPath(new URL(fromSources ? "./worker.ts" : "../../bundle/worker.js", moduleUrl));
  // The bin's own Node flags and its `run` tier-up budget on V8 11 (bin/faultline.js says why): a
  // worker does runs, one seed after another. A gate of the matrix's 25 bug- and control- rows,
  // paired, 6 pairs: CPU 0.94x, wall 0.94x.
  const nodeOptions = ["--max-semi-space-size=32", "--no-concurrent-recompilation"];
  if (process.versions.v8.startsWith("11.")) nodeOptions.push("--interrupt-budget=540672");
  if (fromSources) {
    // tsx is this package's own dependency: resolved from here, whatever the working folder.
    const tsx = createRequire(import.meta.url).resolve("tsx");
    nodeOptions.push("--import", pathToFileURL(tsx).href);
  }
  return { file, nodeOptions };
}

type Worker = ResultPromise<{ ipc: true; serialization: "json" }>;

interface Slot {
  worker: Worker | undefined;
  /** Settles when the worker said it is ready (its modules loaded). */
  ready: Promise<unknown> | undefined;
  stderr: string;
}

type ExecaNode = typeof ExecaNodeFunction;

function startWorker(execaNode: ExecaNode, entry: WorkerEntry, slot: Slot): Worker {
  slot.stderr = "";
  const worker = execaNode(entry.file, [], {
    nodeOptions: [...entry.nodeOptions],
    ipc: true,
    serialization: "json",
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    buffer: false,
    reject: false,
    cleanup: true,
  }) as unknown as Worker;
  // Hello, answered once the worker's modules are loaded (a message waits for the worker's listener).
  slot.ready = (async () => {
    const answer = worker.getOneMessage();
    await worker.sendMessage({ type: "hello" });
    return answer;
  })();
  slot.ready.catch(() => {});
  worker.stderr?.setEncoding("utf8");
  worker.stderr?.on("data", (chunk: string) => {
    slot.stderr = (slot.stderr + chunk).slice(-stderrTailChars);
  });
  return worker;
}

function failedRun(job: SeedJob, why: string, elapsedMs: number): SeedRun {
  return seedWithoutRun(job.row, job.seed, reproduceOf(job.args, job.seed), { error: why }, elapsedMs);
}

function notRunRun(job: SeedJob, why: string): SeedRun {
  return seedWithoutRun(job.row, job.seed, reproduceOf(job.args, job.seed), { notRun: why });
}

async function stopWorker(worker: Worker): Promise<void> {
  try {
    await worker.sendMessage({ type: "exit" });
  } catch {
    // Already gone.
  }
  const timer = setTimeout(() => worker.kill("SIGKILL"), exitGraceMs);
  try {
    await worker;
  } finally {
    clearTimeout(timer);
  }
}

/** The workers a pool of `jobs` workers starts for `seeds` seeds: no more than the seeds, at least one. */
export function poolWorkers(jobs: number, seeds: number): number {
  return Math.max(1, Math.min(jobs, seeds));
}

/** Runs every job on up to `options.jobs` worker processes; results in job order. */
export async function runPool(
  jobs: readonly SeedJob[],
  options: PoolOptions,
  entry: WorkerEntry = workerEntryFor(import.meta.url),
): Promise<SeedRun[]> {
  // execa (a hundred modules) is loaded when workers are wanted, not by `gate --help` or `sweep report`.
  const { execaNode } = await import("execa");
  const results: (SeedRun | undefined)[] = new Array(jobs.length).fill(undefined);
  const timeoutMs = options.runTimeoutMs ?? defaultRunTimeoutMs;
  let next = 0;
  const slots: Slot[] = [];
  const onAbort = () => {
    for (const slot of slots) slot.worker?.kill("SIGKILL");
  };
  options.signal?.addEventListener("abort", onAbort);

  async function runOne(slot: Slot, job: SeedJob): Promise<SeedRun> {
    const started = Date.now();
    slot.worker ??= startWorker(execaNode, entry, slot);
    const worker = slot.worker;
    let timer: NodeJS.Timeout | undefined;
    try {
      // A run's time limit starts once its worker is up (loading the modules can take a while).
      const up = await Promise.race([
        slot.ready,
        new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), startupTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (up === "timeout") throw new Error(`it did not start within ${startupTimeoutMs / 1000} s`);
      const reply = worker.getOneMessage();
      await worker.sendMessage({ type: "job", job: job as never });
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const message = await Promise.race([reply, timeout]);
      if (message === "timeout") {
        worker.kill("SIGKILL");
        slot.worker = undefined;
        slot.ready = undefined;
        await worker;
        return failedRun(
          job,
          `the run took longer than ${timeoutMs / 1000} s of real time; its worker was killed`,
          Date.now() - started,
        );
      }
      return (message as unknown as { run: SeedRun }).run;
    } catch (error) {
      worker.kill("SIGKILL");
      slot.worker = undefined;
      slot.ready = undefined;
      const result = await worker;
      const why = options.signal?.aborted
        ? "interrupted"
        : `its worker process died (${result.signalDescription ?? `exit code ${String(result.exitCode)}`})` +
          (slot.stderr.trim() !== "" ? `: ${slot.stderr.trim().split("\n").slice(-3).join(" | ")}` : "") +
          (error instanceof Error && slot.stderr.trim() === "" ? `: ${error.message}` : "");
      return failedRun(job, why, Date.now() - started);
    } finally {
      clearTimeout(timer);
    }
  }

  // The first error of a drain (a throwing onDone, say): the other drains stop too, their workers
  // are killed, and no drain starts a worker after that, so none outlives the pool.
  let failure: { error: unknown } | undefined;
  const stopped = (): boolean => failure !== undefined || options.signal?.aborted === true;

  async function drain(slot: Slot): Promise<void> {
    try {
      while (next < jobs.length && !stopped()) {
        const index = next++;
        const job = jobs[index]!;
        const skipped = options.skip?.(job);
        if (skipped === undefined) options.onStart?.(job);
        const run = skipped === undefined ? await runOne(slot, job) : notRunRun(job, skipped);
        if (stopped() && run.error !== undefined) break;
        results[index] = run;
        options.onDone?.(run, job);
      }
    } catch (error) {
      failure ??= { error };
      for (const s of slots) s.worker?.kill("SIGKILL");
    }
  }

  const count = poolWorkers(options.jobs, jobs.length);
  for (let i = 0; i < count; i++) slots.push({ worker: undefined, ready: undefined, stderr: "" });
  try {
    // Every drain settles (none can throw) before the workers are stopped.
    await Promise.all(slots.map(drain));
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    await Promise.all(
      slots.map(async (slot) => (slot.worker !== undefined ? stopWorker(slot.worker) : undefined)),
    );
  }
  if (failure !== undefined) throw failure.error;
  return results.filter((r): r is SeedRun => r !== undefined);
}
