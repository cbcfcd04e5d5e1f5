import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

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
    // Vitest's default on a 2-core machine is one worker (cores - 1): every file in series, a core
    // idle while a test waits on real processes or real time (process mode, etcd, the README's
    // runs, npm). At least two workers keep both cores busy; tests that wait on real time wait for events
    // with generous bounds, so sharing the machine makes them slower, not flaky.
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
