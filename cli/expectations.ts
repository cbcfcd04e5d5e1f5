/**
 * The expectation matrix, as data: its rows live in `suites/matrix.yaml` now, not here. To add a
 * row (a bug knob, its control, a DESIGN.md claim), add it to that file: seeds as a contiguous
 * range from 1, and `at-least`/`rate` from what the detection bench measures. The format is
 * documented in cli/suite/suite.ts.
 *
 * This module only locates and loads that suite, for the vitest matrix (cli/expectations.test.ts,
 * which runs it as `faultline gate`) and the detection bench (bench/detection.bench.ts, a sweep).
 */
import { fileURLToPath } from "node:url";
import { loadSuite, type Suite } from "./suite/suite.ts";

/** suites/matrix.yaml, found from this module (sources or a compiled tree alike). */
export const matrixSuitePath = fileURLToPath(new URL("../suites/matrix.yaml", import.meta.url));

export async function loadMatrix(): Promise<Suite> {
  return loadSuite(matrixSuitePath);
}
