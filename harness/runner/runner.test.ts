import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  clients,
  cycle,
  fromFunction,
  limit,
  nemesis as onNemesis,
  repeat,
  sleep,
  stagger,
  timeLimit,
} from "../generator/index.ts";
import type { Op } from "../history/op.ts";
import { pairOps } from "../history/op.ts";
import type { Nemesis } from "../nemesis.ts";
import { SimWorld } from "../runtime/sim/index.ts";
import type { World } from "../runtime/types.ts";
import { worldNodeControl, type Client, type Completion, type SystemUnderTest } from "../system.ts";
import { runTest, type RunSpec } from "./runner.ts";

/** A system whose client answers by the op's `f`: ok after 1 ms, info, fail, throw, or never (hang). */
class ScriptedSystem implements SystemUnderTest {
  readonly name = "scripted";
  readonly nodeNames = ["n1"];
  opened: string[] = [];
  async setup(world: World) {
    world.startNode("n1", () => undefined);
  }
  async openClient(world: World, clientName: string): Promise<Client> {
    this.opened.push(clientName);
    return {
      async invoke({ f, value }): Promise<Completion> {
        await world.sleep(1_000_000);
        if (f === "throw") throw new Error("connection reset");
        if (f === "hang") return new Promise<Completion>(() => undefined);
        return { type: f === "info" ? "info" : f === "fail" ? "fail" : "ok", value };
      },
      async close() {},
    };
  }
  control(world: World) {
    return worldNodeControl(world, this.nodeNames);
  }
  async teardown() {}
}

async function runScripted(spec: Partial<RunSpec> & Pick<RunSpec, "clientGenerator">, seed = 1) {
  const world = new SimWorld({ seed, budget: { maxEvents: 1_000_000, maxVirtualTimeNs: 1e13 } });
  const system = new ScriptedSystem();
  const recorded: Op[] = [];
  const outcome = await world.run(async () => {
    await system.setup(world);
    return runTest(world, {
      concurrency: 2,
      system,
      opTimeoutNs: 50_000_000,
      recoveryDelayNs: 1_000_000,
      record: (op) => recorded.push(op),
      ...spec,
    });
  });
  return { outcome, recorded, system };
}

describe("runner", () => {
  it("records an invocation and a completion for every op, indexes in order, times non-decreasing", async () => {
    const { outcome, recorded } = await runScripted({
      clientGenerator: limit(20, repeat({ f: "ok", value: 1 })),
    });
    expect(outcome.history).toEqual(recorded);
    expect(outcome.history.map((o) => o.index)).toEqual(outcome.history.map((_, i) => i));
    for (let i = 1; i < recorded.length; i++)
      expect(recorded[i]!.time).toBeGreaterThanOrEqual(recorded[i - 1]!.time);
    const pairs = pairOps(recorded);
    expect(pairs).toHaveLength(20);
    expect(pairs.every((p) => p.complete?.type === "ok")).toBe(true);
  });

  it("gives a thread a new process after info, an exception or a timeout, and a fresh client", async () => {
    const script = ["info", "throw", "hang", "ok", "fail"];
    let i = 0;
    const gen = limit(
      script.length,
      fromFunction(() => ({ f: script[i++ % script.length]!, value: null })),
    );
    const { recorded, system } = await runScripted({ clientGenerator: gen });
    const completions = recorded.filter((o) => o.type !== "invoke");
    const byF = new Map(completions.map((o) => [o.f, o]));
    expect(byF.get("info")!.type).toBe("info");
    expect(byF.get("throw")!.type).toBe("info");
    expect(String(byF.get("throw")!.error)).toMatch(/connection reset/);
    expect(byF.get("hang")!.type).toBe("info");
    expect(byF.get("hang")!.error).toBe("timeout");
    expect(byF.get("fail")!.type).toBe("fail");
    // Three indeterminate ops, three new processes (each old id + concurrency), three new clients.
    expect(system.opened).toHaveLength(2 + 3);
    for (const done of completions.filter((o) => o.type === "info")) {
      const later = recorded.filter((o) => o.index > done.index && o.process === done.process);
      expect(later).toEqual([]);
      expect(system.opened).toContain(`c${(done.process as number) + 2}`);
    }
    // No process ever has two ops open.
    expect(() => pairOps(recorded)).not.toThrow();
  });

  it("runs nemesis ops as process nemesis and heals at the end", async () => {
    const calls: string[] = [];
    const nemesis: Nemesis = {
      name: "test",
      fs: ["start", "stop"],
      async invoke(inv) {
        calls.push(inv.f);
        return { type: "ok", value: ["n1"] };
      },
      healInvocations: () => [{ f: "stop", value: null }],
    };
    const { recorded } = await runScripted({
      clientGenerator: limit(10, repeat({ f: "ok", value: 0 })),
      nemesis,
      nemesisGenerator: onNemesis(limit(1, repeat({ f: "start", value: null }))),
    });
    const nemesisOps = recorded.filter((o) => o.process === "nemesis");
    expect(nemesisOps.map((o) => `${o.type}:${o.f}`)).toEqual([
      "invoke:start",
      "ok:start",
      "invoke:stop",
      "ok:stop",
    ]);
    expect(calls).toEqual(["start", "stop"]);
    expect(recorded.at(-1)!.f).toBe("stop");
  });

  it("runs the final generator after healing and stops early on abort", async () => {
    const { recorded } = await runScripted({
      clientGenerator: limit(4, repeat({ f: "ok", value: "main" })),
      finalGenerator: clients(limit(2, repeat({ f: "ok", value: "final" }))),
    });
    expect(recorded.filter((o) => o.type === "ok").map((o) => o.value)).toEqual([
      "main",
      "main",
      "main",
      "main",
      "final",
      "final",
    ]);

    const controller = new AbortController();
    controller.abort();
    const aborted = await runScripted({
      clientGenerator: repeat({ f: "ok", value: 0 }),
      finalGenerator: repeat({ f: "ok", value: "final" }),
      signal: controller.signal,
    });
    expect(aborted.outcome.aborted).toBe(true);
    expect(aborted.outcome.abortedAtNs).toBe(0);
    expect(aborted.recorded).toHaveLength(0);
  });

  it("says at what test time it saw an abort, and that a run to its end was not aborted", async () => {
    const controller = new AbortController();
    let seen = 0;
    const { outcome } = await runScripted({
      clientGenerator: stagger(10e6, repeat({ f: "ok", value: 0 })),
      finalGenerator: clients(limit(2, repeat({ f: "ok", value: "final" }))),
      signal: controller.signal,
      observer: {
        onOp: (op) => {
          if (op.type === "ok" && ++seen === 50) controller.abort("SIGINT");
        },
      },
    });
    expect(outcome.aborted).toBe(true);
    expect(outcome.abortedAtNs).toBeGreaterThan(0);
    expect(outcome.abortedAtNs).toBeLessThan(10e9);
    // Nothing of the main phase was invoked after it, and the final reads were skipped.
    const invokedAfter = outcome.history.filter((o) => o.type === "invoke" && o.time > outcome.abortedAtNs!);
    expect(invokedAfter).toEqual([]);
    expect(outcome.history.some((o) => o.value === "final")).toBe(false);

    const whole = await runScripted({ clientGenerator: limit(4, repeat({ f: "ok", value: 0 })) });
    expect(whole.outcome.aborted).toBe(false);
    expect(whole.outcome.abortedAtNs).toBeUndefined();
  });

  it("keeps a nemesis sleep running while client ops flow (pending generators keep their state)", async () => {
    const nemesis: Nemesis = {
      name: "test",
      fs: ["start", "stop"],
      invoke: async () => ({ type: "ok", value: null }),
      healInvocations: () => [],
    };
    const { recorded } = await runScripted({
      clientGenerator: timeLimit(10e9, stagger(10e6, repeat({ f: "ok", value: 0 }))),
      nemesis,
      nemesisGenerator: onNemesis(
        cycle([sleep(2e9), { f: "start", value: null }, sleep(2e9), { f: "stop", value: null }]),
      ),
    });
    const starts = recorded.filter((o) => o.process === "nemesis" && o.type === "invoke");
    expect(starts.length).toBeGreaterThanOrEqual(4);
    // The first fault comes after its 2 s sleep, not at once and not never.
    expect(starts[0]!.time).toBeGreaterThanOrEqual(2e9);
    expect(starts[0]!.time).toBeLessThan(2.1e9);
  });

  it("rotates ops through the workers: one op at a time goes round them in turn", async () => {
    // Each op takes 1 ms and the next comes 5 ms later, so every worker is idle at every ask.
    // Before the rotation, worker 0 took all 30 ops (and in process mode, its node all the load).
    const { recorded } = await runScripted({
      concurrency: 10,
      clientGenerator: limit(30, stagger(5e6, repeat({ f: "ok", value: 0 }))),
    });
    const invoked = recorded.filter((o) => o.type === "invoke").map((o) => o.process);
    expect(invoked).toEqual(Array.from({ length: 30 }, (_, i) => i % 10));
  });

  it("property: every worker gets its share of ops, whatever the load, and no op goes to a busy one", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 5_000_000 }),
        async (concurrency, rounds, meanGapNs) => {
          const total = concurrency * rounds;
          const { recorded } = await runScripted({
            concurrency,
            clientGenerator: limit(total, stagger(meanGapNs, repeat({ f: "ok", value: 0 }))),
          });
          const perWorker = new Array<number>(concurrency).fill(0);
          for (const op of recorded) if (op.type === "invoke") perWorker[op.process as number]!++;
          // The free list starts one past the last worker given an op, so a worker is passed over
          // only while it is busy: with ops of 1 ms, no worker falls more than a round behind.
          expect(Math.min(...perWorker), JSON.stringify(perWorker)).toBeGreaterThanOrEqual(rounds - 1);
          expect(pairOps(recorded).every((p) => p.complete !== undefined)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});
