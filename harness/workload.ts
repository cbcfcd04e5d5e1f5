/**
 * The workload interface: what to ask of the system (a generator of client operations), what to
 * ask at the end once every fault has healed (final reads), and which checkers decide the
 * history. A workload never names a system: its operations are plain `f`/`value` pairs that
 * every system's client understands (DESIGN.md's history format).
 */
import type { Checker } from "./checker.ts";
import type { Generator } from "./generator/types.ts";

export interface Workload {
  readonly name: string;
  /** Client operations for the main phase (routing to client threads is the runner's job). */
  readonly generator: Generator;
  /** Client operations after healing, e.g. final reads; optional. */
  readonly finalGenerator?: Generator;
  readonly checkers: readonly Checker[];
}
