/**
 * A file the user hands a command (a suite, a stored run's test.json, a shard's runs.jsonl) that is
 * no regular file, or larger than its bound, is refused in one line naming it, exit 254. Before, a
 * suite named /dev/zero was read forever, a pipe (as a suite or a test.json) waited for a writer
 * forever, and `faultline sweep --out` over a folder holding a runs.jsonl folder was an internal
 * error with a stack trace (exit 255). Run through the bin with a time limit, so that a command
 * that reads forever fails the test rather than holding it.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../bin/faultline.js", import.meta.url));
let scratch = "";
let runDir = "";

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "faultline-input-files-"));
  const store = join(scratch, "store");
  const run = await execa(
    "node",
    [bin, "run", "--system", "memory", "--workload", "register", "--nemesis", "none"].concat([
      "--time-limit",
      "1",
      "--seed",
      "1",
      "--store",
      store,
      "--quiet",
    ]),
    { reject: false },
  );
  if (run.exitCode !== 0) throw new Error(`the fixture run failed: ${run.stderr}`);
  runDir = join(store, readlinkSync(join(store, "latest")));
}, 60_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The command's exit and stderr, the command stopped after `timeoutMs` (a read that never ends). */
async function faultline(args: string[], timeoutMs = 30_000) {
  const r = await execa("node", [bin, ...args], { reject: false, timeout: timeoutMs, cwd: scratch });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut };
}

async function expectRefused(args: string[], pattern: RegExp): Promise<void> {
  const r = await faultline(args);
  expect(r.timedOut, `${args.join(" ")}: read forever`).toBe(false);
  expect(r.code, r.stderr).toBe(254);
  expect(r.stderr.split("\n"), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

function fifo(path: string): string {
  execFileSync("mkfifo", [path]);
  return path;
}

describe("a file handed to a command that is no regular file", () => {
  it("as a suite: a device or a pipe is refused, not read forever", async () => {
    await expectRefused(
      ["gate", "/dev/zero"],
      /^faultline gate: \/dev\/zero: expected a file \(a suite file\), found a device$/,
    );
    const pipe = fifo(join(scratch, "suite-pipe.yaml"));
    await expectRefused(["gate", pipe], /suite-pipe\.yaml: expected a file \(a suite file\), found a pipe$/);
    await expectRefused(
      ["sweep", pipe, "--seeds", "1..2", "--out", join(scratch, "sw-pipe")],
      /found a pipe$/,
    );
  });

  it("as a stored run's test.json: a folder or a pipe is refused by report, check and shrink", async () => {
    const testJson = join(runDir, "test.json");
    const saved = join(scratch, "test.json.saved");
    execFileSync("mv", [testJson, saved]);
    try {
      mkdirSync(testJson);
      await expectRefused(
        ["report", runDir],
        /test\.json: expected a file \(test\.json, the resolved test config\), found a folder$/,
      );
      await expectRefused(
        ["shrink", runDir],
        /test\.json: expected a file \(the run's config\), found a folder$/,
      );
      const check = await faultline(["check", join(runDir, "history.jsonl")]);
      // check names the file on its verdict line.
      expect(check.code, check.stderr).toBe(254);
      expect(check.stdout).toMatch(/test\.json: expected a file \(the run's config\), found a folder/);
      rmSync(testJson, { recursive: true });
      fifo(testJson);
      await expectRefused(["report", runDir], /found a pipe$/);
      await expectRefused(["shrink", runDir], /found a pipe$/);
    } finally {
      rmSync(testJson, { recursive: true, force: true });
      execFileSync("mv", [saved, testJson]);
    }
    // The run folder as it was: read as before.
    expect((await faultline(["report", runDir])).code).toBe(0);
  });

  it("as a sweep's runs.jsonl in --out: a folder is refused in one line, not a stack trace", async () => {
    const suite = join(scratch, "s.yaml");
    writeFileSync(
      suite,
      "rows:\n  - name: mem\n    run: { system: memory, workload: register, nemesis: none, time-limit: 1 }\n    seeds: 1\n    expect: valid\n",
    );
    const out = join(scratch, "sweep-out");
    mkdirSync(join(out, "runs.jsonl"), { recursive: true });
    writeFileSync(join(out, "sweep.json"), "{}\n");
    await expectRefused(
      ["sweep", suite, "--seeds", "1..2", "--out", out],
      /^faultline sweep: --out: .*sweep-out holds a sweep already/,
    );
  });
});
