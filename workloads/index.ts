/**
 * The workloads `faultline run` can build, by name. Each entry builds a Workload from the
 * resolved run configuration. The first entry is the default `--workload`.
 *
 * Transactional workloads check Elle's model for the isolation level the run asks for
 * (read-committed, snapshot-isolation, serializable; see elleModel.ts).
 */
import type { Workload } from "../harness/workload.ts";
import { ConfigError, type BuildConfig } from "../harness/testConfig.ts";
import { appendWorkload } from "./append.ts";
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

export const workloadRegistry: Readonly<Record<string, (config: BuildConfig) => Workload>> = {
  register: (c) => {
    refuseModel("register", "linearizability", c);
    return registerWorkload({ timeLimitNs: c.timeLimitNs, ratePerS: c.ratePerS });
  },
  bank: (c) =>
    bankWorkload({
      timeLimitNs: c.timeLimitNs,
      ratePerS: c.ratePerS,
      isolation: c.isolation,
      ...(c.model !== undefined ? { model: c.model } : {}),
    }),
  "write-skew": (c) =>
    writeSkewWorkload({
      timeLimitNs: c.timeLimitNs,
      ratePerS: c.ratePerS,
      isolation: c.isolation,
      ...(c.model !== undefined ? { model: c.model } : {}),
    }),
  append: (c) =>
    appendWorkload({
      timeLimitNs: c.timeLimitNs,
      ratePerS: c.ratePerS,
      isolation: c.isolation,
      ...(c.model !== undefined ? { model: c.model } : {}),
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
