// The static checks of `npm test` (the type checker, the linter and the formatter check) at the same
// time: each is one single-threaded process of 10-20 s of CPU, so on a machine with more than one
// core running them one after another leaves cores idle. Each one's output is printed whole, in a
// fixed order, once it ends; the exit code is non-zero when any of them failed, and the failures
// are named. Every child is waited for, so none outlives this script.
import process from "node:process";
import { execa } from "execa";

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
