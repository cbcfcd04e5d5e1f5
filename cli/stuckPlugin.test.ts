/**
 * Code that is not faultline's and never gives the event loop back (a plugin's client or generator
 * looping without an await, a module whose top level loops) is stopped, said and cleaned up after:
 * harness/mainThreadWatch.ts, enabled by the bin's `main`.
 *
 * Before: `faultline run` with such a plugin hung for good; SIGINT's handler could not run, only
 * SIGKILL ended it, and the history's last buffered lines were lost with it. `faultline check
 * --model` with a model module that loops at load hung the same way. The bin is run as a user runs
 * it, with the bound cut to 1.5 s (FAULTLINE_TEST_STUCK_AFTER_MS) so the tests wait seconds.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { descendantsOf, processAlive, waitUntilGone } from "../harness/runtime/process/procfs.ts";
import { scratchFolders } from "../harness/testkit.ts";

const bin = fileURLToPath(new URL("../bin/faultline.js", import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/plugins/${name}`, import.meta.url));
const scratch = scratchFolders("stuck-plugin");
const env = { FAULTLINE_TEST_STUCK_AFTER_MS: "1500" };

const historyLines = (storeDir: string): string[] => {
  const path = join(storeDir, "latest", "history.jsonl");
  return existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : [];
};

/** `faultline run` of the flaky-register fixture plugin, its client misbehaving as `misbehave` says. */
const runFlakyRegister = (misbehave: string, store: string) =>
  execa(
    "node",
    [
      bin,
      "run",
      "--system",
      fixture("flaky-register.ts"),
      "--workload",
      "register",
      "--misbehave",
      misbehave,
    ].concat(["--store", store, "--quiet"]),
    { reject: false, timeout: 120_000, env },
  );

describe("code that is not faultline's and holds the event loop for good", () => {
  it("a plugin client's loop stops the run: where it is stuck, exit 254, the history kept", async () => {
    const store = scratch();
    const r = await runFlakyRegister("hang", store);
    expect(r.exitCode, r.stderr).toBe(254);
    expect(r.stderr).toMatch(
      /^faultline run: stopped: code that is not faultline's held the event loop for \d+ s/,
    );
    expect(r.stderr).toContain(`at spinForGood (${fixture("flaky-register.ts")}`);
    expect(r.stderr).toContain("nothing was checked; the history recorded up to there is in ");
    // Only the one line: the inspector's own exit message is not added to it.
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stdout).toBe("");
    // The lines recorded before the loop reached the file (they sat in its 50 ms buffer): the
    // stuck client's invocation is the last of them.
    const lines = historyLines(store).map((line) => JSON.parse(line) as { type: string; f: string });
    expect(lines.length).toBeGreaterThan(4);
    expect(lines.at(-1)!.type).toBe("invoke");
  }, 150_000);

  it("a stuck plugin's own real process is stopped with the run: nothing is left behind", async () => {
    const store = scratch();
    const child = execa(
      "node",
      [
        bin,
        "run",
        "--system",
        fixture("stuck-with-server.ts"),
        "--workload",
        "register",
        "--store",
        store,
        "--quiet",
      ],
      { reject: false, timeout: 120_000, env },
    );
    // The server is up before the client is stuck: seen while the run is held.
    const started: number[] = [];
    const deadlineMs = performance.now() + 60_000;
    while (child.exitCode === null && performance.now() < deadlineMs) {
      for (const pid of descendantsOf(child.pid!)) if (!started.includes(pid)) started.push(pid);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const r = await child;
    try {
      expect(r.exitCode, r.stderr).toBe(254);
      expect(r.stderr).toContain(`(${fixture("stuck-with-server.ts")}`);
      expect(started.length, "the plugin's server was seen running").toBeGreaterThan(0);
      expect(await waitUntilGone(started, 10_000)).toEqual([]);
    } finally {
      for (const pid of started) if (processAlive(pid)) process.kill(pid, "SIGKILL");
      rmSync(join(tmpdir(), `faultline-stuck-with-server-${child.pid!}.log`), { force: true });
    }
  }, 150_000);

  it("a model module that loops at load stops `check --model` the same way", async () => {
    const folder = scratch();
    writeFileSync(join(folder, "h.jsonl"), "");
    const r = await execa("node", [bin, "check", "h.jsonl", "--model", fixture("loops-on-load.mjs")], {
      cwd: folder,
      reject: false,
      timeout: 120_000,
      env,
    });
    expect(r.exitCode, r.stderr).toBe(254);
    expect(r.stderr).toContain(
      `at ${new URL(`fixtures/plugins/loops-on-load.mjs`, import.meta.url).href}:2:`,
    );
    expect(r.stderr).not.toContain("history recorded");
  }, 150_000);

  it("a TypeScript model that imports much is not stopped while Node compiles it, cold", async () => {
    // On Node 22 and later tsx compiles on the main thread; with its cache empty (a fresh
    // temporary folder: a fresh clone's first run) the compile of the model and of the faultline
    // sources it imports held the loop longer than the bound, and the check was stopped as stuck
    // "at Atomics.wait ← runCallSync (esbuild)" or "at validateResolve (node:internal/modules…)",
    // exit 254. The bound is cut far below a compile's length, above the model's own top level.
    const folder = scratch();
    const temporary = join(folder, "tmp");
    mkdirSync(temporary);
    writeFileSync(join(folder, "package.json"), `{ "type": "module" }\n`);
    writeFileSync(
      join(folder, "h.jsonl"),
      [
        { index: 0, time: 0, process: 0, type: "invoke", f: "write", value: 5 },
        { index: 1, time: 1, process: 0, type: "ok", f: "write", value: 5 },
      ]
        .map((op) => JSON.stringify(op))
        .join("\n") + "\n",
    );
    const supervisor = fileURLToPath(new URL("../harness/runtime/process/processes.ts", import.meta.url));
    writeFileSync(
      join(folder, "model.ts"),
      `import { ProcessSupervisor } from ${JSON.stringify(supervisor)};
const imported: unknown = ProcessSupervisor;
export default {
  name: "imports-much",
  init: (): number => 0,
  step: (state: number, op: { f: string; value: number }): number | undefined =>
    imported === undefined ? undefined : op.f === "write" ? op.value : op.value === state ? state : undefined,
};
`,
    );
    const r = await execa("node", [bin, "check", "h.jsonl", "--model", "./model.ts"], {
      cwd: folder,
      reject: false,
      timeout: 120_000,
      env: { FAULTLINE_TEST_STUCK_AFTER_MS: "40", TMPDIR: temporary },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^valid /);
    expect(r.stderr).toBe("");
  }, 150_000);

  it("a plugin that gives the loop back runs to its verdict under the same bound (the fixture is sound)", async () => {
    const store = scratch();
    const r = await runFlakyRegister("none", store);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
  }, 150_000);
});
