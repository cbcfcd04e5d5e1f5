/** Progress reports for the live views' tests: a run mid-partition with a crashed node. */
import type { RunProgress, RunStartInfo } from "../../harness/runner/events.ts";

export const startInfo: RunStartInfo = {
  testName: "bank-async",
  seed: 42,
  mode: "sim",
  timeLimitNs: 30e9,
  storeDir: "store/bank-async/20261122T031045.123",
  reproduceCommand: "faultline run --workload bank --seed 42",
};

export function progressAt(testTimeNs: number, realElapsedMs: number, phase = "running"): RunProgress {
  return {
    testTimeNs,
    realElapsedMs,
    opsPerSecond: 1234.5,
    counts: {
      transfer: { invoke: 900, ok: 850, fail: 30, info: 12 },
      read: { invoke: 300, ok: 299, fail: 0, info: 1 },
    },
    nodes: [
      {
        name: "n1",
        up: true,
        paused: false,
        role: "writer",
        epoch: 3,
        clockOffsetNs: 0,
        cutOffFrom: ["n2", "n3"],
      },
      { name: "n2", up: false, paused: false, role: "standby", epoch: 2, clockOffsetNs: 5e6, cutOffFrom: [] },
      { name: "n3", up: true, paused: true, role: "standby", clockOffsetNs: -2e9, cutOffFrom: ["n1"] },
    ],
    activeFaults: ["partition n1 | n2 n3", "n2 crashed", "n3 paused"],
    phase,
  };
}
