/**
 * A sweep's output folder, the contract between `faultline sweep` (which writes one per shard) and
 * `faultline sweep report` (which merges any number of them): `sweep.json` says what was asked
 * (the suite's rows, a digest of them, the seed range, the shard) and whether the shard finished;
 * `runs.jsonl` holds one SeedRun per line, appended as each run ends, so a killed shard keeps what
 * it ran; `store/` holds the runs that were not valid.
 *
 * Sharding: the units are every row (in file order) times every seed of the range (ascending);
 * shard I of N takes the units whose position p has p mod N = I − 1. Any N shards together are
 * exactly the unsharded sweep, each unit in exactly one shard, and the shards are balanced to
 * within one unit.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { SeedRun } from "../../reports/suite/model.ts";
import { UsageError } from "../main.ts";
import type { Expectation, Suite, SuiteRow } from "./suite.ts";

export const sweepFormat = "faultline-sweep/1";

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

export interface SweepRowInfo {
  readonly name: string;
  readonly claim?: string;
  readonly args: readonly string[];
  readonly expect: Expectation;
  readonly todo?: string;
}

export interface SweepManifest {
  readonly format: typeof sweepFormat;
  readonly suite: string;
  readonly file: string;
  /** sha256 of the rows (names, arguments, expectations): shards of different suites never merge. */
  readonly digest: string;
  readonly seeds: { readonly from: number; readonly to: number };
  readonly shard: Shard;
  readonly rows: readonly SweepRowInfo[];
  /** Units in this shard. */
  readonly units: number;
  /** True once every unit of the shard ran. */
  readonly complete: boolean;
}

export interface Unit {
  readonly row: string;
  readonly seed: number;
}

/** "I/N" with 1 ≤ I ≤ N ≤ 10000. */
export function parseShard(value: unknown): Shard {
  if (value === undefined) return { index: 1, count: 1 };
  const m = /^(\d+)\/(\d+)$/.exec(String(value));
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || !(count >= 1 && count <= 10_000 && index >= 1 && index <= count))
    throw new UsageError(`--shard: expected I/N with 1 <= I <= N (such as 2/4), got "${String(value)}"`);
  return { index, count };
}

/** "A..B" with A ≤ B, at most a million seeds. */
export function parseSeedRange(value: unknown): { from: number; to: number } {
  if (value === undefined) throw new UsageError("--seeds: required, a range A..B such as 1..100");
  const m = /^(\d+)\.\.(\d+)$/.exec(String(value));
  const from = Number(m?.[1]);
  const to = Number(m?.[2]);
  if (m === null || !Number.isSafeInteger(from) || !Number.isSafeInteger(to))
    throw new UsageError(`--seeds: expected a range A..B such as 1..100, got "${String(value)}"`);
  if (to < from) throw new UsageError(`--seeds: bad seed range "${String(value)}": it ends before it starts`);
  if (to - from + 1 > 1_000_000)
    throw new UsageError(`--seeds: at most 1,000,000 seeds, got ${to - from + 1}`);
  return { from, to };
}

export function rowInfo(row: SuiteRow): SweepRowInfo {
  return {
    name: row.name,
    ...(row.claim !== undefined ? { claim: row.claim } : {}),
    args: row.args,
    expect: row.expect,
    ...(row.todo !== undefined ? { todo: row.todo } : {}),
  };
}

export function suiteDigest(rows: readonly SweepRowInfo[]): string {
  const canonical = rows.map((r) => ({ name: r.name, args: r.args, expect: r.expect }));
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}

/** Every unit of the sweep, in order. */
export function allUnits(
  rows: readonly { readonly name: string }[],
  seeds: { from: number; to: number },
): Unit[] {
  const units: Unit[] = [];
  for (const row of rows)
    for (let seed = seeds.from; seed <= seeds.to; seed++) units.push({ row: row.name, seed });
  return units;
}

/** The units of one shard (position mod N = I − 1). */
export function shardUnits(units: readonly Unit[], shard: Shard): Unit[] {
  return units.filter((_, position) => position % shard.count === shard.index - 1);
}

export function manifestOf(
  suite: Suite,
  rows: readonly SuiteRow[],
  seeds: { from: number; to: number },
  shard: Shard,
  units: number,
  complete: boolean,
): SweepManifest {
  const infos = rows.map(rowInfo);
  return {
    format: sweepFormat,
    suite: suite.name,
    file: suite.file,
    digest: suiteDigest(infos),
    seeds,
    shard,
    rows: infos,
    units,
    complete,
  };
}

export interface ShardOutput {
  readonly dir: string;
  readonly manifest: SweepManifest;
  readonly runs: readonly SeedRun[];
}

/** Reads one shard's folder; anything malformed is a UsageError naming the file and line. */
export function readShard(dir: string): ShardOutput {
  const manifestPath = join(dir, "sweep.json");
  if (!existsSync(manifestPath)) throw new UsageError(`${dir}: not a sweep folder (no sweep.json)`);
  let manifest: SweepManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as SweepManifest;
  } catch (error) {
    throw new UsageError(`${manifestPath}:1: not JSON: ${(error as Error).message}`);
  }
  if (manifest.format !== sweepFormat)
    throw new UsageError(
      `${manifestPath}:1: format: expected "${sweepFormat}", got ${JSON.stringify(manifest.format)}`,
    );
  const runsPath = join(dir, "runs.jsonl");
  const runs: SeedRun[] = [];
  const text = existsSync(runsPath) ? readFileSync(runsPath, "utf8") : "";
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    // A shard killed mid-write leaves a torn last line: it is the one run that did not finish.
    if (i === lines.length - 1 && !text.endsWith("\n")) return;
    try {
      const run = JSON.parse(line) as SeedRun;
      if (typeof run.row !== "string" || typeof run.seed !== "number")
        throw new Error("expected a run with row and seed");
      runs.push(run);
    } catch (error) {
      throw new UsageError(`${runsPath}:${i + 1}: ${(error as Error).message}`);
    }
  });
  return { dir, manifest, runs };
}
