// The static checks of `npm test` (the type checker, the linter and the formatter check) at the same
// time: each is one single-threaded process of 10-20 s of CPU, so on a machine with more than one
// core running them one after another leaves cores idle. Each one's output is printed whole, in a
// fixed order, once it ends; the exit code is non-zero when any of them failed, and the failures
// are named. Every child is waited for, so none outlives this script.
//
// Each check keeps what it found about unchanged files in node_modules/.cache/faultline/ (the
// package.json scripts say how: tsc's incremental build info, eslint's and prettier's caches keyed
// by each file's content, the tool's version and its configuration), so a second `npm test` checks
// only what changed: about 15 s of CPU instead of about 60. A fresh clone (and `npm ci`, which
// replaces node_modules) starts with no cache and checks everything, but for the sources' types:
// the build (`npm ci` runs it) checked those and left its build info there (tsconfig.typecheck.json).
//
// With `--lowest-priority` (as .ci/test.mjs runs it, beside the test suite) this script and every
// check it starts run at nice 19 (the checks inherit it), so they take only CPU the suite leaves idle.
import { setPriority } from "node:os";
import process from "node:process";
import { execa } from "execa";

if (process.argv.includes("--lowest-priority")) setPriority(19);

const checks = ["typecheck", "lint", "format:check"];

const results = await Promise.all(
  checks.map((script) =>
    execa("npm", ["run", "--silent", script], { all: true, reject: false, stdin: "ignore" }),
  ),
);
const failed = [];
checks.forEach((script, i) => {
  const result = results[i];
  const output = (result.all ?? "").trimEnd();
  const ok = result.exitCode === 0;
  if (!ok) failed.push(script);
  process.stdout.write(
    `${ok ? "✓" : "✗"} npm run ${script}${ok ? "" : ` (exit ${result.exitCode ?? result.signal})`}\n`,
  );
  if (output !== "") process.stdout.write(`${output}\n`);
});
if (failed.length > 0) {
  process.stderr.write(`static checks failed: ${failed.join(", ")}\n`);
  process.exit(1);
}
