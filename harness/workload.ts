/**
 * The workload interface: what to ask of the system (a generator of client operations), what to
 * ask at the end once every fault has healed (final reads), and which checkers decide the
 * history. A workload never names a system: its operations are plain `f`/`value` pairs that
 * every system's client understands (DESIGN.md's history format).
 */
import type { Checker } from "./checker.ts";
import type { Generator } from "./generator/types.ts";
import type { BuildConfig } from "./testConfig.ts";

export interface Workload {
  readonly name: string;
  /** Client operations for the main phase (routing to client threads is the runner's job). */
  readonly generator: Generator;
  /** Client operations after healing, e.g. final reads; optional. */
  readonly finalGenerator?: Generator;
  readonly checkers: readonly Checker[];
}

/**
 * A workload as a plugin module exports it (`faultline run --workload ./my-workload.ts`): a name
 * and how to build the workload from the resolved run configuration. Its operations are plain
 * `f`/`value` pairs, so the system's client must understand them.
 */
export interface WorkloadDefinition {
  readonly name: string;
  /** One line for `faultline run --help`. */
  readonly description?: string;
  build(config: BuildConfig): Workload;
}

/** Identity, for typing: `export default defineWorkload({ … })` in a plugin module. */
export function defineWorkload<D extends WorkloadDefinition>(definition: D): D {
  return definition;
}
