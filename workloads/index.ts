/**
 * The workloads `faultline run` can build, by name. Each entry builds a Workload from the
 * resolved run configuration.
 */
import type { Workload } from "../harness/workload.ts";
import type { BuildConfig } from "../cli/buildConfig.ts";
import { registerWorkload } from "./register.ts";

export const workloadRegistry: Readonly<Record<string, (config: BuildConfig) => Workload>> = {
  register: (c) => registerWorkload({ timeLimitNs: c.timeLimitNs, ratePerS: c.ratePerS }),
};
