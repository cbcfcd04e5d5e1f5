import { mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import type { Op } from "../harness/history/op.ts";
import type { Client } from "../harness/system.ts";
import { scratchFolders } from "../harness/testkit.ts";
import { executeRun } from "./execute.ts";
import { UsageError } from "./main.ts";
import {
  GuardedClient,
  loadModelPlugin,
  loadRunPlugins,
  loadSystemPlugin,
  loadWorkloadPlugin,
  lookupWorkload,
  packageJsonMaxBytes,
  packageTypeOf,
  useWorkload,
} from "./plugins.ts";
import { resolveRunConfig, type RunConfig } from "./runConfig.ts";
import { fromFunction, limit } from "../harness/generator/sources.ts";
import { simulate } from "../harness/generator/simulate.ts";
import type { BuildConfig } from "../harness/testConfig.ts";

const repoRoot = new URL("..", import.meta.url).pathname;
const bin = join(repoRoot, "bin/faultline.js");
const pluginStore = scratchFolders("plugin");
const modelFolder = scratchFolders("model");
/** A fixture's path as a user types it: relative to the working folder, with ./ in front. */
const fixture = (name: string): string =>
  "./" + relative(process.cwd(), join(repoRoot, "cli/fixtures/plugins", name));

async function resolvedWithPlugins(args: string[]): Promise<RunConfig> {
  const at = (o: string) => {
    const i = args.indexOf(o);
    return i >= 0 ? args[i + 1] : undefined;
  };
  await loadRunPlugins(at("--system"), at("--workload"));
  const config = resolveRunConfig(args);
  if (config === "help") throw new Error("help");
  return config;
}

describe("a plugin of the wrong shape", () => {
  it("is one line naming the module and what is missing", async () => {
    await expect(loadSystemPlugin(fixture("missing-build.ts"))).rejects.toThrow(UsageError);
    await expect(loadSystemPlugin(fixture("missing-build.ts"))).rejects.toThrow(
      /--system \.\/.*missing-build\.ts: not a valid system definition: "build" is missing/,
    );
    await expect(loadSystemPlugin(fixture("no-export.ts"))).rejects.toThrow(
      /no-export\.ts: the module exports no system \(expected `export default defineSystem\(\{ … \}\)` .* it exports helper\)/,
    );
    await expect(loadSystemPlugin(fixture("throws-on-load.mjs"))).rejects.toThrow(
      /throws-on-load\.mjs: the module failed to load: cannot reach the license server/,
    );
    await expect(loadSystemPlugin("./no/such/file.ts")).rejects.toThrow(
      /--system \.\/no\/such\/file\.ts: no such file/,
    );
    await expect(loadWorkloadPlugin(fixture("missing-build.ts"))).rejects.toThrow(
      /--workload .*missing-build\.ts: not a valid workload definition: "build" is missing/,
    );
    await expect(loadModelPlugin(fixture("missing-build.ts"))).rejects.toThrow(
      /--model .*missing-build\.ts: not a valid linearizability model: "init" is missing .*; "step" is missing/,
    );
    for (const message of await Promise.all(
      ["missing-build.ts", "no-export.ts"].map((f) =>
        loadSystemPlugin(fixture(f)).catch((e: Error) => e.message),
      ),
    )) {
      expect(message).not.toContain("\n");
    }
  });

  it("exits 254 with that one line, from the command line", async () => {
    // Both started before either is awaited (not through Promise.all: see cli/commandLine.test.ts).
    const runChild = execa("node", [bin, "run", "--system", fixture("missing-build.ts")], { reject: false });
    const checkChild = execa("node", [bin, "check", "--model", fixture("no-export.ts"), "whatever.jsonl"], {
      reject: false,
    });
    const run = await runChild;
    const check = await checkChild;
    expect(run.exitCode).toBe(254);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/missing-build\.ts: not a valid system definition: "build" is missing/);
    expect(check.exitCode).toBe(254);
    expect(check.stderr.trim().split("\n")).toHaveLength(1);
    expect(check.stderr).toMatch(/no-export\.ts: the module exports no model/);
  });
});

describe("a plugin system", () => {
  it("declares its own options; others are refused, and they are in the reproduce command", async () => {
    const config = await resolvedWithPlugins([
      "--system",
      fixture("flaky-register.ts"),
      "--workload",
      "register",
      "--misbehave",
      "garbage",
      "--seed",
      "3",
    ]);
    expect(config.systemOptions).toEqual({ misbehave: "garbage" });
    expect(config.name).toBe("flaky-register-register-partition-crash");
    await expect(
      resolvedWithPlugins([
        "--system",
        fixture("flaky-register.ts"),
        "--workload",
        "register",
        "--replication",
        "sync",
      ]),
    ).rejects.toThrow(
      /--replication does not apply to the flaky-register system \(its options: --misbehave\)/,
    );
    await expect(
      resolvedWithPlugins(["--system", fixture("flaky-register.ts"), "--workload", "bank"]),
    ).rejects.toThrow(
      /--workload bank does not apply to the flaky-register system \(its workloads: register\)/,
    );
    await expect(
      resolvedWithPlugins([
        "--system",
        fixture("flaky-register.ts"),
        "--workload",
        "register",
        "--misbehave",
        "x",
      ]),
    ).rejects.toThrow(/--misbehave: expected one of: .*; got "x"$/);
  });

  for (const misbehave of ["throw-after", "throw-before", "garbage"]) {
    it(`whose client misbehaves (${misbehave}) is recorded as info and never crashes the run`, async () => {
      const store = pluginStore();
      const config = await resolvedWithPlugins([
        "--system",
        fixture("flaky-register.ts"),
        "--workload",
        "register",
        "--misbehave",
        misbehave,
        "--nemesis",
        "none",
        "--time-limit",
        "5",
        "--seed",
        "11",
        "--store",
        store,
      ]);
      const result = await executeRun(config);
      const infos = result.history.filter((op: Op) => op.type === "info");
      expect(infos.length).toBeGreaterThan(10);
      const expected =
        misbehave === "garbage"
          ? /the client returned no valid completion: "type"/
          : /the client threw: Error: connection/;
      for (const op of infos) expect(String(op.error)).toMatch(expected);
      // The register is atomic and info may or may not have happened: linearizable. Had the throws
      // been recorded as fail, writes that took effect would be read back and the check would fail.
      expect(result.results.checkers["linearizable"]?.valid).toBe(true);
      expect(result.results.valid).toBe(true);
    });
  }

  it("written in plain JavaScript and exported as `system`, runs end to end from the command line", async () => {
    const store = pluginStore();
    const r = await execa(
      "node",
      [bin, "run", "--system", fixture("register.js"), "--workload", "register", "--time-limit", "3"].concat([
        "--seed",
        "2",
        "--store",
        store,
        "--quiet",
      ]),
      { reject: false, env: { CI: "true" } },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^js-register-register-partition-crash: valid/m);
    expect(r.stdout).toContain(
      `reproduce: npx faultline run --system ${fixture("register.js")} --workload register`,
    );
  });

  it("runs a plugin workload", async () => {
    const store = pluginStore();
    const config = await resolvedWithPlugins([
      "--system",
      "memory",
      "--workload",
      fixture("one-key-workload.ts"),
      "--time-limit",
      "3",
      "--seed",
      "5",
      "--store",
      store,
    ]);
    expect(config.name).toBe("memory-one-key-partition-crash");
    const result = await executeRun(config);
    expect(result.history.some((op) => op.f === "write" && op.type === "ok")).toBe(true);
    expect(result.results.checkers["linearizable"]?.valid).toBe(true);
  });
});

describe("check --model ./my-model.ts", () => {
  it("checks a history against the user's model: valid and not", async () => {
    const folder = modelFolder();
    const line = (index: number, process: number, type: string, f: string, value: unknown) =>
      JSON.stringify({ index, time: index * 10, process, type, f, value });
    const good = [
      line(0, 0, "invoke", "inc", null),
      line(1, 0, "ok", "inc", null),
      line(2, 1, "invoke", "get", null),
      line(3, 1, "ok", "get", 1),
    ];
    const bad = [...good.slice(0, 2), line(2, 1, "invoke", "get", null), line(3, 1, "ok", "get", 2)];
    writeFileSync(join(folder, "good.jsonl"), good.join("\n") + "\n");
    writeFileSync(join(folder, "bad.jsonl"), bad.join("\n") + "\n");
    const model = fixture("up-counter.ts");
    const r = await execa(
      "node",
      [bin, "check", "--model", model, join(folder, "good.jsonl"), join(folder, "bad.jsonl")],
      { reject: false },
    );
    expect(r.exitCode, r.stderr).toBe(1);
    const [goodLine, badLine] = r.stdout.trim().split("\n");
    expect(goodLine).toMatch(/^valid .*good\.jsonl {2}up-counter/);
    expect(badLine).toMatch(/^INVALID .*bad\.jsonl {2}up-counter/);
    expect(readFileSync(join(folder, "good.jsonl"), "utf8")).toContain('"inc"');
  });
});

describe("GuardedClient", () => {
  const invocation = { f: "write", value: ["k", 1] };

  it("fails an operation whose client could not be opened (it was never sent), and tries again next time", async () => {
    let opens = 0;
    const client = new GuardedClient(async () => {
      opens++;
      if (opens < 3) throw new Error("connection refused");
      return {
        invoke: async () => ({ type: "ok", value: ["k", 1] }),
        close: async () => undefined,
      } as Client;
    });
    expect(await client.invoke(invocation)).toEqual({
      type: "fail",
      value: ["k", 1],
      error: "the client could not be opened: Error: connection refused",
    });
    expect(await client.invoke(invocation)).toEqual({ type: "ok", value: ["k", 1] });
    expect(opens).toBe(3);
  });

  it("records a throw, a wrong shape and a synchronous throw as info; keeps the invocation's value when none is given", async () => {
    const replies: (() => unknown)[] = [
      () => Promise.reject(new Error("reset")),
      () => {
        throw new TypeError("oops");
      },
      () => Promise.resolve({ type: "ok?" }),
      () => Promise.resolve({ type: "ok" }),
      () => Promise.resolve(undefined),
    ];
    let i = 0;
    const client = new GuardedClient(async () => ({
      invoke: () => replies[i++]!() as never,
      close: () => {
        throw new Error("no");
      },
    }));
    const got = [];
    for (let k = 0; k < replies.length; k++) got.push(await client.invoke(invocation));
    expect(got.map((c) => c.type)).toEqual(["info", "info", "info", "ok", "info"]);
    expect(got[0]!.error).toBe("the client threw: Error: reset");
    expect(got[1]!.error).toBe("the client threw: TypeError: oops");
    expect(String(got[2]!.error)).toMatch(/no valid completion: "type"/);
    expect(got[3]!.value).toEqual(["k", 1]);
    await expect(client.close()).resolves.toBeUndefined();
  });

  it("records a completion as the JSON data the history file holds, and one JSON cannot hold as info", async () => {
    // A run checks the history in memory, `faultline check` the file: a Date or a bigint in memory
    // compared unlike its string in the file (two reads of one Date are two objects).
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    const replies: unknown[] = [
      { type: "ok", value: { at: new Date(0), id: 2n ** 64n, nan: NaN, f: () => 1 }, error: 7n },
      { type: "ok", value: cyclic },
    ];
    let i = 0;
    const client = new GuardedClient(async () => ({
      invoke: async () => replies[i++] as never,
      close: async () => undefined,
    }));
    expect(await client.invoke(invocation)).toEqual({
      type: "ok",
      value: { at: "1970-01-01T00:00:00.000Z", id: "18446744073709551616", nan: null },
      error: "7",
    });
    const refused = await client.invoke(invocation);
    expect(refused).toMatchObject({ type: "info", value: ["k", 1] });
    expect(String(refused.error)).toMatch(
      /^the client returned a completion that is not JSON data: TypeError/,
    );
  });
});

describe("a plugin workload's planned values", () => {
  it("are recorded as the JSON data the history file holds; a value JSON cannot hold stops the run with its name", () => {
    const values: unknown[] = [new Date(0), 2n ** 64n, { n: NaN }];
    const name = useWorkload({
      name: "json-data-probe",
      build: () => ({
        name: "json-data-probe",
        generator: limit(
          values.length,
          fromFunction(() => ({ f: "write", value: values.shift() })),
        ),
        checkers: [{ name: "none", check: () => ({ valid: "unknown", reason: "a probe" }) }],
      }),
    });
    const workload = lookupWorkload(name).build({} as BuildConfig);
    const { history } = simulate(workload.generator, { seed: 1, clientThreads: 1 });
    expect(history.filter((o) => o.type === "invoke").map((o) => o.value)).toEqual([
      "1970-01-01T00:00:00.000Z",
      "18446744073709551616",
      { n: null },
    ]);

    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    const bad = useWorkload({
      name: "json-data-probe-cyclic",
      build: () => ({
        name: "json-data-probe-cyclic",
        generator: fromFunction(() => ({ f: "write", value: cyclic })),
        checkers: [{ name: "none", check: () => ({ valid: "unknown", reason: "a probe" }) }],
      }),
    });
    const cyclicWorkload = lookupWorkload(bad).build({} as BuildConfig);
    expect(() => simulate(cyclicWorkload.generator, { seed: 1, clientThreads: 1 })).toThrow(
      /--workload json-data-probe-cyclic: planned a "write" whose value is not JSON data: TypeError/,
    );
  });
});

describe("packageTypeOf (the hint for a .ts plugin that fails to load in a CommonJS package)", () => {
  const folder = scratchFolders("package-type");
  const withManifest = (write: (path: string) => void | Promise<void>) => async () => {
    const dir = folder();
    await write(join(dir, "package.json"));
    return packageTypeOf(dir);
  };

  it("reads the nearest package.json's type, and only a regular file within its bound", async () => {
    expect(await withManifest((p) => writeFileSync(p, '{"type":"module"}'))()).toBe("module");
    expect(await withManifest((p) => writeFileSync(p, '{"name":"cjs"}'))()).toBe("commonjs");
    // Not a package.json Node reads: no claim about its type, so no hint that blames the missing
    // "type" (before, each of these read as "not a module package" and the hint said so).
    expect(await withManifest((p) => writeFileSync(p, "{ not json"))()).toBeUndefined();
    expect(await withManifest((p) => writeFileSync(p, "[]"))()).toBeUndefined();
    expect(await withManifest((p) => mkdirSync(p))()).toBeUndefined();
    // Past the bound (a hole of zeros after the type): not read. Before, read whole, any size.
    const large = withManifest((p) => {
      writeFileSync(p, '{"type":"module","pad":"');
      truncateSync(p, packageJsonMaxBytes + 1);
    });
    expect(await large()).toBeUndefined();
    // A pipe: before, reading it waited for a writer that never came (the process hung).
    expect(await withManifest(async (p) => void (await execa("mkfifo", [p])))()).toBeUndefined();
  });
});
