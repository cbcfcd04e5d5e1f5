/**
 * A system definition: what `faultline run` must know about a system under test before it builds
 * one, and how to build it. Its name, its default node count, the run options that apply to it
 * (with their values and defaults), the workloads its clients speak, the faults it can take, the
 * modes it runs in, and `build`, which turns the resolved options into a `SystemUnderTest`.
 *
 * Built-in systems (memory, engine, …) and a user's plugin (`--system ./my-db.ts`) are both
 * definitions and are registered the same way, so a plugin is a first-class system. Because every
 * system declares its options, the command line refuses an option that does not apply to the
 * chosen system (`--system memory --replication async`) instead of silently dropping it.
 *
 * Options. Five names are known to the whole harness, because workloads and checkers read them
 * too: `replication`, `isolation`, `read-from`, `leases` and `bug` (they fill the matching fields of
 * `BuildConfig`; a system that declares one may narrow its choices). Any other declared option is
 * the system's own (etcd's `reads`, say): the command line takes it as `--NAME VALUE`, and `build`
 * finds its value in `config.systemOptions`.
 */
import type { SystemUnderTest } from "./system.ts";
import type { BuildConfig } from "./testConfig.ts";

export type SystemOptionValue = string | number | boolean | readonly string[];

export interface SystemOption {
  /** One line for `faultline run --help`. */
  readonly description: string;
  /**
   * `string` (the default): one value; `number`; `boolean`: a flag that takes no value; `list`: a
   * repeatable option (`--bug a --bug b`), its value an array.
   */
  readonly type?: "string" | "number" | "boolean" | "list";
  /** The values a `string` or `list` option may take; any value when absent. */
  readonly choices?: readonly string[];
  /** The value when the option is not given (a flag: false; a list: []). */
  readonly default?: SystemOptionValue;
}

/** The modes of `faultline run --mode`: a deterministic simulation, or real OS processes. */
export type RunMode = "sim" | "process";

/** The run configuration before the node count is known (what `defaultNodes` and `refuse` see). */
export type SystemConfig = Omit<BuildConfig, "nodes"> & { readonly nodes?: number };

export interface SystemDefinition {
  /** The system's name: in test names, reports and the reproduce command of a built-in system. */
  readonly name: string;
  /** One line for `faultline run --help`. */
  readonly description?: string;
  /** The node count when `--nodes` is not given (it may depend on the options, e.g. replication). */
  readonly defaultNodes: number | ((config: SystemConfig) => number);
  /** The run options that apply to this system, by name without dashes (see the module header). */
  readonly options?: Readonly<Record<string, SystemOption>>;
  /** The built-in workloads its clients speak; every workload when absent. */
  readonly workloads?: readonly string[];
  /** The nemesis packages it can take; every package when absent. */
  readonly nemeses?: readonly string[];
  /** The modes it runs in, the default first; every mode when absent (the default then `sim`). */
  readonly modes?: readonly RunMode[];
  /** Why it refuses a combination of options before it runs (one line), or undefined. */
  refuse?(config: SystemConfig): string | undefined;
  /**
   * The strongest consistency model (Elle's name) the system promises with these options, so that
   * a run checks exactly that: `strict-serializable` where transactions are serializable and reads
   * are real-time ordered. `--model` still overrides it. Absent: what the isolation level
   * promises, without real-time order (read-committed, snapshot-isolation, serializable).
   */
  promises?(config: SystemConfig): string;
  /**
   * Checks that it can run on this machine (its programs are installed, its OS user exists);
   * throws `SystemUnavailableError` (harness/system.ts) with one line saying what to install. The
   * CLI calls it before anything is printed or stored, and exits 254.
   */
  preflight?(): void | Promise<void>;
  /** Builds the system for one run from the resolved options. */
  build(config: BuildConfig): SystemUnderTest;
}

/**
 * Identity, for typing: `export default defineSystem({ … })` in a plugin module gets its fields
 * checked by the TypeScript compiler as well as by the loader at run time.
 */
export function defineSystem<D extends SystemDefinition>(definition: D): D {
  return definition;
}

/** The options every harness part knows by name, and the `BuildConfig` field each one fills. */
export const wellKnownSystemOptions = {
  replication: { field: "replication", choices: ["sync", "async", "quorum"], default: "quorum" },
  isolation: {
    field: "isolation",
    choices: ["read-committed", "snapshot", "serializable"],
    default: "serializable",
  },
  "read-from": { field: "readFrom", choices: ["writer", "replicas"], default: "writer" },
  leases: { field: "leases", choices: undefined, default: false },
  bug: { field: "bugs", choices: undefined, default: [] as readonly string[] },
} as const;

export type WellKnownSystemOption = keyof typeof wellKnownSystemOptions;

export function isWellKnownSystemOption(name: string): name is WellKnownSystemOption {
  return Object.hasOwn(wellKnownSystemOptions, name);
}
