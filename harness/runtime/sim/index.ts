/** The simulated runtime: one deterministic world on virtual time (see world.ts). */
export { SimWorld, SimulationBudgetError, SimulationDeadlockError } from "./world.ts";
export type {
  LatencyRangeNs,
  NodeError,
  SimBudget,
  SimDiskOptions,
  SimNetworkOptions,
  SimStats,
  SimWorldOptions,
} from "./world.ts";
