import { describe, expect, it } from "vitest";
import { executeRun } from "../cli/execute.ts";
import { resolveRunConfig } from "../cli/run.ts";
import { scratchFolders } from "../harness/testkit.ts";
import { workloadRegistry } from "./index.ts";

const store = scratchFolders("workloads")();

async function run(workload: string, extra: string[] = []) {
  const config = resolveRunConfig([
    "--system",
    "memory",
    "--workload",
    workload,
    "--time-limit",
    "3",
    "--seed",
    "11",
    "--store",
    store,
    "--quiet",
    ...extra,
  ]);
  if (config === "help") throw new Error("unexpected help");
  return executeRun(config, { startedAt: new Date(Date.UTC(2026, 0, 1)) });
}

const fs = (history: readonly { f: string; process: unknown }[]): Set<string> =>
  new Set(history.filter((op) => op.process !== "nemesis").map((op) => op.f));

describe("workloads on the memory system, end to end in simulation", () => {
  it("registers exactly the five workloads, register first (the default)", () => {
    expect(Object.keys(workloadRegistry)).toEqual(["register", "bank", "write-skew", "append", "set"]);
  });

  it("bank: valid, with transfers, reads, an rw-register check and stats", async () => {
    const r = await run("bank", ["--nemesis", "partition,crash", "--nemesis-interval", "1"]);
    expect(r.results.valid, JSON.stringify(r.results)).toBe(true);
    expect(Object.keys(r.results.checkers)).toEqual(["bank", "rw-register", "stats"]);
    expect(r.results.checkers.bank!.readCount).toBeGreaterThan(10);
    expect(fs(r.history)).toEqual(new Set(["txn", "transfer"]));
    expect(r.history.some((op) => op.f === "transfer" && op.type === "ok")).toBe(true);
  });

  it("write-skew: valid (the reference store is serializable), with take-off-call ops", async () => {
    const r = await run("write-skew", ["--model", "snapshot-isolation"]);
    expect(r.results.valid, JSON.stringify(r.results)).toBe(true);
    expect(Object.keys(r.results.checkers)).toEqual(["on-call", "rw-register", "stats"]);
    expect(r.results.checkers["rw-register"]!.model).toBe("snapshot-isolation");
    // Doctors really were taken off call, so the invariant was put to the test.
    const tookOff = r.history.filter(
      (op) => op.f === "take-off-call" && op.type === "ok" && (op.value as unknown[]).length === 3,
    );
    expect(tookOff.length).toBeGreaterThan(5);
  });

  it("append: valid under the model asked for", async () => {
    const r = await run("append", ["--model", "read-committed", "--nemesis", "pause"]);
    expect(r.results.valid, JSON.stringify(r.results)).toBe(true);
    expect(r.results.checkers.elle!.model).toBe("read-committed");
    expect(r.results.checkers.elle!.txnCount).toBeGreaterThan(100);
  });

  it("set: valid, with every acknowledged element read after healing", async () => {
    const r = await run("set", ["--nemesis", "partition", "--nemesis-interval", "1"]);
    expect(r.results.valid, JSON.stringify(r.results)).toBe(true);
    const setFull = r.results.checkers["set-full"]!;
    expect(setFull.acknowledgedCount).toBeGreaterThan(50);
    expect(setFull.neverReadCount).toBe(0);
    expect(setFull.stableCount).toBeGreaterThanOrEqual(setFull.acknowledgedCount as number);
  });

  it("register: valid, with stats beside linearizability", async () => {
    const r = await run("register");
    expect(r.results.valid).toBe(true);
    expect(Object.keys(r.results.checkers)).toEqual(["linearizable", "stats"]);
  });

  it("gives the same history for the same seed (the generators are pure)", async () => {
    const [a, b] = [await run("bank"), await run("bank")];
    expect(JSON.stringify(a.history)).toBe(JSON.stringify(b.history));
  });
});
