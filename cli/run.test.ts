import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const bin = new URL("../bin/faultline.js", import.meta.url).pathname;

async function run(args: string[]) {
  return execa("node", [bin, "run", ...args], { reject: false, env: { CI: "true" } });
}

function latestHistory(store: string): string {
  return readFileSync(join(store, "latest", "history.jsonl"), "utf8");
}

describe("faultline run", () => {
  it("gives a byte-identical history for the same seed, and another for another seed", async () => {
    const stores = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), "faultline-run-")));
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
    const stores = [0, 1].map(() => mkdtempSync(join(tmpdir(), "faultline-run-")));
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
    const store = mkdtempSync(join(tmpdir(), "faultline-run-"));
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

describe("faultline run, interrupted", () => {
  it("stops on SIGINT, heals, keeps and checks what was recorded", async () => {
    const store = mkdtempSync(join(tmpdir(), "faultline-run-"));
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
    expect(r.stdout).toMatch(/interrupted: \d+ operations recorded and checked/);
    expect(r.exitCode).toBe(0);
    const lines = readFileSync(join(store, "latest", "history.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(lines.length).toBeGreaterThan(10);
    const results = JSON.parse(readFileSync(join(store, "latest", "results.json"), "utf8")) as {
      valid: unknown;
    };
    expect(results.valid).toBe(true);
  });
});
