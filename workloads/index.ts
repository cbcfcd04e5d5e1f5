/**
 * The workloads `faultline run` can build, by name. Each entry builds a Workload from the
 * resolved run configuration. The first entry is the default `--workload`.
 *
 * `keys` (`--keys N`), when set, sizes the keyed workloads: the registers or lists in use at a time
 * (register, append) or the accounts (bank).
 *
 * Transactional workloads check Elle's model: `--model`, else the strongest the system promises,
 * else the one the isolation level promises (read-committed, snapshot-isolation, serializable;
 * see elleModel.ts).
 */
import type { Workload } from "../harness/workload.ts";
import { ConfigError, type BuildConfig } from "../harness/testConfig.ts";
import { appendWorkload } from "./append.ts";
import { resolveElleModel } from "./elleModel.ts";
import { bankWorkload } from "./bank.ts";
import { registerWorkload } from "./register.ts";
import { setWorkload } from "./set.ts";
import { writeSkewWorkload } from "./write-skew.ts";

/**
 * A workload that checks no consistency model of its own refuses one, rather than dropping it
 * from the run (and from the command that reproduces it).
 */
function refuseModel(workload: string, checkedFor: string, c: BuildConfig): void {
  if (c.model === undefined) return;
  throw new ConfigError(
    `a consistency model (--model ${c.model}) applies to the transactional workloads (bank, write-skew, append); the ${workload} workload is checked for ${checkedFor}`,
  );
}

/** The model a transactional workload checks: the one asked for, else the one the system promises. */
function modelOf(c: BuildConfig): { model?: string } {
  const model = c.model ?? c.promisedModel;
  return model !== undefined ? { model } : {};
}

/**
 * The Elle model the append workload built from `c` checks: the one asked for, else the one the
 * system promises, else the isolation level's. (A stored append run checked again while its
 * history streams builds its checkers for this model: see cli/storedRun.ts.)
 */
export function appendModelOf(c: BuildConfig): string {
  return resolveElleModel(c.isolation, modelOf(c).model);
}

export const workloadRegistry: Readonly<Record<string, (config: BuildConfig) => Workload>> = {
  register: (c) => {
    refuseModel("register", "linearizability", c);
    return registerWorkload({
      timeLimitNs: c.timeLimitNs,
      ratePerS: c.ratePerS,
      ...(c.keys !== undefined ? { activeKeyCount: c.keys } : {}),
    });
  },
  bank: (c) =>
    bankWorkload({
      timeLimitNs: c.timeLimitNs,
      ratePerS: c.ratePerS,
      ...(c.keys !== undefined ? { accountCount: c.keys } : {}),
      isolation: c.isolation,
      ...modelOf(c),
    }),
  "write-skew": (c) =>
    writeSkewWorkload({
      timeLimitNs: c.timeLimitNs,
      ratePerS: c.ratePerS,
      isolation: c.isolation,
      ...modelOf(c),
    }),
  append: (c) =>
    appendWorkload({
      timeLimitNs: c.timeLimitNs,
      ratePerS: c.ratePerS,
      ...(c.keys !== undefined ? { activeKeyCount: c.keys } : {}),
      isolation: c.isolation,
      model: appendModelOf(c),
    }),
  set: (c) => {
    refuseModel("set", "lost and stale elements (set-full)", c);
    return setWorkload({
      timeLimitNs: c.timeLimitNs,
      ratePerS: c.ratePerS,
      linearizable: c.readFrom === "writer",
    });
  },
};
