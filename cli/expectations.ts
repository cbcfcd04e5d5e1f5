/**
 * The expectation matrix: what `faultline run` must find, and must not find, as data. Each row is
 * the argument list of one `faultline run` (system, replication, isolation, workload, nemesis,
 * bugs, time limit, rate), the verdict it must reach, and for an invalid row the anomaly classes
 * (by checker, spelled as the checkers emit them) of which at least one must be reported.
 *
 * The rows cover DESIGN.md's table "What the harness must find", every engine bug knob (its fault
 * and the workload whose checker catches it), and the memory reference system under every
 * nemesis. `cli/expectations.test.ts` runs each row over its fixed seeds; `bench/detection.bench.ts`
 * runs each over many seeds and prints detection rates and false-alarm counts.
 *
 * `catchIn` says how an invalid row is judged over its seeds: "every" seed must show the anomaly
 * (deterministic faults), or "some" seed must (probabilistic faults, such as async failover data
 * loss, where one window may happen to lose nothing). Either way the assertion can fail.
 */
import type { Results, Verdict } from "../harness/results.ts";
import { executeRun, type ExecuteResult } from "./execute.ts";
import { resolveRunConfig } from "./run.ts";

/** One anomaly class as one checker reports it (`results.checkers[checker].anomalies[anomaly]`). */
export interface AnomalyClass {
  readonly checker: string;
  readonly anomaly: string;
}

export interface ExpectationRow {
  /** A short unique name, used in test titles and the bench table. */
  readonly id: string;
  /** Where the row comes from: DESIGN.md's table, a bug knob, or the memory system. */
  readonly source: "design" | "bug" | "memory";
  /** The DESIGN.md row or the knob, in words. */
  readonly claim: string;
  /** Arguments of `faultline run` (without --seed and --store). */
  readonly args: readonly string[];
  readonly expectValid: boolean;
  /** Invalid rows: at least one of these classes must be reported. */
  readonly anomalies?: readonly AnomalyClass[];
  /** Invalid rows: must "every" seed catch it, or at least "some"? */
  readonly catchIn?: "every" | "some";
  /** Seeds the CI test runs (chosen so that the row's anomaly shows, see the test). */
  readonly seeds: readonly number[];
  /** Not yet runnable: why (the test marks it todo, the bench skips it). */
  readonly todo?: string;
}

const seeds = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

const engine = (replication: string, isolation: string): string[] => [
  "--system",
  "engine",
  "--replication",
  replication,
  "--isolation",
  isolation,
];

const lostElements: AnomalyClass[] = [{ checker: "set-full", anomaly: "lost" }];

export const expectationRows: readonly ExpectationRow[] = [
  // ── DESIGN.md: "What the harness must find" ───────────────────────────────────────────────────
  {
    id: "async-failover-loses-writes",
    source: "design",
    claim: "async, crash or isolate the writer, fail over: lost acknowledged writes",
    args: [...engine("async", "serializable"), "--workload", "set", "--nemesis", "crash,partition"],
    expectValid: false,
    anomalies: lostElements,
    catchIn: "some",
    seeds: seeds(1, 4),
  },
  {
    id: "sync-failover-valid",
    source: "design",
    claim: "sync, the same faults: valid (writes stall or fail while a standby is unreachable)",
    args: [...engine("sync", "serializable"), "--workload", "set", "--nemesis", "crash,partition"],
    expectValid: true,
    seeds: seeds(1, 3),
  },
  {
    id: "quorum-failover-valid",
    source: "design",
    claim: "quorum, the same faults: valid (writes stall or fail while a quorum is unreachable)",
    args: [...engine("quorum", "serializable"), "--workload", "set", "--nemesis", "crash,partition"],
    expectValid: true,
    seeds: seeds(1, 3),
  },
  {
    id: "snapshot-write-skew",
    source: "design",
    claim: "snapshot, write-skew workload: G2-item",
    args: [...engine("quorum", "snapshot"), "--workload", "write-skew", "--nemesis", "none"],
    expectValid: false,
    anomalies: [
      { checker: "rw-register", anomaly: "G2-item" },
      { checker: "on-call", anomaly: "nobody-on-call" },
    ],
    catchIn: "every",
    seeds: seeds(1, 3),
  },
  {
    id: "serializable-append-all",
    source: "design",
    claim: "serializable, anything: valid (list append under every nemesis)",
    args: [...engine("quorum", "serializable"), "--workload", "append", "--nemesis", "all"],
    expectValid: true,
    seeds: seeds(1, 3),
  },
  {
    id: "serializable-bank-all",
    source: "design",
    claim: "serializable, anything: valid (bank under every nemesis)",
    args: [...engine("sync", "serializable"), "--workload", "bank", "--nemesis", "all"],
    expectValid: true,
    seeds: seeds(1, 3),
  },
  {
    id: "serializable-write-skew",
    source: "design",
    claim: "serializable, anything: valid (write skew is prevented)",
    args: [...engine("quorum", "serializable"), "--workload", "write-skew", "--nemesis", "partition,crash"],
    expectValid: true,
    seeds: seeds(1, 3),
  },
  {
    id: "read-committed-bank",
    source: "design",
    claim: "read-committed, bank workload: read skew (G-single), wrong totals",
    args: [...engine("quorum", "read-committed"), "--workload", "bank", "--nemesis", "none"],
    expectValid: false,
    anomalies: [
      { checker: "bank", anomaly: "wrong-total" },
      { checker: "rw-register", anomaly: "G-single" },
      { checker: "rw-register", anomaly: "G-single-item" },
    ],
    catchIn: "every",
    seeds: seeds(1, 3),
  },
  {
    id: "leases-clock-skew",
    source: "design",
    claim: "leases + clock skew, partition and clock bumps: not linearizable (stale reads)",
    args: [
      ...engine("sync", "serializable"),
      "--leases",
      "--workload",
      "register",
      "--nemesis",
      "partition,clock",
    ],
    expectValid: false,
    anomalies: [{ checker: "linearizable", anomaly: "nonlinearizable" }],
    catchIn: "some",
    seeds: seeds(1, 4),
  },
];

export interface RunRowOptions {
  /** The store folder (tests pass a temporary one). */
  readonly store: string;
  /** Overrides the row's `--time-limit`, in seconds. */
  readonly timeLimitS?: number;
}

/** Runs one row in-process, as `faultline run ROW.args --seed SEED --store STORE` would. */
export async function runRow(row: ExpectationRow, seed: number, options: RunRowOptions): Promise<ExecuteResult> {
  const args = [...row.args];
  if (options.timeLimitS !== undefined) args.push("--time-limit", String(options.timeLimitS));
  else if (!args.includes("--time-limit")) args.push("--time-limit", String(defaultRowTimeLimitS));
  const config = resolveRunConfig([...args, "--seed", String(seed), "--store", options.store, "--quiet"]);
  if (config === "help") throw new Error(`row ${row.id}: its arguments ask for help`);
  return executeRun(config, { checkTimeLimitMs: 60_000 });
}

/** Simulated seconds of a row's main phase unless it says otherwise: short, to keep CI fast. */
export const defaultRowTimeLimitS = 20;

/** The classes of `wanted` that `results` reports (with at least one case or a non-zero count). */
export function foundClasses(results: Results, wanted: readonly AnomalyClass[]): AnomalyClass[] {
  return wanted.filter(({ checker, anomaly }) => {
    const r = results.checkers[checker];
    if (r === undefined) return false;
    return (r.anomalies?.[anomaly]?.length ?? 0) > 0 || (r.anomalyCounts?.[anomaly] ?? 0) > 0;
  });
}

/** What one seed of a row showed. */
export interface SeedOutcome {
  readonly seed: number;
  readonly valid: Verdict;
  /** Invalid rows: the expected classes this seed reported. */
  readonly caught: readonly AnomalyClass[];
  /** Every anomaly class reported, as "checker:class". */
  readonly reported: readonly string[];
  readonly reproduceCommand: string;
}

export function outcomeOf(row: ExpectationRow, seed: number, run: ExecuteResult): SeedOutcome {
  const reported = Object.entries(run.results.checkers).flatMap(([name, r]) =>
    Object.keys(r.anomalies ?? {}).map((a) => `${name}:${a}`),
  );
  return {
    seed,
    valid: run.results.valid,
    caught: row.expectValid ? [] : foundClasses(run.results, row.anomalies ?? []),
    reported,
    reproduceCommand: run.reproduceCommand,
  };
}

/** Did this seed detect the row's anomaly: verdict false and an expected class reported? */
export function detected(outcome: SeedOutcome): boolean {
  return outcome.valid === false && outcome.caught.length > 0;
}

/** Is this seed a false alarm on a valid row: anything but `true`? ("unknown" counts: it is no pass.) */
export function falseAlarm(outcome: SeedOutcome): boolean {
  return outcome.valid !== true;
}

/** One line per seed for a failure message: verdict, reported classes, the reproduce command. */
export function describeOutcomes(outcomes: readonly SeedOutcome[]): string {
  return outcomes
    .map(
      (o) =>
        `seed ${o.seed}: ${String(o.valid)} [${o.reported.join(", ") || "no anomalies"}]\n  ${o.reproduceCommand}`,
    )
    .join("\n");
}
