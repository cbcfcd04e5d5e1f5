/**
 * The CI examples are run, not just read: this test parses the GitHub Actions workflows and the
 * Kubernetes Jobs in examples/, takes the faultline commands they contain, and runs them as the CI
 * would (bash for a workflow's `run:`, `sh -c` for a container, with the files' own environment,
 * the matrix value or completion index filled in) on a tiny suite and a small seed range, in a
 * scratch folder. `npx faultline` is this checkout's bin (npx would resolve the same bin in a
 * project that installed faultline). It also checks that the files agree with themselves: the shard
 * list of the matrix and the completion count match the shard count the commands use.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import type { GateSummary, SweepReport } from "../reports/suite/model.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const bin = here("../bin/faultline.js");

/** `npx faultline …` runs this checkout's bin. */
const prelude = `npx() { if [ "$1" = faultline ]; then shift; node "${bin}" "$@"; else command npx "$@"; fi; }\n`;

const tinySuite = `name: tiny
defaults: { time-limit: 2, nemesis-interval: 1 }
rows:
  - name: memory-register
    run: { system: memory, workload: register, nemesis: partition }
    seeds: 1..2
    expect: valid
  - name: memory-set
    run: { system: memory, workload: set, nemesis: crash }
    seeds: 1..2
    expect: valid
`;

let scratch = "";
let suite = "";
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "faultline-examples-"));
  suite = join(scratch, "tiny.yaml");
  writeFileSync(suite, tinySuite);
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

interface Step {
  readonly name?: string;
  readonly run?: string;
}
interface Workflow {
  readonly env?: Record<string, string | number>;
  readonly jobs: Record<
    string,
    { readonly steps: Step[]; readonly strategy?: { matrix?: { shard?: number[] } } }
  >;
}

const faultlineSteps = (steps: readonly Step[]): string[] =>
  steps.map((s) => s.run ?? "").filter((run) => /\bnpx faultline\b/.test(run));

function stringEnv(env: Record<string, string | number> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, String(v)]));
}

async function shell(shellName: "bash" | "sh", script: string, cwd: string, env: Record<string, string>) {
  const result = await execa(shellName, ["-c", prelude + script], {
    cwd,
    env: { ...env, CI: "true", NO_COLOR: "1" },
    reject: false,
    all: true,
  });
  return { exitCode: result.exitCode, output: `$ ${script}\n${result.all ?? ""}` };
}

describe("examples/github-actions", () => {
  it("pr-gate.yml: its gate command passes a suite that holds and leaves junit.xml and summary.json", async () => {
    const workflow = parse(readFileSync(here("./github-actions/pr-gate.yml"), "utf8")) as Workflow;
    const steps = faultlineSteps(workflow.jobs["gate"]!.steps);
    expect(steps).toHaveLength(1);
    const cwd = join(scratch, "pr");
    mkdirSync(cwd);
    const env = { ...stringEnv(workflow.env), FAULTLINE_SUITE: suite };
    const result = await shell("bash", steps[0]!, cwd, env);
    expect(result.exitCode, result.output).toBe(0);
    const summary = JSON.parse(
      readFileSync(join(cwd, "gate-results", "summary.json"), "utf8"),
    ) as GateSummary;
    expect(summary.rows.map((r) => r.verdict)).toEqual(["holds", "holds"]);
    expect(readFileSync(join(cwd, "gate-results", "junit.xml"), "utf8").match(/<testcase /g)).toHaveLength(2);
  }, 120_000);

  it("nightly-sweep.yml: its shards, run as the matrix runs them, merge into a complete report with JUnit", async () => {
    const workflow = parse(readFileSync(here("./github-actions/nightly-sweep.yml"), "utf8")) as Workflow;
    const shards = workflow.jobs["sweep"]!.strategy!.matrix!.shard!;
    expect(shards).toEqual(Array.from({ length: shards.length }, (_, i) => i + 1));
    expect(Number(workflow.env!["FAULTLINE_SHARDS"])).toBe(shards.length);
    const [sweepStep] = faultlineSteps(workflow.jobs["sweep"]!.steps);
    const [reportStep] = faultlineSteps(workflow.jobs["report"]!.steps);
    expect(sweepStep).toContain("${{ matrix.shard }}");
    const cwd = join(scratch, "nightly");
    mkdirSync(cwd);
    // A small sweep of the tiny suite, in 2 shards (the matrix's own list, cut to 2 for time).
    const env = {
      ...stringEnv(workflow.env),
      FAULTLINE_SUITE: suite,
      FAULTLINE_SEEDS: "1..3",
      FAULTLINE_SHARDS: "2",
    };
    const ran = await Promise.all(
      [1, 2].map((shard) =>
        shell("bash", sweepStep!.replaceAll("${{ matrix.shard }}", String(shard)), cwd, env),
      ),
    );
    for (const r of ran) expect(r.exitCode, r.output).toBe(0);
    // The artifacts round trip (upload sweep-out/, download into sweep-out) leaves the folders where they are.
    const merged = await shell("bash", reportStep!, cwd, env);
    expect(merged.exitCode, merged.output).toBe(0);
    const report = JSON.parse(readFileSync(join(cwd, "sweep-report", "report.json"), "utf8")) as SweepReport;
    expect(report).toMatchObject({ complete: true, runs: 6, verdict: "holds" });
    expect(report.shards.present).toEqual([1, 2]);
    expect(existsSync(join(cwd, "sweep-report", "report.html"))).toBe(true);
    expect(readFileSync(join(cwd, "sweep-report", "junit.xml"), "utf8").match(/<testcase /g)).toHaveLength(2);
  }, 180_000);
});

interface Container {
  readonly command: string[];
  readonly args: string[];
  readonly env: { name: string; value: string }[];
  readonly volumeMounts: { mountPath: string }[];
}
interface K8sJob {
  readonly kind: string;
  readonly spec: {
    readonly completionMode?: string;
    readonly completions?: number;
    readonly template: { spec: { containers: Container[] } };
  };
}

function jobsIn(file: string): K8sJob[] {
  return parseAllDocuments(readFileSync(here(file), "utf8"))
    .map((d) => d.toJS() as K8sJob)
    .filter((d) => d.kind === "Job");
}

describe("examples/kubernetes", () => {
  it("sweep-job.yaml (an Indexed Job) and report-job.yaml: each completion index runs its shard, the report merges them", async () => {
    const [sweepJob] = jobsIn("./kubernetes/sweep-job.yaml");
    const [reportJob] = jobsIn("./kubernetes/report-job.yaml");
    expect(sweepJob!.spec.completionMode).toBe("Indexed");
    const container = sweepJob!.spec.template.spec.containers[0]!;
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    expect(Number(env["FAULTLINE_SHARDS"])).toBe(sweepJob!.spec.completions);
    expect(env["RESULTS"]).toBe(container.volumeMounts[0]!.mountPath);
    expect(container.command).toEqual(["sh", "-c"]);
    const reportContainer = reportJob!.spec.template.spec.containers[0]!;
    expect(reportContainer.command).toEqual(["sh", "-c"]);
    const results = join(scratch, "results");
    mkdirSync(results);
    const cwd = join(scratch, "k8s");
    mkdirSync(cwd);
    // The shared volume is a scratch folder; 2 completions of a small sweep, for time.
    const runEnv = {
      ...env,
      RESULTS: results,
      FAULTLINE_SUITE: suite,
      FAULTLINE_SEEDS: "1..3",
      FAULTLINE_SHARDS: "2",
    };
    const ran = await Promise.all(
      [0, 1].map((index) =>
        shell("sh", container.args[0]!, cwd, { ...runEnv, JOB_COMPLETION_INDEX: String(index) }),
      ),
    );
    for (const r of ran) expect(r.exitCode, r.output).toBe(0);
    const reportEnv = Object.fromEntries(reportContainer.env.map((e) => [e.name, e.value]));
    const merged = await shell("sh", reportContainer.args[0]!, cwd, { ...reportEnv, RESULTS: results });
    expect(merged.exitCode, merged.output).toBe(0);
    const report = JSON.parse(readFileSync(join(results, "report", "report.json"), "utf8")) as SweepReport;
    expect(report).toMatchObject({ complete: true, runs: 6, verdict: "holds" });
    expect(report.shards).toEqual({ count: 2, present: [1, 2], missing: [], incomplete: [] });
  }, 180_000);
});
