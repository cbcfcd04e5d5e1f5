/**
 * What gates and sweeps report, as plain data: one seed's run summarised (`SeedRun`), a row judged
 * over its seeds (`RowJudgment`), a whole gate (`GateSummary`) and a merged sweep (`SweepReport`).
 * The CLI computes these (cli/suite/); the renderers here turn them into a terminal table, JUnit,
 * JSON and HTML, and never need to know how a run was made.
 */
import type { Verdict } from "../../harness/results.ts";

/** What one seed of a row showed: plain data, sent by workers and stored by sweeps. */
export interface SeedRun {
  readonly row: string;
  readonly seed: number;
  /** The run's verdict; "unknown" too when the run itself failed (see `error`). */
  readonly valid: Verdict;
  /** Every anomaly class reported with at least one case or a non-zero count, "checker:class", sorted. */
  readonly reported: readonly string[];
  readonly reproduceCommand: string;
  /** The run's store folder, when it was kept. */
  readonly storeDir?: string;
  /** Real time the run took, ms (measured by the process that ran it). */
  readonly elapsedMs: number;
  /** Client operations invoked. */
  readonly operations: number;
  /** The run could not be executed or checked: why. */
  readonly error?: string;
  /**
   * The run was never started, and why: a gate stops giving a row seeds once the seeds already run
   * decide its verdict (what the rest show could not change it). Counts for nothing, either way.
   */
  readonly notRun?: string;
}

export type RowVerdict = "holds" | "fails" | "unknown" | "skipped";

export interface RowJudgment {
  readonly row: string;
  readonly verdict: RowVerdict;
  /** What the row expects, in words: "valid on all 3", "finds set-full:lost on >= 1 of 3". */
  readonly expected: string;
  /** What the seeds showed, in words. */
  readonly found: string;
  readonly seeds: number;
  /** Seeds that found the bug (finds rows) or stayed valid (valid rows). */
  readonly good: number;
  readonly undecided: number;
  /** Seeds never started because the row was already decided (a gate's early decision). */
  readonly notRun?: number;
  /** The seeds that count against the row (false alarms or undecided; misses), in seed order. */
  readonly badSeeds: readonly SeedRun[];
}

export interface GateRow extends RowJudgment {
  readonly claim?: string;
  /** Real time of all its seeds' runs, ms. */
  readonly elapsedMs: number;
}

export interface GateSummary {
  readonly suite: string;
  readonly file: string;
  /** "holds" when every row holds (skipped rows aside); else the worst row verdict. */
  readonly verdict: "holds" | "fails" | "unknown";
  readonly exitCode: number;
  /** Worker processes the gate ran its seeds on (`--jobs`, or fewer when there were fewer seeds). */
  readonly jobs: number;
  readonly runs: number;
  readonly elapsedMs: number;
  readonly rows: readonly GateRow[];
}

/** A sweep's row over every seed it ran: rates, not just a verdict. */
export interface SweepRow {
  readonly row: string;
  readonly claim?: string;
  readonly todo?: string;
  /** "valid": expected valid (its rate is the false-alarm rate); "finds": a bug row (detection rate). */
  readonly kind: "valid" | "finds";
  readonly expected: string;
  /** Seeds the sweep asked for this row. */
  readonly seeds: number;
  /** Seeds whose run is in the merged output. */
  readonly ran: number;
  /** finds rows: seeds that found the bug; valid rows: seeds with verdict false (false alarms). */
  readonly hits: number;
  readonly undecided: number;
  readonly missing: number;
  /** hits / decided seeds (ran − undecided), or null when none was decided. */
  readonly rate: number | null;
  /** Wilson score interval of the rate at 95%, or null. */
  readonly interval: readonly [number, number] | null;
  readonly verdict: RowVerdict;
  readonly found: string;
}

/** A run that was not valid: the bug a row looks for, found (`expected`), or anything else. */
export interface SweepFailure {
  readonly row: string;
  readonly seed: number;
  readonly valid: Verdict;
  readonly reported: readonly string[];
  /** True when this is a bug row finding its bug; false for false alarms, other classes, undecided. */
  readonly expected: boolean;
  readonly reproduceCommand: string;
  readonly storeDir?: string;
  readonly error?: string;
}

export interface SweepReport {
  readonly suite: string;
  readonly file: string;
  readonly digest: string;
  readonly seeds: { readonly from: number; readonly to: number };
  readonly shards: {
    readonly count: number;
    readonly present: readonly number[];
    readonly missing: readonly number[];
    /** Present but not finished (killed or still running). */
    readonly incomplete: readonly number[];
  };
  readonly complete: boolean;
  readonly verdict: "holds" | "fails" | "unknown";
  readonly exitCode: number;
  readonly runs: number;
  readonly rows: readonly SweepRow[];
  readonly failures: readonly SweepFailure[];
  /** Wall-clock figures: they differ from one machine or sharding to the next. */
  readonly timing: {
    readonly totalRunMs: number;
    readonly slowest: readonly {
      readonly row: string;
      readonly seed: number;
      readonly elapsedMs: number;
      readonly operations: number;
      readonly reproduceCommand: string;
    }[];
  };
}
