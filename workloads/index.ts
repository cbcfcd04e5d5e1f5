/**
 * The workloads `faultline run` can build, by name. Each entry builds a Workload from the
 * resolved run configuration. The first entry is the default `--workload`.
 *
 * Transactional workloads check Elle's model for the isolation level the run asks for
 * (read-committed, snapshot-isolation, serializable; see elleModel.ts).
 */
import type { Workload } from "../harness/workload.ts";
import type { BuildConfig } from "../harness/testConfig.ts";
import { appendWorkload } from "./append.ts";
import { bankWorkload } from "./bank.ts";
import { registerWorkload } from "./register.ts";
import { setWorkload } from "./set.ts";
import { writeSkewWorkload } from "./write-skew.ts";

export const workloadRegistry: Readonly<Record<string, (config: BuildConfig) => Workload>> = {
  register: (c) => registerWorkload({ timeLimitNs: c.timeLimitNs, ratePerS: c.ratePerS }),
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
  set: (c) =>
    setWorkload({ timeLimitNs: c.timeLimitNs, ratePerS: c.ratePerS, linearizable: c.readFrom === "writer" }),
};
