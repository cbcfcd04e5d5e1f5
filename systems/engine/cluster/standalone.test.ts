/**
 * The standalone server (`async`, one data node n1, plus cp): a lone database that recovers from
 * its own log after a crash and is promoted again by cp under a new epoch. Here the part-1 bug
 * knobs show as they would on a single PostgreSQL: `ack-before-fsync` loses acknowledged writes,
 * `skip-undo` makes durable writes of a transaction unfinished at the crash visible (a bank
 * transfer that wrote one account, then rolled back: a read of an aborted write, a wrong total).
 * Without a knob, crashes lose nothing acknowledged, show nothing that failed, and every read sees
 * every write acknowledged before it began (a simple real-time check: linearizability of a set).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimWorld, type SimDiskOptions } from "../../../harness/runtime/sim/index.ts";
import { SeededRandom } from "../../../harness/runtime/random.ts";
import type { Random } from "../../../harness/runtime/types.ts";
import type { Client, Completion, Invocation } from "../../../harness/system.ts";
import { ClusterConfigError, resolveConfig, type EngineClusterConfig } from "./config.ts";
import { reopenMaxAttempts } from "./nodeDatabase.ts";
import { EngineSystem } from "./system.ts";

function standalone(bugs: readonly string[] = []) {
  return {
    replication: "async",
    isolation: "serializable",
    nodes: 1,
    readFrom: "writer",
    leases: false,
    bugs,
  } satisfies EngineClusterConfig;
}

interface Crashes {
  /** Crash windows: [quiet time before the crash, downtime], ms. */
  readonly windowsMs: readonly (readonly [number, number])[];
}

/**
 * Crashes n1 (and, every third window, cp with it) per the schedule, restarting each after its
 * downtime; resolves with the time of the last restart.
 */
async function crashN1(world: SimWorld, schedule: Crashes): Promise<number> {
  let lastRestartNs = 0;
  for (const [index, [quietMs, downMs]] of schedule.windowsMs.entries()) {
    await world.sleep(quietMs * 1e6);
    const nodes = index % 3 === 2 ? ["n1", "cp"] : ["n1"];
    for (const n of nodes) world.crash(n);
    await world.sleep(downMs * 1e6);
    for (const n of nodes) world.restart(n);
    lastRestartNs = world.nowNs();
  }
  return lastRestartNs;
}

function randomCrashes(random: Random, count: number): Crashes {
  return {
    windowsMs: Array.from({ length: count }, () => [random.intBetween(100, 500), random.intBetween(50, 600)]),
  };
}

interface Timed {
  readonly invokeNs: number;
  readonly completeNs: number;
  readonly invocation: Invocation;
  readonly completion: Completion;
}

/**
 * Runs `clients` workers, each issuing `next()`'s operations until `durationNs`, while `crashes`
 * acts; then restarts what is down and retries `finalOp` until it succeeds. Returns every
 * completed operation with its times, the final answer and the writer at the end.
 */
async function drive(options: {
  readonly config: EngineClusterConfig;
  readonly seed: number;
  readonly crashes: Crashes;
  readonly next: (random: Random, worker: number, i: number) => Invocation;
  readonly finalOp: Invocation;
  readonly setup?: Invocation;
  readonly clients?: number;
  readonly durationNs?: number;
  /** The disk's crash model (default: the simulated disk's own). */
  readonly disk?: SimDiskOptions;
}): Promise<{
  ops: Timed[];
  final: Completion | undefined;
  writer: { node: string; epoch: number } | undefined;
  lastRestartNs: number;
}> {
  const world = new SimWorld({
    seed: options.seed,
    budget: { maxEvents: 20_000_000, maxVirtualTimeNs: 3600e9 },
    ...(options.disk !== undefined ? { disk: options.disk } : {}),
  });
  const system = new EngineSystem(options.config);
  // Clients keep going 4 s past the last restart (longer than the 3 s a client waits for a reply
  // from a crashed node), so the recovered server is exercised.
  const scheduleNs = options.crashes.windowsMs.reduce(
    (sum, [quietMs, downMs]) => sum + (quietMs + downMs) * 1e6,
    0,
  );
  const durationNs = Math.max(options.durationNs ?? 2.5e9, scheduleNs + 4e9);
  return world.run(async () => {
    await system.setup(world);
    const clients: Client[] = [];
    for (let i = 0; i < (options.clients ?? 5); i++) clients.push(await system.openClient(world, `c${i}`));
    if (options.setup !== undefined) {
      const c = await clients[0]!.invoke(options.setup);
      expect(c.type).toBe("ok");
    }
    const start = world.nowNs();
    const ops: Timed[] = [];
    const workers = clients.map(async (client, w) => {
      const random = world.random.fork(`worker-${w}`);
      for (let i = 0; world.nowNs() - start < durationNs && i < 100_000; i++) {
        const invocation = options.next(random, w, i);
        const invokeNs = world.nowNs();
        const completion = await client.invoke(invocation);
        ops.push({ invokeNs, completeNs: world.nowNs(), invocation, completion });
        await world.sleep(random.intBetween(1, 10) * 1e6);
      }
    });
    const [lastRestartNs] = await Promise.all([crashN1(world, options.crashes), ...workers]);
    for (const e of world.endpoints()) if (e.kind === "node" && !e.up) world.restart(e.name);
    let final: Completion | undefined;
    for (let attempt = 0; attempt < 20 && final?.type !== "ok"; attempt++) {
      await world.sleep(500e6);
      final = await clients[0]!.invoke(options.finalOp);
    }
    return { ops, final: final?.type === "ok" ? final : undefined, writer: system.writer(), lastRestartNs };
  });
}

// ── the set: adds and reads of unique elements ──────────────────────────────────────────────

interface SetVerdict {
  /** Acknowledged adds missing from the final read. */
  readonly lost: number[];
  /** Reads that miss an element whose add was acknowledged before the read began. */
  readonly staleReads: number;
  /** Elements read whose add failed, or that nobody added. */
  readonly impossible: number[];
  readonly acknowledged: number;
  readonly reads: number;
}

function judgeSet(ops: readonly Timed[], final: Completion | undefined): SetVerdict {
  const adds = ops.filter((o) => o.invocation.f === "add");
  const attempted = new Set(adds.map((o) => o.invocation.value as number));
  const failed = new Set(
    adds.filter((o) => o.completion.type === "fail").map((o) => o.invocation.value as number),
  );
  const acked = adds.filter((o) => o.completion.type === "ok");
  const reads = ops.filter((o) => o.invocation.f === "read-set" && o.completion.type === "ok");
  let staleReads = 0;
  const impossible = new Set<number>();
  for (const read of [
    ...reads,
    ...(final === undefined ? [] : [{ invokeNs: Infinity, completion: final }]),
  ]) {
    const seen = new Set(read.completion.value as number[]);
    if (acked.some((a) => a.completeNs < read.invokeNs && !seen.has(a.invocation.value as number)))
      staleReads++;
    for (const e of seen) if (failed.has(e) || !attempted.has(e)) impossible.add(e);
  }
  const finalSeen = new Set((final?.value as number[] | undefined) ?? []);
  return {
    lost: acked.map((a) => a.invocation.value as number).filter((e) => !finalSeen.has(e)),
    staleReads,
    impossible: [...impossible],
    acknowledged: acked.length,
    reads: reads.length,
  };
}

function runSet(seed: number, bugs: readonly string[], crashes: Crashes) {
  return drive({
    config: standalone(bugs),
    seed,
    crashes,
    next: (random, w, i) =>
      random.bool(0.2) ? { f: "read-set", value: null } : { f: "add", value: w * 1_000_000 + i },
    finalOp: { f: "read-set", value: null },
  });
}

// ── the bank: transfers between accounts and reads of every balance ────────────────────────

const accounts = [0, 1, 2, 3, 4];
const totalBalance = 100;

function runBank(seed: number, bugs: readonly string[], crashes: Crashes, disk?: SimDiskOptions) {
  let writeId = 0;
  const readAll: Invocation = { f: "txn", value: accounts.map((k) => ["r", k, null]) };
  return drive({
    config: standalone(bugs),
    seed,
    crashes,
    ...(disk !== undefined ? { disk } : {}),
    clients: 8,
    setup: {
      f: "txn",
      value: accounts.map((k) => ["w", k, { balance: totalBalance / accounts.length, writeId: -1 }]),
    },
    next: (random) => {
      if (random.bool(0.3)) return readAll;
      const from = random.int(accounts.length);
      const to = (from + 1 + random.int(accounts.length - 1)) % accounts.length;
      return { f: "transfer", value: { from, to, amount: 1 + random.int(5), writeId: writeId++ } };
    },
    finalOp: readAll,
  });
}

/** Totals of every successful read of all balances (the final read included). */
function bankTotals(ops: readonly Timed[], final: Completion | undefined): number[] {
  const reads = ops
    .filter((o) => o.invocation.f === "txn" && o.completion.type === "ok")
    .map((o) => o.completion);
  return [...reads, ...(final === undefined ? [] : [final])].map((c) =>
    (c.value as [string, number, { balance: number } | null][]).reduce(
      (sum, [, , row]) => sum + (row?.balance ?? 0),
      0,
    ),
  );
}

/** Write ids of transfers that ended `fail` (rolled back) yet whose rows some read saw: G1a. */
function abortedReads(ops: readonly Timed[], final: Completion | undefined): number[] {
  const failed = new Set(
    ops
      .filter((o) => o.invocation.f === "transfer" && o.completion.type === "fail")
      .map((o) => (o.invocation.value as { writeId: number }).writeId),
  );
  const reads = ops
    .filter((o) => o.invocation.f === "txn" && o.completion.type === "ok")
    .map((o) => o.completion);
  const seen = new Set<number>();
  for (const c of [...reads, ...(final === undefined ? [] : [final])]) {
    for (const [, , row] of c.value as [string, number, { writeId: number } | null][]) {
      if (row !== null && failed.has(row.writeId)) seen.add(row.writeId);
    }
  }
  return [...seen];
}

// ── tests ────────────────────────────────────────────────────────────────────────────────────

describe("standalone configuration", () => {
  it("async with one data node is a standalone server; sync with one is refused, pointing at it", () => {
    const one = resolveConfig(standalone());
    expect(one.topology.standalone).toBe(true);
    expect(one.topology.dataNodes).toEqual(["n1"]);
    expect(one.topology.nodes.map((n) => n.name)).toEqual(["n1", "cp"]);
    expect(resolveConfig({ ...standalone(), nodes: 2 }).topology.standalone).toBe(false);
    expect(() => resolveConfig({ ...standalone(), replication: "sync" })).toThrow(ClusterConfigError);
    expect(() => resolveConfig({ ...standalone(), replication: "sync" })).toThrow(
      /--replication async --nodes 1/,
    );
    expect(() => resolveConfig({ ...standalone(), nodes: 0 })).toThrow(/at least 1 nodes/);
  });
});

describe("standalone under crashes", () => {
  it("comes back as the writer of its own log under a new epoch, loses nothing acknowledged, reads are never stale", async () => {
    for (let seed = 1; seed <= 4; seed++) {
      const crashes = randomCrashes(new SeededRandom(seed, "crashes"), 3);
      const { ops, final, writer, lastRestartNs } = await runSet(seed, [], crashes);
      const verdict = judgeSet(ops, final);
      expect(final, `seed ${seed}: a final read`).toBeDefined();
      expect(writer?.node).toBe("n1");
      expect(writer!.epoch, `seed ${seed}: promoted again after its crashes`).toBeGreaterThan(1);
      expect(verdict.lost, `seed ${seed}`).toEqual([]);
      expect(verdict.staleReads, `seed ${seed}`).toBe(0);
      expect(verdict.impossible, `seed ${seed}`).toEqual([]);
      // It served writes and reads after the crashes, not only before the first.
      expect(verdict.acknowledged).toBeGreaterThan(50);
      const after = ops.filter((o) => o.invokeNs > lastRestartNs && o.completion.type === "ok");
      expect(after.filter((o) => o.invocation.f === "add").length, `seed ${seed}`).toBeGreaterThan(0);
    }
  });

  it("property: any crash schedule loses no acknowledged add and shows no failed one", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.tuple(fc.integer({ min: 20, max: 600 }), fc.integer({ min: 1, max: 800 })), {
          minLength: 1,
          maxLength: 4,
        }),
        async (seed, windowsMs) => {
          const { ops, final } = await runSet(seed, [], { windowsMs });
          const verdict = judgeSet(ops, final);
          expect(final).toBeDefined();
          expect(verdict.lost).toEqual([]);
          expect(verdict.staleReads).toBe(0);
          expect(verdict.impossible).toEqual([]);
        },
      ),
      { numRuns: 8 },
    );
  });

  it("keeps every bank total right through crashes", async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const crashes = randomCrashes(new SeededRandom(seed, "crashes"), 3);
      const { ops, final } = await runBank(seed, [], crashes);
      expect(final, `seed ${seed}: a final read`).toBeDefined();
      const totals = bankTotals(ops, final);
      expect(totals.length).toBeGreaterThan(20);
      expect(
        totals.filter((t) => t !== totalBalance),
        `seed ${seed}`,
      ).toEqual([]);
      expect(abortedReads(ops, final), `seed ${seed}: reads of rolled-back transfers`).toEqual([]);
    }
  });
});

describe("part-1 knobs on a standalone server", () => {
  it("ack-before-fsync: some seed loses acknowledged adds (and none does without it, above)", async () => {
    let lossy = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const crashes = randomCrashes(new SeededRandom(seed, "crashes"), 3);
      const { ops, final } = await runSet(seed, ["ack-before-fsync"], crashes);
      const verdict = judgeSet(ops, final);
      expect(final).toBeDefined();
      if (verdict.lost.length > 0) lossy++;
    }
    expect(lossy).toBeGreaterThan(0);
  });

  // What survives is one write of a transfer that was unfinished at the crash (rolled back by an
  // abort whose compensation records were not yet durable, or caught between its two writes):
  // the log tail that reached the disk, cut inside it, holds the write and not what ends it.
  // Recovery without undo keeps it, so the total is off by its amount. The crashes here tear the
  // unsynced tail at 32-byte sectors; the matrix row measures the knob under the default model.
  it("skip-undo: some seed shows an unfinished transfer's write after a crash: a wrong total", async () => {
    let caught = 0;
    // Seeds 1..6 in order until one shows it: the later ones could not change the verdict.
    for (let seed = 1; seed <= 6 && caught === 0; seed++) {
      const crashes = randomCrashes(new SeededRandom(seed, "crashes"), 3);
      const tearing: SimDiskOptions = {
        writeSurvivalProbability: 1,
        tornWriteProbability: 1,
        sectorBytes: 32,
      };
      const { ops, final } = await runBank(seed, ["skip-undo"], crashes, tearing);
      if (bankTotals(ops, final).some((t) => t !== totalBalance)) caught++;
    }
    expect(caught).toBeGreaterThan(0);
  });
});

describe("a disk that keeps failing", () => {
  it("the server retries opening its database a bounded number of times, gives up, and serves again once restarted", async () => {
    const lines: string[] = [];
    const world = new SimWorld({
      seed: 3,
      budget: { maxEvents: 5_000_000, maxVirtualTimeNs: 600e9 },
      endpointLog: (endpoint, _timeNs, line) => {
        if (endpoint === "n1") lines.push(line);
      },
    });
    const system = new EngineSystem(standalone());
    const outcome = await world.run(async () => {
      await system.setup(world);
      const client = await system.openClient(world, "c0");
      const first = await client.invoke({ f: "add", value: 1 });
      expect(first.type, JSON.stringify(first)).toBe("ok");
      // Every fsync fails from now on: the next commit ends the database, and every reopen fails.
      world.setDiskFaults("n1", { fsyncFails: "always" });
      const failed = await client.invoke({ f: "add", value: 2 });
      await world.sleep(60e9);
      const givenUp = lines.filter((l) => l.includes("giving up after")).length;
      const attempts = lines.filter((l) => l.includes("could not open the database")).length;
      // The disk heals, but a server that gave up stays down until it is restarted.
      world.setDiskFaults("n1", {});
      await world.sleep(5e9);
      const whileDown = await client.invoke({ f: "read-set", value: null });
      world.crash("n1");
      world.restart("n1");
      let after: Completion | undefined;
      for (let i = 0; i < 20 && after?.type !== "ok"; i++) {
        await world.sleep(1e9);
        after = await client.invoke({ f: "read-set", value: null });
      }
      return { failed, givenUp, attempts, whileDown, after };
    });
    expect(outcome.failed.type).not.toBe("ok");
    expect(outcome.givenUp).toBe(1);
    expect(outcome.attempts).toBe(reopenMaxAttempts);
    expect(outcome.whileDown.type).not.toBe("ok");
    expect(outcome.after?.type).toBe("ok");
    expect(outcome.after?.value).toContain(1);
  });
});
