/**
 * What `faultline run` can assemble, by name: systems, workloads and nemeses. The option
 * validator takes its choices from here, so a name is valid exactly when it can be built.
 * The first system, workload and nemesis list here are `faultline run`'s defaults (runConfig.ts).
 *
 * Systems are `SystemDefinition`s (harness/systemDefinition.ts), the same shape a user's plugin
 * module exports: a built-in system is registered here by name, a plugin is loaded by path
 * (plugins.ts) and looked up through `systemDefinition` just the same.
 */
import type { SystemDefinition } from "../harness/systemDefinition.ts";
import { engineDefinition } from "../systems/engine/definition.ts";
import { memoryDefinition } from "../systems/memory/definition.ts";
import { postgresDefinition } from "../systems/postgres/definition.ts";
import { workloadRegistry } from "../workloads/index.ts";
import { nemesisRegistry } from "../nemeses/index.ts";

export type { BuildConfig } from "../harness/testConfig.ts";
export type { NemesisPackage } from "../nemeses/index.ts";

/** The built-in systems, by the name `--system` takes. */
export const systems: Readonly<Record<string, SystemDefinition>> = {
  engine: engineDefinition,
  memory: memoryDefinition,
  postgres: postgresDefinition,
};

export const workloads = workloadRegistry;
export const nemeses = nemesisRegistry;

const names = (o: object): [string, ...string[]] => {
  const keys = Object.keys(o);
  return (keys.length > 0 ? keys : ["(none built yet)"]) as [string, ...string[]];
};

export const systemNames = names(systems);
export const workloadNames = names(workloads);
export const nemesisNames = names(nemeses);
/** Every bug knob of every built-in system. */
export const bugNames = [
  ...new Set(Object.values(systems).flatMap((s) => s.options?.["bug"]?.choices ?? [])),
];
