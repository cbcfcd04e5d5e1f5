import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const root = fileURLToPath(new URL(".", import.meta.url));

/**
 * The order files start in, on this 2-core machine: the matrix run as `faultline gate` (two worker
 * processes of its own, both cores busy for about a minute), then the files that mostly wait on
 * real processes and real time (process mode, etcd, PostgreSQL), then the longest CPU-bound ones.
 * The waiting files run beside the gate, in the suite's other workers (see maxWorkers below): they
 * use a few seconds of CPU over 10-45 s each, which the gate's two processes leave to them, where
 * after the gate each one held a worker beside a single CPU-bound file and left a core idle.
 * `cli/processAckFsync.test.ts` needs the machine to answer within milliseconds, so it is listed
 * after the first CPU-bound files: it starts once they are under way (the gate has ended), not
 * beside the gate. Left out of the list it started among the last files and was often the last to
 * end: it tries seeds one after another until one finds the bug, 13-15 s each, and took 41 s and
 * 55 s (3 and 4 seeds) in two fresh-clone runs at load 9-13, ending 13 s and 7 s after every other
 * file; started earlier, the seeds it needs run beside CPU-bound files instead of after them. Vitest
 * orders by the durations it cached from the last run when it has them, but a fresh clone (CI) has
 * none and ran the files in the order it found them: the matrix began minutes in. A name missing
 * here only costs time, never a test.
 */
const slowestFirst = [
  "cli/expectations.test.ts",
  // Waiting on real processes and real time.
  "cli/process.test.ts",
  "examples/etcd/etcd.test.ts",
  "cli/postgres-replication.test.ts",
  "cli/processLifecycle.test.ts",
  "systems/engine/cluster/process.test.ts",
  "cli/postgres.test.ts",
  "harness/runtime/process/world.test.ts",
  "cli/postgres-cleanup.test.ts",
  // CPU-bound.
  "readme.test.ts",
  "systems/engine/cluster/cluster.test.ts",
  "cli/shrink.test.ts",
  "cli/package.test.ts",
  "examples/examples.test.ts",
  "cli/processAckFsync.test.ts",
  "cli/runKnobs.test.ts",
  "nemeses/storageCut.e2e.test.ts",
  "checkers/linearizable/corpus.test.ts",
  "cli/suite/pool.test.ts",
];

class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification): number => {
      const at = slowestFirst.indexOf(relative(root, spec.moduleId));
      return at === -1 ? slowestFirst.length : at;
    };
    // Array.prototype.sort is stable: the other files keep the base sequencer's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}

/**
 * What in a test file's text marks it as one that must have a process of its own: it starts
 * processes or servers, loads plugins, changes the working folder or the environment, mocks
 * modules or timers, or runs in real time (or times itself). Every other file (pure computation
 * on simulated time, most of the suite by count) shares a worker process with the files before
 * it, skipping a Node start and a fresh import of vitest and the harness: about 0.3 s of CPU a
 * file, 37 s against 14 s for the 84 shortest files.
 *
 * The words are matched so that they name the thing, not text that merely contains it: `--mode`
 * but not `--model`, the string "process" but not a history line's `"process":` key, the etcd
 * example's servers but not Porcupine's etcd logs in the corpus, `globalThis` but not a
 * `globalThis.setImmediate` tick (the engine's tests yield to the event loop that way).
 */
const needsOwnProcess =
  /execa|child_process|process\.(chdir|env|on\b|exit)|vi\.(mock|stub|useFakeTimers)|loadRunPlugins|bin\/faultline|--mode\b|"process"(?!\s*:)|Real(World|Time)|ProcessWorld|performance\.now|(?<!node-)postgres|etcdInstalled|examples\/etcd|globalThis(?!\.setImmediate\b)/;

/** The repository's test files (`*.test.ts`, `*.test.tsx`), relative to its root. */
function testFilesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      // node_modules anywhere; the top-level store/ (runs) and dist/ (the build) only.
      const skipped = entry.name === "node_modules" || (dir === "" && ["store", "dist"].includes(entry.name));
      if (!skipped && !entry.name.startsWith(".")) found.push(...testFilesUnder(path));
    } else if (/\.test\.tsx?$/.test(entry.name)) found.push(path);
  }
  return found;
}
const ownProcess: string[] = [];
const sharedProcess: string[] = [];
for (const file of testFilesUnder(""))
  (needsOwnProcess.test(readFileSync(join(root, file), "utf8")) ? ownProcess : sharedProcess).push(file);

export default defineConfig({
  // Examples import the package by name, as a user's plugin does (tsconfig.json's paths, likewise).
  resolve: { alias: { faultline: fileURLToPath(new URL("./cli/api.ts", import.meta.url)) } },
  test: {
    projects: [
      { extends: true, test: { name: "own-process", include: ownProcess } },
      { extends: true, test: { name: "shared-process", include: sharedProcess, isolate: false } },
    ],
    // Bounds for a hang, not for speed: a test's work can take five times as long on a shared
    // machine at load 20 (the 200-seed cluster property passed 120 s there).
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks",
    // The workers' young generation may grow to semi-spaces of 32 MiB, as the bin's may
    // (bin/faultline.js says why; V8's default on Node 20 stops at 16 MiB): the suite's simulations
    // and checks run in the workers themselves, allocating as a run does, and a smaller young
    // generation promotes more to the old one and collects more often. Paired, whole process, 3
    // pairs each at load 7-12: the shared-process project CPU 0.89x (90.1 s against 96.9 s), wall
    // 0.84x; ten of its most CPU-bound files (the engine's cluster, recovery and standalone
    // properties, Elle's and the linearizability checker's corpora and oracles) CPU 0.92x. The
    // bin's other two flags are left out: with --no-concurrent-recompilation and the run's tier-up
    // budget as well, those ten files took 0.85x the CPU, but the shared-process project took 1.15x
    // the wall time (its CPU 0.91x) on this loaded machine.
    execArgv: ["--max-semi-space-size=32"],
    // The run's own temporary folder, checked for leftovers at the end (vitest.tmpdir.ts).
    globalSetup: ["./vitest.tmpdir.ts"],
    sequence: { sequencer: SlowestFirst },
    // Vitest's default on a 2-core machine is one worker (cores - 1): every file in series, a core
    // idle while a test waits on real processes or real time (process mode, etcd, the README's
    // runs, npm). One worker more than the cores: while the gate's own two processes fill both
    // cores, two workers take the files that wait on real time (slowestFirst above), and a file that
    // waits leaves its core to the others. Tests that wait on real time wait for events with generous
    // bounds, so sharing the machine makes them slower, not flaky.
    maxWorkers: Math.max(3, availableParallelism() + 1),
  },
});
