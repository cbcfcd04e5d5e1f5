/**
 * PostgreSQL 15 on a single node, directly connected: faultline finds what PostgreSQL's
 * documentation says each isolation level allows, and nothing it forbids
 * (https://www.postgresql.org/docs/15/transaction-iso.html).
 *
 * - READ COMMITTED takes a fresh snapshot per statement: a bank read of every account (one
 *   statement per account) sees transfers half-done (read skew, Elle's G-single-item) and a
 *   transfer's client-computed balances overwrite a concurrent one (lost update): wrong totals;
 *   and anti-dependency cycles (G2-item). Nothing read committed forbids (G0, G1a, G1b, G1c).
 * - REPEATABLE READ is snapshot isolation: two take-off-call requests read the same snapshot and
 *   both go off call (write skew, G2-item); a bank keeps its total (first updater wins, the loser
 *   gets a serialization failure), and nothing snapshot isolation forbids shows.
 * - SERIALIZABLE (serializable snapshot isolation) forbids every anomaly on every workload.
 *
 * Each run is a few seconds of real time on a real server; seeds are fixed, though with real
 * processes the interleavings (and so the exact counts) vary from run to run.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckResult } from "../harness/results.ts";
import { leftBehind } from "../systems/postgres/testkit.ts";
import { executeRun, type ExecuteResult } from "./execute.ts";
import { resolveRunConfig } from "./run.ts";

let store = "";
beforeAll(() => {
  store = mkdtempSync(join(tmpdir(), "faultline-pg-"));
  // Open to the servers' user, so their data folders live in the store, where leftBehind looks.
  chmodSync(store, 0o755);
});
afterAll(() => {
  rmSync(store, { recursive: true, force: true });
});

/** The options every PostgreSQL run here shares; a test's own `args` replace any of them. */
const sharedOptions: readonly (readonly [string, string])[] = [
  ["--system", "postgres"],
  ["--nodes", "1"],
  ["--nemesis", "none"],
  ["--time-limit", "3"],
  ["--rate", "200"],
  ["--seed", "1"],
];

async function runPostgres(args: string[]): Promise<ExecuteResult> {
  // An option is given once (a second one is refused): the shared ones the test does not give.
  const shared = sharedOptions.filter(([option]) => !args.includes(option)).flat();
  const config = resolveRunConfig([...shared, "--store", store, ...args]);
  if (config === "help") throw new Error("help");
  // No faults to recover from: the final reads need no wait.
  const result = await executeRun(config, { checkBudget: { timeLimitMs: 60_000 }, recoveryDelayNs: 0.5e9 });
  // The run ran: a setup that failed leaves an empty history, and says why here first.
  expect(result.results.checkers["run"], result.storeDir).toBeUndefined();
  // No server outlives its run: neither a postmaster the node log names nor any process in its folder.
  const left = leftBehind(result.storeDir);
  expect(left.postmasters).toBeGreaterThan(0);
  expect(left.alive).toEqual([]);
  return result;
}

const checker = (r: ExecuteResult, name: string): CheckResult => {
  const c = r.results.checkers[name];
  if (c === undefined)
    throw new Error(`no ${name} result in ${JSON.stringify(Object.keys(r.results.checkers))}`);
  return c;
};
const anomalies = (c: CheckResult): string[] => Object.keys(c.anomalyCounts ?? {});
const oks = (r: ExecuteResult, f?: string) =>
  r.history.filter((op) => op.type === "ok" && op.process !== "nemesis" && (f === undefined || op.f === f))
    .length;

/**
 * Runs `args` until `enough` says what was looked for has shown, at most `attempts` times; `each`
 * checks every run (what the level forbids must never show, in any run). Finding an anomaly
 * takes transactions that overlap, and a starved machine (load 20 on two cores) commits ten
 * times fewer in a few seconds than an idle one: a few more runs, not a longer one for everyone.
 * Returns every run, for the caller's final assertions.
 */
async function runUntil(
  args: string[],
  each: (r: ExecuteResult) => void,
  enough: (runs: readonly ExecuteResult[]) => boolean,
  attempts = 3,
): Promise<ExecuteResult[]> {
  const runs: ExecuteResult[] = [];
  while (runs.length < attempts && (runs.length === 0 || !enough(runs))) {
    const r = await runPostgres(args);
    each(r);
    runs.push(r);
  }
  return runs;
}

/** Every anomaly `name`'s checker found in any of `runs`. */
const anomaliesOfRuns = (runs: readonly ExecuteResult[], name: string): Set<string> =>
  new Set(runs.flatMap((r) => anomalies(checker(r, name))));

// Independent runs, each its own server on its own port: concurrently, in two waves, as every
// run's clients, proxies and checkers share this one process (seven at once starve the races).
describe("PostgreSQL, one node: each isolation level shows what it allows and nothing it forbids", () => {
  describe.concurrent("the anomalies read committed and repeatable read allow are found", () => {
    it("read committed: the bank shows lost updates, read skew (G-single-item), G2-item and wrong totals; nothing read committed forbids", async () => {
      const wanted = ["lost-update", "G-single-item", "G2-item"];
      const runs = await runUntil(
        ["--isolation", "read-committed", "--workload", "bank"],
        (r) => {
          expect(oks(r, "transfer")).toBeGreaterThan(0);
          const elle = checker(r, "rw-register");
          expect(elle.valid, elle.reason).toBe(true); // judged as read committed: nothing forbidden
        },
        (rs) =>
          rs.some((r) => checker(r, "bank").valid === false) &&
          wanted.every((a) => anomaliesOfRuns(rs, "rw-register").has(a)),
      );
      // Wrong totals; lost updates, read skew (a non-repeatable read across accounts), write skew's kin.
      expect(runs.some((r) => anomalies(checker(r, "bank")).includes("wrong-total"))).toBe(true);
      expect([...anomaliesOfRuns(runs, "rw-register")]).toEqual(expect.arrayContaining(wanted));
    });

    it("repeatable read: write skew (G2-item, nobody on call), allowed by snapshot isolation and found", async () => {
      const runs = await runUntil(
        ["--isolation", "snapshot", "--workload", "write-skew", "--time-limit", "4"],
        (r) => {
          expect(oks(r, "take-off-call")).toBeGreaterThan(0);
          const elle = checker(r, "rw-register");
          expect(elle.valid, elle.reason).toBe(true);
          // Snapshot isolation forbids read skew and lost updates: the valid verdict above says so,
          // and (should the model ever weaken) these say it again.
          expect(anomalies(elle)).not.toContain("G-single-item");
          expect(anomalies(elle)).not.toContain("lost-update");
        },
        (rs) => rs.some((r) => checker(r, "on-call").valid === false),
        // The skew needs two transactions to overlap: at load 18 three runs of 4 s each found
        // someone on call in all 11, 13 and 37 observations (one fresh-clone run, 2026-12-07).
        // More runs are made only while none has found it.
        6,
      );
      const skewed = runs.find((r) => checker(r, "on-call").valid === false);
      expect(skewed, runs.map((r) => checker(r, "on-call").reason).join("; ")).toBeDefined();
      expect(anomalies(checker(skewed!, "rw-register"))).toContain("G2-item");
    });

    it("repeatable read: the bank keeps its total; concurrent transfers fail with serialization failures", async () => {
      const serializationFailure = (r: ExecuteResult) =>
        r.history.some((op) => op.type === "fail" && String(op.error).startsWith("serialization-failure"));
      const runs = await runUntil(
        ["--isolation", "snapshot", "--workload", "bank"],
        (r) => {
          expect(oks(r, "transfer")).toBeGreaterThan(0);
          expect(r.results.valid, JSON.stringify(r.results.checkers.bank?.reason)).toBe(true);
          expect(anomalies(checker(r, "rw-register"))).not.toContain("G-single-item");
        },
        (rs) => rs.some(serializationFailure),
      );
      expect(runs.some(serializationFailure)).toBe(true);
    });
  });

  describe.concurrent("serializable shows no anomaly", () => {
    // A valid verdict needs something checked (a checker that saw nothing says unknown); how much
    // commits in a few seconds depends on the machine's load, so the counts ask only for some.
    it.each([["bank"], ["write-skew"], ["append"]])("serializable: %s is valid", async (workload) => {
      const r = await runPostgres(["--isolation", "serializable", "--workload", workload]);
      expect(oks(r)).toBeGreaterThan(5);
      expect(r.results.valid, JSON.stringify(r.results)).toBe(true);
    });

    it("serializable registers are linearizable and the set loses nothing (the register and set SQL shapes)", async () => {
      for (const workload of ["register", "set"]) {
        const r = await runPostgres([
          "--isolation",
          "serializable",
          "--workload",
          workload,
          "--time-limit",
          "2",
        ]);
        expect(oks(r), workload).toBeGreaterThan(5);
        expect(r.results.valid, JSON.stringify(r.results)).toBe(true);
      }
    });
  });
});
