/**
 * Every command-line mistake is one line and exit 254, never a stack trace: the hand-written
 * cases of issue 15, then a property (fast-check) that feeds `run`, `check` and `report` random
 * argument lists, in process through `main`, and asserts that the exit code is a verdict's (0, 1,
 * 2) or a mistake's (254), that nothing resembling a stack trace is printed, and that a mistake is
 * exactly one line.
 *
 * Kept fast: every `run` case starts from `--store <temp> --time-limit 0.2 --rate 50` (those of
 * them the generated list does not give itself: an option given twice is refused), the values
 * generated for time, rate and concurrency are small, and most cases carry `--dry-run`, which
 * builds everything and checks the store but runs nothing. The rest really run, for a fifth of a
 * simulated second.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { rawControls } from "../reports/syntheticRun.ts";
import { main } from "./main.ts";

let root: string;
let runFolder: string;
let historyFile: string;
let out: string[];
let err: string[];

/** What a stack trace looks like: "    at f (file.ts:1:2)", node's internals. */
const stackTrace = /^\s+at .*(:\d+:\d+\)?|<anonymous>\)?)$|node:internal/m;

async function call(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  out.length = 0;
  err.length = 0;
  const code = await main(args);
  return { code, stdout: out.join(""), stderr: err.join("") };
}

function expectMistake(r: { code: number; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(254);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr.endsWith("\n") && r.stderr.indexOf("\n") === r.stderr.length - 1, r.stderr).toBe(true);
  expect(r.stderr + r.stdout).not.toMatch(stackTrace);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "faultline-cli-"));
  out = [];
  err = [];
  const spy = captureOutput();
  // One real stored run for `report` and a history for `check`.
  const code = await main([
    "run",
    "--system",
    "memory",
    "--workload",
    "register",
    "--nemesis",
    "none",
    "--time-limit",
    "0.5",
    "--seed",
    "1",
    "--store",
    join(root, "store"),
    "--quiet",
  ]);
  spy.restore();
  if (code !== 0) throw new Error(`the fixture run failed (${code}): ${err.join("")}`);
  runFolder = join(root, "store", "latest");
  historyFile = join(runFolder, "history.jsonl");
  writeFileSync(join(root, "bad.jsonl"), '{"index":0}\n');
  writeFileSync(join(root, "empty.jsonl"), "");
  mkdirSync(join(root, "empty-folder"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function captureOutput(): { restore(): void } {
  const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  return {
    restore() {
      stdout.mockRestore();
      stderr.mockRestore();
    },
  };
}

let capture: { restore(): void } | undefined;
beforeEach(() => {
  capture = captureOutput();
});
afterEach(() => capture?.restore());

const cheap = () => ["--store", join(root, "runs"), "--time-limit", "0.2", "--rate", "50"];

/** `run` with `args`, and those of `cheap()` that `args` does not give itself. */
const cheapRun = (...args: string[]): string[] => ["run", ...cheapFor(args), ...args];

/** `cheap()` without the options `args` gives itself (one given twice is refused). */
function cheapFor(args: readonly string[]): string[] {
  const base = cheap();
  const given = (option: string) => args.some((a) => a === option || a.startsWith(`${option}=`));
  return base.flatMap((word, i) => (i % 2 === 0 && !given(word) ? [word, base[i + 1]!] : []));
}

describe("command-line mistakes: one line, exit 254, no stack trace", () => {
  it("--nodes 3 with the default quorum replication", async () => {
    expectMistake(await call(cheapRun("--nodes", "3")), /quorum .*at least 7 nodes/);
  });

  it("an unknown --model, and a --model the workload does not check", async () => {
    expectMistake(await call(cheapRun("--model", "foo")), /unknown consistency model "foo"/);
    expectMistake(
      await call(cheapRun("--workload", "register", "--model", "serializable")),
      /the register workload is checked for linearizability/,
    );
  });

  it("a --store that cannot hold a run folder", async () => {
    expectMistake(
      await call(cheapRun("--store", "/etc/passwd/x")),
      /--store \/etc\/passwd\/x: .*not a folder/,
    );
    expectMistake(
      await call(cheapRun("--store", "/etc/passwd/x", "--dry-run")),
      /--store \/etc\/passwd\/x: .*not a folder/,
    );
  });

  it("a --store or --out where mkdir fails though the parent exists (/proc): one line, not a hang", async () => {
    // Node's recursive mkdirSync loops for ever there, deaf to signals: in a child, so that the
    // old code fails this test at the timeout instead of hanging the test worker.
    const bin = new URL("../bin/faultline.js", import.meta.url).pathname;
    const start = (args: string[]) =>
      execa("node", [bin, ...args], {
        cwd: new URL("..", import.meta.url).pathname,
        reject: false,
        timeout: 30_000,
      });
    // Both started before either is awaited. (Not through Promise.all: its type over execa's
    // subprocesses costs the type check about a second of CPU, once, in whichever file has it.)
    const runChild = start(cheapRun("--store", "/proc/faultline-no-such/store"));
    const gateChild = start([
      "gate",
      "suites/matrix.yaml",
      "--filter",
      "^async-failover-loses-writes$",
      "--out",
      "/proc/faultline-no-such",
    ]);
    const run = await runChild;
    const gate = await gateChild;
    for (const [r, option] of [
      [run, "store"],
      [gate, "out"],
    ] as const) {
      expect(r.exitCode, r.stderr).toBe(254);
      expect(r.stderr.trim()).toMatch(
        new RegExp(`^faultline \\w+: --${option} /proc/faultline-no-such.*: .*ENOENT`),
      );
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("negative numbers are refused for what they are, not as ambiguous", async () => {
    expectMistake(
      await call(cheapRun("--concurrency", "-1")),
      /^faultline run: --concurrency: must be at least 1/,
    );
    expectMistake(await call(cheapRun("--seed", "-1")), /^faultline run: --seed: must be at least 0/);
    expectMistake(await call(cheapRun("--time-limit", "-0.5")), /--time-limit: must be at least 0\.001/);
  });

  it("numbers are plain decimals: 0x10, 1e400 and '' are refused", async () => {
    expectMistake(await call(cheapRun("--rate", "0x10")), /--rate: expected operations per second/);
    expectMistake(
      await call(cheapRun("--time-limit", "1e400")),
      /--time-limit: expected a number of seconds; got "1e400"$/m,
    );
    expectMistake(await call(cheapRun("--seed", "")), /--seed: expected a seed/);
  });

  it("a rate or time limit too small to mean a run is refused, not a stack trace or a run of no time", async () => {
    // Before, --rate 1e-300 passed (more than 0), and the workload's generator threw on its mean
    // gap of Infinity ns: an internal error, exit 255. --time-limit 1e-300 ran for 0 ns.
    for (const rate of ["1e-300", "0.0009"])
      expectMistake(
        await call(cheapRun("--rate", rate, "--dry-run")),
        /^faultline run: --rate: must be at least 0\.001; got "[0-9e.-]+"$/m,
      );
    expectMistake(
      await call(cheapRun("--time-limit", "1e-300", "--dry-run")),
      /^faultline run: --time-limit: must be at least 0\.001; got "1e-300"$/m,
    );
    const r = await call(cheapRun("--rate", "0.001", "--time-limit", "0.001", "--dry-run"));
    expect(r.code, r.stderr).toBe(0);
  });

  it("--nemesis '' is refused, not a run without faults; a nemesis interval too small to run is refused", async () => {
    expectMistake(await call(cheapRun("--nemesis", "")), /--nemesis: is empty; write "none"/);
    expectMistake(
      await call(cheapRun("--nemesis-interval", "0.0000001")),
      /--nemesis-interval: must be at least 0\.01/,
    );
  });

  it("unknown options, missing values, stray arguments and unknown commands", async () => {
    expectMistake(await call(["run", "--colour", "blue"]), /unknown option "--colour"/);
    expectMistake(await call(["run", "--seed"]), /--seed needs a value/);
    expectMistake(await call(["run", "--quiet=yes"]), /--quiet takes no value/);
    expectMistake(await call(["run", "extra"]), /unexpected argument "extra"/);
    expectMistake(await call(["report"]), /expected a run folder/);
    expectMistake(await call(["report", "a", "b"]), /expected one run folder/);
    expectMistake(await call(["report", "--bogus", runFolder]), /unknown option "--bogus"/);
    expectMistake(
      await call([]),
      /^faultline: expected a command \(run, check, report, gate, sweep, shrink\)/,
    );
    expectMistake(await call(["frobnicate"]), /^faultline: unknown command "frobnicate"/);
  });

  it("control characters in a mistake are shown as escapes", async () => {
    const r = await call(["run", "--evil\u001b[2J\u202e"]);
    expectMistake(r, /unknown option "--evil\\u001b\[2J\\u202e"/);
  });

  it("a store path with control characters is shown escaped in --quiet's summary", async () => {
    const store = join(root, "st\u001b[2J\u202erots");
    const r = await call(
      cheapRun("--system", "memory", "--workload", "register", "--store", store, "--quiet"),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("st\\x1b[2J\\u202erots");
    expect(r.stdout).not.toMatch(rawControls);
  });

  it("--dry-run builds everything, checks the store, runs nothing", async () => {
    const store = join(root, "dry");
    const r = await call(["run", "--store", store, "--seed", "3", "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^run: npx faultline run .*--seed 3$/m);
    expect(() => mkdirSync(store)).not.toThrow(); // nothing was created there
  });
});

const pick = <T>(...values: T[]) => fc.constantFrom(...values);
const junk = fc.oneof(
  fc.string({ maxLength: 6 }),
  pick("", "-", "--", "-1", "0", "1", "-0.5", "0.05", "1e400", "0x10", "abc", "\u202e", "a\u0000b", "NaN"),
);

function argumentList(options: Record<string, fc.Arbitrary<string>>, positional: fc.Arbitrary<string>) {
  const option = fc.oneof(
    fc
      .constantFrom(...Object.keys(options))
      .chain((name) =>
        fc.oneof(
          { weight: 4, arbitrary: options[name]!.map((value) => [`--${name}`, value]) },
          { weight: 1, arbitrary: fc.constant([`--${name}`]) },
          { weight: 1, arbitrary: junk.map((value) => [`--${name}=${value}`]) },
        ),
      ),
    pick(["--help"], ["-h"], ["--bogus"], ["-x"], ["--"]),
    positional.map((p) => [p]),
  );
  return fc.array(option, { maxLength: 6 }).map((parts) => parts.flat());
}

describe("property: random argument lists end in 0, 1, 2 or 254, without a stack trace", () => {
  const assertSane = (r: { code: number; stdout: string; stderr: string }, args: string[]): void => {
    const where = JSON.stringify(args);
    expect([0, 1, 2, 254], `${where}\n${r.stderr}`).toContain(r.code);
    expect(r.stderr + r.stdout, where).not.toMatch(stackTrace);
    if (r.code === 254) expect(r.stderr.trimEnd().split("\n"), where).toHaveLength(1);
  };

  it("run", async () => {
    const value = (...valid: string[]) =>
      fc.oneof({ weight: 3, arbitrary: pick(...valid) }, { weight: 1, arbitrary: junk });
    const runOptions = {
      system: value("engine", "memory", "oracle"),
      replication: value("sync", "async", "quorum"),
      isolation: value("read-committed", "snapshot", "serializable"),
      workload: value("append", "register", "set", "bank", "write-skew", "foo"),
      nemesis: value("none", "partition", "crash", "partition,crash", "all", "pause,clock", "", "partition,"),
      "nemesis-interval": value("0.05", "1", "0"),
      nodes: value("1", "3", "5", "8", "0"),
      concurrency: value("1", "3", "0"),
      "time-limit": value("0.05", "0.2", "0"),
      rate: value("10", "50", "0"),
      "read-from": value("writer", "replicas"),
      leases: value(""),
      seed: value("0", "1", "42"),
      mode: value("sim", "process"),
      store: value(join(root, "runs"), "/etc/passwd/x", join(root, "bad.jsonl", "x")),
      bug: value("no-fencing", "dirty-reads", "nope"),
      name: value("x", "a/b", "..", "ok-name"),
      model: value("serializable", "snapshot-isolation", "cas-register", "foo"),
      quiet: value(""),
    };
    let executed = 0;
    const codes = new Set<number>();
    await fc.assert(
      fc.asyncProperty(argumentList(runOptions, junk), fc.boolean(), fc.nat(4), async (args, dryRun, at) => {
        // Most cases stop before running; "--dry-run" goes in at a random place.
        const list = dryRun || executed >= 15 ? [...args.slice(0, at), "--dry-run", ...args.slice(at)] : args;
        const full = ["run", ...cheapFor(list), ...list];
        const r = await call(full);
        if (!list.includes("--dry-run") && r.code !== 254) executed++;
        codes.add(r.code);
        assertSane(r, full);
      }),
      { numRuns: 80, seed: 15 },
    );
    // The property saw both sides: runs that ran, and mistakes.
    expect(executed).toBeGreaterThan(0);
    expect([...codes]).toEqual(expect.arrayContaining([0, 254]));
  });

  it("check", async () => {
    const value = (...valid: string[]) =>
      fc.oneof({ weight: 3, arbitrary: pick(...valid) }, { weight: 1, arbitrary: junk });
    const checkOptions = {
      workload: value("append", "rw-register", "register", "bank"),
      model: value("cas-register", "register", "kv", "serializable", "strict-serializable", "foo"),
      init: value("null", "0", '""', "{", "[1,2]"),
      "no-partition": value(""),
      json: value(""),
      "time-limit-ms": value("1", "1000", "0", "-5"),
    };
    const file = pick(
      historyFile,
      join(root, "bad.jsonl"),
      join(root, "empty.jsonl"),
      join(root, "nope"),
      root,
      runFolder,
    );
    // "-" reads standard input, which a test in process must not wait on.
    const args = argumentList(checkOptions, fc.oneof(file, junk)).filter(
      (a) => !a.includes("-") && !a.includes("/dev/stdin"),
    );
    await fc.assert(
      fc.asyncProperty(args, async (list) => {
        const full = ["check", ...list];
        assertSane(await call(full), full);
      }),
      { numRuns: 60, seed: 15 },
    );
  });

  it("report", async () => {
    const reportOptions = { write: pick(""), "no-color": pick("") };
    const folder = pick(
      runFolder,
      join(root, "store"),
      join(root, "empty-folder"),
      historyFile,
      join(root, "nope"),
      root,
    );
    await fc.assert(
      fc.asyncProperty(argumentList(reportOptions, fc.oneof(folder, junk)), async (list) => {
        const full = ["report", ...list];
        assertSane(await call(full), full);
      }),
      { numRuns: 40, seed: 15 },
    );
  });
});
