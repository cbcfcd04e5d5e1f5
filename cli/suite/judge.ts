/**
 * Judging a suite row from what its seeds showed. A seed's run is summarised as plain data (its
 * verdict and every anomaly class it reported, as "checker:class"), so a worker process can send it
 * and a sweep can store it; judging is a pure function of those summaries.
 *
 * - A seed *finds* a row's bug when its verdict is false and it reports one of the row's classes
 *   (by the checker the row names: the same class from another checker does not count).
 * - A seed is a *false alarm* on a valid row when its verdict is false.
 * - A seed is *undecided* when its verdict is unknown or its run failed: it might have gone either
 *   way, so it never counts for a row, and a row that only undecided seeds could still settle is
 *   unknown, not failed (exit 2, as for a checker that runs out of budget).
 *
 * `expect: valid` holds when every seed is valid; `finds … at-least K` (or `all`, or `rate P`,
 * which is at-least ⌈P·n⌉) holds when at least K seeds find the bug.
 *
 * A seed *not run* (`notRun`: a gate skipped it because the seeds before it decided the row, see
 * `rowDecided`) counts as an undecided one does in the verdict's arithmetic, so a row can never
 * hold or fail on seeds it skipped; it is reported apart from the undecided ones.
 */
import type { Results } from "../../harness/results.ts";
import type { RowJudgment, RowVerdict, SeedRun } from "../../reports/suite/model.ts";
import type { AnomalyClass, Expectation, SuiteRow } from "./suite.ts";

export type { RowJudgment, RowVerdict, SeedRun } from "../../reports/suite/model.ts";

/** "checker:class" of every class a result reports. */
export function reportedClasses(results: Results): string[] {
  const out: string[] = [];
  for (const [name, r] of Object.entries(results.checkers)) {
    const names = new Set([...Object.keys(r.anomalies ?? {}), ...Object.keys(r.anomalyCounts ?? {})]);
    for (const a of names) {
      if ((r.anomalies?.[a]?.length ?? 0) > 0 || (r.anomalyCounts?.[a] ?? 0) > 0) out.push(`${name}:${a}`);
    }
  }
  return out.sort();
}

export const classKey = (c: AnomalyClass): string => `${c.checker}:${c.anomaly}`;

/** The row's classes that this seed reported. */
export function caughtClasses(expect: Expectation, run: Pick<SeedRun, "reported">): string[] {
  if (expect.kind !== "finds") return [];
  return expect.anomalies.map(classKey).filter((k) => run.reported.includes(k));
}

/**
 * The summary of a seed that has no run of its own to summarise: one that failed to run or to be
 * checked (`error`), or was never started (`notRun`); its verdict is unknown and it reported nothing.
 */
export function seedWithoutRun(
  row: string,
  seed: number,
  reproduceCommand: string,
  why: { readonly error: string } | { readonly notRun: string },
  elapsedMs = 0,
): SeedRun {
  return { row, seed, valid: "unknown", reported: [], reproduceCommand, elapsedMs, operations: 0, ...why };
}

export function undecided(run: Pick<SeedRun, "valid" | "error" | "notRun">): boolean {
  return run.notRun === undefined && (run.valid === "unknown" || run.error !== undefined);
}

/** Did this seed find the row's bug: verdict false and one of the row's classes reported? */
export function detected(expect: Expectation, run: Pick<SeedRun, "valid" | "reported" | "error">): boolean {
  return run.error === undefined && run.valid === false && caughtClasses(expect, run).length > 0;
}

/** Is this seed a false alarm on a valid row: verdict false? */
export function falseAlarm(run: Pick<SeedRun, "valid" | "error">): boolean {
  return run.error === undefined && run.valid === false;
}

/** How many of n seeds must find the bug. */
export function seedsNeeded(expect: Expectation, n: number): number {
  if (expect.kind === "valid") return n;
  if (expect.atLeast === "all") return n;
  if (typeof expect.atLeast === "number") return expect.atLeast;
  return Math.max(1, Math.ceil((expect.rate ?? 1) * n - 1e-9));
}

export function describeExpectation(expect: Expectation, n: number): string {
  if (expect.kind === "valid") return `valid on all ${n}`;
  const classes = expect.anomalies.map(classKey).join(" or ");
  if (expect.rate !== undefined)
    return `finds ${classes} on >= ${(expect.rate * 100).toFixed(0)}% (${seedsNeeded(expect, n)} of ${n})`;
  return `finds ${classes} on ${expect.atLeast === "all" ? "all" : `>= ${expect.atLeast} of`} ${n}`;
}

export function judgeRow(
  row: Pick<SuiteRow, "name" | "expect" | "todo">,
  runs: readonly SeedRun[],
): RowJudgment {
  const all = [...runs].sort((a, b) => a.seed - b.seed);
  const n = all.length;
  const expected = describeExpectation(row.expect, n);
  const sorted = all.filter((r) => r.notRun === undefined);
  const skipped = all.length - sorted.length;
  const unsure = sorted.filter(undecided);
  const undecidedNote =
    (unsure.length > 0 ? `, ${unsure.length} undecided (seeds ${seedList(unsure)})` : "") +
    (skipped > 0 ? `, ${skipped} not run (decided by the others)` : "");
  const notRun = skipped > 0 ? { notRun: skipped } : {};
  if (row.todo !== undefined) {
    return {
      row: row.name,
      verdict: "skipped",
      expected,
      found: `todo: ${row.todo}`,
      seeds: n,
      good: 0,
      undecided: 0,
      badSeeds: [],
    };
  }
  if (row.expect.kind === "valid") {
    const alarms = sorted.filter(falseAlarm);
    const good = sorted.filter((r) => r.valid === true && r.error === undefined).length;
    const verdict: RowVerdict =
      alarms.length > 0 ? "fails" : unsure.length + skipped > 0 ? "unknown" : "holds";
    const found =
      alarms.length > 0
        ? `false alarm on ${alarms.length} of ${n}: ${alarms.map((r) => `seed ${r.seed} [${r.reported.join(", ") || "no class"}]`).join("; ")}${undecidedNote}`
        : `valid on ${good} of ${n}${undecidedNote}`;
    return {
      row: row.name,
      verdict,
      expected,
      found,
      seeds: n,
      good,
      undecided: unsure.length,
      ...notRun,
      badSeeds: [...alarms, ...unsure].sort((a, b) => a.seed - b.seed),
    };
  }
  const expect = row.expect;
  const caught = sorted.filter((r) => detected(expect, r));
  const needed = seedsNeeded(expect, n);
  const verdict: RowVerdict =
    caught.length >= needed
      ? "holds"
      : caught.length + unsure.length + skipped >= needed
        ? "unknown"
        : "fails";
  const missed = sorted.filter((r) => !detected(expect, r));
  const others = missed.filter((r) => r.valid === false && r.error === undefined);
  const found =
    `found on ${caught.length} of ${n}` +
    (caught.length > 0 ? ` (seeds ${seedList(caught)})` : "") +
    (others.length > 0
      ? `; other anomalies on seeds ${others.map((r) => `${r.seed} [${r.reported.join(", ")}]`).join("; ")}`
      : "") +
    undecidedNote;
  return {
    row: row.name,
    verdict,
    expected,
    found,
    seeds: n,
    good: caught.length,
    undecided: unsure.length,
    ...notRun,
    badSeeds: missed,
  };
}

/**
 * Whether the seeds run so far decide the row whatever its other seeds (`pending`) would show: the
 * row judged with those counted as undecided already holds or already fails. A gate gives such a
 * row no more seeds: a bug row found on as many seeds as it needs holds, a valid row with a false
 * alarm fails, a bug row that can no longer reach its count fails.
 */
export function rowDecided(
  row: Pick<SuiteRow, "name" | "expect" | "todo">,
  done: readonly SeedRun[],
  pending: readonly number[],
): boolean {
  if (pending.length === 0 || row.todo !== undefined) return false;
  const placeholders = pending.map((seed) => seedWithoutRun(row.name, seed, "", { notRun: "pending" }));
  const verdict = judgeRow(row, [...done, ...placeholders]).verdict;
  return verdict === "holds" || verdict === "fails";
}

function seedList(runs: readonly SeedRun[]): string {
  const seeds = runs.map((r) => r.seed);
  return seeds.length > 12 ? `${seeds.slice(0, 12).join(", ")}, …` : seeds.join(", ");
}

/** One line per seed for a failure message: verdict, reported classes, the reproduce command. */
export function describeRuns(runs: readonly SeedRun[]): string {
  return runs
    .map(
      (r) =>
        `seed ${r.seed}: ${String(r.valid)} [${r.reported.join(", ") || "no anomalies"}]${r.error !== undefined ? ` (${r.error})` : ""}\n  ${r.reproduceCommand}`,
    )
    .join("\n");
}
