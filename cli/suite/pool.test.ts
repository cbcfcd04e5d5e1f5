/**
 * The worker pool: jobs spread over at most N worker processes, a worker that dies takes only its
 * own seed with it (undecided, with the worker's last words) and is replaced, a run past its
 * wall-clock bound is killed, and when the pool ends no worker process is left.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { childrenOf, commandLine, processAlive } from "../../harness/runtime/process/procfs.ts";
import { runPool, workerEntryFor, type WorkerEntry } from "./pool.ts";
import type { SeedJob } from "./seedRun.ts";

const fixture: WorkerEntry = {
  ...workerEntryFor(import.meta.url),
  file: fileURLToPath(new URL("./fixtures/worker.ts", import.meta.url)),
};

const job = (seed: number): SeedJob => ({
  row: "r",
  args: ["--system", "memory", "--workload", "register", "--nemesis", "none"],
  seed,
  store: "/nonexistent",
  keep: "none",
});

async function waitFor(condition: () => boolean, limitMs = 30_000): Promise<boolean> {
  for (let waited = 0; waited < limitMs; waited += 100) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

/** Pids of this process's live children whose command line mentions `what`. */
function childrenRunning(what: string): number[] {
  return childrenOf(process.pid).filter((pid) => commandLine(pid)?.includes(what) === true);
}

describe("the worker pool", () => {
  it("runs every job once on at most N workers, a dead worker costing only its own seed, and leaves no worker behind", async () => {
    const jobs = [1, 2, 13, 4, 5, 6, 14, 8].map(job);
    const done: number[] = [];
    const runs = await runPool(
      jobs,
      { jobs: 2, runTimeoutMs: 3_000, onDone: (r) => done.push(r.seed) },
      fixture,
    );
    expect(runs.map((r) => r.seed)).toEqual([1, 2, 13, 4, 5, 6, 14, 8]);
    expect([...done].sort((a, b) => a - b)).toEqual([1, 2, 4, 5, 6, 8, 13, 14]);
    const died = runs.find((r) => r.seed === 13)!;
    expect(died.valid).toBe("unknown");
    expect(died.error).toMatch(/worker process died \(exit code 3\): fixture worker: dying on seed 13/);
    const hung = runs.find((r) => r.seed === 14)!;
    expect(hung.valid).toBe("unknown");
    expect(hung.error).toMatch(/longer than 3 s of real time; its worker was killed/);
    const fine = runs.filter((r) => r.error === undefined);
    expect(fine).toHaveLength(6);
    // `operations` carries the fixture's pid: at most 2 at a time, plus the 2 replacements.
    const pids = [...new Set(fine.map((r) => r.operations))];
    expect(pids.length).toBeLessThanOrEqual(4);
    for (const pid of pids) expect(processAlive(pid), `worker ${pid}`).toBe(false);
  }, 60_000);

  it("stops at once on abort, killing its workers, and reports only what finished", async () => {
    const controller = new AbortController();
    const jobs = [14, 14, 1, 2].map(job);
    const pending = runPool(jobs, { jobs: 2, signal: controller.signal }, fixture);
    // Both workers hang on seed 14: abort once they are up.
    expect(await waitFor(() => childrenRunning("fixtures/worker").length === 2)).toBe(true);
    controller.abort();
    const runs = await pending;
    expect(runs).toEqual([]);
    expect(childrenRunning("fixtures/worker")).toEqual([]);
  }, 60_000);

  it("on a failure of its own (a throwing onDone) kills every worker, starts none after, and rejects with it", async () => {
    // One worker hangs on seed 14 while the other's first result makes onDone throw; jobs remain.
    const jobs = [14, 1, 2, 3, 4].map(job);
    const started: number[] = [];
    const pending = runPool(
      jobs,
      {
        jobs: 2,
        onDone: () => {
          if (started.length > 0) return; // Only the first time: the other drain must stop by itself.
          started.push(...childrenRunning("fixtures/worker"));
          throw new Error("the progress view broke");
        },
      },
      fixture,
    );
    await expect(pending).rejects.toThrow("the progress view broke");
    expect(started.length).toBeGreaterThan(0);
    expect(childrenRunning("fixtures/worker")).toEqual([]);
    // Nor does one start late, from a drain still running.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(childrenRunning("fixtures/worker")).toEqual([]);
    for (const pid of started) expect(processAlive(pid), `worker ${pid}`).toBe(false);
  }, 60_000);
});

describe("the worker's entry", () => {
  it("is worker.ts with tsx's loader from the sources, and the bundle's worker.js with no loader from a compiled tree", () => {
    const fromSources = workerEntryFor(pathToFileURL("/x/cli/suite/pool.ts").href);
    expect(fromSources.file).toBe("/x/cli/suite/worker.ts");
    expect(fromSources.nodeOptions.join(" ")).toMatch(/--import file:\/\/.*tsx.*loader\.mjs/);
    const compiled = workerEntryFor(pathToFileURL("/x/dist/cli/suite/pool.js").href);
    expect(compiled.file).toBe("/x/dist/bundle/worker.js");
    expect(compiled.nodeOptions.join(" ")).not.toContain("--import");
    // The worker module itself exists beside the pool.
    expect(readFileSync(new URL("./worker.ts", import.meta.url), "utf8")).toContain("runSeed");
  });
});
