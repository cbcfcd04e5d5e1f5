/**
 * For the suite's own tests: a seed's run as a worker reports it, with only what the judging
 * reads (its verdict and the anomaly classes it reported) chosen by the test.
 */
import type { Verdict } from "../../harness/results.ts";
import type { SeedRun } from "./judge.ts";

/** Seed `seed` of row "r", with this verdict, these reported classes and, if given, an error. */
export const seedRun = (seed: number, valid: Verdict, reported: string[], error?: string): SeedRun => ({
  row: "r",
  seed,
  valid,
  reported,
  reproduceCommand: `npx faultline run --seed ${seed}`,
  elapsedMs: 1,
  operations: 10,
  ...(error !== undefined ? { error } : {}),
});
