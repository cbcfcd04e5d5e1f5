/**
 * A data node: one engine `Database` plus the replication protocol around it, in one of two
 * roles that change at run time:
 *
 * - the writer runs transactions and answers clients once its writer side (writer.ts) confirms
 *   them under the mode's durability rule;
 * - a follower takes the writer's log: a standby (async, sync) applies it at once; a read replica
 *   (quorum) buffers it and applies it below the told durable point (readReplica.ts).
 *
 * This file holds what every role shares: opening the node, its epoch and timeline (a follower
 * rejects log of an older epoch, the fencing that stops a deposed writer, and on a newer epoch
 * cuts its log per the timeline), the control plane's heartbeats, fencing and promotions (a quorum
 * writer first recovers the log from storage, quorumRecovery.ts), the follower's side of shipping,
 * and client operations. Serializable reads on a follower are refused, as on a hot standby.
 * Log positions are named as in ../README.md's glossary.
 *
 * Disk failures: a database that fails on an I/O error (a failed fsync is never retried, and a
 * full disk fails its writes) is dropped and reopened from what the disk holds, as PostgreSQL
 * restarts after a PANIC; the node serves nothing meanwhile and keeps trying while the disk still
 * fails. A log with a record corrupted at rest is dropped and rebuilt from the writer's stream
 * (a standalone server has no peer: it refuses to serve).
 */
import { Rpc } from "../../../harness/runtime/rpc.ts";
import type { Runtime } from "../../../harness/runtime/types.ts";
import type { Completion, Invocation } from "../../../harness/system.ts";
import { Database } from "../database.ts";
import { Durability } from "../durability.ts";
import { describeRecovery } from "../recovery.ts";
import { WalCorruptionError } from "../wal.ts";
import type { NodeRole, ResolvedConfig } from "./config.ts";
import { answerDependsOnReads, executeOn, isReadOnly, keysReadBy } from "./ops.ts";
import type {
  AppendedMessage,
  AppendMessage,
  HeartbeatMessage,
  HeartbeatReply,
  NodeBoard,
  OpReply,
  OpRequest,
} from "./protocol.ts";
import { recoverFromStorage } from "./quorumRecovery.ts";
import { ReadReplicaBuffer } from "./readReplica.ts";
import {
  freezeHistory,
  cutPoint,
  newerHistory,
  readJsonFile,
  SerialQueue,
  writeJsonFile,
  type History,
  type NodeMeta,
} from "./timeline.ts";
import { Writer, type WriterNode } from "./writer.ts";

const metaFile = "cluster-meta";
const maxRecentOps = 10_000;
/** Longer than one engine background pass takes (its interval is 10 ms). */
const backgroundSettleNs = 50e6;
const maxRejectionsLogged = 1_000;
/** Pauses between attempts to open a database on a disk that still fails: doubling, up to 1 s. */
const reopenFirstPauseNs = 20e6;
const reopenMaxPauseNs = 1e9;

export class DataNode {
  private readonly rpc: Rpc;
  private readonly durability: Durability;
  private db: Database | undefined;
  private meta: NodeMeta = { epoch: 0, logEpoch: 0 };
  private role: "writer" | "follower" = "follower";
  private history: History = [];
  private knownWriter: string | undefined;
  private readonly serial = new SerialQueue(256);
  /** Deposed writers' log already logged as rejected, as `node@epoch`. */
  private readonly rejectedLogged = new Set<string>();
  private readonly metaQueue = new SerialQueue(1024);
  /** Bumped at each promotion and step-down, so work begun as one writer knows it was deposed. */
  private writerGeneration = 0;
  /** The writer side of the latest promotion (kept after a step-down until the next one). */
  private writer: Writer | undefined;
  private readonly readReplica: ReadReplicaBuffer;
  /** Results of recent client requests by id, so a duplicated request is not run twice. */
  private readonly recentOps = new Map<string, Promise<OpReply>>();
  /** What the writer side reads of this node, live. */
  private readonly asWriterNode: WriterNode = {
    db: () => this.db,
    epoch: () => this.meta.epoch,
    history: () => this.history,
    isWriter: () => this.role === "writer",
    writerGeneration: () => this.writerGeneration,
  };

  constructor(
    private readonly rt: Runtime,
    private readonly config: ResolvedConfig,
    private readonly board: NodeBoard,
  ) {
    this.rpc = new Rpc(rt, { defaultTimeoutNs: config.timing.commitTimeoutNs });
    this.durability = new Durability(rt.disk, config.bugs);
    this.readReplica = new ReadReplicaBuffer(config.bugs.has("replica-read-past-durable-point"));
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
      this.history = freezeHistory([{ epoch: 1, writer: this.rt.name, startLsn: 0 }]);
      this.becomeWriter(0);
    } else {
      this.meta = saved ?? { epoch: 0, logEpoch: 0 };
      this.db = await this.openAsFollower();
    }
    this.rt.log(
      `opened at epoch ${this.meta.epoch} (log epoch ${this.meta.logEpoch}) as ${this.role === "writer" ? "the first writer" : this.followerRole}; ${this.db === undefined ? "no database" : describeRecovery(this.db.recovery, this.db.wal.endLsn)}`,
    );
    this.board.epoch = this.meta.epoch;
    this.board.ready = this.db !== undefined;
  }

  /**
   * Opens the database as a follower does after a start or a failure, repairing what it can. A
   * quorum compute node keeps no log of its own worth trusting: it rebuilds from the stream. A
   * standalone server recovers as a primary (redo and undo of its own log, as PostgreSQL's crash
   * recovery) and serves once cp promotes it again; no stream could end its losers. A log
   * corrupted at rest is dropped and rebuilt from the stream, or (standalone) refused: undefined.
   * An I/O error is retried after a pause for as long as the node lives.
   */
  private async openAsFollower(): Promise<Database | undefined> {
    const { standalone } = this.config.topology;
    let dropLocalLog = this.mode === "quorum";
    for (let pauseNs = reopenFirstPauseNs; ; pauseNs = Math.min(2 * pauseNs, reopenMaxPauseNs)) {
      try {
        if (dropLocalLog) await this.dropLocalLog();
        return await this.openDatabase(standalone ? "primary" : "replica");
      } catch (error) {
        if (error instanceof WalCorruptionError && standalone) {
          this.rt.log(`${error.message}: refusing to serve (a single server has no peer to repair it from)`);
          return undefined;
        }
        if (error instanceof WalCorruptionError) {
          this.rt.log(`${error.message}: dropping the local log; rebuilding it from the writer's stream`);
          dropLocalLog = true;
          continue;
        }
        this.rt.log(
          `could not open the database (${describeError(error)}); trying again in ${pauseNs / 1e6} ms`,
        );
        await this.rt.clock.sleep(pauseNs);
      }
    }
  }

  /** Removes the database's files; a log of no epoch is cut nowhere when the stream rebuilds it. */
  private async dropLocalLog(): Promise<void> {
    await Database.removeFiles(this.rt.disk);
    if (this.mode !== "quorum" && this.meta.logEpoch !== 0) {
      this.meta = { ...this.meta, logEpoch: 0 };
      await this.saveMeta();
    }
  }

  private async openDatabase(role: "primary" | "replica"): Promise<Database> {
    const db = await Database.open(this.rt, { isolation: this.config.isolation, bugs: this.bug, role });
    db.retainWalFrom(0);
    db.wal.onAppend((record) => {
      if (this.db !== db || record.kind !== "commit" || this.role !== "writer") return;
      this.writer?.committed(record.lsn + record.sizeBytes);
    });
    db.onFailure((error) => void this.recoverDatabase(db, error));
    return db;
  }

  /**
   * The database failed on an I/O error: stop serving (a writer steps down), drop it, and reopen
   * it from what the disk holds, in the serial queue (no append or promotion meanwhile).
   */
  private async recoverDatabase(failed: Database, error: unknown): Promise<void> {
    if (this.db !== failed) return;
    this.rt.log(`database stopped on an I/O error (${describeError(error)}); recovering from the disk`);
    if (this.role === "writer") this.stepDown();
    this.db = undefined;
    this.board.ready = false;
    // Bounded by the node's life; the queue refuses work only when full, which clears.
    for (;;) {
      const done = await this.serial.run(async () => {
        // Let a background pass already under way finish before the files are read again.
        await this.rt.clock.sleep(backgroundSettleNs);
        const db = await this.openAsFollower();
        this.db = db;
        this.board.ready = db !== undefined;
        if (db !== undefined)
          this.rt.log(`reopened as a follower; ${describeRecovery(db.recovery, db.wal.endLsn)}`);
        return true;
      });
      if (done !== undefined) return;
      await this.rt.clock.sleep(backgroundSettleNs);
    }
  }

  private async saveMeta(): Promise<void> {
    const meta = this.meta;
    this.board.epoch = meta.epoch;
    await this.metaQueue.run(() => writeJsonFile(this.durability, metaFile, meta));
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
    const logEnd = db === undefined ? 0 : this.mode === "quorum" ? db.wal.endLsn : db.wal.fsyncedEnd;
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
        this.mode === "quorum"
          ? await recoverFromStorage(
              {
                rpc: this.rpc,
                config: this.config,
                history: () => this.history,
                toldDurablePoint: this.readReplica.toldDurablePoint,
                db: () => this.db,
                reopenCut: (cut) => this.reopenCut(cut),
              },
              body.epoch,
            )
          : await this.alignForPromotion();
      const db = this.db;
      if (db === undefined) throw new Error("no database");
      await db.promote();
      this.meta = { epoch: body.epoch, logEpoch: body.epoch };
      await this.saveMeta();
      this.history = freezeHistory([...this.history, { epoch: body.epoch, writer: this.rt.name, startLsn }]);
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
    else {
      try {
        await Database.truncateAbove(this.rt.disk, cut - 1, this.bug);
      } catch (error) {
        if (!(error instanceof WalCorruptionError)) throw error;
        this.rt.log(`${error.message}: dropping the local log; rebuilding it from the writer's stream`);
        await this.dropLocalLog();
      }
    }
    this.rt.log(
      this.mode === "quorum"
        ? "dropped the local log; rebuilding from the writer's stream"
        : `cut the log at lsn ${cut}, reopening as a follower`,
    );
    this.readReplica.clear();
    this.db = await this.openDatabase("replica");
    this.board.ready = true;
  }

  // ------------------------------------------------------------------ becoming and leaving the writer

  private becomeWriter(startLsn: number): void {
    this.role = "writer";
    this.board.role = "writer";
    this.knownWriter = this.rt.name;
    const generation = ++this.writerGeneration;
    this.writer = new Writer(this.rt, this.config, this.rpc, this.asWriterNode, startLsn, generation);
    this.writer.start();
  }

  private stepDown(): void {
    if (this.role !== "writer") return;
    this.rt.log(
      `stepped down (writer at epoch ${this.meta.epoch}); ${this.writer?.pendingAnswers ?? 0} pending commits answered info`,
    );
    this.role = "follower";
    this.board.role = this.followerRole;
    this.writerGeneration++;
    this.knownWriter = undefined;
    this.writer?.stepDown();
  }

  private onAppended(body: AppendedMessage, from: string): void {
    if (body.epoch > this.meta.epoch) {
      // A failed save leaves the epoch adopted in memory only; the next message tries again.
      this.adoptEpoch(body.epoch).catch(() => undefined);
      return;
    }
    if (this.role !== "writer" || body.epoch < this.meta.epoch) return;
    this.writer?.onAppended(body, from);
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

  /**
   * A follower takes an append: rejects an older epoch (fencing), adopts a newer one and cuts its
   * log where the timeline says it diverged; then a standby applies the records that continue its
   * log at once (its acked end is its fsynced end), a read replica buffers them (readReplica.ts).
   */
  private async applyAppend(body: AppendMessage): Promise<AppendedMessage | undefined> {
    const noFencing = this.bug.has("no-fencing");
    if (body.epoch < this.meta.epoch) {
      if (!noFencing)
        return { epoch: this.meta.epoch, ackedEnd: this.db?.wal.fsyncedEnd ?? 0, rejected: true };
      // The bug: confirm by log position alone, whoever's log it is.
      return { epoch: body.epoch, ackedEnd: this.db?.wal.fsyncedEnd ?? 0 };
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
      if (cut !== undefined) this.readReplica.dropFrom(cut);
      this.meta = { epoch: this.meta.epoch, logEpoch: body.epoch };
      await this.saveMeta();
    }
    const db = this.db!;
    if (this.mode === "quorum") return this.readReplica.apply(db, body);
    const fresh = body.records.filter((r) => r.lsn >= db.wal.endLsn);
    if (fresh.length === 0)
      return { epoch: body.epoch, ackedEnd: db.wal.fsyncedEnd, gap: body.records.length === 0 };
    if (fresh[0]!.lsn !== db.wal.endLsn) return { epoch: body.epoch, ackedEnd: db.wal.fsyncedEnd, gap: true };
    try {
      await db.applyShipped(fresh);
    } catch {
      return { epoch: body.epoch, ackedEnd: db.wal.fsyncedEnd, gap: true };
    }
    return { epoch: body.epoch, ackedEnd: db.wal.fsyncedEnd };
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
    const writer = this.writer!;
    const result = await this.run(db, invocation);
    if (result.type === "info" || (result.type === "fail" && !answerDependsOnReads(result))) return result;
    if (this.writerGeneration !== generation) return { ...result, type: "info", error: "deposed" };
    // A read, or a refusal decided on what it read (cas-mismatch): confirm what it saw first.
    if (readOnly || result.type === "fail") {
      // Wait only for the commits this answer could have seen (the newest to each key it read),
      // so a local write that is not yet confirmed does not hold up reads of other keys.
      const keys = keysReadBy(invocation);
      const seen = keys === undefined ? writer.lastCommitEnd : db.commitEndOfKeys(keys);
      const confirmed = (await writer.waitConfirmed(seen)) && (await writer.barrier());
      return confirmed ? result : { ...result, type: "info", error: "read-not-confirmed" };
    }
    // async: the commit returned after its local fsync, which is all this mode promises.
    if (this.mode === "async") return result;
    const target = writer.lastCommitEnd;
    writer.ship();
    const confirmed = await writer.waitConfirmed(target);
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

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
