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
import { runPool } from "./pool.ts";
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
  const seedsOf = new Map(work.map(({ row, seeds }) => [row.name, seeds]));
  const round = (job: SeedJob): number => (options.decideEarly ? seedsOf.get(job.row)!.indexOf(job.seed) : 0);
  jobs.sort((a, b) => round(a) - round(b) || costOf(b.args) - costOf(a.args));
  const rows: RowProgress[] = work.map(({ row, seeds }) => ({
    name: row.name,
    seedsTotal: seeds.length,
    seedsDone: 0,
  }));
  const state: SuiteProgressState = {
    title: options.title,
    jobs: Math.max(1, Math.min(options.jobs, jobs.length)),
    totalRuns: jobs.length,
    doneRuns: 0,
    notValidRuns: 0,
    elapsedMs: 0,
    rows,
  };
  const runsByRow = new Map<string, SeedRun[]>(work.map(({ row }) => [row.name, []]));
  /** Seeds handed to a worker: one that has no run after an interrupt was cut short, not unrun. */
  const startedSeeds = new Set<string>();
  const rowByName = new Map(work.map(({ row }, i) => [row.name, { row, progress: rows[i]! }]));
  const update = (event: Parameters<SuiteProgress["update"]>[1]) => {
    state.elapsedMs = Date.now() - started;
    options.progress.update(state, event);
  };
  update({ kind: "start" });
  const ticker = setInterval(() => update({ kind: "tick" }), tickMs);
  try {
    const skip = (job: SeedJob): string | undefined => {
      const { row } = rowByName.get(job.row)!;
      const done = runsByRow.get(job.row)!;
      const pending = seedsOf.get(job.row)!.filter((seed) => !done.some((r) => r.seed === seed));
      if (!rowDecided(row, done, pending)) return undefined;
      return `not run: seeds ${done.map((r) => r.seed).join(", ")} decided the row`;
    };
    await runPool(jobs, {
      jobs: options.jobs,
      onStart: (job) => startedSeeds.add(seedKey(job.row, job.seed)),
      ...(options.decideEarly === true ? { skip } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      onDone: (run) => {
        const entry = rowByName.get(run.row)!;
        const runs = runsByRow.get(run.row)!;
        runs.push(run);
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
  return work.map(({ row, seeds }) => {
    const runs = [...runsByRow.get(row.name)!];
    for (const seed of seeds) {
      if (runs.some((r) => r.seed === seed)) continue;
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
