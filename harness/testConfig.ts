/**
 * The resolved run configuration as the builders of systems, workloads and nemeses read it:
 * durations in ns, names plain. Kept apart from the option schema so builders do not depend on
 * the command line.
 */
import type { EndpointLogSink } from "./runtime/types.ts";
import type { RunMode, SystemOptionValue } from "./systemDefinition.ts";

export interface BuildConfig {
  readonly seed: number;
  readonly nodes: number;
  readonly concurrency: number;
  readonly timeLimitNs: number;
  readonly ratePerS: number;
  /** Keys in use at a time (register, append) or accounts (bank); absent: the workload's default. */
  readonly keys?: number;
  readonly nemesisIntervalNs: number;
  /** `--nemesis-windows`: the window numbers each nemesis package applies (absent: every window). */
  readonly nemesisWindows?: Readonly<Record<string, readonly number[]>>;
  readonly replication: "sync" | "async" | "quorum";
  readonly isolation: "read-committed" | "snapshot" | "serializable";
  readonly readFrom: "writer" | "replicas";
  readonly leases: boolean;
  readonly bugs: readonly string[];
  /** The consistency model the user asked transactional workloads to check (`--model`). */
  readonly model?: string;
  /**
   * The strongest model the system promises with these options (its definition's `promises`):
   * what transactional workloads check when `model` is absent; absent too, they check what the
   * isolation level promises.
   */
  readonly promisedModel?: string;
  /**
   * The values of the system's own options (those its definition declares beyond the well-known
   * five), defaults filled in. The CLI always sets it; tests building a config by hand may not.
   */
  readonly systemOptions?: Readonly<Record<string, SystemOptionValue>>;
  /** Simulation or real processes; the CLI always sets it (absent: `sim`). */
  readonly mode?: RunMode;
  /** The workload's name (a system whose storage differs per workload, PostgreSQL's tables, reads it). */
  readonly workload?: string;
  /**
   * What a system running real processes needs from the run: its folder in the store (node data
   * and output under `nodes/`) and the node-log sink (`nodes/<node>.log`). Process mode only.
   */
  readonly run?: { readonly dir: string; readonly log: EndpointLogSink };
}

// Its own module, so that the CLI's entry can tell it apart without loading zod.
export { ConfigError } from "./configError.ts";
