/**
 * Plugins by path: `faultline run --system ./my-db.ts`, `--workload ./my-workload.ts` and
 * `faultline check --model ./my-model.ts` load a user's module (TypeScript or JavaScript) and use
 * what it exports exactly as a built-in system, workload or model.
 *
 * A module exports its definition as the default export, or under the name of its kind (`system`,
 * `workload`, `model`). What it exports is validated (zod) before anything runs: a wrong shape is
 * one line naming the module and what is missing or wrong, exit 254. A plugin system's clients
 * are guarded, because the harness cannot trust a user's client to keep the client contract: an
 * exception inside `invoke` is recorded as `info` (the operation may or may not have happened), a
 * completion of the wrong shape as `info` too, and a client that cannot be opened makes its
 * operations `fail` (they were never sent). A plugin never crashes the run. What a plugin's client
 * answers and what its workload plans are recorded as JSON data (a `Date` as its string, a
 * `bigint` as its digits), so the run checks in memory what `faultline check` reads from the file.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import {
  isWellKnownSystemOption,
  wellKnownSystemOptions,
  type SystemDefinition,
} from "../harness/systemDefinition.ts";
import {
  SystemUnavailableError,
  type Client,
  type Completion,
  type Invocation,
  type SystemUnderTest,
} from "../harness/system.ts";
import type { BuildConfig } from "../harness/testConfig.ts";
import type { Workload, WorkloadDefinition } from "../harness/workload.ts";
import { map } from "../harness/generator/control.ts";
import type { PlannedOp } from "../harness/generator/types.ts";
import { toJsonData } from "../harness/history/exactJson.ts";
import type { LinearizableModel } from "../checkers/linearizable/model.ts";
import { foreignChecker, type Checker } from "../harness/checker.ts";
import { nothingToCheck } from "../harness/history/op.ts";
import { runResultNames, type CheckResult } from "../harness/results.ts";
import { isUserError, UsageError } from "./main.ts";
import { armMainThreadWatch } from "../harness/mainThreadWatch.ts";
import { systemNames, systems, workloadNames, workloads } from "./registry.ts";
import { commonRunOptionSpec } from "./runOptionSpec.ts";

import { isModulePath } from "./modulePath.ts";
import { readInputFile } from "./inputFile.ts";

export { isModulePath };

const loadedSystems = new Map<string, SystemDefinition>();
const loadedWorkloads = new Map<string, WorkloadDefinition>();

const keyOf = (path: string): string => resolve(process.cwd(), path);

/** A built-in system by name, or a plugin system already loaded from this path. */
export function lookupSystem(nameOrPath: string): SystemDefinition {
  const builtIn = Object.hasOwn(systems, nameOrPath) ? systems[nameOrPath] : givenSystems.get(nameOrPath);
  if (builtIn !== undefined) return builtIn;
  if (isModulePath(nameOrPath)) {
    const loaded = loadedSystems.get(keyOf(nameOrPath));
    if (loaded !== undefined) return loaded;
    throw new Error(`internal: the plugin ${nameOrPath} was not loaded before use (call loadRunPlugins)`);
  }
  throw new UsageError(
    `--system: expected one of ${systemNames.join(", ")}, or the path of a plugin module (./my-db.ts); got "${nameOrPath}"`,
  );
}

export interface ResolvedWorkload {
  readonly name: string;
  readonly builtIn: boolean;
  build(config: BuildConfig): Workload;
}

/** A built-in workload by name, or a plugin workload already loaded from this path. */
export function lookupWorkload(nameOrPath: string): ResolvedWorkload {
  const builtIn = Object.hasOwn(workloads, nameOrPath) ? workloads[nameOrPath] : undefined;
  if (builtIn !== undefined) return { name: nameOrPath, builtIn: true, build: builtIn };
  const given = givenWorkloads.get(nameOrPath);
  if (given !== undefined)
    return {
      name: given.name,
      builtIn: false,
      build: (c) => validWorkload(nameOrPath, builtWorkload(nameOrPath, given, c)),
    };
  if (isModulePath(nameOrPath)) {
    const loaded = loadedWorkloads.get(keyOf(nameOrPath));
    if (loaded === undefined)
      throw new Error(`internal: the plugin ${nameOrPath} was not loaded before use (call loadRunPlugins)`);
    return {
      name: loaded.name,
      builtIn: false,
      build: (c) => validWorkload(nameOrPath, builtWorkload(nameOrPath, loaded, c)),
    };
  }
  throw new UsageError(
    `--workload: expected one of ${workloadNames.join(", ")}, or the path of a plugin module (./my-workload.ts); got "${nameOrPath}"`,
  );
}

/** Loads the plugins that `faultline run`'s arguments name by path, so the sync lookups find them. */
export async function loadRunPlugins(
  system: string | undefined,
  workload: string | undefined,
): Promise<void> {
  if (system !== undefined && !Object.hasOwn(systems, system) && isModulePath(system))
    await loadSystemPlugin(system);
  if (workload !== undefined && !Object.hasOwn(workloads, workload) && isModulePath(workload))
    await loadWorkloadPlugin(workload);
}

// ── Loading a module ───────────────────────────────────────────────────────────────────────────

/** Imports a user's module: TypeScript through tsx (unless this process already runs TypeScript). */
async function importModule(option: string, path: string): Promise<Record<string, unknown>> {
  const file = keyOf(path);
  if (!existsSync(file)) throw new UsageError(`${option} ${path}: no such file`);
  const url = pathToFileURL(file).href;
  const isTypeScript = /\.(m|c)?tsx?$/.test(file);
  // A module's top level is code that is not faultline's: it could loop for good.
  const release = armMainThreadWatch();
  try {
    // Running from sources (tsx, vitest), TypeScript imports as it is; compiled, tsx loads it.
    if (isTypeScript && !import.meta.url.endsWith(".ts")) {
      const { tsImport } = await import("tsx/esm/api");
      return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
    }
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // tsx loads a .ts file of a CommonJS package (no "type": "module", npm init's default) as
    // CommonJS, whose require of faultline's ES modules fails somewhere in their dependencies with
    // a message that names none of this.
    const hint =
      /\.tsx?$/.test(file) && packageTypeOf(dirname(file)) === "commonjs"
        ? `; a .ts file of a package without "type": "module" in its package.json loads as CommonJS: name it .mts, or add "type": "module"`
        : "";
    throw new UsageError(`${option} ${path}: the module failed to load: ${firstLine(message)}${hint}`);
  } finally {
    release();
  }
}

/**
 * The largest package.json read for `packageTypeOf`'s hint (npm's own are a few KB). Before, the
 * nearest one was read whole whatever it was: a pipe (which waited for a writer), any size.
 */
export const packageJsonMaxBytes = 1 << 20;

/**
 * The "type" of the package `dir` is in, by Node's own rule for .ts/.js files: that of the nearest
 * package.json above it, "commonjs" unless it says "module" (or when there is none). Undefined when
 * that package.json cannot be read as one: not a regular file, larger than `packageJsonMaxBytes`,
 * not a JSON object (Node's loader says what is wrong with it; a hint would only mislead). Before,
 * any of these read as "not a module package", and the hint blamed the missing "type".
 */
export function packageTypeOf(dir: string): "module" | "commonjs" | undefined {
  for (let at = dir, depth = 0; depth < 256; depth++) {
    const manifest = join(at, "package.json");
    if (existsSync(manifest)) {
      let config: unknown;
      try {
        config = JSON.parse(readInputFile(manifest, "a package.json", packageJsonMaxBytes));
      } catch {
        return undefined;
      }
      if (typeof config !== "object" || config === null || Array.isArray(config)) return undefined;
      return (config as { type?: unknown }).type === "module" ? "module" : "commonjs";
    }
    const parent = dirname(at);
    if (parent === at) return "commonjs";
    at = parent;
  }
  return undefined;
}

const firstLine = (text: string): string => text.split("\n").find((l) => l.trim() !== "") ?? text;

/** The module's default export, or its export named for the kind; undefined when it has neither. */
function exportOf(module: Record<string, unknown>, kind: string): unknown {
  const fallback = module["default"];
  // A CommonJS module's exports arrive as the default export of the namespace.
  if (module[kind] !== undefined) return module[kind];
  if (fallback !== null && typeof fallback === "object" && kind in fallback && !("name" in fallback))
    return (fallback as Record<string, unknown>)[kind];
  return fallback;
}

function noExport(
  option: string,
  path: string,
  kind: string,
  module: Record<string, unknown>,
  example: string,
) {
  const names = Object.keys(module);
  return new UsageError(
    `${option} ${path}: the module exports no ${kind} (expected \`export default ${example}\` or \`export const ${kind} = …\`; it exports ${
      names.length > 0 ? names.join(", ") : "nothing"
    })`,
  );
}

/** One line for what is wrong with an export, from zod's issues. */
function describeIssues(value: unknown, issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 4)
    .map((issue) => {
      const path = issue.path.map(String).join(".");
      let at: unknown = value;
      for (const p of issue.path)
        at = at !== null && typeof at === "object" ? (at as Record<PropertyKey, unknown>)[p] : undefined;
      if (path === "") return issue.message;
      return at === undefined ? `"${path}" is missing (${issue.message})` : `"${path}": ${issue.message}`;
    })
    .join("; ");
}

function parseExport<T>(option: string, path: string, what: string, schema: z.ZodType, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new UsageError(
      `${option} ${path}: not a valid ${what}: ${describeIssues(value, parsed.error.issues)}`,
    );
  }
  return value as T;
}

const fn = (what: string) =>
  z.custom<(...args: never[]) => unknown>((v) => typeof v === "function", {
    error: `expected ${what}, a function`,
  });

// ── Systems ────────────────────────────────────────────────────────────────────────────────────

const optionValueSchema = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);

const systemOptionSchema = z
  .object({
    description: z.string({ error: "expected a one-line description" }),
    type: z.enum(["string", "number", "boolean", "list"]).optional(),
    choices: z.array(z.string()).min(1).optional(),
    default: optionValueSchema.optional(),
  })
  .superRefine((o, ctx) => {
    const type = o.type ?? "string";
    const d = o.default;
    if (d === undefined) return;
    const ok =
      type === "boolean"
        ? typeof d === "boolean"
        : type === "number"
          ? typeof d === "number"
          : type === "list"
            ? Array.isArray(d) && (o.choices === undefined || d.every((v) => o.choices!.includes(v)))
            : typeof d === "string" && (o.choices === undefined || o.choices.includes(d));
    if (!ok)
      ctx.addIssue({
        code: "custom",
        path: ["default"],
        message: `expected a default of type ${type} among its choices`,
      });
  });

/**
 * Names a system option may not take: the common options of `faultline run`, every one of them. A
 * system's `--keys` or `--nemesis-windows` (once missing from a list kept by hand) was read as the
 * common option, while the reproduce command printed both: the option twice.
 */
const reservedOptionNames: readonly string[] = Object.keys(commonRunOptionSpec);

const systemDefinitionSchema = z.object({
  name: z.string({ error: "expected the system's name" }).regex(/^[A-Za-z0-9._-]+$/, {
    error: "expected a name of letters, digits, '.', '_' and '-'",
  }),
  description: z.string().optional(),
  defaultNodes: z.union([z.number().int().min(1).max(64), fn("a node count")], {
    error: "expected a node count (1 to 64) or a function of the options returning one",
  }),
  options: z
    .record(z.string(), systemOptionSchema)
    .superRefine((options, ctx) => {
      for (const [name, option] of Object.entries(options)) {
        if (!/^[a-z][a-z0-9-]*$/.test(name))
          ctx.addIssue({
            code: "custom",
            path: [name],
            message: "expected a lower-case option name (a-z, 0-9, -)",
          });
        if (reservedOptionNames.includes(name))
          ctx.addIssue({
            code: "custom",
            path: [name],
            message: `--${name} is an option of every system; choose another name`,
          });
        if (isWellKnownSystemOption(name)) {
          const known = wellKnownSystemOptions[name];
          const type = option.type ?? "string";
          const expectedType = name === "leases" ? "boolean" : name === "bug" ? "list" : "string";
          if (type !== expectedType)
            ctx.addIssue({
              code: "custom",
              path: [name],
              message: `--${name} is well known: expected type ${expectedType}`,
            });
          if (
            known.choices !== undefined &&
            option.choices?.some((c) => !(known.choices as readonly string[]).includes(c))
          )
            ctx.addIssue({
              code: "custom",
              path: [name, "choices"],
              message: `expected choices among ${known.choices.join(", ")}`,
            });
        }
      }
    })
    .optional(),
  workloads: z.array(z.string()).optional(),
  nemeses: z.array(z.string()).optional(),
  modes: z
    .array(z.enum(["sim", "process"]))
    .min(1)
    .optional(),
  refuse: fn("refuse(config)").optional(),
  promises: fn("promises(config) returning a consistency model's name").optional(),
  build: fn("build(config) returning the system under test"),
});

const systemUnderTestSchema = z.object({
  name: z.string(),
  // Node names name files and folders of the run (nodes/<node>.log, nodes/<node>/data).
  nodeNames: z
    .array(
      z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/, {
        error: "expected node names of letters, digits, '.', '_' and '-', not starting with '.'",
      }),
    )
    .refine((names) => new Set(names).size === names.length, { error: "expected distinct node names" }),
  setup: fn("setup(world)"),
  openClient: fn("openClient(world, clientName)"),
  control: fn("control(world)"),
  teardown: fn("teardown(world)"),
});

export async function loadSystemPlugin(path: string): Promise<SystemDefinition> {
  const key = keyOf(path);
  const cached = loadedSystems.get(key);
  if (cached !== undefined) return cached;
  const module = await importModule("--system", path);
  const exported = exportOf(module, "system");
  if (exported === undefined) throw noExport("--system", path, "system", module, "defineSystem({ … })");
  const guarded = guardDefinition(path, exported);
  loadedSystems.set(key, guarded);
  return guarded;
}

/** A definition checked against the schema, its `build` guarded (see the module header). */
function guardDefinition(path: string, exported: unknown): SystemDefinition {
  const definition = parseExport<SystemDefinition>(
    "--system",
    path,
    "system definition",
    systemDefinitionSchema,
    exported,
  );
  const call = <T>(what: string, run: () => T): T => calledFromPlugin("--system", path, what, run);
  return {
    ...definition,
    // The definition's methods keep their own `this`.
    ...(definition.refuse !== undefined
      ? { refuse: (c) => call("refuse(config)", () => definition.refuse!(c)) }
      : {}),
    ...(definition.promises !== undefined
      ? { promises: (c) => call("promises(config)", () => definition.promises!(c)) }
      : {}),
    ...(definition.preflight !== undefined
      ? {
          preflight: () =>
            calledFromPluginAsync("--system", path, "preflight()", () => definition.preflight!()),
        }
      : {}),
    defaultNodes:
      typeof definition.defaultNodes === "number"
        ? definition.defaultNodes
        : (c) => checkedNodes(path, definition, c),
    build: (config) =>
      guardSystem(
        path,
        call("build(config)", () => definition.build(config)),
      ),
  };
}

/**
 * What a plugin's definition function returns; one that throws is the plugin's mistake, reported
 * as one line naming the module, the function and the error (exit 254), not as faultline's own
 * internal error with a stack. A UsageError or ConfigError it throws is already such a line.
 */
function calledFromPlugin<T>(option: string, path: string, what: string, run: () => T): T {
  const release = armMainThreadWatch();
  try {
    return run();
  } catch (error) {
    throw pluginThrew(option, path, what, error);
  } finally {
    release();
  }
}

async function calledFromPluginAsync<T>(
  option: string,
  path: string,
  what: string,
  run: () => T | Promise<T>,
): Promise<T> {
  const release = armMainThreadWatch();
  try {
    return await run();
  } catch (error) {
    throw pluginThrew(option, path, what, error);
  } finally {
    release();
  }
}

function pluginThrew(option: string, path: string, what: string, error: unknown): Error {
  if (isUserError(error) || error instanceof SystemUnavailableError) return error as Error;
  return new UsageError(`${option} ${path}: ${what} threw ${describeError(error)}`);
}

const givenSystems = new Map<string, SystemDefinition>();
const givenWorkloads = new Map<string, WorkloadDefinition>();

/**
 * Makes a definition object (from the API, not from a file) available under its name, checked
 * and guarded exactly as a plugin module's; returns the name to run it by.
 */
export function useSystem(definition: SystemDefinition): string {
  const guarded = guardDefinition(`(definition ${JSON.stringify(definition.name)})`, definition);
  if (Object.hasOwn(systems, guarded.name) || isModulePath(guarded.name))
    throw new UsageError(
      `system definition "${guarded.name}": the name of a built-in system or a path; choose another`,
    );
  givenSystems.set(guarded.name, guarded);
  return guarded.name;
}

/** As `useSystem`, for a workload definition. */
export function useWorkload(definition: WorkloadDefinition): string {
  const checked = parseExport<WorkloadDefinition>(
    "--workload",
    `(definition ${JSON.stringify(definition.name)})`,
    "workload definition",
    workloadDefinitionSchema,
    definition,
  );
  if (Object.hasOwn(workloads, checked.name) || isModulePath(checked.name))
    throw new UsageError(
      `workload definition "${checked.name}": the name of a built-in workload or a path; choose another`,
    );
  givenWorkloads.set(checked.name, checked);
  return checked.name;
}

function checkedNodes(
  path: string,
  definition: SystemDefinition,
  config: Parameters<Exclude<SystemDefinition["defaultNodes"], number>>[0],
): number {
  const nodes = calledFromPlugin("--system", path, "defaultNodes(config)", () =>
    (definition.defaultNodes as (c: typeof config) => unknown)(config),
  );
  if (typeof nodes !== "number" || !Number.isInteger(nodes) || nodes < 1 || nodes > 64)
    throw new UsageError(
      `--system ${path}: defaultNodes returned ${JSON.stringify(nodes)}, expected a whole number from 1 to 64`,
    );
  return nodes;
}

/** The system a plugin built, checked, with every client guarded. */
function guardSystem(path: string, system: SystemUnderTest): SystemUnderTest {
  parseExport("--system", path, "system under test (from build)", systemUnderTestSchema, system);
  return {
    name: system.name,
    nodeNames: system.nodeNames,
    setup: (world) => system.setup(world),
    openClient: async (world, clientName) => new GuardedClient(() => system.openClient(world, clientName)),
    control: (world) =>
      parseExport(
        "--system",
        path,
        "node control (from control(world))",
        nodeControlSchema,
        system.control(world),
      ),
    teardown: (world) => system.teardown(world),
  };
}

/** What the nemeses call; `setDiskFaults`, `diskFileOf` and `corruptAtRest` are optional. */
const nodeControlSchema = z.object(
  Object.fromEntries(
    [
      "nodes",
      "writer",
      "crash",
      "restart",
      "pause",
      "resume",
      "setGrudge",
      "heal",
      "setLinkFaults",
      "setClock",
    ].map((method) => [method, fn(`${method}(…)`)]),
  ),
  { error: "expected an object of node control methods (worldNodeControl(world, nodeNames) in simulation)" },
);

const completionSchema = z.object({
  type: z.enum(["ok", "fail", "info"]),
  value: z.unknown().optional(),
  error: z.unknown().optional(),
  node: z.string().optional(),
});

const describeError = (error: unknown): string =>
  firstLine(error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/**
 * A user's client held to the client contract. Opening starts at once but never blocks the run;
 * an operation that finds no client `fail`s (it was never sent), an exception inside `invoke` or a
 * completion of the wrong shape is `info` (it may have taken effect). A completion without a
 * `value` keeps the invocation's, as in Jepsen.
 */
export class GuardedClient implements Client {
  private opening: Promise<Client | undefined>;
  private openError: string | undefined;

  constructor(private readonly open: () => Promise<Client>) {
    this.opening = this.start();
  }

  private start(): Promise<Client | undefined> {
    this.openError = undefined;
    let attempt: Promise<Client>;
    try {
      attempt = Promise.resolve(this.open());
    } catch (error) {
      attempt = Promise.reject(error);
    }
    return attempt.then(
      (client) => {
        const parsed = z.object({ invoke: fn("invoke"), close: fn("close") }).safeParse(client);
        if (parsed.success) return client;
        this.openError = `openClient returned no client: ${describeIssues(client, parsed.error.issues)}`;
        return undefined;
      },
      (error: unknown) => {
        this.openError = `the client could not be opened: ${describeError(error)}`;
        return undefined;
      },
    );
  }

  async invoke(invocation: Invocation): Promise<Completion> {
    let client = await this.opening;
    if (client === undefined) {
      // Try once more for this operation; if that fails too, it was never sent.
      this.opening = this.start();
      client = await this.opening;
      if (client === undefined) return { type: "fail", value: invocation.value, error: this.openError };
    }
    let completion: unknown;
    try {
      completion = await client.invoke(invocation);
    } catch (error) {
      return { type: "info", value: invocation.value, error: `the client threw: ${describeError(error)}` };
    }
    const parsed = completionSchema.safeParse(completion);
    if (!parsed.success) {
      return {
        type: "info",
        value: invocation.value,
        error: `the client returned no valid completion: ${describeIssues(completion, parsed.error.issues)}`,
      };
    }
    const c = parsed.data;
    // The history holds JSON data: what the run checks in memory must be what the file holds.
    let value: unknown;
    let error: unknown;
    try {
      value = c.value === undefined ? invocation.value : toJsonData(c.value);
      error = toJsonData(c.error);
    } catch (cause) {
      return {
        type: "info",
        value: invocation.value,
        error: `the client returned a completion that is not JSON data: ${describeError(cause)}`,
      };
    }
    return {
      type: c.type,
      value,
      ...(error !== undefined ? { error } : {}),
      ...(c.node !== undefined ? { node: c.node } : {}),
    };
  }

  async close(): Promise<void> {
    const client = await this.opening;
    try {
      await client?.close();
    } catch {
      // A client that fails to close is the plugin's problem, never the run's.
    }
  }
}

// ── Workloads ──────────────────────────────────────────────────────────────────────────────────

const workloadDefinitionSchema = z.object({
  name: z.string({ error: "expected the workload's name" }).regex(/^[A-Za-z0-9._-]+$/, {
    error: "expected a name of letters, digits, '.', '_' and '-'",
  }),
  description: z.string().optional(),
  build: fn("build(config) returning the workload"),
});

const workloadSchema = z.object({
  name: z.string(),
  generator: z.custom((v) => v !== null && typeof v === "object", { error: "expected a generator" }),
  finalGenerator: z
    .custom((v) => v !== null && typeof v === "object", { error: "expected a generator" })
    .optional(),
  checkers: z
    .array(
      z.object({
        name: z.string(),
        check: fn("check(history, context)"),
        anomalyClasses: z.array(z.string(), { error: "expected a list of anomaly class names" }).optional(),
      }),
    )
    .min(1, {
      error: "expected at least one checker: a workload that checks nothing would call every run valid",
    }),
});

export async function loadWorkloadPlugin(path: string): Promise<WorkloadDefinition> {
  const key = keyOf(path);
  const cached = loadedWorkloads.get(key);
  if (cached !== undefined) return cached;
  const module = await importModule("--workload", path);
  const exported = exportOf(module, "workload");
  if (exported === undefined) throw noExport("--workload", path, "workload", module, "defineWorkload({ … })");
  const definition = parseExport<WorkloadDefinition>(
    "--workload",
    path,
    "workload definition",
    workloadDefinitionSchema,
    exported,
  );
  loadedWorkloads.set(key, definition);
  return definition;
}

function builtWorkload(path: string, definition: WorkloadDefinition, config: BuildConfig): Workload {
  return calledFromPlugin("--workload", path, "build(config)", () => definition.build(config));
}

function validWorkload(path: string, workload: Workload): Workload {
  const valid = parseExport<Workload>("--workload", path, "workload (from build)", workloadSchema, workload);
  // The values it plans are recorded as JSON data, as the history file holds them (see GuardedClient).
  const asData = (op: PlannedOp): PlannedOp => {
    try {
      const value = toJsonData(op.value);
      return value === op.value ? op : { ...op, value };
    } catch (cause) {
      throw new Error(
        `--workload ${path}: planned a "${op.f}" whose value is not JSON data: ${describeError(cause)}`,
      );
    }
  };
  const names = new Set<string>();
  for (const checker of valid.checkers) {
    if (runResultNames.includes(checker.name) || names.has(checker.name))
      throw new UsageError(
        `--workload ${path}: two results would be named "${checker.name}" (${
          names.has(checker.name) ? "another checker of the workload" : "a result of the run itself"
        }), so one verdict would replace the other: name the checker something else`,
      );
    names.add(checker.name);
  }
  return {
    ...valid,
    checkers: valid.checkers.map((checker) => guardedChecker(checker)),
    generator: map(asData, valid.generator),
    ...(valid.finalGenerator !== undefined ? { finalGenerator: map(asData, valid.finalGenerator) } : {}),
  };
}

const checkResultSchema = z.object({
  valid: z.union([z.literal(true), z.literal(false), z.literal("unknown")], {
    error: 'expected true, false or "unknown"',
  }),
  reason: z.string().optional(),
  anomalies: z.record(z.string(), z.array(z.object({ explanation: z.string() }))).optional(),
  anomalyCounts: z.record(z.string(), z.number()).optional(),
});

/**
 * A user's checker held to the checker contract, as its client is (GuardedClient): its answer is
 * a result whose `valid` is true, false or "unknown", made of JSON data, else "unknown" saying what
 * it returned (the verdict never counts an answer it cannot read as valid); and it never calls a
 * history valid that holds no completed client operation (a run that recorded nothing must not
 * pass), as no built-in checker does. A checker that throws or never answers is the checkers'
 * runner's to report and to bound (harness/checker.ts `runCheckers`).
 */
function guardedChecker(checker: Checker): Checker {
  const name = checker.name;
  return foreignChecker({
    ...checker,
    check: async (history, context) => {
      const result: unknown = await checker.check(history, context);
      const parsed = checkResultSchema.safeParse(result);
      if (!parsed.success)
        return {
          valid: "unknown",
          reason: `checker ${name} returned no valid result: ${describeIssues(result, parsed.error.issues)}`,
        };
      let data: CheckResult;
      try {
        data = toJsonData(result) as CheckResult;
      } catch (cause) {
        return {
          valid: "unknown",
          reason: `checker ${name} returned a result that is not JSON data: ${describeError(cause)}`,
        };
      }
      const empty = data.valid === true ? nothingToCheck(history) : undefined;
      if (empty !== undefined)
        return { ...data, valid: "unknown", reason: `${empty} (checker ${name} said valid)` };
      return data;
    },
  });
}

// ── Models ─────────────────────────────────────────────────────────────────────────────────────

const modelSchema = z.object({
  name: z.string({ error: "expected the model's name" }),
  init: fn("init()"),
  step: fn("step(state, op)"),
  partition: fn("partition(op)").optional(),
  hash: fn("hash(state)").optional(),
  equal: fn("equal(a, b)").optional(),
  prepare: fn("prepare(op)").optional(),
  readOnly: fn("readOnly(op)").optional(),
  describe: fn("describe(state, op?)").optional(),
  describeOp: fn("describeOp(op)").optional(),
});

/** A user's linearizability model (checkers/linearizable/README.md, "User-defined models"). */
export async function loadModelPlugin(path: string): Promise<LinearizableModel> {
  const module = await importModule("--model", path);
  const exported = exportOf(module, "model");
  if (exported === undefined) throw noExport("--model", path, "model", module, "{ name, init, step }");
  return parseExport<LinearizableModel>("--model", path, "linearizability model", modelSchema, exported);
}
