// `npm test`: the test suite (vitest) and the static checks (.ci/static-checks.mjs) at the same
// time, the checks at the lowest CPU priority. The suite leaves a core idle for minutes on end (a
// worker waiting on real processes and real time: process mode, PostgreSQL, etcd, npm), and the
// checks are about 50 s of CPU on a fresh clone: run first, they added their own 20-25 s to the
// wall time of every `npm test` on a 2-core machine; beside the suite at nice 19 they take what the
// suite leaves idle and yield at once to its tests (which keep their priority, so tests that wait
// on real time are no more loaded than before).
//
// The suite's output streams as it comes; the checks' output is printed once both have ended (so
// it never splits vitest's lines), then the exit code: non-zero when either failed, and the failed
// one is named. Arguments go to vitest (`npm test -- cli/run.test.ts`). Both children are waited
// for, so neither outlives this script.
import { join } from "node:path";
import process from "node:process";
import { execa } from "execa";

const staticChecks = join(import.meta.dirname, "static-checks.mjs");

const checks = execa(process.execPath, [staticChecks, "--lowest-priority"], {
  all: true,
  reject: false,
  stdin: "ignore",
});
const suite = execa("vitest", ["run", ...process.argv.slice(2)], {
  preferLocal: true,
  reject: false,
  stdio: "inherit",
});
const [suiteResult, checksResult] = await Promise.all([suite, checks]);

const checksOutput = (checksResult.all ?? "").trimEnd();
if (checksOutput !== "") process.stdout.write(`\n${checksOutput}\n`);
const failed = [
  ...(suiteResult.exitCode === 0 ? [] : [`vitest (exit ${suiteResult.exitCode ?? suiteResult.signal})`]),
  ...(checksResult.exitCode === 0 ? [] : ["the static checks"]),
];
if (failed.length > 0) {
  process.stderr.write(`npm test failed: ${failed.join(", ")}\n`);
  process.exit(1);
}
