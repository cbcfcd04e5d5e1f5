/**
 * The in-tree replicated engine as `faultline run` sees it: its options (replication, isolation,
 * where reads go, leases, bug knobs), its default node counts, the one combination it refuses
 * (serializable replica reads), and how it is built. Registered in the CLI exactly as a user's
 * plugin would be (harness/systemDefinition.ts).
 */
import { defineSystem, type SystemConfig } from "../../harness/systemDefinition.ts";
import { EngineSystem, engineBugNames, engineDefaultNodes, engineProcessTiming } from "./cluster/system.ts";

/**
 * Why a bug knob asked for cannot act with these options, or undefined. A run with an inert knob
 * tests nothing it names, and would say valid as if the knob had been tried and caught nothing
 * (the kind of answer a sweep reads as "the harness misses this bug"): each is refused, saying
 * what the knob needs.
 */
function inertBug(c: SystemConfig): string | undefined {
  for (const { bugs, inert, needs } of knobNeeds)
    for (const bug of bugs) if (c.bugs.includes(bug) && inert(c)) return `--bug ${bug} needs ${needs}`;
  return undefined;
}

/** Each knob that can be inert: the options under which it is, and what it needs instead. */
const knobNeeds: readonly {
  readonly bugs: readonly string[];
  readonly inert: (c: SystemConfig) => boolean;
  readonly needs: string;
}[] = [
  {
    bugs: ["lease-ignores-skew"],
    inert: (c) => !c.leases,
    needs: "--leases: without a lease the writer never serves a read on one",
  },
  {
    bugs: ["dp-skips-gap"],
    inert: (c) => c.replication !== "quorum",
    needs: "--replication quorum: only the quorum mode has a durable point over storage replicas",
  },
  {
    bugs: ["replica-read-past-durable-point"],
    inert: (c) => c.replication !== "quorum",
    needs:
      "--replication quorum: only there do read replicas hold back the writer's stream at the durable point",
  },
  {
    bugs: ["torn-page", "no-checksum"],
    inert: (c) => c.replication === "quorum",
    needs:
      "--replication async or sync: in quorum mode no page is read back from a disk the knob governs (a compute node rebuilds from the storage replicas' log at every restart, and their materialised pages take no knob)",
  },
  {
    bugs: ["promote-any-standby", "no-fencing"],
    inert: (c) => c.replication === "async" && c.nodes === 1,
    needs: "a standby: a standalone server (--replication async --nodes 1) never fails over",
  },
];

export const engineDefinition = defineSystem({
  name: "engine",
  description: "the in-tree Aurora-style replicated transactional engine",
  defaultNodes: (c) => engineDefaultNodes[c.replication],
  options: {
    replication: {
      description: "sync | async | quorum (default quorum)",
      choices: ["sync", "async", "quorum"],
      default: "quorum",
    },
    isolation: {
      description: "read-committed | snapshot | serializable (default serializable)",
      choices: ["read-committed", "snapshot", "serializable"],
      default: "serializable",
    },
    "read-from": {
      description: "writer | replicas (default writer)",
      choices: ["writer", "replicas"],
      default: "writer",
    },
    leases: { description: "the writer serves reads under a lease", type: "boolean", default: false },
    bug: {
      description: "switch on a deliberate fault (repeatable)",
      type: "list",
      choices: Object.keys(engineBugNames),
      default: [],
    },
  },
  // On the writer, each transaction's snapshot is the latest commit when it starts, and an
  // acknowledged commit survives failover (sync and quorum; async loses it, which is the finding),
  // so the isolation level holds in real-time order. A replica's snapshot may lag the writer's:
  // there the plain level is all it promises.
  promises: (c) =>
    c.readFrom === "writer"
      ? c.isolation === "serializable"
        ? "strict-serializable"
        : c.isolation === "snapshot"
          ? "strong-snapshot-isolation"
          : "strong-read-committed"
      : c.isolation === "snapshot"
        ? "snapshot-isolation"
        : "read-committed",
  refuse: (c) =>
    c.readFrom === "replicas" && c.isolation === "serializable"
      ? "--read-from replicas cannot be serializable: a replica's snapshot does not take part in the writer's serializable certification, so even read-only transactions there can see a non-serializable state (Fekete's read-only anomaly); PostgreSQL refuses SERIALIZABLE on hot standbys for this reason. Use --isolation snapshot (or read-committed) with replica reads."
      : inertBug(c),
  build: (c) =>
    new EngineSystem({
      replication: c.replication,
      isolation: c.isolation,
      nodes: c.nodes,
      readFrom: c.readFrom,
      leases: c.leases,
      bugs: c.bugs,
      ...(c.mode === "process" ? { timing: engineProcessTiming } : {}),
    }),
});
