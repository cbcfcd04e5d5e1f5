/**
 * `faultline sweep` and `sweep report`: shards split the units deterministically and exactly (a
 * property), a sweep split into 2 shards merges into the same report as the unsharded sweep (run
 * through the installed bin), and merging judges honestly: a false alarm on a valid row fails the
 * sweep, a missing shard leaves it unknown, shards of different sweeps refuse to merge.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SeedRun, SweepReport } from "../reports/suite/model.ts";
import { renderSweepHtml } from "../reports/suite/sweep.ts";
import { main, UsageError } from "./main.ts";
import { captured } from "./testkit.ts";
import { mergeShards, wilsonInterval } from "./suite/sweepReport.ts";
import {
  allUnits,
  parseSeedRange,
  parseShard,
  readShard,
  shardUnitCount,
  shardUnits,
  suiteDigest,
  sweepFormat,
  type ShardOutput,
  type SweepRowInfo,
} from "./suite/sweepFiles.ts";

const bin = fileURLToPath(new URL("../bin/faultline.js", import.meta.url));
let scratch = "";
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "faultline-sweep-"));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe("shards", () => {
  it("together hold every unit exactly once, balanced to within one unit", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.nat(40),
        fc.nat(30),
        fc.integer({ min: 1, max: 9 }),
        (rowCount, from, length, count) => {
          const rows = Array.from({ length: rowCount }, (_, i) => ({ name: `r${i}` }));
          const units = allUnits(rows, { from, to: from + length });
          const shards = Array.from({ length: count }, (_, i) => shardUnits(units, { index: i + 1, count }));
          const merged = shards.flat().map((u) => `${u.row}/${u.seed}`);
          expect(merged.sort()).toEqual(units.map((u) => `${u.row}/${u.seed}`).sort());
          expect(new Set(merged).size).toBe(units.length);
          const sizes = shards.map((s) => s.length);
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
          // The count a sweep.json's "units" is held to, without listing the units.
          expect(sizes).toEqual(sizes.map((_, i) => shardUnitCount(units.length, { index: i + 1, count })));
        },
      ),
    );
  });

  it("parse I/N and A..B strictly", () => {
    expect(parseShard("2/4")).toEqual({ index: 2, count: 4 });
    expect(parseShard(undefined)).toEqual({ index: 1, count: 1 });
    for (const bad of ["0/4", "5/4", "1/0", "a/b", "1"])
      expect(() => parseShard(bad), bad).toThrow(UsageError);
    expect(parseSeedRange("3..5")).toEqual({ from: 3, to: 5 });
    for (const bad of [undefined, "5..3", "1-5", "x..y"])
      expect(() => parseSeedRange(bad), String(bad)).toThrow(UsageError);
  });
});

describe("the Wilson interval", () => {
  it("lies in [0, 1], holds the measured rate, and narrows as seeds grow", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, fraction) => {
          const k = Math.round(fraction * n);
          const [lo, hi] = wilsonInterval(k, n);
          expect(lo).toBeGreaterThanOrEqual(0);
          expect(hi).toBeLessThanOrEqual(1);
          expect(lo).toBeLessThanOrEqual(k / n + 1e-12);
          expect(hi).toBeGreaterThanOrEqual(k / n - 1e-12);
          const [lo4, hi4] = wilsonInterval(4 * k, 4 * n);
          expect(hi4 - lo4).toBeLessThan(hi - lo);
        },
      ),
    );
    // A known value: 2 of 4 → about 15.0%–85.0%.
    const [lo, hi] = wilsonInterval(2, 4);
    expect(lo).toBeCloseTo(0.15, 2);
    expect(hi).toBeCloseTo(0.85, 2);
  });
});

const rows: SweepRowInfo[] = [
  { name: "valid-row", args: ["--system", "memory"], expect: { kind: "valid" } },
  {
    name: "bug-row",
    args: ["--system", "engine"],
    expect: { kind: "finds", anomalies: [{ checker: "set-full", anomaly: "lost" }], rate: 0.5 },
  },
];

function shard(
  index: number,
  count: number,
  runs: SeedRun[],
  complete = true,
  seeds = { from: 1, to: 4 },
): ShardOutput {
  return {
    dir: `/shards/${index}`,
    manifest: {
      format: sweepFormat,
      suite: "s",
      file: "s.yaml",
      digest: suiteDigest(rows),
      seeds,
      shard: { index, count },
      rows,
      units: runs.length,
      complete,
    },
    runs,
  };
}

const run = (row: string, seed: number, valid: SeedRun["valid"], reported: string[] = []): SeedRun => ({
  row,
  seed,
  valid,
  reported,
  reproduceCommand: `npx faultline run --row ${row} --seed ${seed}`,
  elapsedMs: seed * 10,
  operations: 100,
});

/** Runs for every unit of a 4-seed sweep, split by shard as the sweep would. */
function runsOf(outcome: (row: string, seed: number) => SeedRun): SeedRun[] {
  return allUnits(rows, { from: 1, to: 4 }).map((u) => outcome(u.row, u.seed));
}

describe("merging shards", () => {
  const outcome = (row: string, seed: number) =>
    row === "bug-row"
      ? run(row, seed, seed % 2 === 0 ? false : true, seed % 2 === 0 ? ["set-full:lost"] : [])
      : run(row, seed, true);

  it("gives detection rates with intervals and every failing seed with its reproduce command", () => {
    const report = mergeShards([shard(1, 1, runsOf(outcome))]);
    expect(report.verdict).toBe("holds");
    expect(report.exitCode).toBe(0);
    const bug = report.rows.find((r) => r.row === "bug-row")!;
    expect([bug.hits, bug.ran, bug.rate]).toEqual([2, 4, 0.5]);
    expect(bug.interval![0]).toBeCloseTo(0.15, 2);
    expect(report.failures.map((f) => [f.row, f.seed, f.expected])).toEqual([
      ["bug-row", 2, true],
      ["bug-row", 4, true],
    ]);
    expect(report.failures[0]!.reproduceCommand).toContain("--seed 2");
    expect(report.timing.slowest[0]).toMatchObject({ seed: 4, elapsedMs: 40 });
  });

  it("fails the sweep on any false alarm of a valid row", () => {
    const withAlarm = (row: string, seed: number) =>
      row === "valid-row" && seed === 3 ? run(row, seed, false, ["elle:G1c"]) : outcome(row, seed);
    const report = mergeShards([shard(1, 1, runsOf(withAlarm))]);
    expect(report.verdict).toBe("fails");
    expect(report.exitCode).toBe(1);
    expect(report.rows.find((r) => r.row === "valid-row")).toMatchObject({ hits: 1, verdict: "fails" });
    expect(report.failures.find((f) => f.row === "valid-row")).toMatchObject({ seed: 3, expected: false });
  });

  it("is unknown, never a pass, with a shard missing or unfinished; refuses other sweeps' shards and duplicates", () => {
    const units = runsOf(outcome);
    const shardRuns = (i: number) =>
      shardUnits(allUnits(rows, { from: 1, to: 4 }), { index: i, count: 2 }).map((u) =>
        units.find((r) => r.row === u.row && r.seed === u.seed)!,
      );
    const both = mergeShards([shard(1, 2, shardRuns(1)), shard(2, 2, shardRuns(2))]);
    expect(both.verdict).toBe("holds");
    const one = mergeShards([shard(1, 2, shardRuns(1))]);
    expect(one).toMatchObject({ verdict: "unknown", exitCode: 2, complete: false });
    expect(one.shards.missing).toEqual([2]);
    expect(one.rows.map((r) => r.missing)).toEqual([2, 2]);
    const unfinished = mergeShards([shard(1, 2, shardRuns(1)), shard(2, 2, shardRuns(2).slice(0, 1), false)]);
    expect(unfinished).toMatchObject({ verdict: "unknown", complete: false });
    expect(unfinished.shards.incomplete).toEqual([2]);
    expect(() => mergeShards([shard(1, 2, shardRuns(1)), shard(1, 2, shardRuns(1))])).toThrow(/given twice/);
    expect(() => mergeShards([shard(1, 2, shardRuns(1)), shard(2, 2, [], true, { from: 1, to: 5 })])).toThrow(
      /seeds 1..5 differ/,
    );
    expect(() => mergeShards([shard(1, 2, shardRuns(2))])).toThrow(/is not a unit of shard 1\/2/);
  });

  it("counts a shard that claims it finished with runs missing as unfinished: unknown, not complete", () => {
    // Before, its sweep.json's "complete": true was taken at its word: the report said complete.
    const withoutOne = runsOf(outcome).filter((r) => !(r.row === "valid-row" && r.seed === 3));
    const claimed = mergeShards([shard(1, 1, withoutOne, true)]);
    expect(claimed).toMatchObject({ verdict: "unknown", exitCode: 2, complete: false });
    expect(claimed.shards.incomplete).toEqual([1]);
    expect(claimed.rows.find((r) => r.row === "valid-row")).toMatchObject({ missing: 1, verdict: "unknown" });
  });

  it("is unknown, never a pass, when every row is todo: it judged nothing", () => {
    const todoRows = rows.map((r) => ({ ...r, todo: "not yet" }));
    const only = shard(1, 1, runsOf(outcome));
    const todoShard = {
      ...only,
      manifest: { ...only.manifest, rows: todoRows, digest: suiteDigest(todoRows) },
    };
    const report = mergeShards([todoShard]);
    expect(report.rows.map((r) => r.verdict)).toEqual(["skipped", "skipped"]);
    expect(report).toMatchObject({ verdict: "unknown", exitCode: 2, complete: true });
  });

  it("renders one self-contained HTML page: no script, no fetch, every value escaped", () => {
    const hostile = (row: string, seed: number) => ({
      ...outcome(row, seed),
      reproduceCommand: `<script>alert(${seed})</script>`,
    });
    const html = renderSweepHtml(mergeShards([shard(1, 1, runsOf(hostile))]));
    expect(html).toContain("Content-Security-Policy");
    expect(html).not.toMatch(/<script|src=|href=/i);
    expect(html).toContain("&lt;script&gt;alert(2)&lt;/script&gt;");
  });
});

describe("reading a shard folder back", () => {
  // A shard folder as `faultline sweep` writes it, then one field at a time as a hand, a torn
  // copy or another tool might leave it: each is refused naming the file (and line), never judged.
  const good = shard(
    1,
    1,
    runsOf((row, seed) =>
      row === "bug-row" && seed % 2 === 0 ? run(row, seed, false, ["set-full:lost"]) : run(row, seed, true),
    ),
  );
  const manifestJson = () => JSON.parse(JSON.stringify(good.manifest)) as Record<string, unknown>;
  const runLines = () => good.runs.map((r) => JSON.stringify(r));
  let case_ = 0;
  function folder(manifest: unknown, lines: string[]): string {
    const dir = join(scratch, `shard-${case_++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "sweep.json"), JSON.stringify(manifest));
    writeFileSync(join(dir, "runs.jsonl"), lines.map((l) => l + "\n").join(""));
    return dir;
  }

  it("reads what the sweep wrote", () => {
    const read = readShard(folder(good.manifest, runLines()));
    expect(read.manifest).toEqual(good.manifest);
    expect(read.runs).toEqual(good.runs);
    expect(mergeShards([read]).verdict).toBe("holds");
  });

  it("sets a torn last run line aside and says so: its run counts as missing", async () => {
    // Before, the line was left out silently (the report said only "1 missing").
    const dir = folder(good.manifest, []);
    const lines = runLines();
    writeFileSync(join(dir, "runs.jsonl"), lines.slice(0, -1).join("\n") + "\n" + lines.at(-1)!.slice(0, 20));
    const read = readShard(dir);
    expect(read.tornLastLine).toBe(lines.length);
    expect(read.runs).toEqual(good.runs.slice(0, -1));
    const { code, stderr } = await captured(() =>
      main(["sweep", "report", dir, "--out", join(dir, "report")]),
    );
    expect(code).toBe(2);
    expect(stderr).toBe(
      `faultline sweep report: ${join(dir, "runs.jsonl")}: line ${lines.length} left out: torn (the last line, no line break after it, as a shard killed mid-write leaves it); its run counts as missing\n`,
    );
  });

  it("refuses a shard file that is a folder or not UTF-8, in one line naming it", async () => {
    // Before, a runs.jsonl that was a folder was an internal error (exit 255, a stack trace), and
    // a sweep.json that was one read as "not JSON: EISDIR"; bytes not UTF-8 were read as U+FFFD.
    const runsFolder = folder(good.manifest, []);
    rmSync(join(runsFolder, "runs.jsonl"));
    mkdirSync(join(runsFolder, "runs.jsonl"));
    expect(() => readShard(runsFolder)).toThrow(UsageError);
    expect(() => readShard(runsFolder)).toThrow(
      /runs\.jsonl: expected a file \(the shard's runs, one a line\), found a folder$/,
    );
    const { code, stderr } = await captured(() =>
      main(["sweep", "report", runsFolder, "--out", join(runsFolder, "report")]),
    );
    expect(code).toBe(254);
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    const manifestFolder = folder(good.manifest, runLines());
    rmSync(join(manifestFolder, "sweep.json"));
    mkdirSync(join(manifestFolder, "sweep.json"));
    expect(() => readShard(manifestFolder)).toThrow(
      /sweep\.json: expected a file \(the sweep's manifest\), found a folder$/,
    );
    // A byte 0xFF inside the second run's reproduce command: read as U+FFFD before, and judged.
    const notUtf8 = folder(good.manifest, runLines());
    const lines = runLines();
    const at = lines[1]!.indexOf('"reproduceCommand":"') + '"reproduceCommand":"'.length;
    writeFileSync(
      join(notUtf8, "runs.jsonl"),
      Buffer.concat([
        Buffer.from(`${lines[0]!}\n${lines[1]!.slice(0, at)}`),
        Buffer.from([0xff]),
        Buffer.from(`${lines[1]!.slice(at)}\n${lines.slice(2).join("\n")}\n`),
      ]),
    );
    expect(() => readShard(notUtf8)).toThrow(/runs\.jsonl:2: expected UTF-8 text, found bytes that are not$/);
  });

  it("refuses a manifest missing a field, out of its bounds, or with rows its digest does not cover", () => {
    const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
      ["no seeds", (m) => delete m["seeds"], /sweep\.json: not a sweep manifest .*seeds: /],
      ["no rows", (m) => delete m["rows"], /rows: /],
      ["a billion seeds", (m) => (m["seeds"] = { from: 1, to: 1e9 }), /at most 1000000 seeds/],
      ["complete as text", (m) => (m["complete"] = "yes"), /complete: /],
      [
        "an unknown expectation",
        (m) => ((m["rows"] as { expect: unknown }[])[0]!.expect = { kind: "zzz" }),
        /rows\.0\.expect/,
      ],
      [
        "a shard beyond its count",
        (m) => (m["shard"] = { index: 3, count: 2 }),
        /shard: expected index <= count/,
      ],
      [
        "a unit count its rows, seeds and shard do not give",
        (m) => (m["units"] = 7),
        /sweep\.json: units: expected 8, the units of shard 1\/1 of its 2 rows and seeds 1\.\.4; got 7/,
      ],
      [
        "rows edited after the sweep",
        (m) => ((m["rows"] as { expect: unknown }[])[1]!.expect = { kind: "valid" }),
        /its rows do not match its digest/,
      ],
    ];
    for (const [what, edit, message] of cases) {
      const m = manifestJson();
      edit(m);
      expect(() => readShard(folder(m, runLines())), what).toThrow(UsageError);
      expect(() => readShard(folder(m, runLines())), what).toThrow(message);
    }
  });

  it("refuses a run line of the wrong shape, and a unit given twice", () => {
    const edited = (i: number, edit: (r: Record<string, unknown>) => void): string[] =>
      runLines().map((line, j) => {
        if (j !== i) return line;
        const r = JSON.parse(line) as Record<string, unknown>;
        edit(r);
        return JSON.stringify(r);
      });
    // "maybe" was judged as neither a pass nor a find: a row expected valid on all 4 seeds held
    // with only 3 of them valid.
    expect(() =>
      readShard(
        folder(
          good.manifest,
          edited(0, (r) => (r["valid"] = "maybe")),
        ),
      ),
    ).toThrow(
      /runs\.jsonl:1: expected a run as faultline sweep writes it: valid: expected true, false or "unknown"/,
    );
    expect(() =>
      readShard(
        folder(
          good.manifest,
          edited(2, (r) => (r["seed"] = 1.5)),
        ),
      ),
    ).toThrow(/runs\.jsonl:3: .*seed/);
    expect(() =>
      readShard(
        folder(
          good.manifest,
          edited(1, (r) => (r["elapsedMs"] = -5)),
        ),
      ),
    ).toThrow(/elapsedMs/);
    expect(() =>
      readShard(
        folder(
          good.manifest,
          edited(1, (r) => delete r["reported"]),
        ),
      ),
    ).toThrow(/reported/);
    // A sweep never skips a seed: a line saying its seed was not run is refused, whatever verdict
    // it carries (before, the field was dropped and the line's verdict counted as a run's).
    for (const valid of [true, false])
      expect(() =>
        readShard(
          folder(
            good.manifest,
            edited(1, (r) => Object.assign(r, { valid, notRun: "decided by the others" })),
          ),
        ),
      ).toThrow(
        /runs\.jsonl:2: expected a run as faultline sweep writes it: notRun: a sweep runs every seed/,
      );
    const twice = [...runLines(), runLines()[0]!];
    expect(() => readShard(folder(good.manifest, twice))).toThrow(
      new RegExp(`runs\\.jsonl:${twice.length}: row valid-row seed 1 again \\(first on line 1\\)`),
    );
  });
});

describe("faultline sweep through the bin", () => {
  it("split into 2 shards merges into the same report as the unsharded sweep", async () => {
    const suite = join(scratch, "tiny.yaml");
    writeFileSync(
      suite,
      `name: tiny
defaults:
  time-limit: 3
rows:
  - name: memory-register
    run: { system: memory, workload: register, nemesis: partition, nemesis-interval: 1 }
    seeds: 1..3
    expect: valid
  - name: async-loses
    run: { system: engine, replication: async, workload: set, nemesis: "crash,partition", nemesis-interval: 1, time-limit: 5 }
    seeds: 1..2
    expect: { finds: [set-full:lost], rate: 0.25 }
`,
    );
    // A narrow result type: Promise.all over execa's own cost the type check more than a second
    // (see cli/commandLine.test.ts).
    const faultline = async (
      ...args: string[]
    ): Promise<{ exitCode?: number; all: string; stdout: string; stderr: string }> =>
      execa(process.execPath, [bin, ...args], {
        env: { CI: "true", NO_COLOR: "1" },
        reject: false,
        all: true,
      });
    const [whole, first, second] = await Promise.all([
      faultline("sweep", suite, "--seeds", "1..4", "--out", join(scratch, "whole"), "--jobs", "1"),
      faultline(
        "sweep",
        suite,
        "--seeds",
        "1..4",
        "--shard",
        "1/2",
        "--out",
        join(scratch, "s1"),
        "--jobs",
        "1",
      ),
      faultline(
        "sweep",
        suite,
        "--seeds",
        "1..4",
        "--shard",
        "2/2",
        "--out",
        join(scratch, "s2"),
        "--jobs",
        "1",
      ),
    ]);
    for (const r of [whole, first, second]) expect(r.exitCode, r.all).toBe(0);
    const merged = await faultline(
      "sweep",
      "report",
      join(scratch, "s1"),
      join(scratch, "s2"),
      "--out",
      join(scratch, "r12"),
    );
    const unsharded = await faultline("sweep", "report", join(scratch, "whole"), "--out", join(scratch, "r"));
    expect(merged.exitCode, merged.all).toBe(unsharded.exitCode);
    const read = (dir: string) =>
      JSON.parse(readFileSync(join(scratch, dir, "report.json"), "utf8")) as SweepReport;
    // Timing, the shard count and where each kept run lies differ; everything judged is the same.
    const comparable = (r: SweepReport) => ({
      ...r,
      timing: undefined,
      shards: undefined,
      failures: r.failures.map((f) => ({ ...f, storeDir: undefined })),
    });
    const a = read("r12");
    const b = read("r");
    expect(comparable(a)).toEqual(comparable(b));
    expect(a.shards).toEqual({ count: 2, present: [1, 2], missing: [], incomplete: [] });
    expect(b.runs).toBe(8);
    // Something was found, so the comparison compared something.
    expect(b.rows.find((r) => r.row === "async-loses")!.hits).toBeGreaterThan(0);
    expect(b.failures.length).toBeGreaterThan(0);
    expect(readFileSync(join(scratch, "r", "report.html"), "utf8")).toContain("async-loses");
    // A second sweep into a used folder is refused rather than mixed in.
    const again = await faultline("sweep", suite, "--seeds", "1..4", "--out", join(scratch, "whole"));
    expect(again.exitCode).toBe(254);
    expect(again.stderr).toMatch(/holds a sweep already/);
  }, 240_000);
});
