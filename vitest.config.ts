import { availableParallelism } from "node:os";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const root = fileURLToPath(new URL(".", import.meta.url));

/**
 * The files that take longest, longest first (wall time measured on this 2-core machine): the
 * matrix run as `faultline gate` (two worker processes of its own, about 40% of the suite's CPU),
 * then the files that mostly wait on real processes and real time (process mode, etcd, PostgreSQL,
 * npm) and the longest CPU-bound ones. Started first, they overlap with the many short files
 * instead of one of them starting last and running alone at the end. Vitest orders by the
 * durations it cached from the last run when it has them, but a fresh clone (CI) has none and ran
 * the files in the order it found them: the matrix began minutes in. A name missing here only
 * costs time, never a test.
 */
const slowestFirst = [
  "cli/expectations.test.ts",
  "cli/process.test.ts",
  "cli/shrink.test.ts",
  "readme.test.ts",
  "examples/etcd/etcd.test.ts",
  "systems/engine/cluster/cluster.test.ts",
  "cli/package.test.ts",
  "cli/postgres-replication.test.ts",
  "examples/examples.test.ts",
  "cli/postgres-cleanup.test.ts",
  "cli/runKnobs.test.ts",
  "nemeses/storageCut.e2e.test.ts",
  "cli/postgres.test.ts",
  "checkers/linearizable/corpus.test.ts",
  "cli/suite/pool.test.ts",
  "systems/engine/cluster/process.test.ts",
  "cli/processLifecycle.test.ts",
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

export default defineConfig({
  // Examples import the package by name, as a user's plugin does (tsconfig.json's paths, likewise).
  resolve: { alias: { faultline: fileURLToPath(new URL("./cli/api.ts", import.meta.url)) } },
  test: {
    include: ["**/*.test.ts", "**/*.test.tsx"],
    exclude: ["node_modules/**", "store/**", "dist/**"],
    // Bounds for a hang, not for speed: a test's work can take five times as long on a shared
    // machine at load 20 (the 200-seed cluster property passed 120 s there).
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks",
    sequence: { sequencer: SlowestFirst },
    // Vitest's default on a 2-core machine is one worker (cores - 1): every file in series, a core
    // idle while a test waits on real processes or real time (process mode, etcd, the README's
    // runs, npm). At least two workers keep both cores busy; tests that wait on real time wait for events
    // with generous bounds, so sharing the machine makes them slower, not flaky.
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
