/**
 * A user's plugin that throws, rejects, hangs or answers garbage, at each place the harness calls
 * it: its definition's functions, its node control (through the nemesis), its clients' close, its
 * setup and teardown with real processes, its workload's checkers. Each ends as one line and exit
 * 254 (a definition that throws) or as a run that says what went wrong and is never valid.
 */
import { describe, expect, it } from "vitest";
import type { Op } from "../harness/history/op.ts";
import { worldNodeControl, type Completion, type Invocation, type NodeControl } from "../harness/system.ts";
import type { SystemDefinition } from "../harness/systemDefinition.ts";
import type { World } from "../harness/runtime/types.ts";
import { scratchFolders } from "../harness/testkit.ts";
import type { CheckResult } from "../harness/results.ts";
import { executeRun } from "./execute.ts";
import { UsageError } from "./main.ts";
import { lookupSystem, lookupWorkload, useSystem, useWorkload } from "./plugins.ts";
import { resolveRunConfig, type RunConfig } from "./runConfig.ts";
import type { BuildConfig } from "../harness/testConfig.ts";
import { fromFunction, limit } from "../harness/generator/sources.ts";

const store = scratchFolders("plugin-faults");
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

interface Misbehaviour {
  readonly name: string;
  readonly nodes?: readonly string[];
  readonly modes?: readonly ("sim" | "process")[];
  readonly control?: (world: World, nodes: readonly string[]) => NodeControl;
  readonly setup?: (world: World) => Promise<void>;
  readonly teardown?: () => Promise<void>;
  readonly close?: () => Promise<void>;
}

/** A correct register store in the harness's process (every history linearizable), misbehaving as told. */
function registerSystem(m: Misbehaviour): string {
  const nodes = m.nodes ?? ["n1", "n2", "n3"];
  const process = m.modes?.includes("process") === true;
  return useSystem({
    name: m.name,
    defaultNodes: nodes.length,
    workloads: ["register"],
    ...(m.modes !== undefined ? { modes: m.modes } : {}),
    build: () => {
      const registers = new Map<unknown, unknown>();
      return {
        name: m.name,
        nodeNames: nodes,
        setup:
          m.setup ??
          (async (world) => {
            if (!process) for (const n of nodes) world.startNode(n, () => undefined);
          }),
        openClient: async () => ({
          invoke: async ({ f, value }: Invocation): Promise<Completion> => {
            const [key, arg] = value as [unknown, unknown];
            const current = registers.has(key) ? registers.get(key) : null;
            if (f === "read") return { type: "ok", value: [key, current] };
            if (f === "write") registers.set(key, arg);
            else {
              const [from, to] = arg as [unknown, unknown];
              if (current !== from) return { type: "fail", value, error: "cas-mismatch" };
              registers.set(key, to);
            }
            return { type: "ok", value };
          },
          close: m.close ?? (async () => undefined),
        }),
        control: (world) => (m.control ?? worldNodeControl)(world, nodes),
        teardown: m.teardown ?? (async () => undefined),
      };
    },
  } as SystemDefinition);
}

function configOf(system: string, extra: string[]): RunConfig {
  const config = resolveRunConfig([
    "--system",
    system,
    "--workload",
    "register",
    "--seed",
    "5",
    "--store",
    store(),
    "--quiet",
    ...extra,
  ]);
  if (config === "help") throw new Error("help");
  return config;
}

describe("a plugin system's definition that throws", () => {
  it("is one line naming the module, the function and the error (exit 254), not an internal error", () => {
    const boom = () => {
      throw new Error("license server unreachable");
    };
    const name = useSystem({
      name: "throws-everywhere",
      defaultNodes: boom as never,
      refuse: boom,
      promises: boom,
      build: boom,
    } as SystemDefinition);
    const definition = lookupSystem(name);
    const config = { nodes: 1 } as BuildConfig;
    const where = '--system \\(definition "throws-everywhere"\\)';
    for (const [what, call] of [
      ["build\\(config\\)", () => definition.build(config)],
      ["refuse\\(config\\)", () => definition.refuse!(config)],
      ["promises\\(config\\)", () => definition.promises!(config)],
      ["defaultNodes\\(config\\)", () => (definition.defaultNodes as (c: BuildConfig) => number)(config)],
    ] as const) {
      expect(call).toThrow(UsageError);
      expect(call).toThrow(new RegExp(`^${where}: ${what} threw Error: license server unreachable$`));
    }
  });

  it("node names that would be paths, or twice the same, are refused when it is built", () => {
    for (const [nodeNames, said] of [
      [["../x"], /"nodeNames\.0": expected node names of letters/],
      [[".."], /"nodeNames\.0": expected node names/],
      [["n1", "n1"], /"nodeNames": expected distinct node names/],
    ] as const) {
      const name = useSystem({
        name: `named-${nodeNames.join("").replace(/[^a-z0-9]/g, "x")}-${nodeNames.length}`,
        defaultNodes: 1,
        build: () => ({
          name: "named",
          nodeNames,
          setup: async () => undefined,
          openClient: async () => ({}) as never,
          control: () => ({}) as never,
          teardown: async () => undefined,
        }),
      } as SystemDefinition);
      expect(() => lookupSystem(name).build({ nodes: 1 } as BuildConfig)).toThrow(said);
    }
  });

  it("so is a plugin workload's build", () => {
    const name = useWorkload({
      name: "throws-on-build",
      build: () => {
        throw new TypeError("no keys configured");
      },
    });
    expect(() => lookupWorkload(name).build({} as BuildConfig)).toThrow(
      /^--workload throws-on-build: build\(config\) threw TypeError: no keys configured$/,
    );
  });
});

describe("a plugin system's node control that fails", () => {
  const throwing =
    (method: keyof NodeControl, how: "throw" | "reject") => (world: World, nodes: readonly string[]) => {
      const control = worldNodeControl(world, nodes);
      const failing = (): never | Promise<never> => {
        if (how === "throw") throw new Error(`${method} refused`);
        return Promise.reject(new Error(`${method} refused later`));
      };
      return { ...control, [method]: failing } as NodeControl;
    };

  it("a crash that throws: the fault was not applied, so the run is unknown, never valid", async () => {
    const system = registerSystem({ name: "crash-throws", control: throwing("crash", "throw") });
    const result = await executeRun(
      configOf(system, ["--nemesis", "crash", "--nemesis-interval", "1", "--time-limit", "3"]),
    );
    expect(result.results.checkers["linearizable"]?.valid).toBe(true);
    expect(result.results.checkers["nemesis"]?.valid).toBe("unknown");
    expect(result.results.checkers["nemesis"]?.reason).toMatch(
      /^the nemesis failed \d+ times? \(start-crash at [\d.]+ s: Error: crash refused/,
    );
    expect(result.results.valid).toBe("unknown");
  });

  it("a control(world) that gives no node control: the run stops saying so, not with a TypeError from inside", async () => {
    const system = registerSystem({ name: "no-control", control: () => null as unknown as NodeControl });
    const result = await executeRun(configOf(system, ["--nemesis", "crash", "--time-limit", "1"]));
    expect(result.results.checkers["run"]?.reason).toMatch(
      /--system \(definition "no-control"\): not a valid node control \(from control\(world\)\): expected an object of node control methods/,
    );
    expect(result.results.valid).toBe("unknown");
  });

  it("a heal whose promise is rejected later: noted, not an unhandled rejection that ends the process", async () => {
    const system = registerSystem({ name: "heal-rejects", control: throwing("heal", "reject") });
    const result = await executeRun(
      configOf(system, ["--nemesis", "partition", "--nemesis-interval", "1", "--time-limit", "3"]),
    );
    expect(result.results.checkers["nemesis"]?.reason).toMatch(
      /heal\(\) at [\d.]+ s: Error: heal refused later/,
    );
    expect(result.results.valid).toBe("unknown");
    // What the history says of the stop-partition is what the nemesis knew then: it was asked.
    const stops = result.history.filter((o: Op) => o.process === "nemesis" && o.f === "stop-partition");
    expect(stops.length).toBeGreaterThan(0);
  });
});

describe("a plugin's clients, setup and teardown that never finish", () => {
  it("a client whose close never finishes is left behind after the operation timeout", async () => {
    const system = registerSystem({ name: "close-hangs", close: never });
    const result = await executeRun(configOf(system, ["--nemesis", "none", "--time-limit", "2"]));
    expect(result.results.checkers["run"]).toBeUndefined();
    expect(result.results.valid).toBe(true);
  });

  it("process mode: a setup that never finishes ends at its limit, unknown, and the teardown still runs", async () => {
    let tornDown = false;
    const system = registerSystem({
      name: "setup-hangs",
      modes: ["process"],
      setup: never,
      teardown: async () => {
        tornDown = true;
      },
    });
    const result = await executeRun(
      configOf(system, ["--nemesis", "none", "--time-limit", "1", "--mode", "process"]),
      {
        setupLimitMs: 50,
      },
    );
    expect(result.results.checkers["run"]?.reason).toMatch(
      /the system's setup did not finish within 0\.05 s/,
    );
    expect(result.results.valid).toBe("unknown");
    expect(tornDown).toBe(true);
  });

  it("process mode: SIGINT during a setup that never finishes stops the run, interrupted", async () => {
    const controller = new AbortController();
    const system = registerSystem({
      name: "setup-hangs-interrupted",
      modes: ["process"],
      setup: () => {
        controller.abort("SIGINT");
        return never();
      },
    });
    const result = await executeRun(
      configOf(system, ["--nemesis", "none", "--time-limit", "1", "--mode", "process"]),
      // The limit bounds the grace an interrupted setup gets to finish.
      { signal: controller.signal, setupLimitMs: 50 },
    );
    expect(result.results.interrupted?.signal).toBe("SIGINT");
    expect(result.results.valid).toBe("unknown");
  });

  it("process mode: SIGTERM during a setup that is getting on lets it finish before the teardown stops it", async () => {
    const controller = new AbortController();
    const order: string[] = [];
    const system = registerSystem({
      name: "setup-interrupted",
      modes: ["process"],
      setup: async () => {
        controller.abort("SIGTERM");
        await new Promise((resolve) => setImmediate(resolve));
        order.push("setup finished");
      },
      teardown: async () => {
        order.push("teardown");
      },
    });
    const result = await executeRun(
      configOf(system, ["--nemesis", "none", "--time-limit", "1", "--mode", "process"]),
      { signal: controller.signal },
    );
    expect(result.results.interrupted?.signal).toBe("SIGTERM");
    expect(order).toEqual(["setup finished", "teardown"]);
  });

  it("process mode: a teardown that never finishes ends at its limit and says so", async () => {
    const system = registerSystem({ name: "teardown-hangs", modes: ["process"], teardown: never });
    const result = await executeRun(
      configOf(system, ["--nemesis", "none", "--time-limit", "1", "--mode", "process"]),
      {
        teardownLimitMs: 50,
        recoveryDelayNs: 0,
      },
    );
    expect(result.results.checkers["run"]?.reason).toMatch(
      /the system's teardown did not finish within 0\.05 s/,
    );
    expect(result.results.valid).toBe("unknown");
  });
});

describe("a plugin workload's checker", () => {
  const workloadChecking = (name: string, check: (history: readonly Op[]) => unknown, ops = 20): string =>
    useWorkload({
      name,
      build: () => ({
        name,
        generator: limit(
          ops,
          fromFunction(() => ({ f: "read", value: ["k", null] })),
        ),
        checkers: [{ name: "mine", check: check as (history: readonly Op[]) => CheckResult }],
      }),
    });

  const run = (workload: string) =>
    executeRun(
      (() => {
        const config = resolveRunConfig([
          ...["--system", "memory", "--workload", workload, "--nemesis", "none", "--time-limit", "2"],
          ...["--seed", "1", "--store", store(), "--quiet"],
        ]);
        if (config === "help") throw new Error("help");
        return config;
      })(),
      { checkBudget: { timeLimitMs: 200 } },
    );

  it("that answers garbage, nothing, or never is unknown, saying so; never valid", async () => {
    const cases: [string, (history: readonly Op[]) => unknown, RegExp][] = [
      [
        "says-yes",
        () => ({ valid: "yes" }),
        /returned no valid result: "valid": expected true, false or "unknown"/,
      ],
      ["says-nothing", () => undefined, /returned no valid result: .*received undefined/],
      ["says-42", () => 42, /returned no valid result: .*received number/],
      ["says-bigint", () => ({ valid: true, count: 1n << 70n, self: globalThis }), /not JSON data/],
      ["never-answers", () => never(), /did not return within the time limit/],
    ];
    for (const [name, check, reason] of cases) {
      const result = await run(workloadChecking(name, check));
      expect(result.results.checkers["mine"]?.valid, name).toBe("unknown");
      expect(result.results.checkers["mine"]?.reason, name).toMatch(reason);
      expect(result.results.valid, name).toBe("unknown");
    }
  });

  it("that calls a run with nothing to check valid is overruled: unknown", async () => {
    const result = await run(workloadChecking("always-valid", () => ({ valid: true }), 0));
    expect(result.results.checkers["mine"]?.valid).toBe("unknown");
    expect(result.results.checkers["mine"]?.reason).toMatch(
      /the history is empty.*\(checker mine said valid\)/,
    );
    expect(result.results.valid).toBe("unknown");
    // With operations to check, its verdict stands.
    expect((await run(workloadChecking("always-valid-20", () => ({ valid: true })))).results.valid).toBe(
      true,
    );
  });

  it("named as a result of the run itself, or twice, is refused: one verdict would replace the other", () => {
    for (const names of [["run"], ["nemesis"], ["mine", "mine"]]) {
      const name = useWorkload({
        name: `named-${names.join("-")}`,
        build: () => ({
          name: "named",
          generator: fromFunction(() => ({ f: "read", value: ["k", null] })),
          checkers: names.map((n) => ({ name: n, check: () => ({ valid: true }) as CheckResult })),
        }),
      });
      expect(() => lookupWorkload(name).build({} as BuildConfig)).toThrow(
        new RegExp(`two results would be named "${names[0]}"`),
      );
    }
  });
});
