/**
 * Process mode from the command line: no node outlives the harness (the run's end, SIGINT,
 * SIGTERM, SIGKILL of the harness), found by the node pids its logs name and by every descendant
 * of the harness seen while it ran; a second SIGINT ends it at once; and a node that cannot bind
 * its port ends the run with one line, exit 255.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { descendantsOf, waitUntilGone } from "../harness/runtime/process/procfs.ts";
import { nodePidsOf, runDirOf } from "./processTestkit.ts";

let store: string;
/** Harness processes a test started: killed (by pid) if a test ends early. */
const harnesses = new Set<{ kill: (signal: NodeJS.Signals) => boolean }>();
beforeAll(() => {
  store = mkdtempSync(join(tmpdir(), "faultline-process-cli-"));
});
afterEach(() => {
  for (const harness of harnesses) harness.kill("SIGKILL");
  harnesses.clear();
});
afterAll(() => {
  rmSync(store, { recursive: true, force: true, maxRetries: 5 });
});

const bin = fileURLToPath(new URL("../bin/faultline.js", import.meta.url));

/** `faultline run --mode process` as its own process, with its own store under the test's. */
function startRun(name: string, args: string[], env: Record<string, string> = {}) {
  const root = join(store, name);
  const child = execa(
    process.execPath,
    [bin, "run", "--mode", "process", "--store", root, "--quiet", "--seed", "1", ...args],
    // No forced SIGKILL 5 s after a SIGTERM (execa's default): healing may take longer than that.
    { reject: false, stdin: "ignore", env, forceKillAfterDelay: false },
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
      const started = descendantsOf(child.pid!);
      child.kill(signal);
      const result = await child;
      // An interrupted run is never called valid: what it checked held, the verdict is unknown (2).
      expect(result.exitCode, `${result.signal} ${result.stderr}`).toBe(2);
      expect(result.stdout).toMatch(/linearizable: valid/);
      expect(result.stdout).toMatch(/interrupted/);
      expect(readFileSync(join(dir, "history.jsonl"), "utf8").length).toBeGreaterThan(0);
      const pids = nodePidsOf(dir);
      expect(pids.length).toBeGreaterThanOrEqual(3);
      expect(await waitUntilGone(pids)).toEqual([]);
      // Nor anything else it started: the reaper, a compiler's service process.
      expect(await waitUntilGone(started)).toEqual([]);
    },
  );

  it("a second SIGINT ends the run at once, and every node is gone", async () => {
    const { child, root } = startRun("SIGINT-twice", memory);
    const dir = await waitForNodes(root, 3);
    let stderr = "";
    const stopping = new Promise<void>((resolve) =>
      child.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
        if (/SIGINT: stopping the generator/.test(stderr)) resolve();
      }),
    );
    const started = descendantsOf(child.pid!);
    child.kill("SIGINT");
    await stopping;
    child.kill("SIGINT");
    const result = await child;
    // Healing takes seconds of real time, so the second signal comes while the run heals: one
    // line, exit 130. Should a loaded machine deliver it only once checking began, the signal's
    // default action ends the process (nothing of the run is left by then): either way, at once.
    if (result.signal === undefined) {
      expect(result.exitCode, result.stderr).toBe(130);
      expect(result.stderr).toMatch(
        /^faultline run: SIGINT again: exiting at once, nothing checked or reported$/m,
      );
    } else {
      expect(result.signal, result.stderr).toBe("SIGINT");
      expect(result.stderr).toMatch(/checking the [\d,]+ operations recorded \(again to exit at once/);
    }
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, "results.json"))).toBe(false);
    const pids = nodePidsOf(dir);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    expect(await waitUntilGone(pids)).toEqual([]);
    // Nor anything else it started: the reaper, a compiler's service process.
    expect(await waitUntilGone(started)).toEqual([]);
  });

  it("SIGKILL of the harness (no code of it runs): every node is gone all the same", async () => {
    const { child, root } = startRun("SIGKILL", memory);
    const dir = await waitForNodes(root, 3);
    const started = descendantsOf(child.pid!);
    child.kill("SIGKILL");
    await child;
    const pids = nodePidsOf(dir);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    expect(await waitUntilGone(pids)).toEqual([]);
    // Nor anything else it started: the reaper, a compiler's service process.
    expect(await waitUntilGone(started)).toEqual([]);
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
