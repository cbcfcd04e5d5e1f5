/**
 * End to end: `faultline run --system engine --replication quorum --nemesis storage-cut` through
 * `executeRun`, with and without the two bug knobs this package exists for. The runs are short,
 * seeded simulations (a few seconds each); the expectation matrix (cli/expectations.ts) and the
 * detection bench run the same configurations over more seeds.
 */
import { describe, expect, it } from "vitest";
import { executeRun } from "../cli/execute.ts";
import { resolveRunConfig } from "../cli/run.ts";
import type { Results } from "../harness/results.ts";
import { scratchFolders } from "../harness/testkit.ts";

const freshStore = scratchFolders("storage-cut");

async function run(args: string[]): Promise<Results> {
  const store = freshStore();
  const config = resolveRunConfig([...args, "--store", store, "--quiet"]);
  if (config === "help") throw new Error("unexpected help");
  return (await executeRun(config, { startedAt: new Date(0) })).results;
}

const quorum = ["--system", "engine", "--replication", "quorum", "--nemesis", "storage-cut"];
const setRun = [
  ...quorum,
  "--workload",
  "set",
  "--nemesis-interval",
  "1",
  "--time-limit",
  "30",
  "--seed",
  "2",
];
const replicaAppend = [
  ...quorum,
  "--isolation",
  "snapshot",
  "--read-from",
  "replicas",
  "--workload",
  "append",
  "--nemesis-interval",
  "1",
  "--time-limit",
  "15",
  "--seed",
  "1",
];

const anomalies = (results: Results, checker: string): string[] =>
  Object.keys(results.checkers[checker]?.anomalies ?? {});

describe("storage-cut against the quorum engine", () => {
  it("dp-skips-gap: a flap and a crash lose acknowledged elements (set-full: lost)", async () => {
    const results = await run([...setRun, "--bug", "dp-skips-gap"]);
    expect(results.valid).toBe(false);
    expect(anomalies(results, "set-full")).toContain("lost");
  });

  it("without the knob the same schedule loses nothing", async () => {
    const results = await run(setRun);
    expect(results.valid, JSON.stringify(results.checkers["set-full"])).toBe(true);
  });

  it("replica-read-past-durable-point: replica reads of truncated appends (elle: incompatible-order)", async () => {
    const results = await run([...replicaAppend, "--bug", "replica-read-past-durable-point"]);
    expect(results.valid).toBe(false);
    expect(anomalies(results, "elle")).toContain("incompatible-order");
  });

  it("without the knob replica reads stay valid at snapshot isolation", async () => {
    const results = await run(replicaAppend);
    expect(results.valid, JSON.stringify(results.checkers["elle"])).toBe(true);
  });
});
