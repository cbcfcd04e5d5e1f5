/**
 * The error of a configuration that a builder of a system, workload or nemesis refuses, in a module
 * of its own: the CLI's entry (cli/main.ts) tells it apart from a bug on every command, and
 * importing it from testConfig.ts would load zod (its schemas) before any command starts.
 */

/**
 * A configuration that a builder of a system, workload or nemesis refuses (too few nodes for
 * quorum replication, a consistency model nobody knows): the user's to fix, so the CLI shows its
 * message as one line and exits 254 instead of reporting an internal error.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
}
