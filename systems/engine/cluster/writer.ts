/**
 * The writer's side of replication: it ships its log to every follower, counts their
 * acknowledgements, and decides when an answer may leave.
 *
 * One position decides, the confirmed point (../README.md's glossary): the end below which every
 * record is confirmed under the mode's durability rule.
 * - async: the writer's own fsynced end; shipping happens in the background.
 * - sync: the count-th highest acked end of the standbys (FIRST n: of the n highest-priority ones
 *   connected now; ANY n: of all), capped by its own fsynced end.
 * - quorum: the durable point: the end of the longest prefix of the log every record of which
 *   reached Vw storage replicas (bug `dp-skips-gap`: it jumps over records that did not).
 * A commit is answered `ok` once the confirmed point passes its commit end, a read once it passes
 * the newest commit end of the keys it read (then, in sync and quorum, after a barrier: enough
 * followers still at this epoch that no new writer can exist, skipped while a lease holds).
 *
 * A `Writer` lives from a promotion to the next; after a step-down its pending answers resolve
 * `false` and its loops end (they run while the node's writer generation is theirs).
 */
import type { Rpc } from "../../../harness/runtime/rpc.ts";
import type { Runtime } from "../../../harness/runtime/types.ts";
import type { Database } from "../database.ts";
import type { WalRecord } from "../wal.ts";
import type { ResolvedConfig } from "./config.ts";
import { gather, type AppendedMessage, type AppendMessage } from "./protocol.ts";
import type { History } from "./timeline.ts";

/** What the writer reads of its node, live (the node's state changes under it). */
export interface WriterNode {
  db(): Database | undefined;
  epoch(): number;
  history(): History;
  isWriter(): boolean;
  /** Bumped at each promotion and step-down. */
  writerGeneration(): number;
}

interface Follower {
  readonly name: string;
  readonly kind: "standby" | "storage" | "replica";
  /** The end of what was shipped to it. */
  sentEnd: number;
  /** The end it last acknowledged holding. */
  ackedEnd: number;
  lastSendNs: number;
  lastProgressNs: number;
  lastAckNs: number;
}

interface Waiter {
  readonly target: number;
  readonly resolve: (confirmed: boolean) => void;
  readonly cancel: () => void;
}

const maxBatchRecords = 200;
const maxWaiters = 10_000;

export class Writer {
  private readonly followers: Map<string, Follower>;
  /** The followers that are storage replicas (quorum), asked at every acknowledgement. */
  private readonly storageFollowers: readonly Follower[];
  private waiters: Waiter[] = [];
  /** The commit end of the newest commit appended to the log (the start of its epoch at first). */
  lastCommitEnd: number;
  /** Quorum: the durable point. */
  private durablePoint = 0;
  /** Quorum: for each record at or above the durable point, the storage replicas that stored it. */
  private readonly ackedBy = new Map<number, Set<string>>();
  private leaseUntilMonoNs = -Infinity;
  private leaseUntilWallNs = -Infinity;

  constructor(
    private readonly rt: Runtime,
    private readonly config: ResolvedConfig,
    private readonly rpc: Rpc,
    private readonly node: WriterNode,
    startLsn: number,
    private readonly generation: number,
  ) {
    const { topology, mode } = config;
    const names =
      mode === "quorum"
        ? [...topology.storageNodes, ...topology.dataNodes.filter((n) => n !== rt.name)]
        : topology.dataNodes.filter((n) => n !== rt.name);
    const now = rt.clock.monotonicNs();
    this.followers = new Map(
      names.map((name) => [
        name,
        {
          name,
          kind: topology.storageNodes.includes(name) ? "storage" : mode === "quorum" ? "replica" : "standby",
          sentEnd: startLsn,
          ackedEnd: 0,
          lastSendNs: -Infinity,
          lastProgressNs: now,
          lastAckNs: -Infinity,
        } satisfies Follower,
      ]),
    );
    this.lastCommitEnd = startLsn;
    this.storageFollowers = [...this.followers.values()].filter((f) => f.kind === "storage");
  }

  private get mode(): ResolvedConfig["mode"] {
    return this.config.mode;
  }

  private stillMine(): boolean {
    return this.node.writerGeneration() === this.generation;
  }

  /** Starts the shipping loop (and the lease loop) for as long as this writer lasts. */
  start(): void {
    this.rt.spawn("shipper", async () => {
      while (this.stillMine()) {
        this.ship();
        this.resolveWaiters();
        const { shipIntervalNs, quorumShipIntervalNs } = this.config.timing;
        await this.rt.clock.sleep(this.mode === "quorum" ? quorumShipIntervalNs : shipIntervalNs);
      }
    });
    if (this.config.leases) {
      this.rt.spawn("lease", async () => {
        while (this.stillMine()) {
          await this.renewLease();
          await this.rt.clock.sleep(this.config.timing.leaseNs / 4);
        }
      });
    }
  }

  /** A commit record was appended: quorum ships it at once (storage needs no local fsync first). */
  committed(commitEnd: number): void {
    this.lastCommitEnd = commitEnd;
    if (this.mode === "quorum") this.rt.spawn("ship", async () => this.ship());
  }

  /** The writer stepped down: every pending answer resolves `false`; returns how many there were. */
  stepDown(): number {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      w.cancel();
      w.resolve(false);
    }
    return waiters.length;
  }

  get pendingAnswers(): number {
    return this.waiters.length;
  }

  // ------------------------------------------------------------------ shipping

  /** Sends each follower the log it has not been sent (or resends what it did not confirm). */
  ship(): void {
    const db = this.node.db();
    if (!this.node.isWriter() || db === undefined) return;
    const now = this.rt.clock.monotonicNs();
    const { resendAfterNs } = this.config.timing;
    // Quorum ships before the local fsync; async and sync ship only what is fsynced here.
    const available = this.mode === "quorum" ? db.wal.endLsn : db.wal.fsyncedEnd;
    // Followers sent up to the same point get the same batch: one array, frozen when its records
    // are (the simulated network then shares it with all of them instead of copying it for each).
    const batches = new Map<number, readonly WalRecord[]>();
    for (const f of this.followers.values()) {
      if (f.ackedEnd < f.sentEnd && now - f.lastProgressNs > resendAfterNs) {
        f.sentEnd = f.ackedEnd;
        f.lastProgressNs = now;
      }
      let records: readonly WalRecord[] = [];
      if (f.sentEnd < available) {
        let batch = batches.get(f.sentEnd);
        if (batch === undefined) {
          const fresh = db.walRecordsFrom(f.sentEnd, maxBatchRecords, this.mode !== "quorum");
          batch = fresh.every((r) => Object.isFrozen(r)) ? Object.freeze(fresh) : fresh;
          batches.set(f.sentEnd, batch);
        }
        records = batch;
        if (records.length > 0 && records[0]!.lsn !== f.sentEnd) {
          f.sentEnd = f.ackedEnd;
          records = [];
        }
      }
      if (records.length === 0 && now - f.lastSendNs < resendAfterNs) continue;
      const message: AppendMessage = {
        epoch: this.node.epoch(),
        history: this.node.history(),
        records,
        durablePoint: this.durablePoint,
      };
      this.rpc.notify(f.name, "append", message);
      f.lastSendNs = now;
      const last = records.at(-1);
      if (last !== undefined) f.sentEnd = last.lsn + last.sizeBytes;
    }
  }

  /** A follower at this writer's epoch acknowledged: move its ends, then the points, then answer. */
  onAppended(body: AppendedMessage, from: string): void {
    const f = this.followers.get(from);
    if (f === undefined) return;
    const now = this.rt.clock.monotonicNs();
    f.lastAckNs = now;
    if (body.ackedEnd > f.ackedEnd) f.lastProgressNs = now;
    f.ackedEnd = body.ackedEnd;
    if (body.gap === true || body.ackedEnd > f.sentEnd) f.sentEnd = body.ackedEnd;
    if (f.kind === "storage") {
      for (const lsn of body.stored ?? []) {
        if (lsn < this.durablePoint) continue;
        let set = this.ackedBy.get(lsn);
        if (set === undefined) this.ackedBy.set(lsn, (set = new Set()));
        set.add(from);
      }
      this.advanceDurablePoint();
    }
    this.resolveWaiters();
  }

  /**
   * Quorum: the durable point moves over records that reached Vw storage replicas, in log order,
   * stopping at the first that did not (bug dp-skips-gap: it jumps to the last that did).
   */
  private advanceDurablePoint(): void {
    const db = this.node.db();
    if (db === undefined) return;
    const storage = this.storageFollowers;
    const holders = (r: WalRecord): number => {
      const set = this.ackedBy.get(r.lsn);
      let n = 0;
      for (const f of storage) if (f.ackedEnd > r.lsn || set?.has(f.name) === true) n++;
      return n;
    };
    let dp = this.durablePoint;
    for (const r of db.walRecordsFrom(dp, undefined, false)) {
      if (holders(r) >= this.config.quorum.write) dp = r.lsn + r.sizeBytes;
      else if (!this.config.bugs.has("dp-skips-gap")) break;
    }
    if (dp > this.durablePoint) {
      this.durablePoint = dp;
      for (const lsn of [...this.ackedBy.keys()]) if (lsn < dp) this.ackedBy.delete(lsn);
    }
  }

  // ------------------------------------------------------------------ answering

  /** The confirmed point: the end below which everything is committed under the mode's rule. */
  private confirmedPoint(): number {
    const db = this.node.db();
    if (db === undefined || !this.node.isWriter()) return 0;
    if (this.mode === "async") return db.wal.fsyncedEnd;
    if (this.mode === "quorum") return this.durablePoint;
    const { method, count } = this.config.syncStandbys;
    const standbys = [...this.followers.values()];
    let ends: number[];
    if (method === "any") ends = standbys.map((f) => f.ackedEnd).sort((a, b) => b - a);
    else {
      // FIRST n: the n highest-priority (name order) standbys that are connected now.
      const recent = this.rt.clock.monotonicNs() - this.config.timing.failoverAfterNs;
      const connected = standbys.filter((f) => f.lastAckNs >= recent).slice(0, count);
      ends = connected.map((f) => f.ackedEnd).sort((a, b) => b - a);
    }
    if (ends.length < count) return 0;
    return Math.min(ends[count - 1]!, db.wal.fsyncedEnd);
  }

  private resolveWaiters(): void {
    if (this.waiters.length === 0) return;
    const point = this.confirmedPoint();
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.target <= point) {
        w.cancel();
        w.resolve(true);
      } else still.push(w);
    }
    this.waiters = still;
  }

  /** Waits until the confirmed point reaches `target`; false on timeout or deposition. */
  waitConfirmed(target: number): Promise<boolean> {
    if (this.confirmedPoint() >= target) return Promise.resolve(true);
    if (this.waiters.length >= maxWaiters) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        target,
        resolve,
        cancel: this.rt.clock.setTimer(this.config.timing.commitTimeoutNs, () => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(false);
        }),
      };
      this.waiters.push(waiter);
    });
  }

  /** Sync/quorum: confirms that enough followers are still at this writer's epoch. */
  async barrier(): Promise<boolean> {
    if (this.mode === "async" || this.leaseHeld()) return true;
    const epoch = this.node.epoch();
    const targets = [...this.followers.values()].filter((f) => f.kind !== "replica").map((f) => f.name);
    const need = this.mode === "quorum" ? this.config.quorum.read : this.config.syncStandbys.count;
    try {
      const replies = await gather(
        targets.map((t) => this.rpc.request(t, "barrier", { epoch }, this.config.timing.commitTimeoutNs)),
        need,
        (r) => (r as { epoch: number }).epoch === epoch,
      );
      return replies.length >= need && this.node.epoch() === epoch && this.node.isWriter();
    } catch {
      return false;
    }
  }

  // ------------------------------------------------------------------ leases

  private async renewLease(): Promise<void> {
    const sentMono = this.rt.clock.monotonicNs();
    try {
      const reply = (await this.rpc.request(
        this.config.topology.control,
        "lease",
        { epoch: this.node.epoch() },
        this.config.timing.leaseNs / 2,
      )) as { granted: boolean; grantWallNs: number };
      if (!reply.granted || !this.stillMine()) return;
      const { leaseNs, leaseDriftBoundPpm } = this.config.timing;
      // Counted from before the request left, shortened by the drift bound: safe on our own clock.
      this.leaseUntilMonoNs = sentMono + leaseNs * (1 - leaseDriftBoundPpm * 1e-6);
      this.leaseUntilWallNs = reply.grantWallNs + leaseNs;
    } catch {
      // No grant: the lease runs out on its own.
    }
  }

  private leaseHeld(): boolean {
    if (!this.config.leases) return false;
    if (this.config.bugs.has("lease-ignores-skew")) return this.rt.clock.nowNs() < this.leaseUntilWallNs;
    return this.rt.clock.monotonicNs() < this.leaseUntilMonoNs;
  }
}
