/**
 * A data node: one engine `Database` plus the replication protocol around it. It is either the
 * writer (runs transactions, ships its log to every follower, acknowledges a commit under the
 * mode's durability rule) or a follower: a standby (async/sync: applies the shipped log at once)
 * or a read replica (quorum: applies the stream only below the durable point it was told).
 *
 * - async: ok after the local fsync; shipping happens in the background.
 * - sync: ok once the required standbys (FIRST n / ANY n) confirmed durable receipt of the commit.
 * - quorum: ok once the durable point (advanced by the storage replicas' acknowledgements, over a
 *   gap-free prefix only) passes the commit.
 *
 * Reads on the writer (and refusals such as cas-mismatch, which report what they read) wait until
 * the newest commit to the keys they read is confirmed the same way, and (sync, quorum) for a
 * barrier: enough followers still at the writer's epoch that no new writer can exist (skipped
 * while a lease holds). Serializable reads on a follower are refused, as on a hot standby. A follower rejects log of an older epoch, which
 * is the fencing that stops a deposed writer; on a newer epoch it cuts its log per the timeline.
 */
import { Rpc } from "../../../harness/runtime/rpc.ts";
import type { Runtime } from "../../../harness/runtime/types.ts";
import type { Completion, Invocation } from "../../../harness/system.ts";
import { Database } from "../database.ts";
import type { WalRecord } from "../wal.ts";
import type { NodeRole, ResolvedConfig } from "./config.ts";
import { answerDependsOnReads, executeOn, isReadOnly, keysReadBy } from "./ops.ts";
import {
  cutPoint,
  newerHistory,
  readJsonFile,
  SerialQueue,
  superseded,
  writeJsonFile,
  type History,
  type NodeMeta,
} from "./timeline.ts";

/** What nodes publish for the harness's node-control view (never read by node logic). */
export interface NodeBoard {
  role: NodeRole;
  ready: boolean;
  epoch: number;
}

export interface AppendMessage {
  readonly epoch: number;
  readonly history: History;
  readonly records: readonly WalRecord[];
  /** Quorum: the writer's durable point. */
  readonly durablePoint: number;
}

export interface AppendedMessage {
  readonly epoch: number;
  readonly end: number;
  readonly gap?: boolean;
  readonly rejected?: boolean;
  /** Storage: LSNs of the records of this batch it holds durably. */
  readonly stored?: readonly number[];
}

interface Follower {
  readonly name: string;
  readonly kind: "standby" | "storage" | "replica";
  sentEnd: number;
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

const metaFile = "cluster-meta";
const maxBatchRecords = 200;
const maxWaiters = 10_000;
const maxPendingRecords = 20_000;
const maxHops = 100;
const maxRecentOps = 10_000;
/** Longer than one engine background pass takes (its interval is 10 ms). */
const backgroundSettleNs = 50e6;
const maxRejectionsLogged = 1_000;

export class DataNode {
  private readonly rpc: Rpc;
  private db: Database | undefined;
  private meta: NodeMeta = { epoch: 0, logEpoch: 0 };
  private role: "writer" | "follower" = "follower";
  private history: History = [];
  private knownWriter: string | undefined;
  private readonly serial = new SerialQueue(256);
  /** Deposed writers' log already logged as rejected, as `node@epoch`. */
  private readonly rejectedLogged = new Set<string>();
  private readonly metaQueue = new SerialQueue(1024);
  // writer state
  private writerGeneration = 0;
  private followers = new Map<string, Follower>();
  private waiters: Waiter[] = [];
  private lastCommitEnd = 0;
  private durablePoint = 0;
  private readonly ackedBy = new Map<number, Set<string>>();
  private leaseUntilMonoNs = -Infinity;
  private leaseUntilWallNs = -Infinity;
  // read-replica state (quorum)
  private readonly pending = new Map<number, WalRecord>();
  /** Results of recent client requests by id, so a duplicated request is not run twice. */
  private readonly recentOps = new Map<string, Promise<OpReply>>();
  private toldDurablePoint = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly config: ResolvedConfig,
    private readonly board: NodeBoard,
  ) {
    this.rpc = new Rpc(rt, { defaultTimeoutNs: config.timing.commitTimeoutNs });
    this.board.ready = false;
    this.board.role = this.followerRole;
    this.rpc.handle("hb", (body) => this.onHeartbeat(body as HeartbeatMessage));
    this.rpc.handle("fence", (body) => this.onFence(body as { epoch: number }));
    this.rpc.handle("promote", (body) => this.onPromote(body as { epoch: number; history: History }));
    this.rpc.handle("append", (body, from) => this.onAppend(body as AppendMessage, from));
    this.rpc.handle("appended", (body, from) => this.onAppended(body as AppendedMessage, from));
    this.rpc.handle("barrier", () => ({ epoch: this.meta.epoch }));
    this.rpc.handle("op", (body) => {
      const request = body as OpRequest;
      // The network may deliver a request twice: run it once, answer both with the same result.
      const seen = this.recentOps.get(request.requestId);
      if (seen !== undefined) return seen;
      const result = this.onOp(request);
      this.recentOps.set(request.requestId, result);
      if (this.recentOps.size > maxRecentOps) this.recentOps.delete(this.recentOps.keys().next().value!);
      return result;
    });
  }

  private get mode(): ResolvedConfig["mode"] {
    return this.config.mode;
  }
  private get followerRole(): NodeRole {
    return this.mode === "quorum" ? "replica" : "standby";
  }
  private get bug(): ReadonlySet<string> {
    return this.config.bugs;
  }

  /** Opens the node: recovers its meta and database; the very first writer starts epoch 1. */
  async start(): Promise<void> {
    const { topology } = this.config;
    const saved = (await readJsonFile(this.rt.disk, metaFile)) as NodeMeta | undefined;
    if (saved === undefined && this.rt.name === topology.initialWriter) {
      this.meta = { epoch: 1, logEpoch: 1 };
      await this.saveMeta();
      this.db = await this.openDatabase("primary");
      this.history = [{ epoch: 1, writer: this.rt.name, startLsn: 0 }];
      this.becomeWriter(0);
    } else {
      this.meta = saved ?? { epoch: 0, logEpoch: 0 };
      // A quorum compute node keeps no log of its own worth trusting: it rebuilds from the stream.
      if (this.mode === "quorum") await Database.removeFiles(this.rt.disk);
      // A standalone server recovers as a primary (redo and undo of its own log, as PostgreSQL's
      // crash recovery) and serves once cp promotes it again; no stream could end its losers.
      this.db = await this.openDatabase(topology.standalone ? "primary" : "replica");
    }
    this.rt.log(
      `opened at epoch ${this.meta.epoch} (log epoch ${this.meta.logEpoch}) as ${this.role === "writer" ? "the first writer" : this.followerRole}; ${describeRecovery(this.db)}`,
    );
    this.board.epoch = this.meta.epoch;
    this.board.ready = true;
  }

  private async openDatabase(role: "primary" | "replica"): Promise<Database> {
    const db = await Database.open(this.rt, { isolation: this.config.isolation, bugs: this.bug, role });
    db.retainWalFrom(0);
    db.wal.onAppend((record) => {
      if (this.db !== db || record.kind !== "commit") return;
      this.lastCommitEnd = record.lsn + record.sizeBytes;
      // Quorum: storage needs no local fsync first, so ship the commit at once.
      if (this.mode === "quorum" && this.role === "writer") this.rt.spawn("ship", async () => this.ship());
    });
    return db;
  }

  private async saveMeta(): Promise<void> {
    const meta = this.meta;
    this.board.epoch = meta.epoch;
    await this.metaQueue.run(() => writeJsonFile(this.rt.disk, metaFile, meta));
  }

  private async adoptEpoch(epoch: number): Promise<void> {
    if (epoch <= this.meta.epoch) return;
    this.rt.log(`adopted epoch ${epoch} (was ${this.meta.epoch})`);
    this.meta = { ...this.meta, epoch };
    if (this.role === "writer") this.stepDown();
    await this.saveMeta();
  }

  // ------------------------------------------------------------------ control plane

  private async onHeartbeat(body: HeartbeatMessage): Promise<HeartbeatReply> {
    if (body.epoch >= this.meta.epoch) {
      this.history = newerHistory(this.history, body.history);
      if (body.writer !== undefined) this.knownWriter = body.writer;
    }
    if (body.epoch > this.meta.epoch && this.role === "writer") this.stepDown();
    return this.report();
  }

  private report(): HeartbeatReply {
    const db = this.db;
    const logEnd = db === undefined ? 0 : this.mode === "quorum" ? db.wal.endLsn : db.wal.durableEnd;
    return {
      epoch: this.meta.epoch,
      logEpoch: this.meta.logEpoch,
      logEnd,
      role: this.role === "writer" ? "writer" : this.followerRole,
      ready: db !== undefined,
    };
  }

  private async onFence(body: { epoch: number }): Promise<HeartbeatReply> {
    await this.adoptEpoch(body.epoch);
    return this.report();
  }

  private async onPromote(body: { epoch: number; history: History }): Promise<{ startLsn: number }> {
    const result = await this.serial.run(async () => {
      if (body.epoch < this.meta.epoch) throw new Error(`stale promotion to epoch ${body.epoch}`);
      // A duplicated promotion message: already done.
      const mine = this.history.at(-1);
      if (this.role === "writer" && mine?.epoch === body.epoch && mine.writer === this.rt.name) {
        return { startLsn: mine.startLsn };
      }
      if (this.role === "writer") this.stepDown();
      await this.adoptEpoch(body.epoch);
      this.history = newerHistory(this.history, body.history);
      const startLsn =
        this.mode === "quorum" ? await this.recoverFromStorage(body.epoch) : await this.alignForPromotion();
      const db = this.db;
      if (db === undefined) throw new Error("no database");
      await db.promote();
      this.meta = { epoch: body.epoch, logEpoch: body.epoch };
      await this.saveMeta();
      this.history = [...this.history, { epoch: body.epoch, writer: this.rt.name, startLsn }];
      this.rt.log(
        `promoted: writer at epoch ${body.epoch}, its log starts at lsn ${startLsn}${this.mode === "quorum" ? " (the end of the gap-free chain a storage quorum holds; everything above is truncated)" : ""}`,
      );
      this.becomeWriter(startLsn);
      return { startLsn };
    });
    if (result === undefined) throw new Error("node busy");
    return result;
  }

  /** async/sync: cut the own log where the timeline says it diverged; its end is the new start. */
  private async alignForPromotion(): Promise<number> {
    // Standalone: the own log is the only one, never cut; the primary database already recovered.
    if (this.config.topology.standalone && this.db !== undefined) return this.db.wal.endLsn;
    const cut = cutPoint(this.history, this.meta.logEpoch);
    if (
      this.db === undefined ||
      this.db.isReplica === false ||
      (cut !== undefined && this.db.wal.endLsn > cut)
    ) {
      await this.reopenCut(cut ?? this.db?.wal.endLsn ?? 0);
    }
    return this.db!.wal.endLsn;
  }

  /**
   * quorum: fence a write quorum of storage replicas at the new epoch, read what they hold above
   * the local log, find the end of the gap-free chain (every acknowledged commit lies below it:
   * a read quorum meets every write quorum), fetch the records up to it and stop there. Records
   * above are truncated: the storage replicas drop them when they learn the new epoch's start.
   */
  private async recoverFromStorage(epoch: number): Promise<number> {
    const { storageNodes } = this.config.topology;
    const { write, read } = this.config.quorum;
    // Trust the own log only below the durable point this node was told (and never a writer's log).
    const db = this.db;
    if (db === undefined || !db.isReplica || db.wal.endLsn > this.toldDurablePoint) await this.reopenCut(0);
    const fromLsn = this.db!.wal.endLsn;
    const replies = await gather(
      storageNodes.map((s) =>
        this.rpc.request(
          s,
          "recover",
          { epoch, history: this.history, fromLsn },
          this.config.timing.commitTimeoutNs,
        ),
      ),
      Math.max(write, read),
    );
    if (replies.length < Math.max(write, read)) {
      throw new Error(`reached ${replies.length} storage replicas, need ${Math.max(write, read)}`);
    }
    const chain = new Map<number, { rec: RecordMeta; epoch: number }>();
    for (const reply of replies) {
      const r = reply as { epoch: number; records: [number, number, number, number][] };
      if (r.epoch > epoch) throw new Error(`storage is at epoch ${r.epoch} > ${epoch}`);
      for (const [lsn, prevLsn, sizeBytes, recEpoch] of r.records) {
        if (superseded(this.history, recEpoch, lsn)) continue;
        const have = chain.get(lsn);
        if (have === undefined || have.epoch < recEpoch)
          chain.set(lsn, { rec: { lsn, prevLsn, sizeBytes }, epoch: recEpoch });
      }
    }
    let end = fromLsn;
    let prev = this.db!.wal.lastLsn;
    for (let steps = 0; steps < 10_000_000; steps++) {
      const next = chain.get(end);
      if (next === undefined || next.rec.prevLsn !== prev) break;
      prev = end;
      end += next.rec.sizeBytes;
    }
    for (let round = 0; this.db!.wal.endLsn < end && round < maxHops; round++) {
      const source = storageNodes[round % storageNodes.length]!;
      let records: WalRecord[];
      try {
        records = (await this.rpc.request(
          source,
          "read-log",
          { fromLsn: this.db!.wal.endLsn, toLsn: end, maxCount: 500 },
          this.config.timing.commitTimeoutNs,
        )) as WalRecord[];
      } catch {
        continue;
      }
      const usable = records.filter((r) => r.lsn >= this.db!.wal.endLsn && r.lsn + r.sizeBytes <= end);
      if (usable.length > 0 && usable[0]!.lsn === this.db!.wal.endLsn) await this.db!.applyShipped(usable);
    }
    if (this.db!.wal.endLsn !== end) throw new Error(`could not fetch the log up to ${end}`);
    return end;
  }

  /** Closes the database, cuts its log below `cut` (quorum: drops it all) and reopens it as a follower. */
  private async reopenCut(cut: number): Promise<void> {
    const old = this.db;
    this.db = undefined;
    this.board.ready = false;
    if (old !== undefined) {
      await old.close();
      // Let a background pass already under way (page flush, checkpoint) finish before cutting.
      await this.rt.clock.sleep(backgroundSettleNs);
    }
    if (this.mode === "quorum") await Database.removeFiles(this.rt.disk);
    else await Database.truncateAbove(this.rt.disk, cut - 1);
    this.rt.log(
      this.mode === "quorum"
        ? "dropped the local log; rebuilding from the writer's stream"
        : `cut the log at lsn ${cut}, reopening as a follower`,
    );
    this.pending.clear();
    this.db = await this.openDatabase("replica");
    this.board.ready = true;
  }

  // ------------------------------------------------------------------ writer

  private becomeWriter(startLsn: number): void {
    this.role = "writer";
    this.board.role = "writer";
    this.knownWriter = this.rt.name;
    const generation = ++this.writerGeneration;
    const { topology } = this.config;
    const names =
      this.mode === "quorum"
        ? [...topology.storageNodes, ...topology.dataNodes.filter((n) => n !== this.rt.name)]
        : topology.dataNodes.filter((n) => n !== this.rt.name);
    const now = this.rt.clock.monotonicNs();
    this.followers = new Map(
      names.map((name) => [
        name,
        {
          name,
          kind: topology.storageNodes.includes(name)
            ? "storage"
            : this.mode === "quorum"
              ? "replica"
              : "standby",
          sentEnd: startLsn,
          ackedEnd: 0,
          lastSendNs: -Infinity,
          lastProgressNs: now,
          lastAckNs: -Infinity,
        } satisfies Follower,
      ]),
    );
    this.lastCommitEnd = startLsn;
    this.durablePoint = 0;
    this.ackedBy.clear();
    this.leaseUntilMonoNs = -Infinity;
    this.leaseUntilWallNs = -Infinity;
    this.rt.spawn("shipper", async () => {
      while (this.writerGeneration === generation) {
        this.ship();
        this.resolveWaiters();
        await this.rt.clock.sleep(this.config.timing.shipIntervalNs);
      }
    });
    if (this.config.leases) {
      this.rt.spawn("lease", async () => {
        while (this.writerGeneration === generation) {
          await this.renewLease(generation);
          await this.rt.clock.sleep(this.config.timing.leaseNs / 4);
        }
      });
    }
  }

  private stepDown(): void {
    if (this.role !== "writer") return;
    this.rt.log(
      `stepped down (writer at epoch ${this.meta.epoch}); ${this.waiters.length} pending commits answered info`,
    );
    this.role = "follower";
    this.board.role = this.followerRole;
    this.writerGeneration++;
    this.knownWriter = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      w.cancel();
      w.resolve(false);
    }
  }

  private async renewLease(generation: number): Promise<void> {
    const sentMono = this.rt.clock.monotonicNs();
    try {
      const reply = (await this.rpc.request(
        this.config.topology.control,
        "lease",
        { epoch: this.meta.epoch },
        this.config.timing.leaseNs / 2,
      )) as { granted: boolean; grantWallNs: number };
      if (!reply.granted || this.writerGeneration !== generation) return;
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
    if (this.bug.has("lease-ignores-skew")) return this.rt.clock.nowNs() < this.leaseUntilWallNs;
    return this.rt.clock.monotonicNs() < this.leaseUntilMonoNs;
  }

  /** Sends each follower the log it has not been sent (or resends what it did not confirm). */
  private ship(): void {
    const db = this.db;
    if (this.role !== "writer" || db === undefined) return;
    const now = this.rt.clock.monotonicNs();
    const { resendAfterNs } = this.config.timing;
    const available = this.mode === "quorum" ? db.wal.endLsn : db.wal.durableEnd;
    for (const f of this.followers.values()) {
      if (f.ackedEnd < f.sentEnd && now - f.lastProgressNs > resendAfterNs) {
        f.sentEnd = f.ackedEnd;
        f.lastProgressNs = now;
      }
      let records: WalRecord[] = [];
      if (f.sentEnd < available) {
        records = db.walRecordsFrom(f.sentEnd, maxBatchRecords, this.mode !== "quorum");
        if (records.length > 0 && records[0]!.lsn !== f.sentEnd) {
          f.sentEnd = f.ackedEnd;
          records = [];
        }
      }
      if (records.length === 0 && now - f.lastSendNs < resendAfterNs) continue;
      const message: AppendMessage = {
        epoch: this.meta.epoch,
        history: this.history,
        records,
        durablePoint: this.durablePoint,
      };
      this.rpc.notify(f.name, "append", message);
      f.lastSendNs = now;
      const last = records.at(-1);
      if (last !== undefined) f.sentEnd = last.lsn + last.sizeBytes;
    }
  }

  private onAppended(body: AppendedMessage, from: string): void {
    if (body.epoch > this.meta.epoch) {
      void this.adoptEpoch(body.epoch);
      return;
    }
    const f = this.followers.get(from);
    if (this.role !== "writer" || f === undefined || body.epoch < this.meta.epoch) return;
    const now = this.rt.clock.monotonicNs();
    f.lastAckNs = now;
    if (body.end > f.ackedEnd) f.lastProgressNs = now;
    f.ackedEnd = body.end;
    if (body.gap === true || body.end > f.sentEnd) f.sentEnd = body.end;
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
    const db = this.db;
    if (db === undefined) return;
    const storage = [...this.followers.values()].filter((f) => f.kind === "storage");
    const holders = (r: WalRecord): number => {
      const set = this.ackedBy.get(r.lsn);
      let n = 0;
      for (const f of storage) if (f.ackedEnd > r.lsn || set?.has(f.name) === true) n++;
      return n;
    };
    let dp = this.durablePoint;
    for (const r of db.walRecordsFrom(dp, undefined, false)) {
      if (holders(r) >= this.config.quorum.write) dp = r.lsn + r.sizeBytes;
      else if (!this.bug.has("dp-skips-gap")) break;
    }
    if (dp > this.durablePoint) {
      this.durablePoint = dp;
      for (const lsn of [...this.ackedBy.keys()]) if (lsn < dp) this.ackedBy.delete(lsn);
    }
  }

  /** The log position below which everything is committed under the mode's durability rule. */
  private confirmedPoint(): number {
    const db = this.db;
    if (db === undefined || this.role !== "writer") return 0;
    if (this.mode === "async") return db.wal.durableEnd;
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
    return Math.min(ends[count - 1]!, db.wal.durableEnd);
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
  private waitConfirmed(target: number): Promise<boolean> {
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
  private async barrier(): Promise<boolean> {
    if (this.mode === "async" || this.leaseHeld()) return true;
    const epoch = this.meta.epoch;
    const targets = [...this.followers.values()].filter((f) => f.kind !== "replica").map((f) => f.name);
    const need = this.mode === "quorum" ? this.config.quorum.read : this.config.syncStandbys.count;
    try {
      const replies = await gather(
        targets.map((t) => this.rpc.request(t, "barrier", { epoch }, this.config.timing.commitTimeoutNs)),
        need,
        (r) => (r as { epoch: number }).epoch === epoch,
      );
      return replies.length >= need && this.meta.epoch === epoch && this.role === "writer";
    } catch {
      return false;
    }
  }

  // ------------------------------------------------------------------ followers

  private async onAppend(body: AppendMessage, from: string): Promise<void> {
    try {
      const reply = await this.serial.run(() => this.applyAppend(body));
      if (reply?.rejected === true) this.logRejection(from, body.epoch);
      if (reply !== undefined) this.rpc.notify(from, "appended", reply);
    } catch {
      // Not applied (the log could not be cut or reopened now); the writer resends, and the next
      // append retries the reopen. Unconfirmed log is never counted.
    }
  }

  /**
   * Logs a deposed writer's rejected log once per writer and epoch (it resends every few ms until
   * it learns), for a bounded number of them.
   */
  private logRejection(from: string, epoch: number): void {
    const rejection = `${from}@${epoch}`;
    if (this.rejectedLogged.has(rejection) || this.rejectedLogged.size >= maxRejectionsLogged) return;
    this.rejectedLogged.add(rejection);
    this.rt.log(`fenced: rejected log from ${from} at epoch ${epoch} < ${this.meta.epoch}`);
  }

  private async applyAppend(body: AppendMessage): Promise<AppendedMessage | undefined> {
    const noFencing = this.bug.has("no-fencing");
    if (body.epoch < this.meta.epoch) {
      if (!noFencing) return { epoch: this.meta.epoch, end: this.db?.wal.durableEnd ?? 0, rejected: true };
      // The bug: confirm by log position alone, whoever's log it is.
      return { epoch: body.epoch, end: this.db?.wal.durableEnd ?? 0 };
    }
    // A writer never takes another's log; without fencing it does not even learn the epoch from it.
    if (this.role === "writer" && (body.epoch === this.meta.epoch || noFencing)) return undefined;
    await this.adoptEpoch(body.epoch);
    this.history = newerHistory(this.history, body.history);
    this.knownWriter = body.history.at(-1)?.writer;
    if (this.meta.logEpoch !== body.epoch || this.db === undefined || !this.db.isReplica) {
      const cut = cutPoint(this.history, this.meta.logEpoch);
      const db = this.db;
      if (db === undefined || !db.isReplica || (cut !== undefined && db.wal.endLsn > cut)) {
        await this.reopenCut(cut ?? db?.wal.endLsn ?? 0);
      }
      if (cut !== undefined)
        for (const lsn of [...this.pending.keys()]) if (lsn >= cut) this.pending.delete(lsn);
      this.meta = { epoch: this.meta.epoch, logEpoch: body.epoch };
      await this.saveMeta();
    }
    const db = this.db!;
    if (this.mode === "quorum") return this.bufferAndApply(db, body);
    const fresh = body.records.filter((r) => r.lsn >= db.wal.endLsn);
    if (fresh.length === 0)
      return { epoch: body.epoch, end: db.wal.durableEnd, gap: body.records.length === 0 };
    if (fresh[0]!.lsn !== db.wal.endLsn) return { epoch: body.epoch, end: db.wal.durableEnd, gap: true };
    try {
      await db.applyShipped(fresh);
    } catch {
      return { epoch: body.epoch, end: db.wal.durableEnd, gap: true };
    }
    return { epoch: body.epoch, end: db.wal.durableEnd };
  }

  /** Read replica: buffer the stream, apply only below the durable point (unless the bug says otherwise). */
  private async bufferAndApply(db: Database, body: AppendMessage): Promise<AppendedMessage> {
    for (const r of body.records) {
      if (r.lsn >= db.wal.endLsn && this.pending.size < maxPendingRecords) this.pending.set(r.lsn, r);
    }
    this.toldDurablePoint = Math.max(this.toldDurablePoint, body.durablePoint);
    const pastDp = this.bug.has("replica-read-past-durable-point");
    const batch: WalRecord[] = [];
    let at = db.wal.endLsn;
    for (let r = this.pending.get(at); r !== undefined; r = this.pending.get(at)) {
      if (!pastDp && r.lsn + r.sizeBytes > this.toldDurablePoint) break;
      batch.push(r);
      this.pending.delete(at);
      at = r.lsn + r.sizeBytes;
    }
    if (batch.length > 0) {
      try {
        await db.applyShipped(batch);
      } catch {
        this.pending.clear();
      }
    }
    let end = db.wal.endLsn;
    for (let r = this.pending.get(end); r !== undefined; r = this.pending.get(end)) end = r.lsn + r.sizeBytes;
    return { epoch: body.epoch, end, gap: body.records.length > 0 && body.records[0]!.lsn > end };
  }

  // ------------------------------------------------------------------ clients

  private async onOp(body: OpRequest): Promise<OpReply> {
    const { invocation, allowReplica } = body;
    const readOnly = isReadOnly(invocation);
    const db = this.db;
    if (db === undefined)
      return { redirect: this.knownWriter === this.rt.name ? null : (this.knownWriter ?? null) };
    if (this.role !== "writer") {
      if (readOnly && allowReplica) {
        // As PostgreSQL on a hot standby: a replica's snapshot cannot take part in the writer's
        // SSI, so a serializable read there could show Fekete's read-only anomaly. Refuse it.
        if (this.config.isolation === "serializable") {
          return { type: "fail", value: invocation.value, error: "serializable-on-replica" };
        }
        return await this.run(db, invocation);
      }
      const writer = this.knownWriter === this.rt.name ? undefined : this.knownWriter;
      return { redirect: writer ?? null };
    }
    const generation = this.writerGeneration;
    const result = await this.run(db, invocation);
    if (result.type === "info" || (result.type === "fail" && !answerDependsOnReads(result))) return result;
    if (this.writerGeneration !== generation) return { ...result, type: "info", error: "deposed" };
    // A read, or a refusal decided on what it read (cas-mismatch): confirm what it saw first.
    if (readOnly || result.type === "fail") {
      // Wait only for the commits this answer could have seen (the newest to each key it read),
      // so a local write that is not yet confirmed does not hold up reads of other keys.
      const keys = keysReadBy(invocation);
      const seen = keys === undefined ? this.lastCommitEnd : db.commitEndOfKeys(keys);
      const confirmed = (await this.waitConfirmed(seen)) && (await this.barrier());
      return confirmed ? result : { ...result, type: "info", error: "read-not-confirmed" };
    }
    // async: the commit returned after its local fsync, which is all this mode promises.
    if (this.mode === "async") return result;
    const target = this.lastCommitEnd;
    this.ship();
    const confirmed = await this.waitConfirmed(target);
    return confirmed ? result : { ...result, type: "info", error: "replication-timeout" };
  }

  private async run(db: Database, invocation: Invocation): Promise<Completion> {
    try {
      return await executeOn(db, invocation);
    } catch (error) {
      return {
        type: "info",
        value: invocation.value,
        error: error instanceof Error ? error.message : String(error),
      };
    }
  }
}

interface RecordMeta {
  readonly lsn: number;
  readonly prevLsn: number;
  readonly sizeBytes: number;
}

export interface HeartbeatMessage {
  readonly epoch: number;
  readonly writer: string | undefined;
  readonly history: History;
}

export interface HeartbeatReply {
  readonly epoch: number;
  readonly logEpoch: number;
  readonly logEnd: number;
  readonly role: NodeRole;
  readonly ready: boolean;
}

export interface OpRequest {
  readonly invocation: Invocation;
  readonly allowReplica: boolean;
  /** Unique per client operation (client name and a counter). */
  readonly requestId: string;
}

export type OpReply = Completion | { readonly redirect: string | null };

/**
 * Resolves with the replies that pass `accept` once `need` of them arrived, or with what arrived
 * when every request settled (fewer than `need`: the caller checks the count).
 */
export function gather(
  requests: readonly Promise<unknown>[],
  need: number,
  accept: (reply: unknown) => boolean = () => true,
): Promise<unknown[]> {
  return new Promise((resolve) => {
    const replies: unknown[] = [];
    let settled = 0;
    let done = false;
    const finish = (): void => {
      if (!done && (replies.length >= need || settled === requests.length)) {
        done = true;
        resolve(replies.slice());
      }
    };
    if (requests.length === 0) finish();
    for (const request of requests) {
      request.then(
        (reply) => {
          settled++;
          if (accept(reply)) replies.push(reply);
          finish();
        },
        () => {
          settled++;
          finish();
        },
      );
    }
  });
}

/** One phrase on how a node's database came up: what its crash recovery found and did. */
function describeRecovery(db: Database | undefined): string {
  const r = db?.recovery;
  if (db === undefined) return "no database";
  if (r === undefined) return `log end ${db.wal.endLsn}, nothing to recover`;
  const parts = [
    `recovered: ${r.recordsScanned} records scanned, ${r.recordsRedone} redone from lsn ${r.redoStartLsn}`,
    `${r.losersUndone} losers undone`,
  ];
  if (r.cutBytes > 0) parts.push(`torn log tail of ${r.cutBytes} bytes cut`);
  if (r.repairedPages.length > 0)
    parts.push(`torn pages ${r.repairedPages.join(", ")} repaired from the double-write slot`);
  return parts.join(", ");
}
