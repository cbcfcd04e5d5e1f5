/**
 * `faultline run`'s options: names, defaults, validation, and the one command line that
 * reproduces a run. The choices come from the registry (what systems, workloads and nemeses
 * exist), so an unknown value is refused with the list of valid ones.
 *
 * Options come in two kinds. The common ones (workload, nemesis, nodes, seed, …) apply to every
 * system. The others belong to systems: each system definition declares the options it takes
 * (harness/systemDefinition.ts), and an option the chosen system does not declare is refused with
 * one line (`--replication does not apply to the memory system`), never silently dropped, so the
 * reproduce command always holds everything that shaped the run.
 */
import type * as Crypto from "node:crypto";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { z } from "zod";
import {
  isWellKnownSystemOption,
  wellKnownSystemOptions,
  type RunMode,
  type SystemConfig,
  type SystemDefinition,
  type SystemOption,
  type SystemOptionValue,
} from "../harness/systemDefinition.ts";
import type { BuildConfig } from "../harness/testConfig.ts";
import { UsageError } from "./main.ts";
import { decimalNumber, parseCommandLine, validateOptions } from "./options.ts";
import { repeatedOptionProblem } from "./repeatedOptions.ts";
import { commonRunOptionSpec } from "./runOptionSpec.ts";
import { lookupSystem, lookupWorkload } from "./plugins.ts";
import { systemNames, systems } from "./registry.ts";
import { runConfigSchema } from "./runConfigSchema.ts";
import { expandNemesisPackages } from "../nemeses/index.ts";
import { formatWindowSelection, parseWindowSelection } from "../nemeses/windows.ts";

export { commonRunOptionSpec } from "./runOptionSpec.ts";

/** The disk fault packages: the simulated disk's, which process mode does not have. */
const simulatedDiskNemeses: readonly string[] = ["disk", "disk-fsync", "disk-full", "disk-rot"];

/** A resolved run: every default filled in, so the run can be reproduced from it. */
export interface RunConfig {
  /** A built-in system's name, or the path of a plugin module as given. */
  readonly system: string;
  /** A built-in workload's name, or the path of a plugin module as given. */
  readonly workload: string;
  readonly nemesis: readonly string[];
  readonly "nemesis-interval": number;
  /** Only these fault windows of the seed's schedule are applied (nemeses/windows.ts), canonical. */
  readonly "nemesis-windows"?: string;
  readonly nodes: number;
  /** Keys in use at a time (register, append) or accounts (bank); absent: the workload's default. */
  readonly keys?: number;
  readonly concurrency: number;
  readonly "time-limit": number;
  readonly rate: number;
  readonly seed: number;
  readonly mode: RunMode;
  readonly store: string;
  readonly name: string;
  readonly model?: string;
  readonly quiet: boolean;
  /** Check the options, build the test and check the store, but run nothing. */
  readonly "dry-run": boolean;
  // The well-known system options: the system's value when it declares them, else the default.
  readonly replication: BuildConfig["replication"];
  readonly isolation: BuildConfig["isolation"];
  readonly "read-from": BuildConfig["readFrom"];
  readonly leases: boolean;
  readonly bug: readonly string[];
  /** The system's own options (beyond the well-known five), defaults filled in. */
  readonly systemOptions: Readonly<Record<string, SystemOptionValue>>;
}

/** How parseArgs reads a system option. */
function argSpecOf(option: SystemOption): { type: "string" | "boolean"; multiple?: boolean } {
  if (option.type === "boolean") return { type: "boolean" };
  if (option.type === "list") return { type: "string", multiple: true };
  return { type: "string" };
}

/** Every option some system takes, so that one the chosen system lacks is named, not unknown. */
function systemOptionArgSpec(chosen: SystemDefinition): Record<string, ReturnType<typeof argSpecOf>> {
  const spec: Record<string, ReturnType<typeof argSpecOf>> = {};
  for (const [name, w] of Object.entries(wellKnownSystemOptions)) {
    spec[name] =
      w.choices === undefined && typeof w.default === "boolean" ? { type: "boolean" } : { type: "string" };
  }
  spec["bug"] = { type: "string", multiple: true };
  for (const definition of [...Object.values(systems), chosen]) {
    for (const [name, option] of Object.entries(definition.options ?? {})) spec[name] = argSpecOf(option);
  }
  return spec;
}

/** The zod schema of one declared option, default included. */
function schemaOf(name: string, option: SystemOption): z.ZodType<SystemOptionValue> {
  const choices = option.choices !== undefined && option.choices.length > 0 ? option.choices : undefined;
  const one =
    choices !== undefined
      ? z.enum(choices as [string, ...string[]], {
          error: (issue) => `no such value ${JSON.stringify(issue.input)}`,
        })
      : z.string();
  let schema: z.ZodType<SystemOptionValue>;
  switch (option.type) {
    case "boolean":
      schema = z.boolean();
      break;
    case "number":
      schema = decimalNumber("a number", { min: -Number.MAX_VALUE, max: Number.MAX_VALUE });
      break;
    case "list":
      // A value given twice would be printed twice in the reproduce command, meaning nothing more.
      schema = z.array(one).refine((list) => new Set(list).size === list.length, {
        error: (issue) => {
          const list = issue.input as string[];
          const twice = list.find((v, i) => list.indexOf(v) !== i);
          return `${JSON.stringify(twice)} is given twice; give each value once`;
        },
      });
      break;
    default:
      schema = one;
  }
  const fallback =
    option.default ?? (option.type === "boolean" ? false : option.type === "list" ? [] : undefined);
  return fallback === undefined
    ? (schema
        .optional()
        .refine((v) => v !== undefined, { error: `--${name} is required` }) as z.ZodType<SystemOptionValue>)
    : (schema.default(fallback as never) as unknown as z.ZodType<SystemOptionValue>);
}

/** "its options: --replication, --isolation" or "it takes no options of its own". */
function describeDeclared(definition: SystemDefinition): string {
  const names = Object.keys(definition.options ?? {});
  return names.length > 0
    ? `its options: ${names.map((n) => `--${n}`).join(", ")}`
    : "it takes no options of its own";
}

/**
 * The value of one option in `args`, read leniently (before the system and its options are known).
 * Given twice, it is refused here, before a plugin it names is loaded (the full parse would refuse
 * it too, but only after the last one's module had run).
 */
export function peekOption(args: readonly string[], name: string): string | undefined {
  const options = { [name]: { type: "string" } } as const;
  const { values, tokens } = parseArgs({
    args: [...args],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const repeated = repeatedOptionProblem(tokens, options);
  if (repeated !== undefined) throw new UsageError(repeated);
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * A seed for a run that names none. node:crypto is loaded here, when one is drawn, not with this
 * module: importing it loads some twenty of Node's own modules (webcrypto among them), about 3 ms
 * of every start, and a run given `--seed` (every reproduce command, every gate row) never uses it.
 */
function freshSeed(): number {
  const { randomInt } = createRequire(import.meta.url)("node:crypto") as typeof Crypto;
  return randomInt(0, 2 ** 31);
}

/**
 * Parses and validates `faultline run`'s arguments and resolves every default, the seed included.
 * A plugin named by path (`--system ./my-db.ts`) must have been loaded first (`loadRunPlugins`).
 */
export function resolveRunConfig(args: string[], randomSeed: () => number = freshSeed): RunConfig | "help" {
  const system = lookupSystem(peekOption(args, "system") ?? systemNames[0]!);
  const declared = system.options ?? {};
  const { values } = parseCommandLine(
    "run",
    args,
    { ...commonRunOptionSpec, ...systemOptionArgSpec(system) },
    false,
  );
  if (values.help === true) return "help";

  const commonValues: Record<string, unknown> = {};
  const systemValues: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    if (Object.hasOwn(commonRunOptionSpec, name)) commonValues[name] = value;
    else if (Object.hasOwn(declared, name)) systemValues[name] = value;
    else
      throw new UsageError(
        `--${name} does not apply to the ${system.name} system (${describeDeclared(system)})`,
      );
  }
  delete commonValues["help"];
  const common = validateOptions(runConfigSchema, commonValues);
  const own = validateOptions(
    z.object(Object.fromEntries(Object.entries(declared).map(([n, o]) => [n, schemaOf(n, o)]))),
    systemValues,
  ) as Record<string, SystemOptionValue>;

  const workload = lookupWorkload(common.workload);
  if (system.workloads !== undefined && workload.builtIn && !system.workloads.includes(common.workload)) {
    throw new UsageError(
      `--workload ${common.workload} does not apply to the ${system.name} system (its workloads: ${system.workloads.join(", ")})`,
    );
  }
  if (system.nemeses !== undefined) {
    const refused = common.nemesis.filter((n) => !system.nemeses!.includes(n));
    if (refused.length > 0) {
      throw new UsageError(
        `--nemesis ${refused.join(",")} does not apply to the ${system.name} system (it takes: ${system.nemeses.length > 0 ? system.nemeses.join(", ") : "none"})`,
      );
    }
  }
  const nemesisWindows = resolveNemesisWindows(common["nemesis-windows"], common.nemesis);
  checkKeys(common.keys, common.workload, workload.builtIn);
  const modes = system.modes ?? ["sim", "process"];
  const mode = common.mode ?? modes[0] ?? "sim";
  if (!modes.includes(mode)) {
    throw new UsageError(
      `--mode ${mode} does not apply to the ${system.name} system (it runs in: ${modes.join(", ")})`,
    );
  }
  // Every disk fault answered "unsupported" in process mode, and the run said valid: the faults
  // asked for were never applied. Refused, as any option that does not apply.
  const diskPackages = common.nemesis.filter((n) => simulatedDiskNemeses.includes(n));
  if (mode === "process" && diskPackages.length > 0) {
    throw new UsageError(
      `--nemesis ${diskPackages.join(",")} does not apply in process mode: real processes write real files, which faultline cannot make fail an fsync, fill or rot (simulation only: --mode sim)`,
    );
  }

  const wellKnown = (name: keyof typeof wellKnownSystemOptions): unknown =>
    Object.hasOwn(own, name) ? own[name] : wellKnownSystemOptions[name].default;
  const systemOptions = Object.fromEntries(Object.entries(own).filter(([n]) => !isWellKnownSystemOption(n)));
  const partial = {
    replication: wellKnown("replication") as BuildConfig["replication"],
    isolation: wellKnown("isolation") as BuildConfig["isolation"],
    "read-from": wellKnown("read-from") as BuildConfig["readFrom"],
    leases: wellKnown("leases") as boolean,
    bug: wellKnown("bug") as readonly string[],
  };
  const seed = common.seed ?? randomSeed();
  const systemConfig: SystemConfig = {
    seed,
    ...(common.nodes !== undefined ? { nodes: common.nodes } : {}),
    concurrency: common.concurrency,
    timeLimitNs: Math.round(common["time-limit"] * 1e9),
    ratePerS: common.rate,
    nemesisIntervalNs: Math.round(common["nemesis-interval"] * 1e9),
    replication: partial.replication,
    isolation: partial.isolation,
    readFrom: partial["read-from"],
    leases: partial.leases,
    bugs: partial.bug,
    ...(common.model !== undefined ? { model: common.model } : {}),
    systemOptions,
    mode,
  };
  const refused = system.refuse?.(systemConfig);
  if (refused !== undefined) throw new UsageError(refused);
  const nodes =
    common.nodes ??
    (typeof system.defaultNodes === "number" ? system.defaultNodes : system.defaultNodes(systemConfig));
  const name =
    common.name ??
    [
      system.name,
      workload.name,
      ...(Object.hasOwn(declared, "replication") ? [partial.replication] : []),
      ...(Object.hasOwn(declared, "isolation") ? [partial.isolation] : []),
      ...common.nemesis,
    ]
      .join("-")
      .replace(/[^A-Za-z0-9._-]/g, "_");
  const { "nemesis-windows": _given, ...rest } = common;
  return {
    ...rest,
    ...(nemesisWindows !== undefined ? { "nemesis-windows": nemesisWindows } : {}),
    ...partial,
    mode,
    seed,
    nodes,
    name,
    systemOptions,
  };
}

/**
 * `--nemesis-windows` checked against the run's nemesis packages (`all` expanded) and written
 * canonically (packages by name, windows ascending), so equal selections print alike.
 */
function resolveNemesisWindows(text: string | undefined, nemesis: readonly string[]): string | undefined {
  if (text === undefined) return undefined;
  if (nemesis.length === 0)
    throw new UsageError("--nemesis-windows: the run has no nemesis (--nemesis none)");
  const selection = parseWindowSelection(text, expandNemesisPackages(nemesis));
  if (typeof selection === "string") throw new UsageError(`--nemesis-windows: ${selection}`);
  return formatWindowSelection(selection);
}

/** The built-in workloads `--keys` sizes, and what it means for each. */
export const keyedWorkloads: Readonly<Record<string, string>> = {
  register: "registers in use at a time",
  append: "lists in use at a time",
  bank: "accounts",
};

function checkKeys(keys: number | undefined, workload: string, builtIn: boolean): void {
  if (keys === undefined || !builtIn) return;
  if (!Object.hasOwn(keyedWorkloads, workload))
    throw new UsageError(
      `--keys does not apply to the ${workload} workload (it applies to: ${Object.keys(keyedWorkloads).join(", ")})`,
    );
  if (workload === "bank" && keys < 2)
    throw new UsageError("--keys: the bank workload needs at least 2 accounts");
}

/** The command line that reproduces a run exactly: every option that shapes the history. */
export function reproduceCommand(config: RunConfig): string {
  const declared = lookupSystem(config.system).options ?? {};
  const systemParts: string[] = [];
  for (const [name, option] of Object.entries(declared)) {
    const value: unknown = isWellKnownSystemOption(name) ? config[name] : config.systemOptions[name];
    if (option.type === "boolean") {
      if (value === true) systemParts.push(`--${name}`);
    } else if (Array.isArray(value)) {
      for (const v of value) systemParts.push(`--${name} ${shellWord(String(v))}`);
    } else if (value !== undefined) {
      // replication and isolation are always written, as before; other options when not default.
      if (
        name === "replication" ||
        name === "isolation" ||
        !isWellKnownSystemOption(name) ||
        value !== option.default
      )
        systemParts.push(`--${name} ${shellWord(String(value))}`);
    }
  }
  const parts = [
    "npx faultline run",
    `--system ${shellWord(config.system)}`,
    ...systemParts,
    `--workload ${shellWord(config.workload)}`,
    `--nemesis ${config.nemesis.length > 0 ? config.nemesis.join(",") : "none"}`,
    ...(config.nemesis.length > 0 ? [`--nemesis-interval ${config["nemesis-interval"]}`] : []),
    ...(config["nemesis-windows"] !== undefined ? [`--nemesis-windows ${config["nemesis-windows"]}`] : []),
    `--nodes ${config.nodes}`,
    `--concurrency ${config.concurrency}`,
    `--time-limit ${config["time-limit"]}`,
    `--rate ${config.rate}`,
    ...(config.keys !== undefined ? [`--keys ${config.keys}`] : []),
    ...(config.model !== undefined ? [`--model ${shellWord(config.model)}`] : []),
    `--mode ${config.mode}`,
    `--seed ${config.seed}`,
  ];
  return parts.join(" ");
}

/** A word as a POSIX shell reads it back: plain when safe, else single-quoted. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9._/:=,@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
