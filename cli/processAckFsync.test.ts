/**
 * Process mode (`faultline run --mode process`), `--bug ack-before-fsync` on a standalone server
 * under kill -9: lost acknowledged writes must be found. A kill loses an add only if one was
 * acknowledged since the last background fsync (every 10 ms), so the run needs the machine to
 * answer in time: a fresh-clone CI run beside the matrix gate at the same priority (two workers of
 * its own) missed on all of seeds 1-3, where alone at low load seed 1 found them every time. So this
 * file is its own, vitest.config.ts's slowest-first list starts it early, beside the gate now run at
 * a low CPU priority (which yields to it: seed 1 found them in three runs of three, where beside
 * the gate at the same priority seed 1 missed in two of two), and it tries up to twelve seeds, each
 * only when the last found nothing (beside the gate at the same priority about one seed in two
 * found them; at load 4, three of six).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { catchesInProcessMode, runInProcessMode } from "./processTestkit.ts";

let store: string;
beforeAll(() => {
  store = mkdtempSync(join(tmpdir(), "faultline-process-ack-"));
});
afterAll(() => {
  rmSync(store, { recursive: true, force: true, maxRetries: 5 });
});

describe("process mode: a crash between acknowledgement and fsync", () => {
  it("--bug ack-before-fsync (a standalone server, kill -9): lost acknowledged writes found", async () => {
    await catchesInProcessMode(
      (args) => runInProcessMode(store, args),
      [
        ...["--system", "engine", "--replication", "async", "--nodes", "1", "--workload", "set"],
        ...["--nemesis", "crash", "--nemesis-interval", "2", "--time-limit", "10", "--rate", "300"],
        ...["--bug", "ack-before-fsync"],
      ],
      "set-full",
      "lost",
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );
  });
});
