/**
 * Process mode end to end: real OS processes, a proxy on every link, kill -9, SIGSTOP. Short runs
 * (seconds), fixed seeds; timing still differs from run to run, so a row that must find a bug
 * runs its seeds until one finds it (at most three), and fails if none does. The bug that needs a
 * partition (`no-fencing`) is caught under a scripted partition in
 * systems/engine/cluster/process.test.ts: random partitions need minutes to hit it.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitUntilGone } from "../harness/runtime/process/testkit.ts";
import { executeRun, type ExecuteResult } from "./execute.ts";
import { resolveRunConfig } from "./run.ts";

let store: string;
/** Harness processes a test started: killed (by pid) if a test ends early. */
const harnesses = new Set<{ kill: (signal: NodeJS.Signals) => boolean }>();
beforeAll(() => {
  store = mkdtempSync(join(tmpdir(), "faultline-process-mode-"));
});
afterEach(() => {
  for (const harness of harnesses) harness.kill("SIGKILL");
  harnesses.clear();
});
afterAll(() => {
  if (process.env["KEEP_STORE"] === undefined) rmSync(store, { recursive: true, force: true, maxRetries: 5 });
  else console.log("store kept:", store);
});

/** Every node process a run folder's logs name: `world: start #k (pid P, …)`. */
function nodePidsOf(runDir: string): number[] {
  const folder = join(runDir, "nodes");
  if (!existsSync(folder)) return [];
  const pids: number[] = [];
  for (const file of readdirSync(folder).filter((f) => f.endsWith(".log"))) {
    for (const match of readFileSync(join(folder, file), "utf8").matchAll(/world: start #\d+ \(pid (\d+)/g))
      pids.push(Number(match[1]));
  }
  return pids;
}

/** The only run folder under `root` (the test's own store), once it exists. */
function runDirOf(root: string): string | undefined {
  if (!existsSync(root)) return undefined;
  for (const test of readdirSync(root)) {
    if (test === "latest") continue;
    const testDir = join(root, test);
    if (!statSync(testDir).isDirectory()) continue;
    const runs = readdirSync(testDir).filter((r) => r !== "latest");
    if (runs.length > 0) return join(testDir, runs[0]!);
  }
  return undefined;
}

async function run(args: string[]): Promise<ExecuteResult> {
  const config = resolveRunConfig([...args, "--mode", "process", "--store", store, "--quiet"]);
  if (config === "help") throw new Error("unexpected help");
  const result = await executeRun(config, { recoveryDelayNs: 2e9, checkTimeLimitMs: 60_000 });
  expect(await waitUntilGone(nodePidsOf(result.storeDir))).toEqual([]);
  return result;
}

/** Each checker's verdict, with its reason when it is not `true` (for readable failures). */
function verdicts(result: ExecuteResult): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(result.results.checkers).map(([name, r]) => [
      name,
      r.valid === true ? true : `${String(r.valid)}: ${r.reason ?? ""}`,
    ]),
  );
}

/** Runs `args` with each seed until a run is invalid with one of `anomalies`; the seeds used. */
async function catches(args: string[], checker: string, anomaly: string, seeds: number[]): Promise<string[]> {
  const tried: string[] = [];
  for (const seed of seeds) {
    const result = await run([...args, "--seed", String(seed)]);
    const found = result.results.checkers[checker]?.anomalies?.[anomaly];
    tried.push(`seed ${seed}: ${result.results.valid} (${result.results.checkers[checker]?.reason ?? ""})`);
    if (result.results.valid === false && found !== undefined) return tried;
  }
  throw new Error(`${anomaly} not found by ${checker} in process mode:\n${tried.join("\n")}`);
}

describe("process mode: verdicts", () => {
  it("the memory system stays valid under every nemesis at once", async () => {
    const result = await run([
      "--system",
      "memory",
      "--nodes",
      "3",
      "--workload",
      "register",
      "--nemesis",
      "all",
      "--nemesis-interval",
      "2",
      "--time-limit",
      "10",
      "--seed",
      "1",
    ]);
    expect(verdicts(result)).toEqual({ linearizable: true, stats: true });
    const faults = new Set(result.history.filter((op) => op.process === "nemesis").map((op) => op.f));
    expect([...faults].some((f) => f.includes("crash"))).toBe(true);
  });

  it.each(["sync", "quorum"])(
    "engine %s, serializable append under partitions and crashes: valid",
    async (replication) => {
      const result = await run([
        "--system",
        "engine",
        "--replication",
        replication,
        "--isolation",
        "serializable",
        "--workload",
        "append",
        "--nemesis",
        "partition,crash",
        "--nemesis-interval",
        "3",
        "--time-limit",
        "15",
        "--seed",
        "1",
      ]);
      expect(verdicts(result)).toEqual({ elle: true, stats: true });
    },
  );

  it("engine async, set, crashes and partitions: lost acknowledged writes found", async () => {
    await catches(
      [
        "--system",
        "engine",
        "--replication",
        "async",
        "--workload",
        "set",
        "--nemesis",
        "crash,partition",
        "--nemesis-interval",
        "3",
        "--time-limit",
        "15",
        "--rate",
        "200",
      ],
      "set-full",
      "lost",
      [1, 3, 2],
    );
  });

  it("--bug ack-before-fsync (a standalone server, kill -9): lost acknowledged writes found", async () => {
    await catches(
      [
        "--system",
        "engine",
        "--replication",
        "async",
        "--nodes",
        "1",
        "--workload",
        "set",
        "--nemesis",
        "crash",
        "--nemesis-interval",
        "2",
        "--time-limit",
        "10",
        "--rate",
        "300",
        "--bug",
        "ack-before-fsync",
      ],
      "set-full",
      "lost",
      [1, 2, 3],
    );
  });
});

const bin = fileURLToPath(new URL("../bin/faultline.js", import.meta.url));

/** `faultline run --mode process` as its own process, with its own store under the test's. */
function startRun(name: string, args: string[], env: Record<string, string> = {}) {
  const root = join(store, name);
  const child = execa(
    process.execPath,
    [bin, "run", "--mode", "process", "--store", root, "--quiet", "--seed", "1", ...args],
    { reject: false, stdin: "ignore", env },
  );
  harnesses.add(child);
  return { child, root };
}

/** Waits (bounded) until `count` node processes started and the history holds some operations. */
async function waitForNodes(root: string, count: number, timeoutMs = 60_000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  const operations = (dir: string): number => {
    const history = join(dir, "history.jsonl");
    return existsSync(history) ? readFileSync(history, "utf8").split("\n").length - 1 : 0;
  };
  for (;;) {
    const dir = runDirOf(root);
    if (dir !== undefined && nodePidsOf(dir).length >= count && operations(dir) >= 40) return dir;
    if (performance.now() > deadline) throw new Error(`no ${count} nodes started under ${root}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("process mode: no node outlives the harness", () => {
  const memory = [
    "--system",
    "memory",
    "--nodes",
    "3",
    "--workload",
    "register",
    "--nemesis",
    "pause",
    "--nemesis-interval",
    "1",
    "--time-limit",
    "60",
  ];

  it.each(["SIGINT", "SIGTERM"] as const)(
    "%s: the run stops, keeps and checks its history, and every node is gone",
    async (signal) => {
      const { child, root } = startRun(signal, memory);
      const dir = await waitForNodes(root, 3);
      child.kill(signal);
      const result = await child;
      // An interrupted run is never called valid: what it checked held, the verdict is unknown (2).
      expect(result.exitCode).toBe(2);
      expect(result.stdout).toMatch(/linearizable: valid/);
      expect(result.stdout).toMatch(/interrupted/);
      expect(readFileSync(join(dir, "history.jsonl"), "utf8").length).toBeGreaterThan(0);
      const pids = nodePidsOf(dir);
      expect(pids.length).toBeGreaterThanOrEqual(3);
      expect(await waitUntilGone(pids)).toEqual([]);
    },
  );

  it("SIGKILL of the harness (no code of it runs): every node is gone all the same", async () => {
    const { child, root } = startRun("SIGKILL", memory);
    const dir = await waitForNodes(root, 3);
    child.kill("SIGKILL");
    await child;
    const pids = nodePidsOf(dir);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    expect(await waitUntilGone(pids, 10_000)).toEqual([]);
  });

  it("a node that cannot bind its port ends the run: one line naming it and its log, exit 255", async () => {
    const { child, root } = startRun(
      "no-port",
      [
        "--system",
        "memory",
        "--nodes",
        "3",
        "--workload",
        "register",
        "--nemesis",
        "none",
        "--time-limit",
        "5",
      ],
      { FAULTLINE_TEST_OCCUPY_PORT: "n2" },
    );
    const result = await child;
    expect(result.exitCode).toBe(255);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^faultline run: node n2 failed to start: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE.*; see .*nodes\/n2\.log$/,
    );
    const dir = runDirOf(root)!;
    expect(existsSync(join(dir, "history.jsonl"))).toBe(true);
    expect(readFileSync(join(dir, "nodes", "n2.log"), "utf8")).toMatch(/cannot start: cannot listen/);
    expect(await waitUntilGone(nodePidsOf(dir))).toEqual([]);
  });
});
