/**
 * What `faultline run` can assemble, by name: systems, workloads and nemeses. The option
 * validator takes its choices from here, so a name is valid exactly when it can be built.
 */
import type { Generator } from "../harness/generator/types.ts";
import type { Nemesis } from "../harness/nemesis.ts";
import type { SystemUnderTest } from "../harness/system.ts";
import type { Workload } from "../harness/workload.ts";
import { MemorySystem } from "../systems/memory/system.ts";
import { registerWorkload } from "../workloads/register.ts";

/** The parts of the config the builders read (kept structural so this file does not import runConfig). */
export interface BuildConfig {
  readonly nodes: number;
  readonly concurrency: number;
  readonly timeLimitNs: number;
  readonly ratePerS: number;
  readonly nemesisIntervalNs: number;
  readonly replication: string;
  readonly isolation: string;
  readonly readFrom: string;
  readonly leases: boolean;
  readonly bugs: readonly string[];
}

interface SystemEntry {
  readonly defaultNodes: number;
  readonly build: (config: BuildConfig) => SystemUnderTest;
}

export const systems: Readonly<Record<string, SystemEntry>> = {
  memory: { defaultNodes: 1, build: (c) => new MemorySystem(c.nodes) },
};

export const workloads: Readonly<Record<string, (config: BuildConfig) => Workload>> = {
  register: (c) => registerWorkload({ timeLimitNs: c.timeLimitNs, ratePerS: c.ratePerS }),
};

export interface NemesisPackage {
  readonly nemesis: Nemesis;
  readonly generator: Generator;
}

export const nemeses: Readonly<Record<string, (config: BuildConfig) => NemesisPackage>> = {};

/** Bug knobs by name, with the system that has them. */
export const bugs: Readonly<Record<string, { readonly system: string; readonly description: string }>> = {};

const names = (o: object): [string, ...string[]] => {
  const keys = Object.keys(o);
  return (keys.length > 0 ? keys : ["(none built yet)"]) as [string, ...string[]];
};

export const systemNames = names(systems);
export const workloadNames = names(workloads);
export const nemesisNames = names(nemeses);
export const bugNames = Object.keys(bugs);
