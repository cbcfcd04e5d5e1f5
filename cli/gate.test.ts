/**
 * `faultline gate` end to end, as a user's CI runs it (the installed bin, a child process): exit 0
 * when every row holds and 1 when one fails, junit.xml with one test case per row whose failure
 * names the reproduce command of the failing seed, summary.json; an interrupted gate exits 2 with
 * its unfinished seeds undecided and leaves no worker process behind; a bad suite file or option is
 * one line on stderr naming the file and line, exit 254.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandLine, descendantsOf, processAlive } from "../harness/runtime/process/procfs.ts";
import type { GateSummary } from "../reports/suite/model.ts";
import { main } from "./main.ts";
import { captured } from "./testkit.ts";

const bin = fileURLToPath(new URL("../bin/faultline.js", import.meta.url));
let scratch = "";
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "faultline-gate-"));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

const tinySuite = `name: tiny
defaults:
  time-limit: 3
rows:
  - name: memory-register
    run: { system: memory, workload: register, nemesis: partition, nemesis-interval: 1 }
    seeds: 1..2
    expect: valid
  - name: sync-loses-nothing
    claim: sync replication with no faults loses nothing, so this row, expecting losses, fails
    run: { system: engine, replication: sync, workload: set, nemesis: none }
    seeds: 1..2
    expect: { finds: [set-full:lost], at-least: 1 }
  - name: not-yet
    run: { system: memory, workload: set, nemesis: none }
    seeds: 1
    expect: valid
    todo: shows how a todo row is skipped
`;

async function gate(args: string[]) {
  return execa(process.execPath, [bin, "gate", ...args], {
    env: { CI: "true", NO_COLOR: "1" },
    reject: false,
    all: true,
  });
}

describe("faultline gate", () => {
  it("says how many workers it ran on, not how many it was allowed: one seed, one worker", async () => {
    const suite = join(scratch, "one.yaml");
    writeFileSync(
      suite,
      "name: one\nrows:\n  - name: only\n    run: { system: memory, workload: register, time-limit: 2 }\n" +
        "    seeds: 1\n    expect: valid\n",
    );
    const out = join(scratch, "out-one");
    const result = await gate([suite, "--jobs", "2", "--out", out, "--store", join(scratch, "store-one")]);
    expect(result.exitCode, result.all).toBe(0);
    // Before: "1 worker" in the progress line, "1 runs on 2 workers" in the verdict line.
    expect(result.all).toMatch(
      /one: every row holds \(1 hold, 0 fail, 0 unknown, 0 skipped; 1 run on 1 worker in /,
    );
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as GateSummary;
    expect(summary.jobs).toBe(1);
  });

  it("exits 1 when a row fails, with a JUnit case per row whose failure names the failing seed's reproduce command", async () => {
    const suite = join(scratch, "tiny.yaml");
    writeFileSync(suite, tinySuite);
    const out = join(scratch, "out");
    const result = await gate([suite, "--jobs", "2", "--out", out, "--store", join(scratch, "store")]);
    expect(result.exitCode, result.all).toBe(1);
    expect(result.all).toMatch(/^✓ memory-register: valid on 2 of 2$/m);
    expect(result.all).toMatch(/^✗ sync-loses-nothing: found on 0 of 2$/m);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as GateSummary;
    expect(summary.rows.map((r) => [r.row, r.verdict])).toEqual([
      ["memory-register", "holds"],
      ["sync-loses-nothing", "fails"],
      ["not-yet", "skipped"],
    ]);
    const junit = readFileSync(join(out, "junit.xml"), "utf8");
    expect(junit.match(/<testcase /g)).toHaveLength(3);
    expect(junit).toMatch(
      /<testcase classname="faultline.gate.tiny" name="memory-register" time="[\d.]+"><\/testcase>/,
    );
    expect(junit).toMatch(/<skipped message="todo: shows how a todo row is skipped"\/>/);
    const failure = /<failure message="([^"]*)" type="fails">([^<]*)<\/failure>/.exec(junit);
    expect(failure?.[1]).toContain("reproduce: npx faultline run --system engine --replication sync");
    expect(failure?.[1]).toContain("--seed 1");
    expect(failure?.[2]).toContain("--seed 2");
    // The reproduce command in the failure reproduces the seed: same verdict.
    const command = /reproduce: (npx faultline run [^;\n]*--seed 1)/.exec(failure![1]!)![1]!;
    const again = await execa(
      process.execPath,
      [bin, ...command.split(" ").slice(2), "--store", join(scratch, "again"), "--quiet"],
      {
        reject: false,
      },
    );
    expect(again.exitCode).toBe(0);
  }, 180_000);

  it("exits 0 when every row it runs holds (--filter)", async () => {
    const suite = join(scratch, "tiny.yaml");
    writeFileSync(suite, tinySuite);
    const result = await gate([
      suite,
      "--filter",
      "^memory",
      "--jobs",
      "1",
      "--out",
      join(scratch, "out0"),
      "--store",
      join(scratch, "store"),
    ]);
    expect(result.exitCode, result.all).toBe(0);
    expect(result.all).toContain("tiny: every row holds (1 hold, 0 fail, 0 unknown, 0 skipped;");
  }, 120_000);

  it("gives a row no more seeds once those it ran decide it; the table and summary say how many were not run", async () => {
    const suite = join(scratch, "early.yaml");
    writeFileSync(
      suite,
      `name: early
defaults:
  time-limit: 3
rows:
  - name: write-skew
    claim: snapshot isolation lets write skew through on the first seed already
    run: { system: engine, replication: sync, isolation: snapshot, workload: write-skew, nemesis: none }
    seeds: 1..3
    expect: { finds: [rw-register:G2-item, on-call:nobody-on-call], at-least: 1 }
  - name: memory-register
    run: { system: memory, workload: register, nemesis: none }
    seeds: 1..2
    expect: valid
`,
    );
    const out = join(scratch, "out-early");
    const result = await gate([suite, "--jobs", "1", "--out", out, "--store", join(scratch, "store")]);
    expect(result.exitCode, result.all).toBe(0);
    // One worker, rounds of seeds: write-skew's seed 1 ran first, found it, and decided the row.
    expect(result.all).toMatch(
      /^✓ write-skew: found on 1 of 3 \(seeds 1\), 2 not run \(decided by the others\)$/m,
    );
    expect(result.all).toMatch(/^✓ memory-register: valid on 2 of 2$/m);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as GateSummary;
    expect(summary.runs).toBe(3);
    expect(summary.rows.map((r) => [r.row, r.verdict, r.good, r.notRun])).toEqual([
      ["write-skew", "holds", 1, 2],
      ["memory-register", "holds", 2, undefined],
    ]);
  }, 120_000);

  it("on SIGINT stops its workers, counts unfinished seeds undecided, exits 2 and leaves no process behind", async () => {
    const suite = join(scratch, "long.yaml");
    writeFileSync(
      suite,
      `rows:
  - name: long
    run: { system: engine, workload: append, nemesis: "partition,crash", time-limit: 3000, rate: 50 }
    seeds: 1..4
    expect: valid
`,
    );
    const child = execa(
      process.execPath,
      [bin, "gate", suite, "--jobs", "2", "--out", join(scratch, "out2"), "--store", join(scratch, "store2")],
      {
        env: { CI: "true" },
        reject: false,
        all: true,
      },
    );
    const workers = await waitFor(() => {
      // Sources (cli/suite/worker.ts through tsx) or the compiled build (dist/bundle/worker.js),
      // whichever the bin runs.
      const found = descendantsOf(child.pid!)
        .map((pid) => ({ pid, cmdline: commandLine(pid) ?? "" }))
        .filter((p) => /(suite\/worker\.ts|bundle\/worker\.js)\b/.test(p.cmdline));
      return found.length === 2 ? found : undefined;
    });
    expect(workers, "two workers started").toBeDefined();
    child.kill("SIGINT");
    const result = await child;
    expect(result.exitCode, result.all).toBe(2);
    expect(result.all).toMatch(/undecided/);
    // The two seeds the workers were running were cut short, not "not run" (their run folders stay
    // in the store); the other two never started.
    expect(
      result.all!.match(/seed \d: unknown \(cut short: the gate was interrupted while it ran\)/g),
    ).toHaveLength(2);
    expect(result.all!.match(/seed \d: unknown \(not run: the gate was interrupted\)/g)).toHaveLength(2);
    for (const worker of workers!) expect(processAlive(worker.pid), `worker ${worker.pid}`).toBe(false);
  }, 120_000);
});

describe("a bad suite or option: one line naming the file and line, exit 254", () => {
  const good = `rows:
  - name: r
    run: { system: memory, workload: set, nemesis: none }
    seeds: 1..2
    expect: valid
`;
  const cases: [string, string, RegExp][] = [
    [
      "unknown option",
      good.replace("nemesis: none", "nemesis: none, time-limt: 3"),
      /bad\.yaml:3: rows\[0\]\.run\.time-limt: unknown option/,
    ],
    [
      "bad seed range",
      good.replace("1..2", "9..2"),
      /bad\.yaml:4: rows\[0\]\.seeds: bad seed range "9\.\.2"/,
    ],
    [
      "unknown expectation",
      good.replace("expect: valid", "expect: sometimes"),
      /bad\.yaml:5: rows\[0\]\.expect: unknown expectation "sometimes"/,
    ],
    [
      "YAML syntax error",
      good.replace("expect: valid", "expect: [valid"),
      /bad\.yaml:[56]: YAML syntax error: /,
    ],
  ];
  for (const [what, text, pattern] of cases) {
    it(what, async () => {
      const file = join(scratch, "bad.yaml");
      writeFileSync(file, text);
      const { code, stderr } = await captured(() => main(["gate", file]));
      expect(code).toBe(254);
      expect(stderr).toMatch(pattern);
      expect(stderr.trimEnd().split("\n"), stderr).toHaveLength(1);
    });
  }

  it("a missing file, no file, a bad --jobs, a --filter matching nothing, only todo rows, or an output folder that cannot be made", async () => {
    const file = join(scratch, "fine.yaml");
    writeFileSync(file, good);
    const todo = join(scratch, "todo.yaml");
    writeFileSync(todo, `${good}    todo: not yet\n`);
    const mixed = join(scratch, "mixed.yaml");
    writeFileSync(
      mixed,
      `${good}${good.slice("rows:\n".length).replace("name: r", "name: later")}    todo: not yet\n`,
    );
    // A file where a folder would go: refused before any run, not a stack trace after them all.
    const notAFolder = join(file, "out");
    for (const [args, pattern] of [
      [["gate", join(scratch, "nope.yaml")], /nope\.yaml: cannot read it: .*\(ENOENT\)$/m],
      [["gate"], /expected a suite file/],
      [["gate", file, "--jobs", "0"], /--jobs: expected a whole number/],
      [["gate", file, "--filter", "zzz"], /--filter: no row of .*fine\.yaml matches \/zzz\//],
      // Nothing to run is no pass: every row (or every row the filter picks) is todo.
      [["gate", todo], /todo\.yaml: every row is todo, and the gate skips todo rows: nothing to run/],
      [
        ["gate", mixed, "--filter", "^later"],
        /mixed\.yaml: every row matching \/\^later\/ is todo, and the gate skips todo rows/,
      ],
      [
        ["gate", file, "--out", notAFolder, "--store", join(scratch, "store-out")],
        /--out .*fine\.yaml\/out: cannot create or write this folder: .*\(ENOTDIR\)/,
      ],
      [
        ["gate", file, "--store", notAFolder],
        /--store .*fine\.yaml\/out: cannot create or write this folder: .*\(ENOTDIR\)/,
      ],
      [
        ["sweep", file, "--seeds", "1..2", "--out", notAFolder],
        /--out .*: cannot create or write this folder: .*\(ENOTDIR\)/,
      ],
      // A file where the folder itself would go: refused too, before any run. Before, the gate
      // ran every seed, then could not write junit.xml or summary.json into it, and exited 0.
      [
        ["gate", file, "--out", file, "--store", join(scratch, "store-out")],
        /--out .*fine\.yaml: not a folder \(a file of that name is there\)/,
      ],
      [["gate", file, "--store", file], /--store .*fine\.yaml: not a folder/],
      [["sweep", file, "--seeds", "1..2", "--out", file], /--out .*fine\.yaml: not a folder/],
    ] as const) {
      const { code, stderr } = await captured(() => main([...args]));
      expect(code, args.join(" ")).toBe(254);
      expect(stderr).toMatch(pattern);
      expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    }
  });
});

async function waitFor<T>(probe: () => T | undefined, limitMs = 60_000): Promise<T | undefined> {
  for (let waited = 0; waited < limitMs; waited += 200) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return probe();
}
