/**
 * Verdicts and their composition.
 *
 * Every checker answers `true` (the property holds), `false` (a counterexample was found) or
 * `"unknown"` (it could not decide: budget exhausted, history too ambiguous; the result says why).
 * Composition follows Jepsen: `false` outranks `"unknown"`, which outranks `true`. Exit codes are
 * Jepsen's too: 0 valid, 1 invalid, 2 unknown, 254 bad arguments or input, 255 internal error.
 */
export type Verdict = true | false | "unknown";

/**
 * One instance of an anomaly, as data plus the words a person reads: `explanation` is plain text,
 * possibly several lines (Elle's Let/Then form for a cycle; for linearizability the key, the
 * operation that could not be placed and the prefix; for a lost write its value and times).
 */
export interface AnomalyCase {
  readonly explanation: string;
  readonly [detail: string]: unknown;
}

export interface CheckResult {
  readonly valid: Verdict;
  /** Why the verdict is "unknown", or a one-line summary of what was found. */
  readonly reason?: string;
  /**
   * Anomalies found, by class name as Elle spells them ("G2-item", "lost-update") or the
   * checker's own ("nonlinearizable", "lost", "wrong-total"). Reports render these generically:
   * the class, its count, and its first cases in full. A checker may list only the first few
   * cases of a class; `anomalyCounts` then gives the true totals.
   */
  readonly anomalies?: Readonly<Record<string, readonly AnomalyCase[]>>;
  readonly anomalyCounts?: Readonly<Record<string, number>>;
  readonly [detail: string]: unknown;
}

/**
 * A run stopped before its end (SIGINT, SIGTERM). Its history is a true prefix of a run, so an
 * anomaly found in it is real; but the test asked for was not run to its end, so the run also
 * holds an `interrupted` result of `"unknown"`: its verdict is `false` if the prefix shows an
 * anomaly, and `"unknown"` otherwise, never `true`.
 */
export interface Interruption {
  /** What stopped it: "SIGINT", "SIGTERM", or another reason given to the abort. */
  readonly signal: string;
  /** When the runner saw it, ns of test time. */
  readonly atTestTimeNs: number;
  /** The main phase the test asked for, ns of test time. */
  readonly timeLimitNs: number;
}

export interface Results {
  readonly valid: Verdict;
  readonly checkers: Readonly<Record<string, CheckResult>>;
  /** Set when the run was interrupted; see `Interruption`. */
  readonly interrupted?: Interruption;
}

/**
 * The results a run adds beside its checkers' (executeRun): the run stopped (`run`), it was
 * interrupted, a node process died on its own error, the nemesis failed. A workload's checker may
 * not take one of these names, or its verdict would replace the run's own.
 */
export const runResultNames: readonly string[] = ["run", "interrupted", "node-errors", "nemesis"];

const rank = (v: Verdict): number => (v === false ? 2 : v === "unknown" ? 1 : 0);

/** The worst of several verdicts; the empty composition is valid. */
export function worstVerdict(verdicts: Iterable<Verdict>): Verdict {
  let worst: Verdict = true;
  for (const v of verdicts) if (rank(v) > rank(worst)) worst = v;
  return worst;
}

export function composeResults(checkers: Record<string, CheckResult>): Results {
  return { valid: worstVerdict(Object.values(checkers).map((r) => r.valid)), checkers };
}

export const ExitCode = {
  valid: 0,
  invalid: 1,
  unknown: 2,
  badInput: 254,
  internal: 255,
} as const;

export function exitCodeFor(v: Verdict): number {
  return v === true ? ExitCode.valid : v === false ? ExitCode.invalid : ExitCode.unknown;
}

/** Worst exit code of several: 255 > 254 > 1 > 2 > 0 (an invalid verdict outranks an unknown one). */
export function worstExitCode(codes: Iterable<number>): number {
  const order = [ExitCode.valid, ExitCode.unknown, ExitCode.invalid, ExitCode.badInput, ExitCode.internal];
  let worst = 0;
  for (const c of codes) if (order.indexOf(c as never) > order.indexOf(worst as never)) worst = c;
  return worst;
}
