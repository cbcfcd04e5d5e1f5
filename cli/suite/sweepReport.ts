/**
 * Merging sweep shards into one report: detection rates per bug row with a 95% Wilson score
 * interval (an honest range for a rate measured on a few dozen seeds; it never leaves [0, 1] and
 * stays meaningful at 0 and 100%), false alarms on rows expected valid (any one fails the sweep),
 * the slowest runs, and every run that was not valid with its reproduce command.
 *
 * Shards must come from the same sweep (same suite digest, seed range and shard count) and each
 * shard index at most once; a missing or unfinished shard makes the report incomplete: its rows are
 * judged with the missing seeds undecided, so the verdict is at best unknown (exit 2), never a pass.
 * A shard is finished when its sweep.json says so and its runs.jsonl holds a run for each of its
 * units: a shard that claims it finished with runs missing is counted unfinished, not trusted.
 * Merging N shards gives the same report as the unsharded sweep, timing aside.
 */
import { compareNames } from "../../harness/compareNames.ts";
import { ExitCode } from "../../harness/results.ts";
import type { SeedRun, SweepFailure, SweepReport, SweepRow } from "../../reports/suite/model.ts";
import { UsageError } from "../main.ts";
import { describeExpectation, detected, falseAlarm, judgeRow, seedWithoutRun, undecided } from "./judge.ts";
import { allUnits, shardUnits, unitKey, type ShardOutput } from "./sweepFiles.ts";

/** Slowest runs listed. */
export const slowestMax = 10;

/** Wilson score interval for k successes in n trials at z (1.96: 95%). */
export function wilsonInterval(k: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

function checkSameSweep(shards: readonly ShardOutput[]): void {
  const first = shards[0]!;
  const seen = new Map<number, string>();
  for (const shard of shards) {
    const m = shard.manifest;
    const differs =
      m.digest !== first.manifest.digest
        ? "its suite's rows differ"
        : m.seeds.from !== first.manifest.seeds.from || m.seeds.to !== first.manifest.seeds.to
          ? `its seeds ${m.seeds.from}..${m.seeds.to} differ from ${first.manifest.seeds.from}..${first.manifest.seeds.to}`
          : m.shard.count !== first.manifest.shard.count
            ? `it is one of ${m.shard.count} shards, not ${first.manifest.shard.count}`
            : undefined;
    if (differs !== undefined)
      throw new UsageError(`${shard.dir}: not a shard of the same sweep as ${first.dir}: ${differs}`);
    const other = seen.get(m.shard.index);
    if (other !== undefined)
      throw new UsageError(
        `${shard.dir}: shard ${m.shard.index}/${m.shard.count} is given twice (also ${other})`,
      );
    seen.set(m.shard.index, shard.dir);
  }
}

export function mergeShards(shards: readonly ShardOutput[]): SweepReport {
  if (shards.length === 0) throw new UsageError("expected at least one sweep folder");
  checkSameSweep(shards);
  const { manifest } = shards[0]!;
  const count = manifest.shard.count;
  const present = shards.map((s) => s.manifest.shard.index).sort((a, b) => a - b);
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !present.includes(i));
  const units = allUnits(manifest.rows, manifest.seeds);
  const runsByRow = new Map<string, Map<number, SeedRun>>(manifest.rows.map((r) => [r.name, new Map()]));
  const unfinished: number[] = [];
  for (const shard of shards) {
    const mine = new Set(shardUnits(units, shard.manifest.shard).map(unitKey));
    for (const run of shard.runs) {
      if (!mine.has(unitKey(run)))
        throw new UsageError(
          `${shard.dir}/runs.jsonl: row ${run.row} seed ${run.seed} is not a unit of shard ${shard.manifest.shard.index}/${count}`,
        );
      runsByRow.get(run.row)!.set(run.seed, run);
    }
    // Finished when it says so and its runs add up to its units (each of them a unit of the shard,
    // none twice: readShard refuses a repeat): one that claims it finished with runs missing is not.
    if (!shard.manifest.complete || shard.runs.length !== mine.size)
      unfinished.push(shard.manifest.shard.index);
  }
  const incomplete = unfinished.sort((a, b) => a - b);

  const rows: SweepRow[] = [];
  const failures: SweepFailure[] = [];
  const all: SeedRun[] = [];
  for (const info of manifest.rows) {
    const found = runsByRow.get(info.name)!;
    const runs: SeedRun[] = [];
    for (let seed = manifest.seeds.from; seed <= manifest.seeds.to; seed++) {
      const run = found.get(seed);
      if (run !== undefined) runs.push(run);
    }
    all.push(...runs);
    const seeds = manifest.seeds.to - manifest.seeds.from + 1;
    const missingRuns: SeedRun[] = [];
    for (let seed = manifest.seeds.from; seed <= manifest.seeds.to; seed++) {
      if (found.has(seed)) continue;
      missingRuns.push(seedWithoutRun(info.name, seed, "", { error: "missing from the merged shards" }));
    }
    const judgment = judgeRow(
      { name: info.name, expect: info.expect, ...(info.todo !== undefined ? { todo: info.todo } : {}) },
      [...runs, ...missingRuns],
    );
    const unsure = runs.filter(undecided).length;
    const hits =
      info.expect.kind === "valid"
        ? runs.filter(falseAlarm).length
        : runs.filter((r) => detected(info.expect, r)).length;
    const decided = runs.length - unsure;
    rows.push({
      row: info.name,
      ...(info.claim !== undefined ? { claim: info.claim } : {}),
      ...(info.todo !== undefined ? { todo: info.todo } : {}),
      kind: info.expect.kind,
      expected: describeExpectation(info.expect, seeds),
      seeds,
      ran: runs.length,
      hits,
      undecided: unsure,
      missing: missingRuns.length,
      rate: decided > 0 ? hits / decided : null,
      interval: decided > 0 ? wilsonInterval(hits, decided) : null,
      verdict: judgment.verdict,
      found: judgment.found,
    });
    for (const run of runs) {
      if (run.valid === true && run.error === undefined) continue;
      failures.push({
        row: run.row,
        seed: run.seed,
        valid: run.valid,
        reported: run.reported,
        expected: info.expect.kind === "finds" && detected(info.expect, run),
        reproduceCommand: run.reproduceCommand,
        ...(run.storeDir !== undefined ? { storeDir: run.storeDir } : {}),
        ...(run.error !== undefined ? { error: run.error } : {}),
      });
    }
  }
  const complete = missing.length === 0 && incomplete.length === 0;
  const judged = rows.filter((r) => r.verdict !== "skipped");
  // Rows that are all todo judge nothing: undecided, never a pass.
  const verdict = judged.some((r) => r.verdict === "fails")
    ? "fails"
    : !complete || judged.length === 0 || judged.some((r) => r.verdict === "unknown")
      ? "unknown"
      : "holds";
  const slowest = [...all]
    .sort((a, b) => b.elapsedMs - a.elapsedMs || compareNames(a.row, b.row) || a.seed - b.seed)
    .slice(0, slowestMax)
    .map((r) => ({
      row: r.row,
      seed: r.seed,
      elapsedMs: r.elapsedMs,
      operations: r.operations,
      reproduceCommand: r.reproduceCommand,
    }));
  return {
    suite: manifest.suite,
    file: manifest.file,
    digest: manifest.digest,
    seeds: manifest.seeds,
    shards: { count, present, missing, incomplete },
    complete,
    verdict,
    exitCode:
      verdict === "holds" ? ExitCode.valid : verdict === "fails" ? ExitCode.invalid : ExitCode.unknown,
    runs: all.length,
    rows,
    failures,
    timing: { totalRunMs: all.reduce((sum, r) => sum + r.elapsedMs, 0), slowest },
  };
}
