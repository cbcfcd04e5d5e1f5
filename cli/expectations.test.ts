/**
 * The expectation matrix in CI, run once as the product runs it: `faultline gate
 * suites/matrix.yaml` in a child process (its rows in parallel on worker processes, as a user's
 * CI would run it), then one test per row asserting from the gate's summary.json that the row
 * held, with the reproduce command of every seed that counts against it. The gate is the only
 * thing that runs the matrix; the tests here only read what it found, so the matrix costs its
 * runs once, never twice. The gate is started, not awaited, before the tests: the tests that run
 * in this process (the matrix's own shape, the memory property, the default run) go on while its
 * workers run, and only the tests that read its summary wait for it.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GateSummary } from "../reports/suite/model.ts";
import { describeBadSeeds } from "../reports/suite/gate.ts";
import { engineBugNames } from "../systems/engine/cluster/system.ts";
import { loadMatrix, matrixSuitePath } from "./expectations.ts";
import { executeRun } from "./execute.ts";
import { nemesisNames } from "./registry.ts";
import { resolveRunConfig } from "./run.ts";
import { describeRuns } from "./suite/judge.ts";
import { runSeed } from "./suite/seedRun.ts";

const matrix = await loadMatrix();
const bin = fileURLToPath(new URL("../bin/faultline.js", import.meta.url));

let scratch = "";

/** What the gate left: its exit, whether it ran past its bound, its output, summary and JUnit. */
interface GateOutcome {
  readonly exitCode: number | undefined;
  readonly timedOut: boolean;
  readonly output: string;
  readonly summary: GateSummary | undefined;
  readonly junit: string;
}

/** The whole matrix, bounded (a few minutes on an idle machine; a shared one can be 10x slower). */
const gateTimeoutMs = 45 * 60_000;
/** A test that reads the gate's summary waits for the gate: at most its bound, and a minute. */
const gateTestTimeoutMs = gateTimeoutMs + 60_000;

async function runGate(out: string, store: string): Promise<GateOutcome> {
  const result = await execa(
    process.execPath,
    [bin, "gate", matrixSuitePath, "--out", out, "--store", store],
    {
      env: { CI: "true", NO_COLOR: "1" },
      reject: false,
      all: true,
      timeout: gateTimeoutMs,
    },
  );
  let summary: GateSummary | undefined;
  let junit = "";
  try {
    summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as GateSummary;
    junit = readFileSync(join(out, "junit.xml"), "utf8");
  } catch {
    // Asserted below, with the gate's output.
  }
  return { exitCode: result.exitCode, timedOut: result.timedOut, output: result.all ?? "", summary, junit };
}

/** The gate's run, started by beforeAll and awaited by the tests that read it (and by afterAll). */
let gateRun: Promise<GateOutcome> | undefined;

/** The gate's outcome, once it ends; an error if beforeAll failed before starting it. */
function gateOutcome(): Promise<GateOutcome> {
  if (gateRun === undefined) throw new Error("the gate was never started: beforeAll failed before it");
  return gateRun;
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "faultline-matrix-"));
  gateRun = runGate(join(scratch, "gate"), join(scratch, "store"));
  // Awaited by the tests (which report a failure); this only keeps an early one from being unhandled.
  gateRun.catch(() => undefined);
});

afterAll(async () => {
  // The gate writes into scratch until it ends: never removed under it.
  await gateRun?.catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
}, gateTestTimeoutMs);

describe("the matrix itself", () => {
  it("covers every engine bug knob and the memory system under every nemesis", () => {
    const bugsWithRows = new Set(matrix.rows.flatMap((r) => [r.run.bug ?? []].flat().map(String)));
    expect([...bugsWithRows].sort()).toEqual(Object.keys(engineBugNames).sort());
    const memoryNemeses = new Set(
      matrix.rows.filter((r) => r.run.system === "memory").map((r) => String(r.run.nemesis)),
    );
    for (const nemesis of nemesisNames) expect(memoryNemeses, nemesis).toContain(nemesis);
  });

  it("names system, workload and nemesis in every row, so a change of defaults cannot move the matrix", () => {
    for (const row of matrix.rows) {
      for (const option of ["system", "workload", "nemesis"])
        expect(row.run, row.name).toHaveProperty(option);
    }
  });

  it("runs every row over a contiguous range of seeds from 1, not picked seeds", () => {
    for (const row of matrix.rows) {
      expect(row.seeds, row.name).toEqual(Array.from({ length: row.seeds.length }, (_, i) => i + 1));
    }
  });
});

describe("the memory reference system", () => {
  it("is valid for any seed, workload and nemesis (property, short runs)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom("register", "bank", "write-skew", "append", "set"),
        fc.constantFrom(...nemesisNames),
        async (seed, workload, nemesis) => {
          const args = ["--system", "memory", "--workload", workload, "--nemesis", nemesis];
          const run = await runSeed({
            row: "memory-property",
            args: [...args, "--nemesis-interval", "1", "--time-limit", "5"],
            seed,
            store: join(scratch, "property"),
            keep: "none",
          });
          expect(run.valid, describeRuns([run])).toBe(true);
        },
      ),
      { numRuns: 8 },
    );
  }, 120_000);
});

describe("faultline run with no options", () => {
  it("runs the engine (quorum, serializable) under list append with partitions and crashes for 30 s, valid", async () => {
    const config = resolveRunConfig(["--seed", "1", "--store", join(scratch, "defaults"), "--quiet"]);
    if (config === "help") throw new Error("unexpected help");
    expect({
      system: config.system,
      replication: config.replication,
      isolation: config.isolation,
      workload: config.workload,
      nemesis: config.nemesis,
      timeLimitS: config["time-limit"],
      nodes: config.nodes,
    }).toEqual({
      system: "engine",
      replication: "quorum",
      isolation: "serializable",
      workload: "append",
      nemesis: ["partition", "crash"],
      timeLimitS: 30,
      nodes: 8,
    });
    const result = await executeRun(config);
    rmSync(result.storeDir, { recursive: true, force: true });
    expect(result.reproduceCommand).toContain("--seed 1");
    expect(result.results.valid, JSON.stringify(result.results)).toBe(true);
  }, 120_000);
});

describe("the expectation matrix (suites/matrix.yaml), run as faultline gate", () => {
  it(
    "ran to the end: a summary and a JUnit test case per row, exit 0 exactly when every row holds",
    async () => {
      const gate = await gateOutcome();
      expect(gate.timedOut, `the gate ran past ${gateTimeoutMs / 60_000} min and was stopped`).toBe(false);
      expect(gate.summary, gate.output.slice(-4000)).toBeDefined();
      const summary = gate.summary!;
      expect(summary.rows.map((r) => r.row)).toEqual(matrix.rows.map((r) => r.name));
      expect(gate.junit.match(/<testcase /g)?.length).toBe(matrix.rows.length);
      expect(gate.exitCode).toBe(summary.exitCode);
      expect(summary.exitCode === 0).toBe(
        summary.rows.every((r) => r.verdict === "holds" || r.verdict === "skipped"),
      );
    },
    gateTestTimeoutMs,
  );

  for (const row of matrix.rows) {
    const title = `${row.name}: ${row.claim ?? ""}`;
    if (row.todo !== undefined) {
      it.todo(`${title} (not yet: ${row.todo})`);
      continue;
    }
    it(
      title,
      async () => {
        const gate = await gateOutcome();
        const judged = gate.summary?.rows.find((r) => r.row === row.name);
        expect(judged, `the gate did not judge ${row.name}:\n${gate.output.slice(-4000)}`).toBeDefined();
        expect(
          judged!.verdict,
          `expected ${judged!.expected}; ${judged!.found}\n${describeBadSeeds(judged!)}`,
        ).toBe("holds");
      },
      gateTestTimeoutMs,
    );
  }
});
