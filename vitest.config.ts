import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const root = fileURLToPath(new URL(".", import.meta.url));

/**
 * The order files start in, on this 2-core machine. First the matrix run as `faultline gate` (two
 * worker processes of its own, about 70 s of CPU), at a low CPU priority (nice 10,
 * cli/expectations.test.ts): it takes whatever CPU the other files leave idle and yields to them
 * at once, so it fills the gaps of the whole run instead of holding both cores for its first
 * minute and a half. Then the files that wait on real processes and real time and need the machine
 * to answer within milliseconds (process mode, etcd, `cli/processAckFsync.test.ts`, which tries
 * seeds one after another, 13-15 s each, until one finds the bug): beside the gate at the same
 * priority they missed seeds and ran more of them, and the ack-before-fsync search, started late to
 * keep it away from the gate, was often the last file to end. Then the longest CPU-bound files, each
 * followed by one of the files that mostly wait (PostgreSQL, process-mode lifecycle), so that while
 * the gate has work left the suite's two other workers run about a core of work beside it, and once
 * it is done the machine still has a CPU-bound file for each core. Vitest orders by the durations it
 * cached from the last run when it has them, but a fresh clone (CI) has none and ran the files in
 * the order it found them: the matrix began minutes in. A name missing here only costs time, never
 * a test.
 */
const slowestFirst = [
  "cli/expectations.test.ts",
  // Waiting on real processes and real time, and sensitive to a loaded machine.
  "cli/process.test.ts",
  "examples/etcd/etcd.test.ts",
  "cli/processAckFsync.test.ts",
  // CPU-bound, longest first, each followed by a file that mostly waits.
  "systems/engine/cluster/cluster.test.ts",
  "cli/postgres-replication.test.ts",
  "cli/package.test.ts",
  "cli/processLifecycle.test.ts",
  "readme.test.ts",
  "systems/engine/cluster/process.test.ts",
  "cli/shrink.test.ts",
  "cli/postgres.test.ts",
  "systems/engine/recovery.test.ts",
  "harness/runtime/process/world.test.ts",
  "cli/run.test.ts",
  "cli/postgres-cleanup.test.ts",
  // CPU-bound, longest first.
  "examples/examples.test.ts",
  "systems/engine/cluster/standalone.test.ts",
  "checkers/elle/oracle.test.ts",
  "cli/sweep.test.ts",
  "cli/fullDisk.test.ts",
  "cli/gate.test.ts",
  "cli/checking.test.ts",
  "checkers/elle/txns.test.ts",
  "checkers/linearizable/corpus.test.ts",
  "cli/check.test.ts",
  "nemeses/storageCut.e2e.test.ts",
  "cli/runKnobs.test.ts",
  "cli/checkStoredStreamed.test.ts",
  "checkers/elle/within-txn.test.ts",
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
  /execa|child_process|process\.(chdir|env|on\b|exit)|vi\.(mock|stub|useFakeTimers)|loadRunPlugins|bin\/faultline|--mode\b|"process"(?!\s*:)|Real(World|Time)|ProcessWorld|performance\.now|postgres|etcdInstalled|examples\/etcd|globalThis(?!\.setImmediate\b)/;

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
    // The run's own temporary folder, checked for leftovers at the end (vitest.tmpdir.ts).
    globalSetup: ["./vitest.tmpdir.ts"],
    sequence: { sequencer: SlowestFirst },
    // Vitest's default on a 2-core machine is one worker (cores - 1): every file in series, a core
    // idle while a test waits on real processes or real time (process mode, etcd, the README's
    // runs, npm). One worker more than the cores: one waits on the gate, whose own two processes
    // take the CPU left idle (slowestFirst above), and two take the other files; a file that waits
    // leaves its core to the others. Tests that wait on real time wait for events with generous
    // bounds, so sharing the machine makes them slower, not flaky.
    maxWorkers: Math.max(3, availableParallelism() + 1),
  },
});
