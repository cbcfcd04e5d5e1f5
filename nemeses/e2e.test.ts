/**
 * End to end: `faultline run --system memory --workload register --nemesis …` through `executeRun`.
 * The memory system is correct by construction, so every verdict must be valid; the history must
 * hold every package's nemesis ops, each completion naming the nodes it touched, and the final
 * phase must heal every fault.
 */
import { describe, expect, it } from "vitest";
import { executeRun } from "../cli/execute.ts";
import { resolveRunConfig } from "../cli/run.ts";
import type { RunConfig } from "../cli/runConfig.ts";
import type { Op } from "../harness/history/op.ts";
import { faultWindows } from "../harness/history/faultWindows.ts";
import { scratchFolders } from "../harness/testkit.ts";

const freshStore = scratchFolders("nemeses");

function config(args: string[]): RunConfig {
  const store = freshStore();
  const c = resolveRunConfig([...args, "--store", store, "--quiet"]);
  if (c === "help") throw new Error("unexpected help");
  return c;
}

const base = ["--system", "memory", "--workload", "register", "--time-limit", "20", "--nodes", "5"];
const nodes = ["n1", "n2", "n3", "n4", "n5"];
const kinds = ["partition", "crash", "pause", "clock", "packet"];

function nemesisCompletions(history: readonly Op[]): Op[] {
  return history.filter((op) => op.process === "nemesis" && op.type !== "invoke");
}

describe("faultline run with every nemesis package", () => {
  const allFive = config([...base, "--nemesis", kinds.join(","), "--nemesis-interval", "2", "--seed", "11"]);
  let run: Promise<Awaited<ReturnType<typeof executeRun>>> | undefined;
  const result = () => (run ??= executeRun(allFive, { startedAt: new Date(0) }));

  it("records each package's faults, every completion naming the nodes it touched", async () => {
    const { history } = await result();
    const completions = nemesisCompletions(history);
    for (const kind of kinds) {
      const starts = completions.filter((op) => op.f === `start-${kind}` && op.type === "info");
      expect(starts.length, kind).toBeGreaterThanOrEqual(2);
    }
    for (const op of completions.filter((o) => o.type !== "fail")) {
      const touched = (op.value as { nodes?: unknown }).nodes;
      expect(Array.isArray(touched), `${op.f} ${JSON.stringify(op.value)}`).toBe(true);
      for (const node of touched as unknown[]) expect(nodes).toContain(node);
    }
    for (const op of completions.filter((o) => o.f === "start-partition" && o.type === "info")) {
      expect(Object.keys((op.value as { grudge: object }).grudge).length).toBeGreaterThan(0);
    }
  });

  it("heals every fault in the final phase: one stop per package, the last nemesis ops", async () => {
    const { history } = await result();
    const nemesisOps = history.filter((op) => op.process === "nemesis");
    const heal = nemesisOps.slice(-2 * kinds.length);
    expect(heal.map((op) => `${op.type} ${op.f}`)).toEqual(
      kinds.flatMap((k) => [`invoke stop-${k}`, `info stop-${k}`]),
    );
    // The heal runs once the main phase is over: no client op is open when it begins.
    const healStart = heal[0]!.index;
    const open = new Set<unknown>();
    for (const op of history) {
      if (op.index >= healStart) break;
      if (op.process === "nemesis") continue;
      if (op.type === "invoke") open.add(op.process);
      else open.delete(op.process);
    }
    expect([...open]).toEqual([]);
  });

  it("gives the reports one closed fault window per start/stop pair, of every kind", async () => {
    const { history } = await result();
    const windows = faultWindows(history);
    for (const kind of kinds)
      expect(
        windows.some((w) => w.kind === kind),
        kind,
      ).toBe(true);
    expect(windows.filter((w) => w.openAtEnd)).toEqual([]);
  });

  it("stays valid under all five packages (the memory system applies a duplicated request once)", async () => {
    expect((await result()).results.valid).toBe(true);
  });

  it("stays valid under partition, crash, pause and clock faults", async () => {
    const c = config([
      ...base,
      "--nemesis",
      "partition,crash,pause,clock",
      "--nemesis-interval",
      "2",
      "--seed",
      "11",
    ]);
    const r = await executeRun(c, { startedAt: new Date(0) });
    expect(r.results.valid, JSON.stringify(r.results).slice(0, 500)).toBe(true);
    expect(nemesisCompletions(r.history).filter((op) => op.type === "info").length).toBeGreaterThan(20);
  });

  it("runs the brief's command on the memory system's one node: partitions cut nothing and say so", async () => {
    const c = config([
      "--system",
      "memory",
      "--workload",
      "register",
      "--nemesis",
      kinds.join(","),
      "--time-limit",
      "20",
      "--seed",
      "3",
    ]);
    expect(c.nodes).toBe(1);
    const completions = nemesisCompletions((await executeRun(c, { startedAt: new Date(0) })).history);
    const partitions = completions.filter((op) => op.f === "start-partition");
    expect(partitions.length).toBeGreaterThan(0);
    for (const op of partitions) {
      expect(op.type).toBe("fail");
      expect(String(op.error)).toMatch(/no-target/);
    }
    const crashes = completions.filter((op) => op.f === "start-crash" && op.type === "info");
    expect(crashes.length).toBeGreaterThan(0);
    for (const op of crashes) expect((op.value as { nodes: string[] }).nodes).toEqual(["n1"]);
  });
});
