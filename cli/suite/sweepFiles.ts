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
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { SeedRun } from "../../reports/suite/model.ts";
import { UsageError } from "../main.ts";
import { readInputFile } from "../inputFile.ts";
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

/** A unit as one string, for sets and maps of units. */
export function unitKey(unit: Unit): string {
  return `${unit.row}\u0000${unit.seed}`;
}

/** The most shards a sweep may be split into (`--shard`, and a sweep.json read back). */
const maxShards = 10_000;

/** "I/N" with 1 ≤ I ≤ N ≤ 10000. */
export function parseShard(value: unknown): Shard {
  if (value === undefined) return { index: 1, count: 1 };
  const m = /^(\d+)\/(\d+)$/.exec(String(value));
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || !(count >= 1 && count <= maxShards && index >= 1 && index <= count))
    throw new UsageError(`--shard: expected I/N with 1 <= I <= N (such as 2/4), got "${String(value)}"`);
  return { index, count };
}

/** The most seeds a range may hold (`--seeds`, and a sweep.json read back). */
const maxSeeds = 1_000_000;

/** "A..B" with A ≤ B, at most a million seeds. */
export function parseSeedRange(value: unknown): { from: number; to: number } {
  if (value === undefined) throw new UsageError("--seeds: required, a range A..B such as 1..100");
  const m = /^(\d+)\.\.(\d+)$/.exec(String(value));
  const from = Number(m?.[1]);
  const to = Number(m?.[2]);
  if (m === null || !Number.isSafeInteger(from) || !Number.isSafeInteger(to))
    throw new UsageError(`--seeds: expected a range A..B such as 1..100, got "${String(value)}"`);
  if (to < from) throw new UsageError(`--seeds: bad seed range "${String(value)}": it ends before it starts`);
  if (to - from + 1 > maxSeeds)
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

/** How many units `shardUnits` gives shard I of N of `total` units: the positions I − 1, I − 1 + N, … */
export function shardUnitCount(total: number, shard: Shard): number {
  return total < shard.index ? 0 : Math.floor((total - shard.index) / shard.count) + 1;
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
  /** runs.jsonl's torn last line (no line break after it: a shard killed mid-write), left out. */
  readonly tornLastLine?: number;
}

const wholeNumber = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A stored expectation, as `manifestOf` writes it (the suite's `expect`, resolved). */
const storedExpectationSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("valid") }).strict(),
  z
    .object({
      kind: z.literal("finds"),
      anomalies: z.array(z.object({ checker: z.string(), anomaly: z.string() }).strict()).min(1),
      atLeast: z.union([z.number().int().min(1), z.literal("all")]).optional(),
      rate: z.number().gt(0).max(1).optional(),
    })
    .strict()
    .refine((e) => (e.atLeast === undefined) !== (e.rate === undefined), {
      error: "expected exactly one of atLeast and rate",
    }),
]);

/** sweep.json: every field `faultline sweep` writes, with the bounds it writes them within. */
const manifestSchema = z.object({
  format: z.literal(sweepFormat),
  suite: z.string(),
  file: z.string(),
  digest: z.string(),
  seeds: z
    .object({ from: wholeNumber, to: wholeNumber })
    .refine((s) => s.from <= s.to, { error: "expected from <= to" })
    .refine((s) => s.to - s.from + 1 <= maxSeeds, { error: `expected at most ${maxSeeds} seeds` }),
  shard: z
    .object({ index: z.number().int().min(1), count: z.number().int().min(1).max(maxShards) })
    .refine((s) => s.index <= s.count, { error: "expected index <= count" }),
  rows: z.array(
    z.object({
      name: z.string(),
      claim: z.string().optional(),
      args: z.array(z.string()),
      expect: storedExpectationSchema,
      todo: z.string().optional(),
    }),
  ),
  units: wholeNumber,
  complete: z.boolean(),
});

/** One line of runs.jsonl: a SeedRun as the sweep's workers report it. */
const seedRunSchema = z.object({
  row: z.string(),
  seed: wholeNumber,
  valid: z.union([z.boolean(), z.literal("unknown")], { error: `expected true, false or "unknown"` }),
  reported: z.array(z.string()),
  reproduceCommand: z.string(),
  storeDir: z.string().optional(),
  elapsedMs: z.number().min(0),
  operations: wholeNumber,
  error: z.string().optional(),
});

/** The first problem zod found, as "at PATH: message" (the path only when there is one). */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "bad shape";
  const where = issue.path.length === 0 ? "" : `${issue.path.join(".")}: `;
  return `${where}${issue.message}`;
}

/** The most bytes of sweep.json read: its rows' arguments and expectations (a suite's are KiB). */
const maxManifestBytes = 64 << 20;
/**
 * The most bytes of runs.jsonl read: a run's line is a few hundred bytes, so this is about a
 * million runs, more than a shard runs in a night; and it stays below the longest string V8 makes.
 */
const maxRunsBytes = 256 << 20;

/** Reads one shard's folder; anything malformed is a UsageError naming the file and line. */
export function readShard(dir: string): ShardOutput {
  const manifestPath = join(dir, "sweep.json");
  if (!existsSync(manifestPath)) throw new UsageError(`${dir}: not a sweep folder (no sweep.json)`);
  const manifestText = readInputFile(manifestPath, "the sweep's manifest", maxManifestBytes);
  let json: unknown;
  try {
    json = JSON.parse(manifestText);
  } catch (error) {
    throw new UsageError(`${manifestPath}:1: not JSON: ${(error as Error).message}`);
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== sweepFormat)
    throw new UsageError(
      `${manifestPath}:1: format: expected "${sweepFormat}", got ${JSON.stringify(format)}`,
    );
  const parsedManifest = manifestSchema.safeParse(json);
  if (!parsedManifest.success)
    throw new UsageError(
      `${manifestPath}: not a sweep manifest as faultline sweep writes it: ${firstIssue(parsedManifest.error)}`,
    );
  const manifest: SweepManifest = parsedManifest.data;
  // The digest covers the rows: rows edited after the sweep (or a digest from another suite) would
  // judge its runs against expectations they were not run for.
  if (suiteDigest(manifest.rows) !== manifest.digest)
    throw new UsageError(
      `${manifestPath}: its rows do not match its digest (the file was edited after the sweep)`,
    );
  // The shard's unit count follows from its rows, seeds and place: one that does not was edited,
  // and a report could not tell from it whether every unit ran.
  const units = shardUnitCount(
    manifest.rows.length * (manifest.seeds.to - manifest.seeds.from + 1),
    manifest.shard,
  );
  if (manifest.units !== units)
    throw new UsageError(
      `${manifestPath}: units: expected ${units}, the units of shard ${manifest.shard.index}/${manifest.shard.count} of its ${manifest.rows.length} rows and seeds ${manifest.seeds.from}..${manifest.seeds.to}; got ${manifest.units}`,
    );
  const runsPath = join(dir, "runs.jsonl");
  const runs: SeedRun[] = [];
  const lineOf = new Map<string, number>();
  const text = existsSync(runsPath)
    ? readInputFile(runsPath, "the shard's runs, one a line", maxRunsBytes)
    : "";
  const lines = text.split("\n");
  let tornLastLine: number | undefined;
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    // A shard killed mid-write leaves a torn last line: it is the one run that did not finish.
    if (i === lines.length - 1 && !text.endsWith("\n")) {
      tornLastLine = i + 1;
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new UsageError(`${runsPath}:${i + 1}: ${(error as Error).message}`);
    }
    // A sweep runs every unit of its shard (only a gate skips seeds): a line that says its seed was
    // not run is no line of a sweep, and its verdict is no run's, whatever it claims.
    if (typeof json === "object" && json !== null && Object.hasOwn(json, "notRun"))
      throw new UsageError(
        `${runsPath}:${i + 1}: expected a run as faultline sweep writes it: notRun: a sweep runs every seed of its shard and never writes one`,
      );
    const parsed = seedRunSchema.safeParse(json);
    if (!parsed.success)
      throw new UsageError(
        `${runsPath}:${i + 1}: expected a run as faultline sweep writes it: ${firstIssue(parsed.error)}`,
      );
    const run = parsed.data;
    // Each unit runs once: a second line for it would be counted twice, or contradict the first.
    const unit = unitKey(run);
    const first = lineOf.get(unit);
    if (first !== undefined)
      throw new UsageError(
        `${runsPath}:${i + 1}: row ${run.row} seed ${run.seed} again (first on line ${first})`,
      );
    lineOf.set(unit, i + 1);
    runs.push(run);
  });
  return { dir, manifest, runs, ...(tornLastLine !== undefined ? { tornLastLine } : {}) };
}
