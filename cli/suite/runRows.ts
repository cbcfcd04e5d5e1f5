/**
 * Runs a list of (row, seed) jobs on the worker pool (costliest first) with live progress, and hands back every
 * seed's run grouped by row, judged as each row's last seed ends. Gates and sweeps both come
 * through here; they differ only in which seeds they give each row and what they write after.
 * A seed that never ran (the run was interrupted) comes back as undecided, with why, so a row is
 * never judged on fewer seeds than it asked for; one left out because the row was already decided
 * (`decideEarly`) comes back as not run, with why.
 */
import type { SuiteProgress, SuiteProgressState, RowProgress } from "../../reports/suite/progress.ts";
import { judgeRow, rowDecided, seedWithoutRun, type RowJudgment, type SeedRun } from "./judge.ts";
import { poolWorkers, runPool } from "./pool.ts";
import { reproduceOf, type SeedJob } from "./seedRun.ts";
import { peekOption } from "../runConfig.ts";
import type { SuiteRow } from "./suite.ts";

export interface RowSeeds {
  readonly row: SuiteRow;
  readonly seeds: readonly number[];
}

export interface RunRowsOptions {
  readonly title: string;
  readonly jobs: number;
  readonly store: string;
  readonly keep: SeedJob["keep"];
  readonly progress: SuiteProgress;
  readonly signal?: AbortSignal;
  /** Called as each seed finishes (sweeps append it to their log). */
  readonly onRun?: (run: SeedRun) => void;
  /**
   * Give a row no more seeds once those it ran decide its verdict (`rowDecided`): a gate's choice,
   * which wants verdicts; a sweep wants every seed's result (rates) and leaves it off. The rows'
   * seeds then go in rounds (every row's first seed, then every row's second, …), so a row's later
   * seeds start after its first ones have ended.
   */
  readonly decideEarly?: boolean;
}

export interface RowOutcome {
  readonly row: SuiteRow;
  readonly runs: readonly SeedRun[];
  readonly judgment: RowJudgment;
}

const tickMs = 1_000;

/** A rough cost of one run: its time limit times its rate (the defaults when not given). */
function costOf(args: readonly string[]): number {
  const number = (name: string, fallback: number) => {
    const value = Number(peekOption(args, name));
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  return number("time-limit", 30) * number("rate", 100);
}

const seedKey = (row: string, seed: number): string => `${seed} ${row}`;

/** Runs of a row judged one by one at most this many times before judging in steps (below). */
const judgedEveryRunUpTo = 64;

/**
 * A gate's early decision for one row (`decideEarly`): whether the runs that ended decide its
 * verdict, so its other seeds need not run. Judging a row costs time in its seed count, so it is
 * judged after each of its first 64 runs, then once per 64th of its seeds: a row of n seeds costs
 * O(n) in all, where judging before every seed's start cost O(n²) (with the pending seeds found by
 * a scan of the runs, O(n³)): a gate of 100,000 seeds a row would never have ended. A row of 64
 * seeds or fewer is judged exactly as before. Once decided, it stays decided.
 */
export class EarlyDecision {
  private readonly done = new Set<number>();
  private endedSinceJudged = 0;
  private reason: string | undefined;

  constructor(
    private readonly row: Pick<SuiteRow, "name" | "expect" | "todo">,
    private readonly seeds: readonly number[],
    private readonly decides: typeof rowDecided = rowDecided,
  ) {
    this.judge([]);
  }

  /** Why the row's later seeds are not run, once its runs decide it. */
  get skipReason(): string | undefined {
    return this.reason;
  }

  /** A run of the row ended (`runs`: every run of the row that ended, this one included). */
  ended(run: SeedRun, runs: readonly SeedRun[]): void {
    this.done.add(run.seed);
    if (this.reason !== undefined) return;
    this.endedSinceJudged++;
    const step = Math.ceil(this.seeds.length / judgedEveryRunUpTo);
    if (this.done.size > judgedEveryRunUpTo && this.endedSinceJudged < step) return;
    this.judge(runs);
  }

  private judge(runs: readonly SeedRun[]): void {
    this.endedSinceJudged = 0;
    const pending = this.seeds.filter((seed) => !this.done.has(seed));
    if (this.decides(this.row, runs, pending))
      this.reason = `not run: seeds ${runs.map((r) => r.seed).join(", ")} decided the row`;
  }
}

export async function runRows(work: readonly RowSeeds[], options: RunRowsOptions): Promise<RowOutcome[]> {
  const started = Date.now();
  const jobs: SeedJob[] = work.flatMap(({ row, seeds }) =>
    seeds.map((seed) => ({
      row: row.name,
      args: row.run.name === undefined ? [...row.args, "--name", row.name] : row.args,
      seed,
      store: options.store,
      keep: options.keep,
    })),
  );
  // The costliest rows first (simulated seconds × operations per second), so that no long run is
  // left to start last while the other workers sit idle; deciding early, in rounds of seeds.
  // Each job's round and cost worked out once, not at every comparison (a row's seeds looked up by
  // a scan of its list cost a sort of n seeds O(n² log n)).
  const costOfRow = new Map(work.map(({ row }) => [row.name, costOf(row.args)]));
  const indexOfSeed = new Map(
    work.map(({ row, seeds }) => [row.name, new Map(seeds.map((seed, index) => [seed, index]))]),
  );
  const roundOf = new Map(
    jobs.map((job) => [job, options.decideEarly === true ? indexOfSeed.get(job.row)!.get(job.seed)! : 0]),
  );
  jobs.sort((a, b) => roundOf.get(a)! - roundOf.get(b)! || costOfRow.get(b.row)! - costOfRow.get(a.row)!);
  const rows: RowProgress[] = work.map(({ row, seeds }) => ({
    name: row.name,
    seedsTotal: seeds.length,
    seedsDone: 0,
  }));
  const state: SuiteProgressState = {
    title: options.title,
    jobs: poolWorkers(options.jobs, jobs.length),
    totalRuns: jobs.length,
    doneRuns: 0,
    notValidRuns: 0,
    elapsedMs: 0,
    rows,
  };
  const runsByRow = new Map<string, SeedRun[]>(work.map(({ row }) => [row.name, []]));
  /** Seeds handed to a worker: one that has no run after an interrupt was cut short, not unrun. */
  const startedSeeds = new Set<string>();
  const rowByName = new Map(
    work.map(({ row, seeds }, i) => [
      row.name,
      {
        row,
        progress: rows[i]!,
        early: options.decideEarly === true ? new EarlyDecision(row, seeds) : undefined,
      },
    ]),
  );
  const update = (event: Parameters<SuiteProgress["update"]>[1]) => {
    state.elapsedMs = Date.now() - started;
    options.progress.update(state, event);
  };
  update({ kind: "start" });
  const ticker = setInterval(() => update({ kind: "tick" }), tickMs);
  try {
    const skip = (job: SeedJob): string | undefined => rowByName.get(job.row)!.early?.skipReason;
    await runPool(jobs, {
      jobs: options.jobs,
      onStart: (job) => startedSeeds.add(seedKey(job.row, job.seed)),
      ...(options.decideEarly === true ? { skip } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      onDone: (run) => {
        const entry = rowByName.get(run.row)!;
        const runs = runsByRow.get(run.row)!;
        runs.push(run);
        entry.early?.ended(run, runs);
        options.onRun?.(run);
        state.doneRuns++;
        if (run.valid !== true && run.notRun === undefined) state.notValidRuns++;
        entry.progress.seedsDone++;
        update({ kind: "run", run });
        if (entry.progress.seedsDone === entry.progress.seedsTotal) {
          entry.progress.judgment = judgeRow(entry.row, runs);
          update({ kind: "row", judgment: entry.progress.judgment });
        }
      },
    });
  } finally {
    clearInterval(ticker);
  }
  // Every row's seeds with a run each (a set: a scan of the runs for each seed cost a sweep of n
  // seeds O(n²) here, and a sweep of a million seeds interrupted after 23,000 runs was still busy
  // long after the signal).
  return work.map(({ row, seeds }) => {
    const runs = [...runsByRow.get(row.name)!];
    const ran = new Set(runs.map((r) => r.seed));
    for (const seed of seeds) {
      if (ran.has(seed)) continue;
      runs.push(
        seedWithoutRun(row.name, seed, reproduceOf(row.args, seed), {
          error: startedSeeds.has(seedKey(row.name, seed))
            ? "cut short: the gate was interrupted while it ran"
            : "not run: the gate was interrupted",
        }),
      );
    }
    runs.sort((a, b) => a.seed - b.seed);
    return { row, runs, judgment: judgeRow(row, runs) };
  });
}
