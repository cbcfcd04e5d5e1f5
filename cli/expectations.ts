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
  /** Not passing yet, and why (the test marks it todo; the bench still measures it). */
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

interface BugRowOptions {
  /** Further arguments: the fault schedule, rate, time limit. */
  readonly more: readonly string[];
  readonly anomalies: readonly AnomalyClass[];
  readonly seeds: readonly number[];
  readonly todo?: string;
}

/** A bug knob's row: the engine with `--bug NAME` under the fault that exposes it. */
function bugRow(bug: string, base: readonly string[], options: BugRowOptions): ExpectationRow {
  const args = ["--system", "engine", ...base, ...options.more, "--bug", bug];
  const nemesis = args[args.indexOf("--nemesis") + 1];
  const checkers = [...new Set(options.anomalies.map((a) => a.checker))].join(", ");
  return {
    id: `bug-${bug}`,
    source: "bug",
    claim: `--bug ${bug} (${args.includes("--nemesis") ? `${nemesis}` : "no faults"}): caught by ${checkers}`,
    args,
    expectValid: false,
    anomalies: options.anomalies,
    catchIn: "some",
    seeds: options.seeds,
    ...(options.todo !== undefined ? { todo: options.todo } : {}),
  };
}

/** The memory reference system under one nemesis: valid, always. */
function memoryRow(nemesis: string, workload: string): ExpectationRow {
  return {
    id: `memory-${nemesis}-${workload}`,
    source: "memory",
    claim: `the memory reference system, ${workload} workload, nemesis ${nemesis}: valid`,
    args: ["--system", "memory", "--workload", workload, "--nemesis", nemesis, "--nemesis-interval", "2"],
    expectValid: true,
    seeds: seeds(1, 3),
  };
}

export const expectationRows: readonly ExpectationRow[] = [
  // ── DESIGN.md: "What the harness must find" ─────────────────────────────────────────────────
  {
    id: "async-failover-loses-writes",
    source: "design",
    claim: "async, crash or isolate the writer, fail over: lost acknowledged writes",
    args: [...engine("async", "serializable"), "--workload", "set", "--nemesis", "crash,partition"],
    expectValid: false,
    anomalies: lostElements,
    catchIn: "some",
    seeds: seeds(1, 3),
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
    seeds: seeds(1, 2),
  },
  {
    id: "snapshot-append-G2-item",
    source: "design",
    claim: "snapshot, list append checked against serializable: G2-item (write skew, seen by Elle)",
    args: [
      ...engine("quorum", "snapshot"),
      "--model",
      "serializable",
      "--workload",
      "append",
      "--nemesis",
      "none",
      "--rate",
      "300",
      "--time-limit",
      "10",
    ],
    expectValid: false,
    anomalies: [{ checker: "elle", anomaly: "G2-item" }],
    catchIn: "every",
    seeds: seeds(1, 2),
  },
  {
    id: "snapshot-append-valid",
    source: "design",
    claim: "snapshot, list append checked against snapshot isolation, crashes and partitions: valid",
    args: [...engine("quorum", "snapshot"), "--workload", "append", "--nemesis", "partition,crash"],
    expectValid: true,
    seeds: seeds(1, 2),
  },
  {
    id: "serializable-append-quorum-all",
    source: "design",
    claim: "serializable, anything: valid (quorum, list append under every nemesis)",
    args: [...engine("quorum", "serializable"), "--workload", "append", "--nemesis", "all"],
    expectValid: true,
    seeds: seeds(1, 3),
  },
  {
    id: "serializable-append-sync-all",
    source: "design",
    claim: "serializable, anything: valid (sync, list append under every nemesis)",
    args: [...engine("sync", "serializable"), "--workload", "append", "--nemesis", "all"],
    expectValid: true,
    seeds: seeds(1, 2),
  },
  {
    id: "serializable-append-async-calm",
    source: "design",
    claim: "serializable, async with no failover (no faults): valid",
    args: [...engine("async", "serializable"), "--workload", "append", "--nemesis", "none"],
    expectValid: true,
    seeds: seeds(1, 2),
  },
  {
    id: "serializable-register-sync-partition",
    source: "design",
    claim: "serializable, anything: valid (sync, registers, partitions)",
    args: [
      ...engine("sync", "serializable"),
      "--workload",
      "register",
      "--nemesis",
      "partition",
      "--nemesis-interval",
      "1",
      "--time-limit",
      "30",
    ],
    expectValid: true,
    seeds: seeds(1, 2),
  },
  {
    id: "snapshot-append-replica-reads",
    source: "design",
    claim:
      "snapshot with reads from standbys (serializable replica reads are refused, as on PostgreSQL), crashes: valid at snapshot isolation",
    args: [
      ...engine("sync", "snapshot"),
      "--read-from",
      "replicas",
      "--workload",
      "append",
      "--nemesis",
      "crash",
      "--nemesis-interval",
      "1",
      "--rate",
      "200",
      "--time-limit",
      "60",
    ],
    expectValid: true,
    seeds: seeds(1, 2),
  },
  {
    id: "serializable-bank-all",
    source: "design",
    claim: "serializable, anything: valid (bank under every nemesis)",
    args: [...engine("sync", "serializable"), "--workload", "bank", "--nemesis", "all"],
    expectValid: true,
    seeds: seeds(1, 2),
  },
  {
    id: "serializable-write-skew",
    source: "design",
    claim: "serializable, anything: valid (write skew is prevented)",
    args: [...engine("quorum", "serializable"), "--workload", "write-skew", "--nemesis", "partition,crash"],
    expectValid: true,
    seeds: seeds(1, 2),
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
    seeds: seeds(1, 2),
  },
  {
    id: "read-committed-append-read-skew",
    source: "design",
    claim: "read-committed, list append checked against snapshot isolation: read skew (G-single-item)",
    args: [
      ...engine("quorum", "read-committed"),
      "--model",
      "snapshot-isolation",
      "--workload",
      "append",
      "--nemesis",
      "none",
      "--time-limit",
      "10",
    ],
    expectValid: false,
    anomalies: [
      { checker: "elle", anomaly: "G-single" },
      { checker: "elle", anomaly: "G-single-item" },
    ],
    catchIn: "every",
    seeds: seeds(1, 2),
  },
  {
    id: "read-committed-append-valid",
    source: "design",
    claim: "read-committed, list append checked against read committed, partitions and crashes: valid",
    args: [...engine("quorum", "read-committed"), "--workload", "append", "--nemesis", "partition,crash"],
    expectValid: true,
    seeds: seeds(1, 2),
  },
  {
    id: "leases-clock-skew",
    source: "design",
    claim:
      "leases + clock skew (the writer's wall clock steps back seconds while it is isolated and a new writer takes over): the engine counts its lease on the monotonic clock with a drift bound, so it stays linearizable; the stale reads DESIGN.md expects appear when the lease is counted on the wall clock (bug-lease-ignores-skew)",
    args: [
      ...engine("quorum", "serializable"),
      "--leases",
      "--workload",
      "register",
      "--nemesis",
      "skewed-writer",
      "--nemesis-interval",
      "1",
      "--time-limit",
      "60",
      "--concurrency",
      "30",
    ],
    expectValid: true,
    seeds: [1, 2],
  },
  {
    id: "leases-clock-only-valid",
    source: "design",
    claim: "leases with clock faults but no partition (the writer is never deposed): valid",
    args: [
      ...engine("sync", "serializable"),
      "--leases",
      "--workload",
      "register",
      "--nemesis",
      "clock",
      "--nemesis-interval",
      "1",
    ],
    expectValid: true,
    seeds: seeds(1, 2),
  },
  // ── Every engine bug knob: its fault, and the workload whose checker catches it ─────────────
  bugRow("dirty-read", ["--replication", "quorum", "--isolation", "serializable", "--workload", "append"], {
    more: ["--nemesis", "none", "--rate", "500", "--concurrency", "20", "--time-limit", "10"],
    anomalies: [
      { checker: "elle", anomaly: "G1a" },
      { checker: "elle", anomaly: "G1b" },
      { checker: "elle", anomaly: "G1c" },
    ],
    seeds: [1, 2],
  }),
  bugRow(
    "no-first-committer-wins",
    ["--replication", "quorum", "--isolation", "snapshot", "--workload", "append"],
    {
      more: ["--nemesis", "none", "--rate", "500", "--concurrency", "20", "--time-limit", "10"],
      anomalies: [
        { checker: "elle", anomaly: "lost-update" },
        { checker: "elle", anomaly: "incompatible-order" },
      ],
      seeds: [1, 2],
    },
  ),
  bugRow("promote-any-standby", ["--replication", "sync", "--workload", "set"], {
    more: ["--nemesis", "partition,crash", "--nemesis-interval", "1", "--time-limit", "30"],
    anomalies: lostElements,
    seeds: [1, 2, 3],
  }),
  bugRow("no-fencing", ["--replication", "sync", "--workload", "set"], {
    more: ["--nemesis", "partition", "--nemesis-interval", "1", "--time-limit", "60"],
    anomalies: lostElements,
    seeds: [1, 2, 3],
  }),
  bugRow(
    "replica-read-past-durable-point",
    ["--replication", "quorum", "--isolation", "snapshot", "--read-from", "replicas", "--workload", "append"],
    {
      more: ["--nemesis", "storage-cut", "--nemesis-interval", "1", "--time-limit", "30"],
      anomalies: [{ checker: "elle", anomaly: "incompatible-order" }],
      seeds: [1, 2],
    },
  ),
  bugRow("lease-ignores-skew", ["--replication", "quorum", "--leases", "--workload", "register"], {
    more: [
      "--nemesis",
      "skewed-writer",
      "--nemesis-interval",
      "1",
      "--time-limit",
      "60",
      "--concurrency",
      "30",
    ],
    anomalies: [{ checker: "linearizable", anomaly: "nonlinearizable" }],
    seeds: [1, 2],
  }),
  bugRow("dp-skips-gap", ["--replication", "quorum", "--workload", "set"], {
    more: ["--nemesis", "storage-cut", "--nemesis-interval", "1", "--time-limit", "30"],
    anomalies: lostElements,
    seeds: [1, 2],
  }),
  bugRow(
    "ack-before-fsync",
    ["--replication", "async", "--nodes", "1", "--isolation", "serializable", "--workload", "set"],
    {
      more: ["--nemesis", "crash", "--nemesis-interval", "1", "--time-limit", "30"],
      anomalies: lostElements,
      seeds: [2, 3],
    },
  ),
  bugRow(
    "skip-undo",
    ["--replication", "async", "--nodes", "1", "--isolation", "snapshot", "--workload", "bank"],
    {
      more: [
        "--nemesis",
        "crash",
        "--nemesis-interval",
        "1",
        "--time-limit",
        "30",
        "--concurrency",
        "30",
        "--rate",
        "3000",
      ],
      anomalies: [
        { checker: "bank", anomaly: "wrong-total" },
        { checker: "rw-register", anomaly: "G1a" },
      ],
      seeds: [2, 3],
    },
  ),
  bugRow(
    "torn-page",
    ["--replication", "async", "--nodes", "1", "--isolation", "snapshot", "--workload", "append"],
    {
      more: ["--nemesis", "crash-loop", "--nemesis-interval", "1", "--time-limit", "30", "--rate", "300"],
      anomalies: [
        { checker: "elle", anomaly: "incompatible-order" },
        { checker: "elle", anomaly: "G1a" },
        { checker: "elle", anomaly: "lost-update" },
        // A torn page can also leave data that recovery refuses (PostgreSQL would PANIC).
        { checker: "node-errors", anomaly: "process-died" },
      ],
      seeds: [1, 3, 4],
    },
  ),
  // ── Controls: the bug rows' configurations without the knob ─────────────────────────────────
  {
    id: "control-sync-set-fast-faults",
    source: "design",
    claim: "control for promote-any-standby: sync, set, partitions and crashes every second, no knob: valid",
    args: [
      ...engine("sync", "serializable"),
      "--workload",
      "set",
      "--nemesis",
      "partition,crash",
      "--nemesis-interval",
      "1",
      "--time-limit",
      "30",
    ],
    expectValid: true,
    seeds: [1, 2, 3],
  },
  {
    id: "control-sync-set-partitions",
    source: "design",
    claim: "control for no-fencing: sync, set, partitions every second for 60 s, no knob: valid",
    args: [
      ...engine("sync", "serializable"),
      "--workload",
      "set",
      "--nemesis",
      "partition",
      "--nemesis-interval",
      "1",
      "--time-limit",
      "60",
    ],
    expectValid: true,
    seeds: [3],
  },
  {
    id: "control-replica-reads-register",
    source: "design",
    claim:
      "control: quorum, replica reads, registers, crashes and partitions, no knob (stale reads expected)",
    args: [
      ...engine("quorum", "snapshot"),
      "--read-from",
      "replicas",
      "--workload",
      "register",
      "--nemesis",
      "crash,partition",
      "--nemesis-interval",
      "2",
    ],
    expectValid: false,
    anomalies: [{ checker: "linearizable", anomaly: "nonlinearizable" }],
    catchIn: "some",
    seeds: [1, 2],
  },
  {
    id: "control-leases-register",
    source: "design",
    claim: "control: quorum, leases, registers, partitions and clock faults, no knob: valid",
    args: [
      ...engine("quorum", "serializable"),
      "--leases",
      "--workload",
      "register",
      "--nemesis",
      "partition,clock",
      "--nemesis-interval",
      "1",
      "--time-limit",
      "30",
    ],
    expectValid: true,
    seeds: [1, 2],
  },
  {
    id: "control-standalone-set-crash",
    source: "design",
    claim:
      "control for ack-before-fsync: a standalone server (async, 1 node), set, a crash every second, no knob: valid",
    args: [
      ...engine("async", "serializable"),
      "--nodes",
      "1",
      "--workload",
      "set",
      "--nemesis",
      "crash",
      "--nemesis-interval",
      "1",
      "--time-limit",
      "30",
    ],
    expectValid: true,
    seeds: [1, 2],
  },
  {
    id: "control-standalone-bank-crash",
    source: "design",
    claim:
      "control for skip-undo: a standalone server, bank under heavy contention, a crash every second, no knob: valid",
    args: [
      ...engine("async", "snapshot"),
      "--nodes",
      "1",
      "--workload",
      "bank",
      "--nemesis",
      "crash",
      "--nemesis-interval",
      "1",
      "--time-limit",
      "30",
      "--concurrency",
      "30",
      "--rate",
      "3000",
    ],
    expectValid: true,
    seeds: [1, 2],
  },
  {
    id: "control-standalone-append-crash-loop",
    source: "design",
    claim:
      "control for torn-page: a standalone server, list append, the writer in a crash loop every second, no knob: valid (the double-write slot repairs every torn page)",
    args: [
      ...engine("async", "snapshot"),
      "--nodes",
      "1",
      "--workload",
      "append",
      "--nemesis",
      "crash-loop",
      "--nemesis-interval",
      "1",
      "--time-limit",
      "30",
      "--rate",
      "300",
    ],
    expectValid: true,
    seeds: [1, 2],
  },
  {
    id: "control-quorum-set-storage-cut",
    source: "design",
    claim: "control for dp-skips-gap: quorum, set, storage-cut every second, no knob: valid",
    args: [
      ...engine("quorum", "serializable"),
      "--workload",
      "set",
      "--nemesis",
      "storage-cut",
      "--nemesis-interval",
      "1",
      "--time-limit",
      "30",
    ],
    expectValid: true,
    seeds: [1, 2],
  },
  {
    id: "control-replica-reads-append-storage-cut",
    source: "design",
    claim:
      "control for replica-read-past-durable-point: quorum, replica reads, append at snapshot, storage-cut, no knob: valid",
    args: [
      ...engine("quorum", "snapshot"),
      "--read-from",
      "replicas",
      "--workload",
      "append",
      "--nemesis",
      "storage-cut",
      "--nemesis-interval",
      "1",
      "--time-limit",
      "30",
    ],
    expectValid: true,
    seeds: [1, 2],
  },
  // ── The memory reference system: valid under every nemesis ─────────────────────────────────
  memoryRow("none", "append"),
  memoryRow("partition", "register"),
  memoryRow("crash", "set"),
  memoryRow("pause", "bank"),
  memoryRow("clock", "write-skew"),
  memoryRow("packet", "append"),
  memoryRow("all", "set"),
  memoryRow("all", "bank"),
  memoryRow("storage-cut", "set"),
  memoryRow("skewed-writer", "register"),
  memoryRow("crash-loop", "append"),
];

export interface RunRowOptions {
  /** The store folder (tests pass a temporary one). */
  readonly store: string;
  /** Overrides the row's `--time-limit`, in seconds. */
  readonly timeLimitS?: number;
}

/** Runs one row in-process, as `faultline run ROW.args --seed SEED --store STORE` would. */
export async function runRow(
  row: ExpectationRow,
  seed: number,
  options: RunRowOptions,
): Promise<ExecuteResult> {
  const args = [...row.args];
  if (options.timeLimitS !== undefined) args.push("--time-limit", String(options.timeLimitS));
  else if (!args.includes("--time-limit")) args.push("--time-limit", String(defaultRowTimeLimitS));
  const config = resolveRunConfig([...args, "--seed", String(seed), "--store", options.store, "--quiet"]);
  if (config === "help") throw new Error(`row ${row.id}: its arguments ask for help`);
  return executeRun(config);
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
