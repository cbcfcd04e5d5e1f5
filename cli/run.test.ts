import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../harness/testkit.ts";

const bin = new URL("../bin/faultline.js", import.meta.url).pathname;
const freshStore = scratchFolders("run");

/**
 * What the tests read of a finished run. A narrow type: Promise.all over execa's own result type
 * cost the type check more than a second (see cli/commandLine.test.ts).
 */
interface Finished {
  readonly exitCode?: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(args: string[]): Promise<Finished> {
  return execa("node", [bin, "run", ...args], { reject: false, env: { CI: "true" } });
}

function latestHistory(store: string): string {
  return readFileSync(join(store, "latest", "history.jsonl"), "utf8");
}

describe("faultline run", () => {
  it("gives a byte-identical history for the same seed, and another for another seed", async () => {
    const stores = [0, 1, 2].map(() => freshStore());
    const args = ["--system", "memory", "--workload", "register", "--time-limit", "10"];
    const [a, b, c] = await Promise.all([
      run([...args, "--seed", "7", "--store", stores[0]!]),
      run([...args, "--seed", "7", "--store", stores[1]!]),
      run([...args, "--seed", "8", "--store", stores[2]!]),
    ]);
    for (const r of [a, b, c]) expect(r.exitCode, r.stderr).toBe(0);
    const [ha, hb, hc] = stores.map(latestHistory);
    expect(ha!.length).toBeGreaterThan(1000);
    expect(ha).toBe(hb);
    expect(ha).not.toBe(hc);
  });

  it("gives a byte-identical history on the replicated engine under faults for the same seed", async () => {
    const stores = [0, 1].map(() => freshStore());
    const args = [
      "--system",
      "engine",
      "--workload",
      "append",
      "--nemesis",
      "partition,crash",
      "--time-limit",
      "8",
    ];
    const runs = await Promise.all(
      stores.map((store) => run([...args, "--seed", "4", "--store", store, "--quiet"])),
    );
    for (const r of runs) expect(r.exitCode, r.stderr).toBe(0);
    const [a, b] = stores.map(latestHistory);
    expect(a!.split("\n").length).toBeGreaterThan(200);
    expect(a).toMatch(/"process":"nemesis"/);
    expect(a).toBe(b);
    // The node logs too: every node has one, the same for the same seed.
    const logs = stores.map((store) => {
      const folder = join(store, "latest", "nodes");
      const names = readdirSync(folder).sort();
      return Object.fromEntries(names.map((n) => [n, readFileSync(join(folder, n), "utf8")]));
    });
    expect(Object.keys(logs[0]!)).toEqual(expect.arrayContaining(["cp.log", "n1.log", "s1.log"]));
    expect(logs[0]!["n1.log"]).toMatch(/opened at epoch 1 .* as the first writer/);
    expect(logs[0]).toEqual(logs[1]);
  });

  it("writes the store layout and prints the command that reproduces the run", async () => {
    const store = freshStore();
    const r = await run(["--seed", "3", "--time-limit", "2", "--store", store]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/reproduce: +npx faultline run .*--seed 3/i);
    const files = readdirSync(join(store, "latest"));
    expect(files).toEqual(
      expect.arrayContaining(["test.json", "history.jsonl", "results.json", "report.txt"]),
    );
    const test = JSON.parse(readFileSync(join(store, "latest", "test.json"), "utf8")) as { seed: number };
    expect(test.seed).toBe(3);
    const results = JSON.parse(readFileSync(join(store, "latest", "results.json"), "utf8")) as {
      valid: unknown;
    };
    expect(results.valid).toBe(true);
  });

  it("refuses an unknown or invalid value with the valid choices and exit 254, no stack trace", async () => {
    const bad = await run(["--system", "oracle"]);
    expect(bad.exitCode).toBe(254);
    expect(bad.stderr).toMatch(/--system/);
    expect(bad.stderr).toMatch(/memory/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const negative = await run(["--concurrency", "-3"]);
    expect(negative.exitCode).toBe(254);
    expect(negative.stderr).toMatch(/--concurrency/);
    const unknown = await run(["--colour", "blue"]);
    expect(unknown.exitCode).toBe(254);
    expect(unknown.stderr).toMatch(/colour/);
  });

  it("refuses serializable reads from replicas, as PostgreSQL refuses them on hot standbys", async () => {
    const refused = await run(["--read-from", "replicas", "--isolation", "serializable"]);
    expect(refused.exitCode).toBe(254);
    expect(refused.stderr).toMatch(/--read-from replicas cannot be serializable/);
    expect(refused.stderr).toMatch(/--isolation snapshot/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("faultline run, its output's reader gone (faultline run | head -1)", () => {
  it("finishes the run, stores its results and exits with the verdict's code, no stack trace", async () => {
    const store = freshStore();
    const child = execa(
      "node",
      [
        bin,
        "run",
        "--system",
        "memory",
        "--workload",
        "register",
        "--time-limit",
        "2",
        "--seed",
        "1",
        "--store",
        store,
      ],
      { reject: false, env: { CI: "true" }, stdout: "pipe" },
    );
    child.stdout.destroy(); // the reader leaves before the first line
    const r = await child;
    expect(r.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(r.exitCode, r.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(store, "latest", "results.json"), "utf8")) as {
      valid: unknown;
    };
    expect(results.valid).toBe(true);
    // check and report too.
    for (const args of [
      ["check", join(store, "latest", "history.jsonl"), "--model", "cas-register"],
      ["report", join(store, "latest")],
    ]) {
      const other = execa("node", [bin, ...args], { reject: false, stdout: "pipe" });
      other.stdout.destroy();
      const done = await other;
      expect(done.stderr, args[0]).not.toMatch(/EPIPE|\n\s+at /);
      expect(done.exitCode, args[0]).toBe(0);
    }
  });
});

describe("faultline run, interrupted", () => {
  it("stops on SIGINT, heals, checks what was recorded, and records the interruption everywhere", async () => {
    const store = freshStore();
    const child = execa("node", [bin, "run", "--time-limit", "50000", "--seed", "5", "--store", store], {
      reject: false,
      env: { CI: "true" },
    });
    // Wait until the run has recorded something, then interrupt it.
    for (let i = 0; i < 300; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        if (readFileSync(join(store, "latest", "history.jsonl"), "utf8").length > 10_000) break;
      } catch {
        // not created yet
      }
    }
    child.kill("SIGINT");
    const r = await child;
    expect(r.stderr).toMatch(/SIGINT: stopping the generator, healing/);
    const line = /interrupted by SIGINT at (.+?) of test time: ([\d,]+) operations recorded and checked/.exec(
      r.stdout,
    );
    expect(line, r.stdout).not.toBeNull();
    // The prefix showed nothing wrong, but the test asked for was not run: unknown, exit 2.
    expect(r.exitCode).toBe(2);
    const folder = join(store, "latest");
    const history = readFileSync(join(folder, "history.jsonl"), "utf8").trim().split("\n");
    expect(history.length).toBeGreaterThan(10);
    const ops = history.map((l) => JSON.parse(l) as { process: unknown; type: string });
    const operations = ops.filter((o) => o.process !== "nemesis" && o.type === "invoke").length;
    // One count of operations everywhere: the line, the report header, test.json.
    expect(line![2]!.replace(/,/g, "")).toBe(String(operations));
    expect(r.stdout).toContain(`seed 5  ${operations.toLocaleString("en-US")} operations  INTERRUPTED`);

    const results = JSON.parse(readFileSync(join(folder, "results.json"), "utf8")) as {
      valid: unknown;
      interrupted: { signal: string; atTestTimeNs: number; timeLimitNs: number };
      checkers: Record<string, { valid: unknown; reason: string }>;
    };
    expect(results.valid).toBe("unknown");
    expect(results.interrupted.signal).toBe("SIGINT");
    expect(results.interrupted.timeLimitNs).toBe(50000e9);
    expect(results.interrupted.atTestTimeNs).toBeGreaterThan(0);
    expect(results.interrupted.atTestTimeNs).toBeLessThan(50000e9);
    expect(results.checkers["interrupted"]!.valid).toBe("unknown");
    expect(results.checkers["elle"]!.valid).toBe(true);

    const test = JSON.parse(readFileSync(join(folder, "test.json"), "utf8")) as {
      "time-limit": number;
      recorded: { operations: number; testTimeNs: number; interrupted: { signal: string } };
    };
    expect(test["time-limit"]).toBe(50000); // what was asked
    expect(test.recorded.operations).toBe(operations); // and what was recorded
    expect(test.recorded.interrupted.signal).toBe("SIGINT");
    expect(test.recorded.testTimeNs).toBeGreaterThanOrEqual(results.interrupted.atTestTimeNs);

    expect(readFileSync(join(folder, "report.txt"), "utf8")).toMatch(
      /^Interrupted by SIGINT at .* of test time \(13h 53m 20s asked\); what was recorded was checked$/m,
    );
    expect(readFileSync(join(folder, "report.html"), "utf8")).toMatch(
      /<p class="note" id="interrupted">Interrupted by SIGINT at /,
    );
    const junit = readFileSync(join(folder, "junit.xml"), "utf8");
    expect(junit).toMatch(/<property name="interrupted" value="Interrupted by SIGINT/);
    expect(junit).toMatch(/<testcase [^>]*name="interrupted"[^>]*>\s*<error /);

    // faultline report on it gives the same verdict and exit code, not a bare VALID.
    const again = await execa("node", [bin, "report", folder], { reject: false, env: { CI: "true" } });
    expect(again.exitCode).toBe(2);
    expect(again.stdout).toContain("Verdict: UNKNOWN");
    expect(again.stdout).toContain(`${operations.toLocaleString("en-US")} operations  INTERRUPTED`);
  });
});

/** Resolves once `child`'s stderr has shown `pattern` (the test's own timeout bounds the wait). */
function stderrShows(child: { stderr: NodeJS.ReadableStream | null }, pattern: RegExp): Promise<void> {
  return new Promise((resolve) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (!pattern.test(text)) return;
      child.stderr?.off("data", onData);
      resolve();
    };
    child.stderr?.on("data", onData);
  });
}

describe("faultline run, interrupted twice", () => {
  it("a second SIGINT while it checks ends it at once: nothing checked, no results, the history kept", async () => {
    const store = freshStore();
    const child = execa(
      "node",
      [
        bin,
        "run",
        "--system",
        "memory",
        "--workload",
        "register",
        "--time-limit",
        "50000",
        "--seed",
        "5",
      ].concat(["--store", store, "--quiet"]),
      // Checking holds the event loop for two minutes, as a long checker does.
      { reject: false, env: { CI: "true", FAULTLINE_TEST_SLOW_CHECK_MS: "120000" } },
    );
    const stopping = stderrShows(child, /SIGINT: stopping the generator, healing.*\(again to exit at once\)/);
    const checking = stderrShows(child, /checking the [\d,]+ operations recorded \(again to exit at once/);
    for (let i = 0; i < 600 && !existsSync(join(store, "latest", "history.jsonl")); i++)
      await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGINT");
    await stopping;
    await checking;
    child.kill("SIGINT");
    const r = await child;
    // Ended by the signal itself (its default action: no handler can run inside a checker).
    expect(r.signal, r.stderr).toBe("SIGINT");
    const folder = join(store, "latest");
    expect(existsSync(join(folder, "history.jsonl"))).toBe(true);
    expect(existsSync(join(folder, "results.json"))).toBe(false);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("faultline run, signalled as it hands over to the checkers", () => {
  it("a SIGINT twice at that moment is not lost: it ends the run at once, exit 130", async () => {
    const store = freshStore();
    const child = execa(
      "node",
      [bin, "run", "--system", "memory", "--workload", "register", "--time-limit", "5", "--seed", "5"].concat(
        ["--store", store, "--quiet"],
      ),
      // The run holds the event loop 4 s where it removes its signal handlers to start checking.
      { reject: false, env: { CI: "true", FAULTLINE_TEST_HOLD_BEFORE_CHECKING_MS: "4000" } },
    );
    await stderrShows(child, /FAULTLINE_TEST_HOLD_BEFORE_CHECKING_MS: holding/);
    child.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    const r = await child;
    // Removing the last listener with a signal still queued dropped it: the run checked and
    // reported as if never signalled (exit 0; seen as exit 2 after an earlier SIGINT at load 25).
    expect(r.exitCode, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/^faultline run: SIGINT again: exiting at once, nothing checked or reported$/m);
    expect(existsSync(join(store, "latest", "results.json"))).toBe(false);
  });
});
