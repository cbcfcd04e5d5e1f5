/**
 * The options of `faultline run` that apply to every system, as the command line reads them: in a
 * module of its own so that the plugin loader, which runConfig.ts itself imports, can refuse a
 * system option of the same name without importing it back.
 */
/** The options of `faultline run` that apply to every system. */
export const commonRunOptionSpec = {
  system: { type: "string" },
  workload: { type: "string" },
  nemesis: { type: "string" },
  "nemesis-interval": { type: "string" },
  "nemesis-windows": { type: "string" },
  nodes: { type: "string" },
  keys: { type: "string" },
  concurrency: { type: "string" },
  "time-limit": { type: "string" },
  rate: { type: "string" },
  seed: { type: "string" },
  mode: { type: "string" },
  store: { type: "string" },
  name: { type: "string" },
  model: { type: "string" },
  quiet: { type: "boolean" },
  "dry-run": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;
