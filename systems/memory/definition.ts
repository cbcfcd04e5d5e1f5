/**
 * The memory reference system as `faultline run` sees it: strictly serializable (one copy, each
 * operation applied atomically when it arrives), one node by default, no options of its
 * own (so `--replication`, `--isolation`, `--read-from`, `--leases` and `--bug` are refused for it),
 * every workload and every fault. Registered exactly as a user's plugin would be.
 */
import { defineSystem } from "../../harness/systemDefinition.ts";
import { MemorySystem } from "./system.ts";

export const memoryDefinition = defineSystem({
  name: "memory",
  description: "a trivially correct reference: one in-memory copy on n1",
  defaultNodes: 1,
  options: {},
  // One copy, applied atomically as each operation arrives: serializable in real-time order.
  promises: () => "strict-serializable",
  build: (c) => new MemorySystem(c.nodes),
});
