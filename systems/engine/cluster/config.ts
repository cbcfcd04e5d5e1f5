/**
 * The cluster's shape and knobs: which nodes exist in each replication mode (with their first
 * role and zone), the timing of heartbeats, leases and commits, the quorum sizes of the Aurora
 * mode (validated: Vw + Vr > V so every read quorum meets every write quorum, 2·Vw > V so two
 * writers can never both gather a write quorum), and the bug knobs of the replicated layer.
 * `async` with one data node is a standalone server: no standby, the part-1 crash-recovery story.
 */
import type { ENGINE_BUGS } from "../bugs.ts";
import type { IsolationLevel } from "../database.ts";
import { ConfigError } from "../../../harness/testConfig.ts";

export type ReplicationMode = "sync" | "async" | "quorum";

/** Bug knobs of the replicated layer; each names the anomaly it must cause. */
export const CLUSTER_BUGS: Record<string, string> = {
  "no-fencing":
    "standbys and storage replicas accept (and confirm) log from a writer of an older epoch, so a deposed writer keeps acknowledging commits that the new writer never sees: lost acknowledged writes",
  "replica-read-past-durable-point":
    "read replicas apply the writer's stream as it arrives instead of stopping at the durable point, so they serve writes that a failover later truncates: reads of values that never durably existed (G1a-like, non-linearizable)",
  "dp-skips-gap":
    "the writer advances the durable point to the highest record that reached its write quorum even across records that did not, so commits are acknowledged above a gap and lost when recovery truncates at the gap: lost acknowledged writes",
  "lease-ignores-skew":
    "the writer measures its lease against the control plane's wall-clock grant time on its own wall clock, so a writer whose clock runs behind keeps serving local reads after a new writer took over: stale reads (not linearizable)",
  "promote-any-standby":
    "failover promotes the first standby that answers instead of the most up-to-date one, so commits that only the more up-to-date standby had are lost: lost acknowledged writes (also in sync mode)",
};

/** What each part-1 knob causes, restated for the CLI. */
const SINGLE_NODE_BUGS: Record<(typeof ENGINE_BUGS)[number], string> = {
  "ack-before-fsync": "commits acknowledged before their log fsync: lost acknowledged writes after a crash",
  "dirty-read": "reads return uncommitted versions: G1a aborted read, G1b intermediate read",
  "no-first-committer-wins": "snapshot/serializable skip the write-conflict check: P4 lost update",
  "skip-undo": "recovery skips undo: uncommitted writes visible after a crash (G1a)",
  "torn-page": "torn page writes read back as data: committed writes lost or garbled after a crash",
  "retry-fsync":
    "a failed fsync is retried and the engine carries on (pre-2018 PostgreSQL): the writes it covered are gone, acknowledged writes lost at the next restart",
  "no-dir-fsync":
    "files renamed into place without fsyncing the directory: a crash undoes the rename, a node forgets its fencing epoch or the control plane reuses one: lost acknowledged writes",
  "no-checksum":
    "pages read without verifying their checksum: a page rotted at rest is served as data (wrong or missing values)",
};

/** Every knob of the engine (part 1 and part 2) → the anomaly it causes. */
export const engineBugNames: Record<string, string> = { ...SINGLE_NODE_BUGS, ...CLUSTER_BUGS };

/** Default data-node count per mode (the control plane "cp" comes on top). */
export const engineDefaultNodes: Record<ReplicationMode, number> = { async: 3, sync: 3, quorum: 8 };

export interface QuorumSizes {
  /** Storage replicas (V). */
  readonly copies: number;
  /** Write quorum (Vw). */
  readonly write: number;
  /** Read quorum (Vr). */
  readonly read: number;
}

/** Which standbys must confirm a commit in sync mode (PostgreSQL's FIRST n / ANY n). */
export interface SyncStandbys {
  readonly method: "first" | "any";
  readonly count: number;
}

export interface EngineClusterConfig {
  readonly replication: ReplicationMode;
  readonly isolation: IsolationLevel;
  /** Data nodes: async/sync: writer + standbys; quorum: compute nodes + 6 storage replicas. */
  readonly nodes: number;
  readonly readFrom: "writer" | "replicas";
  readonly leases: boolean;
  readonly bugs: readonly string[];
  readonly quorum?: QuorumSizes;
  readonly syncStandbys?: SyncStandbys;
  readonly timing?: Partial<ClusterTiming>;
}

/** Every duration of the protocol, ns (simulated or real time alike). */
export interface ClusterTiming {
  /** The control plane pings every node this often. */
  readonly heartbeatIntervalNs: number;
  /** A writer not heard from for this long is replaced. */
  readonly failoverAfterNs: number;
  /** How long a granted lease lasts. */
  readonly leaseNs: number;
  /** Largest clock drift the lease arithmetic tolerates, parts per million. */
  readonly leaseDriftBoundPpm: number;
  /** A commit (or a read's durability and barrier wait) longer than this ends as `info`. */
  readonly commitTimeoutNs: number;
  /** A client gives up on a reply after this long (`info`). */
  readonly clientTimeoutNs: number;
  /** The writer's shipping loop period (async and sync: how soon fsynced log goes out). */
  readonly shipIntervalNs: number;
  /**
   * The quorum writer's shipping loop period: it ships each commit at once, so its loop only
   * resends, keeps followers alive and ships what no commit carried (aborts, vacuum, checkpoints).
   */
  readonly quorumShipIntervalNs: number;
  /** Unconfirmed log is resent after this long. */
  readonly resendAfterNs: number;
  /** Storage replicas gossip this often. */
  readonly gossipIntervalNs: number;
}

export const defaultTiming: ClusterTiming = {
  heartbeatIntervalNs: 50e6,
  failoverAfterNs: 300e6,
  leaseNs: 200e6,
  leaseDriftBoundPpm: 1000,
  commitTimeoutNs: 1e9,
  clientTimeoutNs: 3e9,
  shipIntervalNs: 5e6,
  quorumShipIntervalNs: 20e6,
  resendAfterNs: 50e6,
  gossipIntervalNs: 20e6,
};

/**
 * Timing for real processes (process mode): a real machine pauses a process for garbage
 * collection, scheduling and, on a shared machine, load, for tens or hundreds of milliseconds, so
 * heartbeats, failover detection, leases and commit timeouts are three times the simulation's
 * (which models none of those pauses), and clients wait longer.
 */
export const engineProcessTiming: Partial<ClusterTiming> = {
  heartbeatIntervalNs: 150e6,
  failoverAfterNs: 900e6,
  leaseNs: 600e6,
  commitTimeoutNs: 3e9,
  clientTimeoutNs: 4e9,
};

export type NodeRole = "writer" | "standby" | "storage" | "replica" | "control";

export interface NodeSpec {
  readonly name: string;
  /** "data": can be writer (async/sync: standby otherwise; quorum: read replica otherwise). */
  readonly kind: "data" | "storage" | "control";
  readonly zone: string;
}

export interface Topology {
  readonly mode: ReplicationMode;
  readonly nodes: readonly NodeSpec[];
  readonly dataNodes: readonly string[];
  readonly storageNodes: readonly string[];
  readonly initialWriter: string;
  readonly control: string;
  /**
   * async with one data node: a standalone server (a lone PostgreSQL). It has no standby, so after
   * a crash it recovers from its own log and cp promotes it again under a new epoch.
   */
  readonly standalone: boolean;
}

export class ClusterConfigError extends ConfigError {
  override name = "ClusterConfigError";
}

const zones = ["a", "b", "c"];

export function validateQuorum(q: QuorumSizes): void {
  const ok = (n: number): boolean => Number.isInteger(n) && n >= 1;
  if (!ok(q.copies) || !ok(q.write) || !ok(q.read) || q.write > q.copies || q.read > q.copies) {
    throw new ClusterConfigError(
      `quorum sizes must be integers with 1 <= Vw, Vr <= V, got V=${q.copies} Vw=${q.write} Vr=${q.read}`,
    );
  }
  if (q.write + q.read <= q.copies) {
    throw new ClusterConfigError(
      `quorum needs Vw + Vr > V (a read quorum must meet every write quorum), got V=${q.copies} Vw=${q.write} Vr=${q.read}`,
    );
  }
  if (2 * q.write <= q.copies) {
    throw new ClusterConfigError(
      `quorum needs 2·Vw > V (two write quorums must overlap), got V=${q.copies} Vw=${q.write}`,
    );
  }
}

export function topologyOf(config: EngineClusterConfig): Topology {
  const { replication: mode, nodes } = config;
  const control: NodeSpec = { name: "cp", kind: "control", zone: "c" };
  if (!Number.isInteger(nodes)) throw new ClusterConfigError(`--nodes must be an integer, got ${nodes}`);
  if (mode === "quorum") {
    const copies = (config.quorum ?? { copies: 6 }).copies;
    if (nodes < copies + 1) {
      throw new ClusterConfigError(
        `quorum mode needs at least ${copies + 1} nodes (a writer and ${copies} storage replicas), got ${nodes}`,
      );
    }
    const storage: NodeSpec[] = Array.from({ length: copies }, (_, i) => ({
      name: `s${i + 1}`,
      kind: "storage",
      zone: zones[Math.floor((i * zones.length) / copies)]!,
    }));
    const compute: NodeSpec[] = Array.from({ length: nodes - copies }, (_, i) => ({
      name: `n${i + 1}`,
      kind: "data",
      zone: zones[i % zones.length]!,
    }));
    return {
      mode,
      nodes: [...compute, ...storage, control],
      dataNodes: compute.map((n) => n.name),
      storageNodes: storage.map((n) => n.name),
      initialWriter: "n1",
      control: "cp",
      standalone: false,
    };
  }
  const least = mode === "async" ? 1 : 2;
  if (nodes < least) {
    throw new ClusterConfigError(
      `${mode} mode needs at least ${least} nodes (${mode === "async" ? "a writer; 1 is a standalone server" : "writer + standby; for a standalone server use --replication async --nodes 1"}), got ${nodes}`,
    );
  }
  const data: NodeSpec[] = Array.from({ length: nodes }, (_, i) => ({
    name: `n${i + 1}`,
    kind: "data",
    zone: zones[i % zones.length]!,
  }));
  return {
    mode,
    nodes: [...data, control],
    dataNodes: data.map((n) => n.name),
    storageNodes: [],
    initialWriter: "n1",
    control: "cp",
    standalone: nodes === 1,
  };
}

export interface ResolvedConfig {
  readonly mode: ReplicationMode;
  readonly isolation: IsolationLevel;
  readonly readFrom: "writer" | "replicas";
  readonly leases: boolean;
  readonly bugs: ReadonlySet<string>;
  readonly quorum: QuorumSizes;
  readonly syncStandbys: SyncStandbys;
  readonly timing: ClusterTiming;
  readonly topology: Topology;
}

export function resolveConfig(config: EngineClusterConfig): ResolvedConfig {
  for (const bug of config.bugs) {
    if (!(bug in engineBugNames)) {
      throw new ClusterConfigError(
        `unknown engine bug "${bug}"; known: ${Object.keys(engineBugNames).join(", ")}`,
      );
    }
  }
  const quorum = config.quorum ?? { copies: 6, write: 4, read: 3 };
  validateQuorum(quorum);
  const topology = topologyOf(config);
  const standbys = topology.dataNodes.length - 1;
  const syncStandbys = config.syncStandbys ?? { method: "any", count: 1 };
  if (
    config.replication === "sync" &&
    (!Number.isInteger(syncStandbys.count) || syncStandbys.count < 1 || syncStandbys.count > standbys)
  ) {
    throw new ClusterConfigError(
      `sync mode needs 1 <= required standbys <= ${standbys}, got ${syncStandbys.count}`,
    );
  }
  return {
    mode: config.replication,
    isolation: config.isolation,
    readFrom: config.readFrom,
    leases: config.leases,
    bugs: new Set(config.bugs),
    quorum,
    syncStandbys,
    timing: { ...defaultTiming, ...config.timing },
    topology,
  };
}
