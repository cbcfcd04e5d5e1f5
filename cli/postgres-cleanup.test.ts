/**
 * Whatever ends a `faultline run --system postgres`, no server outlives it, checked by pid: the
 * postmasters and every process they started are gone after the run is interrupted (SIGINT), and
 * after the harness itself is killed with SIGKILL (the watchdog's job). A machine without
 * PostgreSQL's programs gets one line naming the package, exit 254, and no run.
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { childrenOf, processAlive, waitUntilGone } from "../harness/runtime/process/procfs.ts";

const bin = new URL("../bin/faultline.js", import.meta.url).pathname;
const stores: string[] = [];
afterAll(() => {
  for (const s of stores) rmSync(s, { recursive: true, force: true });
});

/**
 * A fresh store. `open`: the postgres user can enter it (the data lives in the store); otherwise,
 * as a fresh temporary folder is (mode 700), the data lives in a private temporary folder, linked
 * from the store, that must be gone after the run too.
 */
function freshStore(open: boolean): string {
  const s = mkdtempSync(join(tmpdir(), "faultline-pg-cleanup-"));
  if (open) chmodSync(s, 0o755);
  stores.push(s);
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The live postmasters of the run in `store` (from their postmaster.pid), once `count` run. */
async function runningServers(store: string, count: number, timeoutMs = 60_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pids: number[] = [];
    const latest = join(store, "latest", "nodes");
    if (existsSync(latest)) {
      for (const node of readdirSync(latest)) {
        const pidFile = join(latest, node, "data", "postmaster.pid");
        if (!existsSync(pidFile)) continue;
        const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
        if (processAlive(pid)) pids.push(pid);
      }
    }
    if (pids.length >= count) return pids;
    await sleep(100);
  }
  throw new Error(`${count} servers did not start within ${timeoutMs / 1000} s`);
}

function startRun(store: string) {
  return execa(
    "node",
    [
      bin,
      "run",
      "--system",
      "postgres",
      "--nodes",
      "2",
      "--nemesis",
      "none",
      "--time-limit",
      "60",
      "--store",
      store,
    ],
    { reject: false, env: { CI: "true" } },
  );
}

// Each test its own store and servers on their own ports: concurrently.
describe.concurrent("no PostgreSQL server outlives its run", () => {
  it("SIGINT: the run stops early, is checked, and every server process is gone when it exits", async () => {
    const store = freshStore(true);
    const run = startRun(store);
    const postmasters = await runningServers(store, 2);
    const all = postmasters.flatMap((pid) => [pid, ...childrenOf(pid)]);
    await sleep(1000);
    run.kill("SIGINT");
    const result = await run;
    expect(result.stdout).toMatch(
      /interrupted by SIGINT at .* of test time: \d+ operations recorded and checked/,
    );
    expect([0, 1, 2]).toContain(result.exitCode);
    expect(await waitUntilGone(all, 5000)).toEqual([]);
    // The data folders went with the servers; the logs stay.
    expect(readdirSync(join(store, "latest", "nodes")).sort()).toEqual(["n1", "n1.log", "n2", "n2.log"]);
    expect(existsSync(join(store, "latest", "nodes", "n1", "data"))).toBe(false);
  });

  it("SIGKILL of the harness: the watchdog kills every server process and removes data kept outside the store", async () => {
    const store = freshStore(process.getuid?.() !== 0);
    const run = startRun(store);
    const postmasters = await runningServers(store, 2);
    const dataFolders = ["n1", "n2"].map((n) => join(store, "latest", "nodes", n, "data"));
    if (process.getuid?.() === 0) {
      // The store (mode 700) is closed to the postgres user: the data lives outside it, linked.
      for (const d of dataFolders) expect(readlinkSync(d)).toMatch(/faultline-postgres-/);
    }
    const targets = dataFolders.map((d) => (process.getuid?.() === 0 ? readlinkSync(d) : d));
    const all = postmasters.flatMap((pid) => [pid, ...childrenOf(pid)]);
    expect(all.length).toBeGreaterThan(4);
    run.kill("SIGKILL");
    await run;
    expect(await waitUntilGone(all, 10_000)).toEqual([]);
    if (process.getuid?.() === 0) {
      for (let i = 0; i < 200 && targets.some((t) => existsSync(t)); i++) await sleep(100);
      expect(targets.filter((t) => existsSync(t))).toEqual([]);
    }
  });

  it("SIGKILL of the harness with the data in the store: the watchdog removes the data folders, the logs stay", async () => {
    // As a gate's or sweep's worker is killed (Ctrl-C, its time limit): 70-90 MB a node were left.
    const store = freshStore(true);
    const run = startRun(store);
    const postmasters = await runningServers(store, 2);
    const nodes = join(store, "latest", "nodes");
    const dataFolders = ["n1", "n2"].map((n) => join(nodes, n, "data"));
    for (const d of dataFolders) expect(lstatSync(d).isDirectory()).toBe(true); // in the store, not linked
    run.kill("SIGKILL");
    await run;
    expect(await waitUntilGone(postmasters, 10_000)).toEqual([]);
    for (let i = 0; i < 200 && dataFolders.some((d) => existsSync(d)); i++) await sleep(100);
    expect(dataFolders.filter((d) => existsSync(d))).toEqual([]);
    expect(
      readdirSync(nodes)
        .filter((f) => f.endsWith(".log"))
        .sort(),
    ).toEqual(["n1.log", "n2.log"]);
  });

  it("without PostgreSQL's programs: one line naming the package, exit 254, no run", async () => {
    const store = freshStore(true);
    const result = await execa("node", [bin, "run", "--system", "postgres", "--store", store], {
      reject: false,
      env: { CI: "true", FAULTLINE_PG_BINDIR: join(store, "no-such-folder") },
    });
    expect(result.exitCode).toBe(254);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/install the Debian package postgresql/);
    expect(result.stdout).toBe("");
    expect(readdirSync(store)).toEqual([]);
  });

  it("refuses what it cannot run, one line and exit 254: simulation, quorum, clock faults", async () => {
    for (const [args, message] of [
      [["--mode", "sim"], /--mode sim does not apply to the postgres system \(it runs in: process\)/],
      [["--replication", "quorum"], /--replication: expected one of: async, sync; got "quorum"/],
      [["--nemesis", "clock"], /--nemesis clock does not apply to the postgres system/],
    ] as const) {
      const result = await execa("node", [bin, "run", "--system", "postgres", ...args], { reject: false });
      expect(result.exitCode, result.stderr).toBe(254);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});
