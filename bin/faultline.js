#!/usr/bin/env -S node --max-semi-space-size=32 --no-concurrent-recompilation --initial-old-space-size=64
// The installed entry point. It runs the compiled CLI in dist/ (built by `npm ci` through the
// `prepare` script, and shipped as is in the package), so a start costs no TypeScript
// compilation, and bundled (dist/bundle/, build/bundleCli.mjs), so a start resolves and reads a
// handful of files rather than every module it uses (Node's ESM loader reads each through four
// asynchronous file calls): a check of a small append history 0.95× CPU, kv c50-ok 0.93-0.98×.
// In a source checkout whose sources, or the build's other inputs (its bundling steps, the
// installed zod), changed after the last build (or that has no build), it runs the sources
// through tsx instead, so a stale build never answers for new code; `npm run build` makes the
// start fast again.
//
// Node's flags (the first line): a young generation that may grow to 32 MiB, and optimised code
// compiled on this thread when V8 asks for it, not queued for a helper thread: a command's hot
// loops are short-lived, and on a busy machine the queued compile waited while the loop ran
// unoptimised (kv c50-ok checked whole process: CPU 0.91×, wall 0.92×; etcd ×102 CPU 0.94×; memory
// and engine runs of 60 s CPU 0.94× and 0.91×; a 100k-transaction append check 0.88×). The young
// generation is not fixed at 32 MiB from the start (--min-semi-space-size): reserving it cost every
// start its page faults, and on this 2-core machine in December 2026 it cost more than the
// collections it saved (without it, paired: etcd ×102 wall 0.73×, `--help` 0.89×, a
// 100k-transaction check 0.85×, the memory run 0.90×, kv c50-ok and the engine run 1.0×).
// The old generation may reach 64 MiB before its first full collection (--initial-old-space-size;
// V8 starts it far smaller and grows it): when a run kept its whole history in memory (before it
// checked the history from its file, cli/runHistory.ts), the memory run of 60 s did one
// mark-compact (about 15 ms) part-way through its simulation; with the flag it did none. A threshold, not a reservation: pages are taken as they are used. Paired, whole
// process, December 2026: the memory run of 60 s CPU 0.94× (15 pairs, peak 92 MiB instead of 97),
// the engine's default run 0.97× (9 pairs), a check of a 136k-line history 0.98×, `--help` 1.00×;
// 128 MiB was no better than 64. Gate and sweep workers (cli/suite/pool.ts) keep their own flags:
// not measured with it.
//
// On V8 11 (Node 20/21), a tier-up budget about twice V8's default of 67584, set here before any of
// the CLI is loaded (it holds for functions compiled after it; the first line has no room for it:
// some Linux kernels read only its first 127 characters): a function is optimised once it has
// run about twice as long, so the one-off loops of a short command (reading and preparing a
// history, a search's trial phases) are less often compiled, or compiled and then thrown away,
// before their feedback settles. A cold kv c50-ok check compiled 28 functions instead of 43, with
// 2 deoptimisations instead of 4 (compile time about a third less). Later V8s tier up otherwise
// (Maglev first), so they keep their own budget. A request for help runs no loop and keeps the
// default: setting the flag costs a start about 3 ms (`--help` 1.025× with it, 31 pairs).
// `run` waits four times longer again: a run passes through far more code than a check (the
// simulated world, the system, the workload, then checking and reports), most of it hot for a
// moment only, and each compile stops this thread (see --no-concurrent-recompilation above).
// Paired, whole process, December 2026: the memory run of 60 s CPU 0.78×, wall 0.83× (12 pairs);
// the engine's default run CPU 0.97× (4 pairs); 32 times the default was no faster than 8. A check
// keeps twice the default (kv c50-ok: 1.06× CPU with the longer wait, 1.08× with V8's own). Gates
// and sweeps run their rows in worker processes of their own, started with these flags and the
// `run` budget (cli/suite/pool.ts).
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";

const asksForHelp = process.argv.includes("--help") || process.argv.includes("-h");
if (process.versions.v8.startsWith("11.") && !asksForHelp)
  setFlagsFromString(`--interrupt-budget=${process.argv[2] === "run" ? 540672 : 135168}`);

const root = fileURLToPath(new URL("../", import.meta.url));
const compiled = `${root}dist/bundle/main.js`;
const sourceFolders = ["cli", "harness", "checkers", "systems", "nemeses", "workloads", "reports"];

/** The newest modification time (ms) of the sources the build compiles under `folder`. */
function newestSourceMs(folder) {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory()) {
      const ms = newestSourceMs(path);
      if (ms > newest) newest = ms;
    } else if (/\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name)) {
      // Tests are not built: editing one leaves the build current. (A plain walk with file types,
      // rather than a recursive readdir and a stat of every test too: a few ms of every start.)
      const ms = statSync(path).mtimeMs;
      if (ms > newest) newest = ms;
    }
  }
  return newest;
}

/** True when this is a source checkout with no build, or with a source (or build input) newer than the build. */
function buildIsStale() {
  if (!existsSync(`${root}cli/main.ts`)) return false; // an installed package: dist is all there is
  if (!existsSync(compiled)) return true;
  const builtMs = statSync(compiled).mtimeMs;
  // The build's other inputs (harness/runtime/process/compiledBuild.ts: buildInputs): its zod
  // and CLI bundling steps and the zod it bundles.
  const inputChanged = ["build/vendorZod.mjs", "build/bundleCli.mjs", "node_modules/zod/package.json"].some(
    (input) => existsSync(`${root}${input}`) && statSync(`${root}${input}`).mtimeMs > builtMs,
  );
  return inputChanged || sourceFolders.some((folder) => newestSourceMs(`${root}${folder}`) > builtMs);
}

let main;
if (buildIsStale()) {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../cli/main.ts"));
} else {
  ({ main } = await import(compiled));
}
/**
 * Resolves once everything written to `stream` so far has reached the operating system, or the
 * reader went away. A write to a pipe whose buffer (64 KiB) is full is queued in this process and
 * finishes as the reader reads: exiting before that loses the rest (`check --json … | jq` got the
 * first 64 KiB of the output). An empty write's callback runs after every earlier write's. A
 * reader that closed the pipe (`| head`) makes the write fail with EPIPE: the rest has nowhere to
 * go, so that ends the wait too, without an error of its own. No time bound: a slow reader is
 * waited for as by any command in a pipeline; losing output would be worse.
 */
function written(stream) {
  return new Promise((resolve) => {
    stream.on("error", () => resolve());
    stream.write("", () => resolve());
  });
}

const code = await main(process.argv.slice(2), { ownsProcess: true });
await Promise.all([written(process.stdout), written(process.stderr)]);
// Then exit at once: waiting for the event loop to drain can hang at shutdown once a plugin was
// loaded through tsx's module hooks thread (seen with real-process plugins: a spinning exit after
// the verdict).
process.exit(code);
