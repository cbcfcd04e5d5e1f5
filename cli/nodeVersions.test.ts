/**
 * The same seed gives the same history, byte for byte, whichever Node.js runs it. faultline's own
 * checkout runs on the Node.js it brings in (tools/dev-node: 26, on Linux x64), while the package
 * promises any from 20.19 on (`engines`), and a seed's history must not depend on which one a
 * user has: V8's number formatting, sorting, hashing and Math all differ between versions in
 * ways a simulation could pick up. The machine's own Node.js (another `node` on the PATH; 20 on
 * this project's CI machine) runs the bin with the same seeds as the Node.js running this test,
 * and the histories must be the same bytes and the verdicts the same. It also keeps the floor the
 * package promises under test: the whole run, checkers and reports included, runs on it.
 *
 * Where the PATH holds no other version of Node.js (a machine without the dev-node, or whose own
 * Node.js is the same version), the test is skipped and says why.
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rootWithCurrentBuild } from "./fixtures/currentBuild.ts";

/** The first `node` on the PATH that is not the one running this test, with its version. */
function otherNodeOnPath(): { readonly file: string; readonly version: string } | undefined {
  const running = realpathSync(process.execPath);
  for (const folder of (process.env["PATH"] ?? "").split(delimiter)) {
    if (folder === "") continue;
    const file = join(folder, "node");
    try {
      accessSync(file, constants.X_OK);
      if (realpathSync(file) === running) continue;
    } catch {
      continue; // not there, or not runnable
    }
    let version: string;
    try {
      // Synchronous: whether the tests run, and their names, are decided as the file loads.
      version = execFileSync(file, ["--version"], { encoding: "utf8", timeout: 30_000 }).trim();
    } catch {
      continue;
    }
    if (version !== process.version) return { file, version };
  }
  return undefined;
}

const other = otherNodeOnPath();
const dir = mkdtempSync(join(tmpdir(), "faultline-node-versions-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let bin = "";
beforeAll(async () => {
  bin = join(await rootWithCurrentBuild(dir), "bin/faultline.js");
});

/**
 * Runs the bin under `node` with `args`; returns the stored run's history and what it printed
 * (the checkers' verdicts, without the line naming the store folder, which differs by run).
 */
async function runUnder(node: string, name: string, args: readonly string[]) {
  const store = join(dir, name);
  const r = await execa(node, [bin, "run", ...args, "--quiet", "--store", store], {
    reject: false,
    timeout: 120_000,
  });
  expect(r.exitCode, r.stderr).toBeLessThanOrEqual(1);
  const run = realpathSync(join(store, "latest"));
  const results = JSON.parse(readFileSync(join(run, "results.json"), "utf8")) as { valid: unknown };
  return {
    history: readFileSync(join(run, "history.jsonl")),
    verdict: r.stdout.replace(/^store: .*$/m, "").trim(),
    valid: results.valid,
  };
}

describe.skipIf(other === undefined)(
  `a seed's history is the same under ${process.version} and ${other?.version ?? "no other Node.js on the PATH"}`,
  () => {
    it.each([
      ["the engine's default run", ["--seed", "3", "--time-limit", "8"]],
      [
        "the memory system, bank under every nemesis",
        ["--system", "memory", "--workload", "bank", "--nemesis", "all", "--seed", "5", "--time-limit", "8"],
      ],
    ])("%s", async (_, args) => {
      const here = await runUnder(process.execPath, `here-${args.join("-")}`, args);
      const there = await runUnder(other!.file, `there-${args.join("-")}`, args);
      expect(here.history.length).toBeGreaterThan(1000);
      expect(there.history.equals(here.history), "the histories differ").toBe(true);
      expect(there.verdict).toBe(here.verdict);
      expect(there.valid).toBe(here.valid);
    });
  },
);
