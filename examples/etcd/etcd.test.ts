/**
 * The etcd example, loaded by path as a user's plugin is, against real etcd servers (Debian's
 * etcd-server; CI installs it): linearizable with quorum reads under partitions, crashes and
 * pauses; stale reads found with serializable reads; no etcd process left when a run ends.
 * Process mode is not byte-replayable (the seed drives the generator and the nemesis, the
 * machine's scheduler the rest), so finding stale reads gets up to five seeds.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { executeRun } from "../../cli/execute.ts";
import { loadRunPlugins } from "../../cli/plugins.ts";
import { resolveRunConfig } from "../../cli/runConfig.ts";
import { scratchFolders } from "../../harness/testkit.ts";
import { etcdInstalled } from "./system.ts";

const plugin = "./examples/etcd/system.ts";
const repoRoot = new URL("../..", import.meta.url).pathname;
const freshStore = scratchFolders("etcd");

/**
 * What each member left in the store's `nodes/`: its log, and no data (removed at teardown: etcd
 * preallocates its write-ahead log, tens of megabytes a member).
 */
function memberFiles(runDir: string): { logs: string[]; data: string[] } {
  const nodes = join(runDir, "nodes");
  const members = ["n1", "n2", "n3"];
  return {
    logs: members.filter((m) => existsSync(join(nodes, `${m}.log`))),
    data: members.filter((m) => existsSync(join(nodes, m))),
  };
}

/** Live processes whose command line mentions `text` (here: a run's own folder). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
      if (cmdline.includes(text) && state !== "Z") found.push(`${pid}: ${cmdline}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

async function runEtcd(args: string[]) {
  const store = freshStore();
  await loadRunPlugins(plugin, undefined);
  const config = resolveRunConfig(["--system", plugin, ...args, "--store", store, "--quiet"]);
  if (config === "help") throw new Error("help");
  const result = await executeRun(config);
  return { ...result, store };
}

describe("the etcd example (a plugin loaded by path)", () => {
  it("needs etcd installed (apt-get install etcd-server)", () => {
    expect(etcdInstalled(), "etcd is not installed: apt-get install etcd-server").toBe(true);
  });

  it("is linearizable with quorum reads under partitions, crashes and pauses; stale reads found with serializable reads", async () => {
    const quorum = (async () =>
      runEtcd([
        ...["--workload", "register", "--nemesis", "partition,crash,pause", "--nemesis-interval", "3"],
        ...["--time-limit", "15", "--seed", "3"],
      ]))();
    const serializable = (async () => {
      // A stale read needs a member cut off from the leader for longer than its clients' writes
      // take to time out (3 s), and a client of that member reading after. The runner once gave
      // nearly every op to the first free worker, so mostly one member was read, and a CI run
      // under load went three seeds without a stale read. Ops now rotate through the workers, and
      // at 300 ops/s every member's clients keep asking: 9 of 10 seeds found stale reads at load 9
      // on this machine (4 of 5 at 100 ops/s). Up to five seeds, each only if the last found none.
      const tries = [];
      for (const seed of [1, 2, 3, 4, 5]) {
        const run = await runEtcd([
          ...["--workload", "register", "--reads", "serializable", "--nemesis", "partition"],
          ...["--nemesis-interval", "2", "--time-limit", "15", "--rate", "300", "--seed", String(seed)],
        ]);
        tries.push(run);
        if (run.results.checkers["linearizable"]?.valid === false) break;
      }
      return tries;
    })();
    const [q, s] = await Promise.all([quorum, serializable]);
    // Every run ran: a setup that failed (a member that could not start) leaves an empty history,
    // and says why here rather than as a count of zero below.
    for (const run of [q, ...s]) expect(run.results.checkers["run"], run.storeDir).toBeUndefined();

    // Enough answered to make the verdict mean something, on a machine of any load: some reads and
    // writes acknowledged, and some of them after the first fault began (a starved machine at load
    // 20 answered 22 reads in 15 s, so the bound is on having answers across faults, not on speed).
    const ok = (f: string) => q.history.filter((op) => op.f === f && op.type === "ok").length;
    expect(ok("read")).toBeGreaterThan(10);
    expect(ok("write")).toBeGreaterThan(5);
    const firstFault = q.history.findIndex((op) => op.process === "nemesis" && op.f.startsWith("start-"));
    expect(firstFault).toBeGreaterThanOrEqual(0);
    expect(q.history.slice(firstFault).some((op) => op.process !== "nemesis" && op.type === "ok")).toBe(true);
    expect(q.history.some((op) => op.process === "nemesis" && op.f === "start-partition")).toBe(true);
    expect(q.history.some((op) => op.process === "nemesis" && op.f === "start-crash")).toBe(true);
    expect(q.history.some((op) => op.process === "nemesis" && op.f === "start-pause")).toBe(true);
    expect(
      q.results.checkers["linearizable"]?.valid,
      JSON.stringify(q.results.checkers["linearizable"]),
    ).toBe(true);
    expect(q.reproduceCommand).toContain(
      "--system ./examples/etcd/system.ts --reads quorum --workload register",
    );

    const found = s.find((run) => run.results.checkers["linearizable"]?.valid === false);
    expect(found, `no stale read in ${s.length} runs`).toBeDefined();
    const cases = found!.results.checkers["linearizable"]!.anomalies!["nonlinearizable"] ?? [];
    expect(cases.some((c) => (c as unknown as { op: { f: string } }).op.f === "read")).toBe(true);

    for (const run of [q, ...s]) {
      expect(processesMentioning(run.store)).toEqual([]);
      expect(memberFiles(run.storeDir)).toEqual({ logs: ["n1", "n2", "n3"], data: [] });
    }
  }, 600_000);

  it("runs from the command line with the set workload and prints a verdict", async () => {
    const store = freshStore();
    const r = await execa(
      "node",
      [
        join(repoRoot, "bin/faultline.js"),
        ...["run", "--system", plugin, "--workload", "set", "--nemesis", "partition,crash"],
        ...["--nemesis-interval", "2", "--time-limit", "8", "--seed", "2", "--store", store, "--quiet"],
      ],
      { cwd: repoRoot, reject: false, env: { CI: "true" } },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^etcd-set-partition-crash: valid/m);
    expect(r.stdout).toMatch(/set-full: valid/);
    expect(processesMentioning(store)).toEqual([]);
    expect(memberFiles(join(store, "latest"))).toEqual({ logs: ["n1", "n2", "n3"], data: [] });
  }, 180_000);
});
