/**
 * Which Elle consistency model a transactional workload checks by default: what the chosen
 * isolation level promises. A system that claims `snapshot` is judged as snapshot isolation, so
 * anomalies snapshot isolation allows (write skew, G2-item) are named in the result but do not
 * fail it; the workloads' own invariant checkers (bank totals, doctors on call) still do.
 */
import { elleModelNames } from "../checkers/elle/index.ts";
import { ConfigError } from "../harness/testConfig.ts";

export type IsolationLevel = "read-committed" | "snapshot" | "serializable";

const modelByIsolation: Readonly<Record<IsolationLevel, string>> = {
  "read-committed": "read-committed",
  snapshot: "snapshot-isolation",
  serializable: "serializable",
};

export function defaultElleModel(isolation: IsolationLevel): string {
  return modelByIsolation[isolation];
}

/** The model to check: `model` when given (it must be one Elle knows), else the isolation's. */
export function resolveElleModel(isolation: IsolationLevel, model?: string): string {
  if (model === undefined) return defaultElleModel(isolation);
  if (!elleModelNames.includes(model)) {
    throw new ConfigError(
      `unknown consistency model "${model}"; expected one of: ${elleModelNames.join(", ")}`,
    );
  }
  return model;
}
