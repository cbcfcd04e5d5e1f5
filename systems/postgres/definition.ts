/**
 * PostgreSQL as `faultline run` sees it (`--system postgres`): its options, the workloads and
 * nemeses it takes, the one mode it runs in, what it refuses, and how it is built. Registered in
 * the CLI exactly as a user's plugin would be (harness/systemDefinition.ts).
 *
 * PostgreSQL runs as real servers only, so it runs in `--mode process` (its default; `--mode sim`
 * is refused: there is no simulated PostgreSQL).
 */
import { defineSystem } from "../../harness/systemDefinition.ts";
import { PostgresSystem, postgresBugs, postgresMaxNodes, postgresPreflight } from "./system.ts";

/** The nemesis packages that act on real PostgreSQL servers (no clock: it reads the OS clock). */
export const postgresNemeses = ["partition", "crash", "pause", "packet"] as const;

export const postgresDefinition = defineSystem({
  name: "postgres",
  description: "PostgreSQL 15 from Debian's packages: a primary and streaming standbys (process mode)",
  defaultNodes: 3,
  options: {
    replication: {
      description: "async | sync streaming replication (default async)",
      choices: ["async", "sync"],
      default: "async",
    },
    isolation: {
      description:
        "read-committed | snapshot | serializable (default serializable; snapshot is REPEATABLE READ)",
      choices: ["read-committed", "snapshot", "serializable"],
      default: "serializable",
    },
    "failover-after": {
      description: "seconds the primary stays unreachable before a standby is promoted (default 2)",
      type: "number",
      default: 2,
    },
    bug: {
      description: "switch on a deliberate fault (repeatable)",
      type: "list",
      choices: Object.keys(postgresBugs),
      default: [],
    },
  },
  workloads: ["append", "bank", "write-skew", "register", "set"],
  nemeses: [...postgresNemeses],
  modes: ["process"],
  preflight: postgresPreflight,
  // Clients talk to the primary only. A transaction's snapshot is taken at its first statement,
  // after it was invoked, and a commit is visible before it is acknowledged, so each level holds
  // in real-time order; an acknowledged commit that a failover drops (async) breaks that, which is
  // the finding.
  promises: (c) =>
    c.isolation === "serializable"
      ? "strict-serializable"
      : c.isolation === "snapshot"
        ? "strong-snapshot-isolation"
        : "strong-read-committed",
  refuse: (c) => {
    if (c.nodes !== undefined && c.nodes > postgresMaxNodes)
      return `--nodes: postgres runs 1 to ${postgresMaxNodes} nodes (a primary and up to ${postgresMaxNodes - 1} standbys)`;
    const after = c.systemOptions?.["failover-after"];
    if (typeof after === "number" && !(after > 0 && after <= 3600))
      return `--failover-after: expected seconds in (0, 3600], got ${after}`;
    return undefined;
  },
  build: (c) =>
    new PostgresSystem({
      replication: c.replication === "sync" ? "sync" : "async",
      isolation: c.isolation,
      nodes: c.nodes,
      concurrency: c.concurrency,
      ...(c.workload !== undefined ? { workload: c.workload } : {}),
      failoverAfterMs: Number(c.systemOptions?.["failover-after"] ?? 2) * 1000,
      bugs: c.bugs,
      ...(c.run !== undefined ? { run: c.run } : {}),
    }),
});
