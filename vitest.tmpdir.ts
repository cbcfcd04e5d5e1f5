/**
 * Vitest's global setup: every `vitest run` gets a temporary folder of its own, and fails if its
 * tests leave anything in it.
 *
 * Tests make scratch folders under `os.tmpdir()` (stores, histories, node data), and so do the
 * processes they start (the bin, process-mode nodes, PostgreSQL's and etcd's data): all of them
 * read TMPDIR, which this sets for the run before any worker starts (workers and their children
 * inherit it). A test that forgets to remove what it made used to leave it in /tmp for good (about
 * a hundred folders a run, some of 250 MB); now it is named at the end of the run, which then exits
 * non-zero, and the folder is removed either way, so no run leaves anything behind.
 *
 * What is not a leftover: tsx's transform cache (`tsx-<uid>`, which tsx keeps in the temporary
 * folder), and Node's compile cache (`node-compile-cache`: on Node 22 and later TypeScript's
 * `tsc` and ESLint turn it on with `module.enableCompileCache()`, whose folder is in the temporary
 * folder unless NODE_COMPILE_CACHE says otherwise), each linked here to the machine's own so that
 * it lasts from run to run.
 * Folders that a watchdog process removes once the process that made them has exited (the
 * PostgreSQL initdb template of each test worker) may still be going when the last test ends: the
 * check waits for the folder to empty, a bounded time, before it names what is left.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Set once the run's folder exists: projects each run the global setup, only the first owns it. */
const ownerMark = "FAULTLINE_TEST_TMPDIR";
/** How long leftovers may take to go (watchdogs notice their parent's exit within a second). */
const settleLimitMs = 15_000;
const settlePollMs = 100;

/** The entries of `folder` other than `kept`, sorted. */
function leftovers(folder: string, kept: ReadonlySet<string>): string[] {
  return existsSync(folder)
    ? readdirSync(folder)
        .filter((name) => !kept.has(name))
        .sort()
    : [];
}

/**
 * What stays in `folder` (besides `kept`) once it has had up to `limitMs` to empty: an empty list
 * as soon as it is empty, else what is still there at the limit.
 */
export async function settledLeftovers(
  folder: string,
  kept: ReadonlySet<string>,
  limitMs = settleLimitMs,
): Promise<string[]> {
  let left = leftovers(folder, kept);
  for (let waitedMs = 0; left.length > 0 && waitedMs < limitMs; waitedMs += settlePollMs) {
    await sleep(settlePollMs);
    left = leftovers(folder, kept);
  }
  return left;
}

export function setup(): (() => Promise<void>) | undefined {
  if (process.env[ownerMark] !== undefined) return undefined;
  const machineTmp = tmpdir();
  const runTmp = mkdtempSync(join(machineTmp, "faultline-tests-"));
  // Open to other users to enter (not to list): PostgreSQL runs as `postgres` and must reach its
  // data folders under the tests' stores.
  chmodSync(runTmp, 0o711);
  const uid = process.geteuid?.() ?? userInfo().username;
  const caches = [`tsx-${uid}`, "node-compile-cache"];
  for (const cache of caches) {
    mkdirSync(join(machineTmp, cache), { recursive: true, mode: 0o700 });
    symlinkSync(join(machineTmp, cache), join(runTmp, cache));
  }
  const kept = new Set(caches);
  process.env[ownerMark] = runTmp;
  process.env["TMPDIR"] = runTmp;

  return async () => {
    process.env["TMPDIR"] = machineTmp;
    delete process.env[ownerMark];
    const left = await settledLeftovers(runTmp, kept);
    rmSync(runTmp, { recursive: true, force: true, maxRetries: 5 });
    if (left.length > 0) {
      process.exitCode = 1;
      console.error(
        `\nThe tests left ${left.length} entries in their temporary folder (now removed; each test must remove what it makes):\n` +
          left.map((name) => `  ${name}`).join("\n"),
      );
    }
  };
}
