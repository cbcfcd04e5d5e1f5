/**
 * A full disk, for real: a small tmpfs mounted for the test (root only; the test fails, not
 * skips, when it cannot mount one) and unmounted after it, by its path.
 *
 * What must hold: the verdict still reaches the terminal and the exit code; one line on stderr
 * says what could not be written; every artifact in the run folder is whole or absent (never a
 * 0-byte or half-written report, never a temporary file left behind; a streamed file such as
 * history.jsonl is cut at its last whole line); and `faultline report` on such a folder gives a
 * clear one-line error or the stored verdict, never a stack trace.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  statfsSync,
  writeFileSync,
  cpSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeRun } from "./execute.ts";
import { resolveRunConfig } from "./runConfig.ts";

const bin = new URL("../bin/faultline.js", import.meta.url).pathname;
const stackTrace = /^\s+at .*:\d+:\d+\)?$|node:internal/m;
const mounts: string[] = [];
let scratch: string;

/** Mounts a tmpfs of `sizeKb` KiB at a fresh folder and returns it. */
async function smallDisk(sizeKb: number): Promise<string> {
  const folder = mkdtempSync(join(scratch, "disk-"));
  const mounted = await execa("mount", ["-t", "tmpfs", "-o", `size=${sizeKb}k`, "tmpfs", folder], {
    reject: false,
  });
  if (mounted.exitCode !== 0) {
    throw new Error(
      `this test mounts a small tmpfs to fill a disk for real and needs root to do so: mount failed (${mounted.stderr.trim()})`,
    );
  }
  mounts.push(folder);
  return folder;
}

/** Fills `folder`'s file system, leaving about `leaveBytes` free. */
function fill(folder: string, leaveBytes: number): void {
  const fs = statfsSync(folder);
  const free = fs.bavail * fs.bsize;
  try {
    writeFileSync(join(folder, "filler"), Buffer.alloc(Math.max(0, free - leaveBytes)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  }
}

beforeAll(() => {
  if (process.getuid?.() !== 0) {
    throw new Error("this test mounts a small tmpfs to fill a disk for real: run it as root");
  }
  scratch = mkdtempSync(join(tmpdir(), "faultline-full-disk-"));
});

afterAll(async () => {
  for (const folder of mounts) {
    const r = await execa("umount", [folder], { reject: false });
    if (r.exitCode !== 0) await execa("umount", ["-l", folder], { reject: false });
  }
  rmSync(scratch, { recursive: true, force: true });
});

/** Every file under `dir`, relative, with its size. */
function files(dir: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    found.set(path.slice(dir.length + 1), statSync(path).size);
  }
  return found;
}

/** Artifacts written whole or not at all: present means non-empty and, for JSON, parseable. */
function expectWholeOrAbsent(dir: string): Map<string, number> {
  const found = files(dir);
  for (const [file, size] of found) {
    expect(file, "a temporary file was left behind").not.toMatch(/\.tmp$/);
    if (file.endsWith(".jsonl") || file.startsWith("nodes/")) continue; // streamed, checked below
    expect(size, `${file} is empty`).toBeGreaterThan(0);
    if (file.endsWith(".json"))
      expect(() => JSON.parse(readFileSync(join(dir, file), "utf8")), file).not.toThrow();
  }
  for (const streamed of ["history.jsonl", "runs.jsonl"]) {
    if (!found.has(streamed)) continue;
    const text = readFileSync(join(dir, streamed), "utf8");
    expect(text === "" || text.endsWith("\n"), `${streamed} ends inside a line`).toBe(true);
    for (const line of text.split("\n").filter((l) => l !== "")) expect(() => JSON.parse(line)).not.toThrow();
  }
  return found;
}

const run = (store: string, timeLimit: string) =>
  execa(
    "node",
    [
      bin,
      "run",
      "--system",
      "memory",
      "--workload",
      "register",
      "--nemesis",
      "none",
      "--time-limit",
      timeLimit,
      "--seed",
      "1",
      "--store",
      store,
    ],
    { reject: false, env: { CI: "true" } },
  );

describe("a full disk", () => {
  it("fills while the history streams: the verdict and its exit code still come, one line says what was lost", async () => {
    const disk = await smallDisk(64);
    const r = await run(join(disk, "store"), "5");
    expect(r.stdout).toContain("Verdict: VALID");
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^faultline run: could not write .*history\.jsonl \(cut short at a whole line: no space left on device \(ENOSPC\)\)/,
    );
    expect(lines[0]).toMatch(/results\.json/);
    expect(r.stderr + r.stdout).not.toMatch(stackTrace);
    // Checked in full: the file's whole lines read back, and every op after them kept in memory.
    const recorded = /seed 1 {2}([\d,]+) operations/.exec(r.stdout)?.[1]?.replaceAll(",", "");
    const checked = /(\d+) operations in \d+ parts are linearizable/.exec(r.stdout)?.[1];
    expect(Number(recorded)).toBeGreaterThan(100);
    expect(checked).toBe(recorded);

    const folder = join(disk, "store", "latest");
    const found = expectWholeOrAbsent(folder);
    expect(found.get("history.jsonl")).toBeGreaterThan(1000);
    expect(found.has("report.html")).toBe(false);

    // report on that folder: a clear error naming what is missing, not a crash.
    const report = await execa("node", [bin, "report", folder], { reject: false });
    expect(report.exitCode).toBe(254);
    expect(report.stderr).toMatch(/results\.json: missing; .*disk filled up/);
    expect(report.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(report.stderr).not.toMatch(stackTrace);
  });

  it("fills past what a run holds in memory: the run stops, unchecked and unknown, saying why", async () => {
    const disk = await smallDisk(64);
    const config = resolveRunConfig([
      ...["--system", "memory", "--workload", "append", "--nemesis", "none"],
      ...["--time-limit", "5", "--seed", "1", "--store", join(disk, "store"), "--quiet"],
    ]);
    if (config === "help") throw new Error("asked for help");
    // The append workload's history streams: held to the bound for op objects (20 operations,
    // 40 lines) only once the disk refuses it, after the hundreds of lines 64 KiB hold.
    const result = await executeRun(config, { maxOperations: 20 });
    expect(result.results.valid).toBe("unknown");
    expect(result.results.checkers["history"]?.reason).toMatch(
      /^the disk refused history\.jsonl, and the lines written to it before were not read back to be checked \(its \d+ lines are more than a run holds in memory \(40\)\): the history was not checked$/,
    );
    expect(result.results.interrupted?.signal).toBe(
      "its bound of 20 operations (a run's history is kept in memory to be checked)",
    );
  });

  it("already full when the run starts: the run is still checked in memory and its verdict printed", async () => {
    const disk = await smallDisk(64);
    mkdirSync(join(disk, "store"));
    fill(disk, 0);
    const r = await run(join(disk, "store"), "1");
    expect(r.stdout).toContain("Verdict: VALID");
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^faultline run: could not write test\.json, .*report\.html.* \(no space left on device \(ENOSPC\)\)/,
    );
    expectWholeOrAbsent(join(disk, "store", "latest"));
  });

  it("under a gate's and a sweep's closing files: the verdict still printed, each file whole or absent, one line on stderr", async () => {
    // Both were internal errors (exit 255, a stack trace); the gate left a 0-byte summary.json and
    // lost its verdict table, which it printed only after its files.
    const suite = join(scratch, "full-disk-suite.yaml");
    writeFileSync(
      suite,
      "name: s\nrows:\n  - name: mem\n    run: { system: memory, workload: register, nemesis: none, time-limit: 1 }\n    seeds: 1..2\n    expect: valid\n",
    );
    const disk = await smallDisk(64);
    const out = join(disk, "gate");
    mkdirSync(out);
    fill(disk, 0);
    const gate = await execa(
      "node",
      [bin, "gate", suite, "--out", out, "--store", join(scratch, "gate-store")],
      {
        reject: false,
        env: { CI: "true" },
      },
    );
    expect(gate.stdout).toMatch(/every row holds/);
    expect(gate.exitCode, gate.stderr).toBe(0);
    expect(gate.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(gate.stderr).toMatch(
      /^faultline gate: could not write .*summary\.json.* \(no space left on device \(ENOSPC\)\) in /,
    );
    expect(gate.stderr + gate.stdout).not.toMatch(stackTrace);
    expectWholeOrAbsent(out);

    // A sweep whose disk fills before its first run is recorded: stopped, and incomplete.
    const sweepDisk = await smallDisk(64);
    const shard = join(sweepDisk, "shard");
    mkdirSync(shard);
    fill(sweepDisk, 4096);
    const sweep = await execa(
      "node",
      [bin, "sweep", suite, "--seeds", "1..20", "--out", shard, "--jobs", "1"],
      {
        reject: false,
        env: { CI: "true" },
      },
    );
    expect(sweep.exitCode, sweep.stderr).toBe(2);
    expect(sweep.stderr).toMatch(
      /runs\.jsonl: could not record row mem seed \d+ \(no space left on device \(ENOSPC\)\); stopping/,
    );
    expect(sweep.stderr + sweep.stdout).not.toMatch(stackTrace);
    expectWholeOrAbsent(shard);
    const report = await execa(
      "node",
      [bin, "sweep", "report", shard, "--out", join(scratch, "sweep-report")],
      {
        reject: false,
      },
    );
    expect(report.exitCode, report.stderr).toBe(2);
    expect(report.stdout).toMatch(/UNKNOWN/);
  });

  it("under shrink's result: the smallest failing run still printed, shrink.json whole or absent", async () => {
    // shrink.json was written before the answer was printed: a full disk was an internal error
    // (exit 255) that took the whole search's answer with it.
    const roomy = join(scratch, "shrink-original");
    const failing = await execa(
      "node",
      [
        bin,
        ...["run", "--system", "engine", "--isolation", "snapshot", "--workload", "write-skew"],
        ...["--nemesis", "none", "--time-limit", "5", "--seed", "1", "--quiet", "--store", roomy],
      ],
      { reject: false },
    );
    expect(failing.exitCode, failing.stderr).toBe(1);
    const disk = await smallDisk(2048);
    fill(disk, 4096);
    const shrink = await execa(
      "node",
      [bin, "shrink", join(roomy, "latest"), "--store", join(disk, "store"), "--max-attempts", "3"],
      { reject: false, env: { CI: "true" } },
    );
    expect(shrink.exitCode, shrink.stderr).toBe(0);
    expect(shrink.stdout).toMatch(/^smallest failing run/m);
    expect(shrink.stdout).toMatch(/^reproduce: npx faultline run /m);
    expect(shrink.stderr).toMatch(
      /^faultline shrink: could not write .*shrink\.json.* \(no space left on device \(ENOSPC\)\)/m,
    );
    expect(shrink.stderr + shrink.stdout).not.toMatch(stackTrace);
  });

  it("refuses report --write's files whole: an old results.json stays whole, never 0 bytes", async () => {
    // A finished run, copied onto a small disk that is then filled to a few KiB from full.
    const roomy = join(scratch, "roomy");
    const r = await run(roomy, "1");
    expect(r.exitCode, r.stderr).toBe(0);
    const disk = await smallDisk(256);
    const folder = join(disk, "run");
    cpSync(join(roomy, "latest"), folder, { recursive: true, dereference: true });
    for (const file of ["report.html", "report.txt", "junit.xml"]) rmSync(join(folder, file));
    const resultsBefore = readFileSync(join(folder, "results.json"), "utf8");
    fill(disk, 0);

    const report = await execa("node", [bin, "report", folder, "--write"], { reject: false });
    expect(report.stdout).toContain("Verdict: VALID");
    expect(report.exitCode, report.stderr).toBe(0);
    expect(report.stderr).toMatch(
      /^faultline report: could not write results\.json, report\.txt, junit\.xml, report\.html \(no space left on device \(ENOSPC\)\) in /,
    );
    expect(report.stderr.trimEnd().split("\n")).toHaveLength(1);
    expectWholeOrAbsent(folder);
    expect(readFileSync(join(folder, "results.json"), "utf8")).toBe(resultsBefore);
  });
});
