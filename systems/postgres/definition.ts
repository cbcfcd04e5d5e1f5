/**
 * PostgreSQL as `faultline run` sees it (`--system postgres`): its options, the workloads and
 * nemeses it takes, the one mode it runs in, what it refuses, and how it is built. Registered in
 * the CLI exactly as a user's plugin would be (harness/systemDefinition.ts).
 *
 * PostgreSQL runs as real servers only, so it runs in `--mode process` (its default; `--mode sim`
 * is refused: there is no simulated PostgreSQL).
 */
import { defineSystem } from "../../harness/systemDefinition.ts";
import type { NodeControl, NodeInfo, SystemUnderTest, Client } from "../../harness/system.ts";
import type { World } from "../../harness/runtime/types.ts";
import { postgresBugs, postgresMaxNodes } from "./options.ts";
import type { PostgresSystem, PostgresSystemOptions } from "./system.ts";

/**
 * The system a postgres run gets: the real one (system.ts, with node-postgres and execa) is loaded
 * at setup, so a `faultline` start that runs another system never loads it. It answers for the
 * real one from then on; before setup its nodes are standbys with no writer, as the real one's are.
 */
class DeferredPostgres implements SystemUnderTest {
  readonly name = "postgres";
  readonly nodeNames: readonly string[];
  private system: PostgresSystem | undefined;

  constructor(private readonly options: PostgresSystemOptions) {
    if (!(Number.isInteger(options.nodes) && options.nodes >= 1 && options.nodes <= postgresMaxNodes))
      throw new RangeError(`postgres runs 1 to ${postgresMaxNodes} nodes, got ${options.nodes}`);
    this.nodeNames = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
  }

  private get loaded(): PostgresSystem {
    if (this.system === undefined) throw new Error("postgres: setup has not run");
    return this.system;
  }

  async setup(world: World): Promise<void> {
    const { PostgresSystem } = await import("./system.ts");
    this.system = new PostgresSystem(this.options);
    await this.system.setup(world);
  }

  openClient(world: World, clientName: string): Promise<Client> {
    return this.loaded.openClient(world, clientName);
  }

  control(world: World): NodeControl {
    const real = () => this.loaded.control(world);
    return {
      nodes: (): NodeInfo[] =>
        this.system === undefined
          ? this.nodeNames.map((name) => ({ name, role: "standby" }))
          : real().nodes(),
      writer: () => (this.system === undefined ? undefined : real().writer()),
      crash: (n) => real().crash(n),
      restart: (n) => real().restart(n),
      pause: (n) => real().pause(n),
      resume: (n) => real().resume(n),
      setGrudge: (grudge) => this.system?.control(world).setGrudge(grudge),
      heal: () => this.system?.control(world).heal(),
      setLinkFaults: (faults) => this.system?.control(world).setLinkFaults(faults),
      setClock: (n, setting) => real().setClock(n, setting),
    };
  }

  async teardown(): Promise<void> {
    await this.system?.teardown();
  }
}

/** The nemesis packages that act on real PostgreSQL servers (no clock: it reads the OS clock). */
export const postgresNemeses = ["partition", "partition-writer", "crash", "pause", "packet"] as const;

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
  preflight: async () => (await import("./system.ts")).postgresPreflight(),
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
    // One node has no standby: nothing to replicate to or to promote. A run would test neither,
    // and say valid (as a fault the system cannot apply would).
    if (c.nodes === 1 && c.replication === "sync")
      return "--replication sync needs a standby to wait for: --nodes 2 or more (one node replicates nothing)";
    if (c.nodes === 1 && c.bugs.includes("no-fencing"))
      return "--bug no-fencing needs a standby to promote: --nodes 2 or more (one node never fails over)";
    return undefined;
  },
  build: (c) =>
    new DeferredPostgres({
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
