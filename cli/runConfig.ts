/**
 * `faultline run`'s options: names, defaults, validation, and the one command line that
 * reproduces a run. The choices come from the registry (what systems, workloads and nemeses
 * exist), so an unknown value is refused with the list of valid ones.
 */
import { z } from "zod";
import { nemesisNames, systemNames, workloadNames, bugNames } from "./registry.ts";

export const runOptionSpec = {
  system: { type: "string" },
  replication: { type: "string" },
  isolation: { type: "string" },
  workload: { type: "string" },
  nemesis: { type: "string" },
  "nemesis-interval": { type: "string" },
  nodes: { type: "string" },
  concurrency: { type: "string" },
  "time-limit": { type: "string" },
  rate: { type: "string" },
  "read-from": { type: "string" },
  leases: { type: "boolean" },
  seed: { type: "string" },
  mode: { type: "string" },
  store: { type: "string" },
  bug: { type: "string", multiple: true },
  name: { type: "string" },
  model: { type: "string" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const positiveInt = (what: string, max: number) =>
  z.coerce
    .number({ error: `expected ${what}` })
    .int({ error: `expected a whole number (${what})` })
    .min(1, { error: `must be at least 1` })
    .max(max, { error: `must be at most ${max}` });

const positiveSeconds = (max: number) =>
  z.coerce
    .number({ error: "expected a number of seconds" })
    .positive({ error: "must be positive" })
    .max(max, { error: `must be at most ${max} seconds` });

/**
 * What `faultline run` with no options runs: the first system of the registry (the replicated
 * engine), quorum replication, serializable, list append checked by Elle, under partitions and
 * crashes, for 30 simulated seconds. A correct engine passes it in a few seconds of real time.
 */
export const defaultWorkload = workloadNames.includes("append") ? "append" : workloadNames[0];
export const defaultNemesis =
  nemesisNames.includes("partition") && nemesisNames.includes("crash") ? "partition,crash" : "none";

export const runConfigSchema = z
  .object({
    system: z.enum(systemNames).default(systemNames[0]!),
    replication: z.enum(["sync", "async", "quorum"]).default("quorum"),
    isolation: z.enum(["read-committed", "snapshot", "serializable"]).default("serializable"),
    workload: z.enum(workloadNames).default(defaultWorkload),
    nemesis: z
      .string()
      .default(defaultNemesis)
      .transform((s) => (s === "none" || s === "" ? [] : s.split(",").map((x) => x.trim())))
      .pipe(
        z.array(
          z.enum(nemesisNames, {
            error: `expected "none" or a comma-separated list of: ${nemesisNames.join(", ")}`,
          }),
        ),
      )
      .refine((list) => new Set(list).size === list.length, { error: "names a package twice" })
      .refine((list) => !list.includes("all") || list.length === 1, {
        error: '"all" already holds every package; give it alone',
      }),
    "nemesis-interval": positiveSeconds(3600).default(5),
    nodes: positiveInt("a node count", 64).optional(),
    concurrency: positiveInt("a worker count", 1024).default(10),
    "time-limit": positiveSeconds(86_400).default(30),
    rate: z.coerce
      .number({ error: "expected operations per second" })
      .positive({ error: "must be positive" })
      .max(1e6)
      .default(100),
    "read-from": z.enum(["writer", "replicas"]).default("writer"),
    leases: z.boolean().default(false),
    seed: z.coerce
      .number({ error: "expected a whole number" })
      .int({ error: "expected a whole number" })
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .optional(),
    mode: z.enum(["sim", "process"]).default("sim"),
    store: z.string().min(1).default("store"),
    bug: z.array(z.enum(bugNames.length > 0 ? (bugNames as [string, ...string[]]) : ["none"])).default([]),
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, { error: "may hold only letters, digits, '.', '_' and '-'" })
      .optional(),
    model: z.string().min(1).optional(),
    quiet: z.boolean().default(false),
  })
  .strict();

export type RunConfig = z.output<typeof runConfigSchema> & { seed: number; nodes: number; name: string };

/** The command line that reproduces a run exactly: every option that shapes the history. */
export function reproduceCommand(config: RunConfig): string {
  const parts = [
    "npx faultline run",
    `--system ${config.system}`,
    ...(config.system === "engine"
      ? [`--replication ${config.replication}`, `--isolation ${config.isolation}`]
      : []),
    `--workload ${config.workload}`,
    `--nemesis ${config.nemesis.length > 0 ? config.nemesis.join(",") : "none"}`,
    ...(config.nemesis.length > 0 ? [`--nemesis-interval ${config["nemesis-interval"]}`] : []),
    `--nodes ${config.nodes}`,
    `--concurrency ${config.concurrency}`,
    `--time-limit ${config["time-limit"]}`,
    `--rate ${config.rate}`,
    ...(config["read-from"] !== "writer" ? [`--read-from ${config["read-from"]}`] : []),
    ...(config.leases ? ["--leases"] : []),
    ...config.bug.map((b) => `--bug ${b}`),
    ...(config.model !== undefined ? [`--model ${config.model}`] : []),
    `--mode ${config.mode}`,
    `--seed ${config.seed}`,
  ];
  return parts.join(" ");
}
