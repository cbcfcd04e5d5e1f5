/**
 * What `faultline run` can assemble, by name: systems, workloads and nemeses. The option
 * validator takes its choices from here, so a name is valid exactly when it can be built.
 * The first system, workload and nemesis list here are `faultline run`'s defaults (runConfig.ts).
 */
import type { SystemUnderTest } from "../harness/system.ts";
import { MemorySystem } from "../systems/memory/system.ts";
import { EngineSystem, engineBugNames, engineDefaultNodes } from "../systems/engine/cluster/system.ts";
import { workloadRegistry } from "../workloads/index.ts";
import { nemesisRegistry } from "../nemeses/index.ts";
import type { BuildConfig } from "../harness/testConfig.ts";

export type { BuildConfig } from "../harness/testConfig.ts";
export type { NemesisPackage } from "../nemeses/index.ts";

interface SystemEntry {
  /** The node count when `--nodes` is not given; it may depend on `--replication`. */
  readonly defaultNodes: number | Readonly<Record<BuildConfig["replication"], number>>;
  readonly build: (config: BuildConfig) => SystemUnderTest;
  /** The bug knobs this system has, with what each breaks. */
  readonly bugs: Readonly<Record<string, string>>;
  /** Why this system refuses a configuration before it runs, or undefined when it takes it. */
  readonly refuse?: (config: Pick<BuildConfig, "isolation" | "readFrom">) => string | undefined;
}

export const systems: Readonly<Record<string, SystemEntry>> = {
  engine: {
    defaultNodes: engineDefaultNodes,
    build: (c) =>
      new EngineSystem({
        replication: c.replication,
        isolation: c.isolation,
        nodes: c.nodes,
        readFrom: c.readFrom,
        leases: c.leases,
        bugs: c.bugs,
      }),
    bugs: engineBugNames,
    refuse: (c) =>
      c.readFrom === "replicas" && c.isolation === "serializable"
        ? "--read-from replicas cannot be serializable: a replica's snapshot does not take part in the writer's serializable certification, so even read-only transactions there can see a non-serializable state (Fekete's read-only anomaly); PostgreSQL refuses SERIALIZABLE on hot standbys for this reason. Use --isolation snapshot (or read-committed) with replica reads."
        : undefined,
  },
  memory: { defaultNodes: 1, build: (c) => new MemorySystem(c.nodes), bugs: {} },
};

/** The node count a system runs with when `--nodes` is not given. */
export function defaultNodesOf(system: SystemEntry, replication: BuildConfig["replication"]): number {
  return typeof system.defaultNodes === "number" ? system.defaultNodes : system.defaultNodes[replication];
}

export const workloads = workloadRegistry;
export const nemeses = nemesisRegistry;

const names = (o: object): [string, ...string[]] => {
  const keys = Object.keys(o);
  return (keys.length > 0 ? keys : ["(none built yet)"]) as [string, ...string[]];
};

export const systemNames = names(systems);
export const workloadNames = names(workloads);
export const nemesisNames = names(nemeses);
export const bugNames = [...new Set(Object.values(systems).flatMap((s) => Object.keys(s.bugs)))];
