/**
 * Storage replicas materialise pages from the log, in simulated quorum clusters: once quiet,
 * every storage replica's materialised state equals the writer's committed state (and a replay of
 * the log up to the same LSN), also after crashes, partitions and a failover; a restarted replica
 * resumes from its pages; a record that never became durable is never materialised, even where
 * the replica holds it; and the same seed gives the same answers. A replica gossips often only
 * while it knows it misses records.
 */
import { describe, expect, it } from "vitest";
import type { Key, MicroOp } from "../../../harness/history/op.ts";
import { Rpc } from "../../../harness/runtime/rpc.ts";
import { SimWorld } from "../../../harness/runtime/sim/index.ts";
import type { Client } from "../../../harness/system.ts";
import { Database } from "../database.ts";
import { testRuntime } from "../testkit.ts";
import type { WalRecord } from "../wal.ts";
import { resolveConfig, type EngineClusterConfig } from "./config.ts";
import type { AppendMessage } from "./protocol.ts";
import { writerFaults } from "./scenario.ts";
import { reopenMaxAttempts } from "./nodeDatabase.ts";
import { StorageNode, type ReadPagesReply } from "./storageNode.ts";
import { EngineSystem } from "./system.ts";

const storage = ["s1", "s2", "s3", "s4", "s5", "s6"];
const keys: readonly Key[] = ["k0", "k1", "k2", "k3", "l0", "l1", "l2"];

function quorum(extra: Partial<EngineClusterConfig> = {}): EngineClusterConfig {
  return {
    replication: "quorum",
    isolation: "snapshot",
    nodes: 8,
    readFrom: "writer",
    leases: false,
    bugs: [],
    ...extra,
  };
}

function newWorld(seed: number): SimWorld {
  return new SimWorld({ seed, budget: { maxEvents: 20_000_000, maxVirtualTimeNs: 600e9 } });
}

async function readPages(rpc: Rpc, node: string): Promise<ReadPagesReply | undefined> {
  try {
    return (await rpc.request(node, "read-pages", {}, 200e6)) as ReadPagesReply;
  } catch {
    return undefined;
  }
}

/** The log below `toLsn` as `node` holds it (read in bounded batches). */
async function readLog(rpc: Rpc, node: string, toLsn: number): Promise<WalRecord[]> {
  const out: WalRecord[] = [];
  for (let round = 0; round < 1000; round++) {
    const at = out.length === 0 ? 0 : out.at(-1)!.lsn + out.at(-1)!.sizeBytes;
    if (at >= toLsn) return out;
    const batch = (await rpc.request(
      node,
      "read-log",
      { fromLsn: at, toLsn, maxCount: 1000 },
      1e9,
    )) as WalRecord[];
    if (batch.length === 0) break;
    out.push(...batch);
  }
  throw new Error(`could not read the log of ${node} up to ${toLsn}`);
}

/** Every key's value through the writer (one serializable-enough read of all keys), retried. */
async function readThroughWriter(
  world: SimWorld,
  client: Client,
  readKeys: readonly Key[] = keys,
): Promise<Map<Key, unknown>> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const c = await client.invoke({ f: "txn", value: readKeys.map((k): MicroOp => ["r", k, null]) });
    if (c.type === "ok") {
      const out = new Map<Key, unknown>();
      for (const [, k, v] of c.value as MicroOp[]) if (v !== null) out.set(k, v);
      return out;
    }
    await world.sleep(200e6);
  }
  throw new Error("no read through the writer succeeded");
}

/** Clients write registers and append to lists until `untilNs` (world time). */
function writers(world: SimWorld, clients: readonly Client[], untilNs: number): Promise<void[]> {
  return Promise.all(
    clients.map(async (client, w) => {
      for (let i = 0; world.nowNs() < untilNs && i < 100_000; i++) {
        const v = w * 100_000 + i;
        await client.invoke({
          f: "txn",
          value: [
            ["w", `k${i % 4}`, v],
            ["append", `l${(i + w) % 3}`, v],
          ],
        });
        await world.sleep(3e6);
      }
    }),
  );
}

/** The committed state of a log, replayed on a fresh replica database (outside the world). */
async function replay(records: readonly WalRecord[]): Promise<Map<Key, unknown>> {
  const db = await Database.open(testRuntime(), { background: false, role: "replica" });
  await db.applyShipped(records);
  return db.dump();
}

function entries(reply: ReadPagesReply): Map<Key, unknown> {
  expect(reply.state.complete).toBe(true);
  return new Map(reply.state.entries);
}

/** What every reply must show: safe, healthy, never past the durable point it was told. */
function expectSound(node: string, reply: ReadPagesReply): void {
  const context = `${node}: ${JSON.stringify({ ...reply, state: { lsn: reply.state.lsn } })}`;
  expect(reply.stats.lastError, context).toBeUndefined();
  expect(reply.stats.cuts, context).toBe(0);
  expect(reply.state.lsn, context).toBeLessThanOrEqual(reply.endLsn);
  // Never past the told durable point; after a restart the told point is 0 until the next append,
  // while the pages keep what they had (applied under an earlier telling).
  expect(reply.state.lsn, context).toBeLessThanOrEqual(
    Math.max(reply.toldDurablePoint, reply.stats.resumedFromLsn),
  );
}

interface QuietOutcome {
  readonly final: Map<Key, unknown>;
  readonly replies: Map<string, ReadPagesReply>;
  readonly logs: Map<string, WalRecord[]>;
  readonly midRun: Map<string, { reply: ReadPagesReply; log: WalRecord[] }>;
}

/** Writes (with `nemesis` acting meanwhile), heals, restarts, waits, reads everything. */
async function runQuiet(
  seed: number,
  nemesis: (world: SimWorld, system: EngineSystem) => Promise<void>,
  durationNs = 1.2e9,
  config = quorum(),
): Promise<QuietOutcome> {
  const world = newWorld(seed);
  const system = new EngineSystem(config);
  return world.run(async () => {
    await system.setup(world);
    const rpc = new Rpc(world.clientRuntime("probe"));
    const clients = [await system.openClient(world, "c0"), await system.openClient(world, "c1")];
    const start = world.nowNs();
    const midRun = new Map<string, { reply: ReadPagesReply; log: WalRecord[] }>();
    const probe = async (): Promise<void> => {
      // Mid-run, writes still flowing: each replica's state at its LSN, and its log up to it.
      await world.sleep(durationNs * 0.6);
      for (const s of storage) {
        const reply = await readPages(rpc, s);
        if (reply === undefined || reply.state.lsn === 0) continue;
        expectSound(s, reply);
        try {
          midRun.set(s, { reply, log: await readLog(rpc, s, reply.state.lsn) });
        } catch {
          // Cut off by the nemesis: no sample from this one.
        }
      }
    };
    await Promise.all([writers(world, clients, start + durationNs), nemesis(world, system), probe()]);
    world.heal();
    for (const e of world.endpoints()) if (e.kind === "node" && !e.up) world.restart(e.name);
    await world.sleep(1.5e9);
    const final = await readThroughWriter(world, clients[0]!);
    // Quiet now: let every replica catch up with the last commits (a few passes).
    await world.sleep(300e6);
    const replies = new Map<string, ReadPagesReply>();
    const logs = new Map<string, WalRecord[]>();
    for (const s of storage) {
      const reply = await readPages(rpc, s);
      if (reply === undefined) throw new Error(`${s} did not answer read-pages`);
      replies.set(s, reply);
      logs.set(s, await readLog(rpc, s, reply.state.lsn));
    }
    return { final, replies, logs, midRun };
  });
}

async function expectMaterialisedEverywhere(out: QuietOutcome): Promise<void> {
  expect(out.final.size).toBe(keys.length);
  for (const s of storage) {
    const reply = out.replies.get(s)!;
    expectSound(s, reply);
    expect(reply.state.lsn, s).toBeGreaterThan(0);
    expect(entries(reply), s).toEqual(out.final);
    expect(await replay(out.logs.get(s)!), s).toEqual(out.final);
  }
  for (const [s, { reply, log }] of out.midRun) {
    expect(await replay(log), `${s} mid-run at ${reply.state.lsn}`).toEqual(entries(reply));
  }
}

describe("storage replicas materialise pages", () => {
  it("once quiet, every replica's pages hold the writer's committed state", async () => {
    const out = await runQuiet(1, async () => {});
    await expectMaterialisedEverywhere(out);
    expect(out.midRun.size).toBe(storage.length);
    for (const s of storage) {
      const reply = out.replies.get(s)!;
      expect(reply.stats.pagesWritten, s).toBeGreaterThan(0);
      expect(reply.diskBytes.wal, s).toBeGreaterThan(0);
    }
  });

  it("after storage crashes, partitions and a writer failover, every replica converges", async () => {
    for (const seed of [2, 3]) {
      const out = await runQuiet(seed, async (world) => {
        await world.sleep(200e6);
        world.crash("s1");
        await world.sleep(100e6);
        const cut = ["s3", "s4"];
        const rest = world
          .endpoints()
          .map((e) => e.name)
          .filter((n) => !cut.includes(n));
        const grudge = new Map<string, Set<string>>();
        for (const n of cut) grudge.set(n, new Set(rest));
        for (const n of rest) grudge.set(n, new Set(cut));
        world.setGrudge(grudge);
        await world.sleep(300e6);
        world.restart("s1");
        world.heal();
        await world.sleep(100e6);
        world.crash("n1");
        world.crash("s5");
        await world.sleep(500e6);
        world.restart("n1");
        world.restart("s5");
      });
      await expectMaterialisedEverywhere(out);
      // The failover happened: the replicas are past epoch 1.
      for (const s of storage) expect(out.replies.get(s)!.epoch, `seed ${seed} ${s}`).toBeGreaterThan(1);
      // s1 crashed after it had materialised some of the log, and resumed from there.
      expect(out.replies.get("s1")!.stats.resumedFromLsn, `seed ${seed}`).toBeGreaterThan(0);
    }
  });

  it("under the failover tests' random writer faults, every replica converges", async () => {
    const faults = writerFaults(["crash", "isolate", "partition"]);
    for (const seed of [11, 12, 13]) {
      const out = await runQuiet(seed, (world, system) =>
        faults({ world, system, random: world.random.fork("nemesis") }),
      );
      await expectMaterialisedEverywhere(out);
    }
  });

  it("a restarted replica resumes from its pages, not from LSN 0", async () => {
    const world = newWorld(4);
    const system = new EngineSystem(quorum());
    const out = await world.run(async () => {
      await system.setup(world);
      const rpc = new Rpc(world.clientRuntime("probe"));
      const client = await system.openClient(world, "c0");
      await writers(world, [client], world.nowNs() + 400e6);
      await world.sleep(400e6);
      const before = await readPages(rpc, "s2");
      world.crash("s2");
      world.restart("s2");
      let after: ReadPagesReply | undefined;
      for (let i = 0; i < 100 && after === undefined; i++) after = await readPages(rpc, "s2");
      await world.sleep(300e6);
      const later = await readPages(rpc, "s2");
      const final = await readThroughWriter(world, client);
      return { before, after, later, final };
    });
    const { before, after, later } = out;
    if (before === undefined || after === undefined || later === undefined) throw new Error("no answer");
    expect(before.stats.recordsApplied).toBeGreaterThan(100);
    // Everything applied was fsynced before the crash: the restart starts there.
    expect(after.stats.resumedFromLsn).toBeGreaterThanOrEqual(before.state.lsn);
    expect(after.stats.recordsApplied).toBe(0);
    expect(after.state.lsn).toBe(after.stats.resumedFromLsn);
    // Pages had been flushed: the open redid (almost) nothing of what it holds.
    expect(after.stats.recordsRedoneAtOpen).toBeLessThan(before.stats.recordsApplied / 10);
    expect(entries(after)).toEqual(entries(before));
    expectSound("s2", later);
    expect(entries(later)).toEqual(out.final);
  });

  it("never materialises a record the writer did not report durable, even one it holds", async () => {
    const world = newWorld(4);
    const system = new EngineSystem(quorum({ readFrom: "replicas", isolation: "snapshot" }));
    const out = await world.run(async () => {
      await system.setup(world);
      const rpc = new Rpc(world.clientRuntime("probe"));
      const client = await system.openClient(world, "c0");
      await client.invoke({ f: "write", value: ["x", 1] });
      await world.sleep(200e6);
      // The writer reaches only s5 and s6, which cannot gossip to the rest: x = 2 cannot become durable.
      const cut = ["s1", "s2", "s3", "s4"];
      const grudge = new Map<string, Set<string>>();
      for (const side of ["n1", "s5", "s6"]) grudge.set(side, new Set(cut));
      for (const n of cut) grudge.set(n, new Set(["n1", "s5", "s6"]));
      world.setGrudge(grudge);
      const write = await client.invoke({ f: "write", value: ["x", 2] });
      const during = await readPages(rpc, "s5");
      world.crash("n1");
      world.crash("s5");
      world.crash("s6");
      world.heal();
      await world.sleep(2e9);
      world.restart("s5");
      world.restart("s6");
      world.restart("n1");
      let final: unknown;
      for (let i = 0; i < 10 && (final as { type?: string } | undefined)?.type !== "ok"; i++) {
        final = await client.invoke({ f: "txn", value: [["r", "x", null]] });
        await world.sleep(200e6);
      }
      await world.sleep(500e6);
      const after = await readPages(rpc, "s5");
      return { write, during, after, final };
    });
    expect(out.write.type).toBe("info");
    const during = out.during!;
    // s5 holds x = 2 in its gap-free log, but the pages stop below it.
    expect(entries(during)).toEqual(new Map([["x", 1]]));
    expect(during.endLsn).toBeGreaterThan(during.state.lsn);
    expectSound("s5", during);
    expect(out.final).toMatchObject({ type: "ok", value: [["r", "x", 1]] });
    // Recovery truncated x = 2; s5 learnt it on rejoining and had nothing to cut back.
    const after = out.after!;
    expectSound("s5", after);
    expect(after.epoch).toBeGreaterThan(1);
    expect(entries(after)).toEqual(new Map([["x", 1]]));
  });

  it("with dp-skips-gap, pages built past a truncation are cut back and rebuilt", async () => {
    const world = newWorld(6);
    // Resends come late, so the gap left by the lost messages stays open (as in cluster.test.ts).
    const system = new EngineSystem(quorum({ bugs: ["dp-skips-gap"], timing: { resendAfterNs: 5e9 } }));
    const out = await world.run(async () => {
      await system.setup(world);
      const rpc = new Rpc(world.clientRuntime("probe"));
      const first = await system.openClient(world, "c0");
      const second = await system.openClient(world, "c1");
      await first.invoke({ f: "write", value: ["x", 1] });
      // The read replica n2 is cut off too, so no copy of x = 2 outside s5 and s6 survives.
      const cut = ["s1", "s2", "s3", "s4", "n2"];
      const grudge = new Map<string, Set<string>>();
      for (const side of ["n1", "s5", "s6"]) grudge.set(side, new Set(cut));
      for (const n of cut) grudge.set(n, new Set(["n1", "s5", "s6"]));
      world.setGrudge(grudge);
      // x = 2 reaches only s5 and s6; then x = 3 reaches everyone: the buggy point skips the gap.
      void first.invoke({ f: "write", value: ["x", 2] });
      await world.sleep(5e6);
      const storageOnly = new Map<string, Set<string>>();
      for (const side of ["s5", "s6"]) storageOnly.set(side, new Set(cut));
      for (const n of cut) storageOnly.set(n, new Set(["s5", "s6"]));
      world.setGrudge(storageOnly);
      await second.invoke({ f: "write", value: ["x", 3] });
      await world.sleep(200e6);
      const before = await readPages(rpc, "s5");
      // n2 applied x = 2 and x = 3 too (below the buggy point); its restart drops its log, so the
      // recovery reads storage only: s1..s4, whose chain stops at the gap.
      for (const n of ["n1", "n2", "s5", "s6"]) world.crash(n);
      world.heal();
      await world.sleep(100e6);
      world.restart("n2");
      await world.sleep(2e9);
      for (const n of ["n1", "s5", "s6"]) world.restart(n);
      await world.sleep(1e9);
      const after = await readPages(rpc, "s5");
      const final = await readThroughWriter(world, second, ["x"]);
      return { before, after, final };
    });
    // s5 materialised x = 3 above the gap (x = 2 under it), both past what recovery kept.
    expect(entries(out.before!)).toEqual(new Map([["x", 3]]));
    const after = out.after!;
    expect(after.stats.cuts).toBeGreaterThan(0);
    expect(after.stats.lastError).toBeUndefined();
    expect(out.final).toEqual(new Map([["x", 1]]));
    expect(entries(after)).toEqual(out.final);
  });

  it("is deterministic: the same seed gives the same materialised states and figures", async () => {
    const nemesis = async (world: SimWorld): Promise<void> => {
      await world.sleep(300e6);
      world.crash("s3");
      await world.sleep(300e6);
      world.restart("s3");
    };
    const a = await runQuiet(7, nemesis, 600e6);
    const b = await runQuiet(7, nemesis, 600e6);
    expect(b.replies).toEqual(a.replies);
    expect(b.final).toEqual(a.final);
  });
});

describe("a restarting storage replica", () => {
  it("keeps an epoch it learns while it is still loading its state (fencing is never undone)", async () => {
    // Slow disk reads, so that messages arrive while the replica is still reading its state back.
    const world = new SimWorld({
      seed: 1,
      budget: { maxEvents: 1_000_000, maxVirtualTimeNs: 60e9 },
      disk: { readLatency: { minNs: 20e6, maxNs: 20e6 } },
    });
    const config = resolveConfig(quorum());
    const timeline = (epoch: number) =>
      Array.from({ length: epoch }, (_, i) => ({ epoch: i + 1, writer: "n1", startLsn: 0 }));
    const append = (epoch: number): AppendMessage => ({
      epoch,
      history: timeline(epoch),
      records: [],
      durablePoint: 0,
    });
    const epochs = await world.run(async () => {
      world.startNode("s1", (rt) => {
        const node = new StorageNode(rt, config, { role: "storage", ready: false, epoch: 0 });
        rt.spawn("start", () => node.start());
      });
      const rpc = new Rpc(world.clientRuntime("w"), { defaultTimeoutNs: 1e9 });
      await world.sleep(500e6);
      rpc.notify("s1", "append", append(3));
      await world.sleep(500e6);
      const before = ((await rpc.request("s1", "barrier", {})) as { epoch: number }).epoch;
      world.crash("s1");
      world.restart("s1");
      await world.sleep(1e6); // the restart is reading its meta back now
      rpc.notify("s1", "append", append(5));
      await world.sleep(1e9);
      const after = ((await rpc.request("s1", "barrier", {})) as { epoch: number }).epoch;
      return { before, after };
    });
    expect(epochs).toEqual({ before: 3, after: 5 });
  });
});

describe("a storage replica whose disk keeps failing at load", () => {
  it("retries a bounded number of times, gives up deaf while the others commit, and loads again once restarted", async () => {
    const lines: string[] = [];
    const world = new SimWorld({
      seed: 5,
      budget: { maxEvents: 20_000_000, maxVirtualTimeNs: 600e9 },
      endpointLog: (endpoint, _timeNs, line) => {
        if (endpoint === "s1") lines.push(line);
      },
    });
    const system = new EngineSystem({
      replication: "quorum",
      isolation: "serializable",
      nodes: 8,
      readFrom: "writer",
      leases: false,
      bugs: [],
    });
    const outcome = await world.run(async () => {
      await system.setup(world);
      const client = await system.openClient(world, "c0");
      // s1 loses its segment file and restarts on a full disk: it cannot even create the file.
      world.crash("s1");
      world.diskOf("s1").remove("segment");
      world.diskOf("s1").fsyncDir();
      world.setDiskFaults("s1", { full: true });
      world.restart("s1");
      // While it still tries, it refuses (rather than answer from the state it has not loaded).
      await world.sleep(2e9);
      const probe = new Rpc(world.clientRuntime("probe"));
      const readLog = () =>
        probe.request("s1", "read-log", { fromLsn: 0, toLsn: 1e9, maxCount: 10 }, 1e9).then(
          () => "answered",
          (error: unknown) => (error instanceof Error ? error.name : String(error)),
        );
      const askedWhileTrying = await readLog();
      const acked: number[] = [];
      for (let i = 0; i < 400; i++) {
        if ((await client.invoke({ f: "write", value: ["x", i] })).type === "ok") acked.push(i);
        await world.sleep(100e6);
      }
      const gaveUp = lines.filter((l) => l.includes("could not load") && l.includes("giving up")).length;
      const attempts = lines.filter((l) => l.includes("could not load")).length;
      // Deaf once it gave up: asked for its log, it answers nothing (not an empty log).
      const asked = await readLog();
      const healedAt = lines.length;
      world.setDiskFaults("s1", {});
      world.crash("s1");
      world.restart("s1");
      await world.sleep(3e9);
      return {
        acked,
        gaveUp,
        attempts,
        asked,
        askedWhileTrying,
        reopened: lines.slice(healedAt).some((l) => l.includes("opened at epoch")),
      };
    });
    expect(outcome.gaveUp).toBe(1);
    expect(outcome.attempts).toBe(reopenMaxAttempts);
    // Five replicas of six are enough for a write quorum of four: the cluster kept committing.
    expect(outcome.acked.length).toBeGreaterThan(300);
    expect(outcome.askedWhileTrying).toBe("RpcRemoteError");
    expect(outcome.asked).toBe("RpcTimeoutError");
    expect(outcome.reopened).toBe(true);
  });
});

describe("a storage replica's gossip", () => {
  it("asks every 20 ms while it holds records past a gap, and ten times less often otherwise", async () => {
    const world = newWorld(1);
    const config = resolveConfig(quorum());
    const commit = (lsn: number, prevLsn: number): WalRecord =>
      Object.freeze({
        kind: "commit",
        xid: 1,
        txnPrevLsn: 0,
        lsn,
        prevLsn,
        sizeBytes: 10,
      }) as unknown as WalRecord;
    const append = (records: WalRecord[]): AppendMessage => ({
      epoch: 1,
      history: [{ epoch: 1, writer: "n1", startLsn: 0 }],
      records,
      durablePoint: 0,
    });
    const counts = await world.run(async () => {
      const asked: number[] = [];
      for (const peer of storage.slice(1)) {
        world.clientRuntime(peer).net.onMessage((_from, message) => {
          if ((message as { type?: string }).type === "gossip") asked.push(world.nowNs());
        });
      }
      world.startNode("s1", (rt) => {
        const node = new StorageNode(rt, config, { role: "storage", ready: false, epoch: 0 });
        rt.spawn("start", () => node.start());
      });
      const writer = new Rpc(world.clientRuntime("n1"), { defaultTimeoutNs: 1e9 });
      const askedWithin = async (durationNs: number): Promise<number> => {
        const from = asked.length;
        await world.sleep(durationNs);
        return asked.length - from;
      };
      await world.sleep(100e6);
      const idle = await askedWithin(2e9);
      // Records 10 and 20 without record 0: a gap, which peers may fill.
      writer.notify("s1", "append", append([commit(10, 0), commit(20, 10)]));
      const gap = await askedWithin(1e9);
      writer.notify("s1", "append", append([commit(0, -1)]));
      await world.sleep(100e6);
      const filled = await askedWithin(2e9);
      return { idle, gap, filled };
    });
    // Every 200 ms when it knows of no gap; every 20 ms while it does (old code: every 20 ms always).
    expect(counts.idle).toBeGreaterThanOrEqual(9);
    expect(counts.idle).toBeLessThanOrEqual(11);
    expect(counts.gap).toBeGreaterThanOrEqual(45);
    expect(counts.filled).toBeLessThanOrEqual(11);
  });
});
