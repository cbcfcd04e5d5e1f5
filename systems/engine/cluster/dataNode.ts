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
 * writer first recovers the log from storage, quorumRecovery.ts), and the follower's side of
 * shipping. The database's own life (opening, reopening after an I/O error, dropping a log
 * corrupted at rest, cutting) is nodeDatabase.ts; answering clients is clients.ts. Log positions
 * are named as in ../README.md's glossary.
 */
import { Rpc } from "../../../harness/runtime/rpc.ts";
import type { Runtime } from "../../../harness/runtime/types.ts";
import type { Database } from "../database.ts";
import { Durability } from "../durability.ts";
import { describeRecovery } from "../recovery.ts";
import type { NodeRole, ResolvedConfig } from "./config.ts";
import { ClientAnswers } from "./clients.ts";
import type {
  AppendedMessage,
  AppendMessage,
  HeartbeatMessage,
  HeartbeatReply,
  NodeBoard,
  OpRequest,
} from "./protocol.ts";
import { NodeDatabase } from "./nodeDatabase.ts";
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
const maxRejectionsLogged = 1_000;

export class DataNode {
  private readonly rpc: Rpc;
  private readonly durability: Durability;
  /** The engine database and its life (nodeDatabase.ts). */
  private readonly database: NodeDatabase;
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
  /** Answers clients (clients.ts). */
  private readonly clients: ClientAnswers;
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
    this.database = new NodeDatabase({
      rt,
      config,
      serial: this.serial,
      forgetLogEpoch: () => this.forgetLogEpoch(),
      committed: (commitEnd) => {
        if (this.role === "writer") this.writer?.committed(commitEnd);
      },
      stopServing: () => {
        if (this.role === "writer") this.stepDown();
      },
      setReady: (ready) => {
        this.board.ready = ready;
      },
      dropBuffered: () => this.readReplica.clear(),
    });
    this.clients = new ClientAnswers({
      name: rt.name,
      config,
      db: () => this.db,
      isWriter: () => this.role === "writer",
      writer: () => this.writer,
      writerGeneration: () => this.writerGeneration,
      knownWriter: () => this.knownWriter,
    });
    this.board.ready = false;
    this.board.role = this.followerRole;
    this.rpc.handle("hb", (body) => this.onHeartbeat(body as HeartbeatMessage));
    this.rpc.handle("fence", (body) => this.onFence(body as { epoch: number }));
    this.rpc.handle("promote", (body) => this.onPromote(body as { epoch: number; history: History }));
    this.rpc.handle("append", (body, from) => this.onAppend(body as AppendMessage, from));
    this.rpc.handle("appended", (body, from) => this.onAppended(body as AppendedMessage, from));
    this.rpc.handle("barrier", () => ({ epoch: this.meta.epoch }));
    this.rpc.handle("op", (body) => this.clients.answer(body as OpRequest));
  }

  private get db(): Database | undefined {
    return this.database.current;
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
      await this.database.openCurrent("primary");
      this.history = freezeHistory([{ epoch: 1, writer: this.rt.name, startLsn: 0 }]);
      this.becomeWriter(0);
    } else {
      this.meta = saved ?? { epoch: 0, logEpoch: 0 };
      await this.database.openFollowerCurrent();
    }
    this.rt.log(
      `opened at epoch ${this.meta.epoch} (log epoch ${this.meta.logEpoch}) as ${this.role === "writer" ? "the first writer" : this.followerRole}; ${this.db === undefined ? "no database" : describeRecovery(this.db.recovery, this.db.wal.endLsn)}`,
    );
    this.board.epoch = this.meta.epoch;
    this.board.ready = this.db !== undefined;
  }

  /** The local log was dropped: a log of no epoch is cut nowhere when the stream rebuilds it. */
  private async forgetLogEpoch(): Promise<void> {
    if (this.mode !== "quorum" && this.meta.logEpoch !== 0) {
      this.meta = { ...this.meta, logEpoch: 0 };
      await this.saveMeta();
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

  private reopenCut(cut: number): Promise<void> {
    return this.database.reopenCut(cut);
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
}
