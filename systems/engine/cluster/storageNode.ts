/**
 * A storage replica of the quorum (Aurora) mode: it keeps the writer's redo records, each tagged
 * with the epoch of the writer that sent it, durably (its segment, storageSegment.ts: fsynced
 * before it acknowledges, gap-free end from the back-pointers), and gossips with its peers to fill
 * gaps. It rejects records and recovery requests from an older epoch (fencing), and when
 * it learns that a later epoch started at some LSN it drops every older record at or above it
 * (the truncation of everything above the durable point that recovery decided).
 *
 * Gossip: a replica asks a random peer for the records past its log end every
 * `gossipIntervalNs` while it knows it misses some (it holds records past a gap, or a writer told
 * it a durable point past its end), and `idleGossipSlowdown` times less often otherwise (it may
 * still miss records it never heard of); a record that shows it a gap has it ask at once. Most
 * gossip finds nothing to fill: the writer resends what a replica did not acknowledge.
 *
 * In the background it materialises pages from its log (`storagePages.ts`): every
 * `materialiseIntervalNs` it applies the next records of its gap-free prefix that lie below the
 * durable point a writer of its current epoch told it (append messages carry it) and that its
 * segment holds fsynced; only those are safe from truncation. The told durable point is not
 * persisted (a restart waits for the next append), the pages are: a restarted replica resumes
 * from them. `read-pages {maxKeys?}` answers the materialised state: every key's committed value
 * at the materialised LSN, with the told durable point, the gap-free end and the pages' figures.
 *
 * Disk failures: a segment line that fails its checksum (torn, or rotted at rest) is dropped at
 * load, and gossip refills the gap from the peers. A segment write or fsync that
 * fails is never retried: the replica drops what is not on its disk and reloads the segment (its
 * acknowledgements only ever covered what was fsynced), and the writer resends.
 */
import { Rpc } from "../../../harness/runtime/rpc.ts";
import type { Runtime } from "../../../harness/runtime/types.ts";
import { Durability } from "../durability.ts";
import type { WalRecord } from "../wal.ts";
import type { ResolvedConfig } from "./config.ts";
import { describeError, reopenFirstPauseNs, reopenMaxAttempts, reopenMaxPauseNs } from "./nodeDatabase.ts";
import type { AppendedMessage, AppendMessage, NodeBoard, StoredRecordMetas } from "./protocol.ts";
import { StoragePages, type MaterialisedState, type StoragePagesStats } from "./storagePages.ts";
import { segmentFile, StorageSegment, type Stored } from "./storageSegment.ts";
import { newerHistory, readJsonFile, SerialQueue, writeJsonFile, type History } from "./timeline.ts";

/** A failed append or gossip is simply not acknowledged; the writer resends. */
const ignore = (): void => undefined;
const metaFile = "storage-meta";
const maxGossipRecords = 200;
/** A replica that knows of no record it misses gossips this many times less often. */
const idleGossipSlowdown = 10;
const maxReadRecords = 1000;
/** Pause between two materialisation passes. */
const materialiseIntervalNs = 200e6;
/** A `read-pages` answer holds at most this many keys. */
const maxReadKeys = 100_000;

export class StorageNode {
  private readonly rpc: Rpc;
  private readonly durability: Durability;
  private epoch = 0;
  private history: History = [];
  private readonly segment: StorageSegment;
  /** The highest durable point a writer of (at the time) this node's epoch told it; not persisted. */
  private toldDurablePoint = 0;
  private pages: StoragePages | undefined;
  /** Segment writes that failed since the last one logged (a failing disk fails them all). */
  private segmentFailuresUnlogged = 0;
  private segmentFailing = false;
  private pagesOpenFailed = false;
  /**
   * Loading at start failed and is being tried again: the state in memory is not this replica's
   * (nothing loaded), so it answers no request and takes no record until a load succeeds.
   */
  private loadFailing = false;
  private readonly queue = new SerialQueue(256);
  /** The next gossip: when it is due (this node's monotonic clock) and how to call it off. */
  private nextGossip: { readonly atNs: number; readonly cancel: () => void } | undefined;
  private readonly peers: readonly string[];

  constructor(
    private readonly rt: Runtime,
    private readonly config: ResolvedConfig,
    private readonly board: NodeBoard,
  ) {
    this.rpc = new Rpc(rt, { defaultTimeoutNs: config.timing.commitTimeoutNs });
    this.durability = new Durability(rt.disk, config.bugs);
    this.segment = new StorageSegment(
      rt,
      this.durability,
      () => this.history,
      (lsn) => this.pages?.dropped(lsn),
    );
    this.peers = config.topology.storageNodes.filter((n) => n !== rt.name);
    board.role = "storage";
    board.ready = false;
    this.rpc.handle("append", (body, from) => {
      this.queue
        .run(() => this.unlessLoadFailing(() => this.onAppend(body as AppendMessage, from)))
        .catch(ignore);
    });
    this.rpc.handle("recover", (body) =>
      this.onRecover(body as { epoch: number; history: History; fromLsn: number }),
    );
    this.rpc.handle("read-log", (body) => {
      this.refuseWhileLoadFails();
      return this.readLog(body as { fromLsn: number; toLsn: number; maxCount: number });
    });
    this.rpc.handle("barrier", () => {
      this.refuseWhileLoadFails();
      return { epoch: this.epoch };
    });
    this.rpc.handle("read-pages", (body) => this.readPages((body ?? {}) as { maxKeys?: number }));
    this.rpc.handle("gossip", (body, from) => {
      if (!this.loadFailing) this.onGossip(body as { endLsn: number }, from);
    });
    this.rpc.handle("gossip-fill", (body) => {
      this.queue
        .run(() =>
          this.unlessLoadFailing(() => this.onGossipFill(body as { history: History; records: Stored[] })),
        )
        .catch(ignore);
    });
  }

  private refuseWhileLoadFails(): void {
    if (this.loadFailing) throw new Error("storage: its state is not loaded (the disk fails)");
  }

  /** Runs `work` unless loading failed (its own promise: no async wrapper around every append). */
  private unlessLoadFailing(work: () => Promise<void>): Promise<void> {
    return this.loadFailing ? Promise.resolve() : work();
  }

  async start(): Promise<void> {
    // Loaded inside the queue that appends, recoveries and gossip fills also run in, so none of
    // them can act on the empty state (and then be overwritten by the older state read from disk:
    // a lost fencing epoch). The queue is empty at start, so this never finds it full. A disk that
    // fails (full, EIO) is tried again after a pause, as a data node reopens its database: at most
    // `reopenMaxAttempts` times, then the node gives up and serves nothing until it is restarted.
    let pauseNs = reopenFirstPauseNs;
    for (let attempt = 1; ; attempt++) {
      try {
        const loaded = await this.queue.run(async () => {
          await this.load();
          await this.openPages();
          return true;
        });
        if (loaded === undefined) throw new Error("storage: could not queue loading its state");
        this.loadFailing = false;
        break;
      } catch (error) {
        this.loadFailing = true;
        if (attempt === reopenMaxAttempts) {
          this.rt.log(
            `could not load (${describeError(error)}); giving up after ${attempt} attempts: serving nothing until restarted`,
          );
          // Deaf from now on, as a stopped process is: a request answered from the state it never
          // loaded (no records, epoch 0) would count this replica in a quorum it cannot vouch for.
          this.rt.net.onMessage(() => undefined);
          return;
        }
        this.rt.log(`could not load (${describeError(error)}); trying again in ${pauseNs / 1e6} ms`);
        await this.rt.clock.sleep(pauseNs);
        pauseNs = Math.min(2 * pauseNs, reopenMaxPauseNs);
      }
    }
    this.board.epoch = this.epoch;
    this.board.ready = true;
    this.rt.spawn("materialise", async () => {
      // Bounded by the node's life (a crash stops the task); each pass does bounded work.
      for (;;) {
        await this.rt.clock.sleep(materialiseIntervalNs);
        if (this.pages === undefined) await this.openPages();
        else await this.pages.pass(this.source);
      }
    });
    // A (re)started replica may have lost records it never fsynced: it asks soon.
    this.gossipWithin(this.config.timing.gossipIntervalNs);
  }

  /** Whether it knows it misses records its peers may hold. */
  private missesRecords(): boolean {
    return this.segment.holdsPastGap || this.toldDurablePoint > this.segment.endLsn;
  }

  /** Gossips within `delayNs` (or sooner, when a gossip is due sooner already). */
  private gossipWithin(delayNs: number): void {
    const atNs = this.rt.clock.monotonicNs() + delayNs;
    if (this.nextGossip !== undefined && this.nextGossip.atNs <= atNs) return;
    this.nextGossip?.cancel();
    const cancel = this.rt.clock.setTimer(delayNs, () => {
      this.nextGossip = undefined;
      this.gossip();
    });
    this.nextGossip = { atNs, cancel };
  }

  /** Asks a random peer for the records past its log end, and sets the next gossip. */
  private gossip(): void {
    if (this.peers.length > 0)
      this.rpc.notify(this.rt.random.pick(this.peers), "gossip", { endLsn: this.segment.endLsn });
    const intervalNs = this.config.timing.gossipIntervalNs;
    this.gossipWithin(this.missesRecords() ? intervalNs : intervalNs * idleGossipSlowdown);
  }

  /** After records arrived: a replica that now knows it misses some gossips soon. */
  private gossipIfMissing(): void {
    if (this.board.ready && this.missesRecords()) this.gossipWithin(this.config.timing.gossipIntervalNs);
  }

  /**
   * Reads the persisted epoch, timeline and segment (creating the segment durably if it is new),
   * replacing what memory held; never lowers the epoch or shortens the timeline it already knew.
   */
  private async load(reloading = false): Promise<void> {
    const meta = (await readJsonFile(this.rt.disk, metaFile)) as
      { epoch: number; history: History } | undefined;
    if (meta !== undefined) {
      this.epoch = Math.max(this.epoch, meta.epoch);
      this.history = newerHistory(this.history, meta.history);
    }
    const { bad, dropped } = await this.segment.load();
    if (dropped > 0) this.logTruncated(dropped);
    if (reloading && bad === 0) return;
    this.rt.log(
      `${reloading ? "reloaded" : "opened"} at epoch ${this.epoch}: ${this.segment.records.size} records, gap-free to lsn ${this.segment.endLsn}${bad > 0 ? `; ${bad} lines failed their checksum (torn or rotted), dropped: the peers fill the gap` : ""}`,
    );
  }

  /** Opens the materialised pages; a failure (the disk) is logged once and tried again by the next pass. */
  private async openPages(): Promise<void> {
    try {
      this.pages = await StoragePages.open(this.rt, { isolation: this.config.isolation }, this.source);
      this.pagesOpenFailed = false;
    } catch (error) {
      if (!this.pagesOpenFailed) {
        this.rt.log(
          `could not open the materialised pages (${describeError(error)}); trying again each pass`,
        );
      }
      this.pagesOpenFailed = true;
    }
  }

  /** The log as the materialiser may see it: only records that are safe from truncation. */
  private readonly source = {
    record: (lsn: number): WalRecord | undefined => this.segment.records.get(lsn)?.record,
    safeEnd: (): number => Math.min(this.segment.endLsn, this.segment.fsyncedEnd, this.toldDurablePoint),
  };

  private logTruncated(dropped: number): void {
    this.rt.log(
      `truncated ${dropped} records a later epoch superseded (timeline: ${describeHistory(this.history)})`,
    );
  }

  /**
   * Takes a newer epoch or timeline from a message and saves it; undefined, with nothing to wait
   * for, when the message tells nothing new (nearly every append: its caller then goes on at once,
   * without the promise hops of an async call).
   */
  private learn(epoch: number, history: History): Promise<void> | undefined {
    const newer = newerHistory(this.history, history);
    if (epoch <= this.epoch && newer === this.history) return undefined;
    return this.adopt(epoch, newer);
  }

  private async adopt(epoch: number, newer: History): Promise<void> {
    if (epoch > this.epoch) this.rt.log(`fenced at epoch ${epoch} (was ${this.epoch})`);
    this.epoch = Math.max(this.epoch, epoch);
    this.history = newer;
    this.board.epoch = this.epoch;
    const dropped = this.segment.dropSuperseded();
    if (dropped > 0) {
      this.logTruncated(dropped);
      await this.segment.rewrite();
    }
    await writeJsonFile(this.durability, metaFile, { epoch: this.epoch, history: this.history });
  }

  /**
   * Appends and fsyncs records already kept (called within the queue, so nothing else keeps
   * meanwhile). On a failure it drops what is not on the disk and reloads the segment, then throws.
   */
  private async persist(stored: readonly Stored[]): Promise<void> {
    try {
      await this.segment.persist(stored);
    } catch (error) {
      if (!this.segmentFailing) {
        this.rt.log(`segment write failed (${describeError(error)}); reloading the segment from the disk`);
        this.segmentFailing = true;
      } else this.segmentFailuresUnlogged++;
      await this.load(true);
      throw error;
    }
    if (this.segmentFailing) {
      this.rt.log(`segment writes succeed again (${this.segmentFailuresUnlogged} more failed meanwhile)`);
      this.segmentFailing = false;
      this.segmentFailuresUnlogged = 0;
    }
  }

  private async onAppend(body: AppendMessage, from: string): Promise<void> {
    const noFencing = this.config.bugs.has("no-fencing");
    if (body.epoch < this.epoch && !noFencing) {
      const reply: AppendedMessage = { epoch: this.epoch, ackedEnd: this.segment.endLsn, rejected: true };
      this.rpc.notify(from, "appended", reply);
      return;
    }
    if (body.epoch >= this.epoch) {
      const learning = this.learn(body.epoch, body.history);
      if (learning !== undefined) await learning;
      // Only a writer of this node's epoch speaks for the durable point (never a deposed one).
      if (body.epoch === this.epoch)
        this.toldDurablePoint = Math.max(this.toldDurablePoint, body.durablePoint);
    }
    const fresh: Stored[] = [];
    const stored: number[] = [];
    for (const record of body.records) {
      const s = { epoch: body.epoch, record };
      if (this.segment.keep(s)) fresh.push(s);
      const have = this.segment.records.get(record.lsn);
      // Without fencing, a record of an older writer is "stored" even where a newer one sits.
      if (noFencing || (have !== undefined && have.epoch === body.epoch)) stored.push(record.lsn);
    }
    await this.persist(fresh);
    this.gossipIfMissing();
    const reply: AppendedMessage = {
      epoch: noFencing ? body.epoch : this.epoch,
      ackedEnd: this.segment.endLsn,
      stored,
    };
    this.rpc.notify(from, "appended", reply);
  }

  private async onRecover(body: { epoch: number; history: History; fromLsn: number }): Promise<unknown> {
    const result = await this.queue.run(async () => {
      this.refuseWhileLoadFails();
      if (body.epoch < this.epoch) throw new Error(`epoch ${body.epoch} is older than ${this.epoch}`);
      const learning = this.learn(body.epoch, body.history);
      if (learning !== undefined) await learning;
      // forEach, not for-of: no entry pair made per record (the whole segment, at each promotion).
      const records: number[] = [];
      this.segment.records.forEach((s, lsn) => {
        if (lsn >= body.fromLsn) records.push(lsn, s.record.prevLsn, s.record.sizeBytes, s.epoch);
      });
      const reply: { epoch: number; records: StoredRecordMetas } = { epoch: this.epoch, records };
      return reply;
    });
    if (result === undefined) throw new Error("storage busy");
    return result;
  }

  private async readPages(body: { maxKeys?: number }): Promise<ReadPagesReply> {
    const pages = this.pages;
    if (pages === undefined) throw new Error("storage pages not open yet");
    // Anything but a whole number in [0, maxReadKeys] asks for the default bound, never for more.
    const asked = body.maxKeys;
    const maxKeys =
      typeof asked === "number" && Number.isInteger(asked) && asked >= 0
        ? Math.min(asked, maxReadKeys)
        : maxReadKeys;
    return {
      epoch: this.epoch,
      toldDurablePoint: this.toldDurablePoint,
      endLsn: this.segment.endLsn,
      state: pages.read(maxKeys),
      stats: pages.stats(),
      diskBytes: { segment: (await this.rt.disk.size(segmentFile)) ?? 0, ...(await pages.diskBytes()) },
    };
  }

  private readLog(body: { fromLsn: number; toLsn: number; maxCount: number }): WalRecord[] {
    const run = this.segment.chainFrom(body.fromLsn, Math.min(body.maxCount, maxReadRecords), body.toLsn);
    return run.map((s) => s.record);
  }

  private onGossip(body: { endLsn: number }, from: string): void {
    if (this.segment.endLsn <= body.endLsn) return;
    const records = this.segment.chainFrom(body.endLsn, maxGossipRecords, Number.POSITIVE_INFINITY);
    if (records.length > 0) this.rpc.notify(from, "gossip-fill", { history: this.history, records });
  }

  private async onGossipFill(body: { history: History; records: Stored[] }): Promise<void> {
    const learning = this.learn(this.epoch, body.history);
    if (learning !== undefined) await learning;
    const fresh = body.records.filter((s) => this.segment.keep(s));
    await this.persist(fresh);
    this.gossipIfMissing();
  }
}

/** The answer to `read-pages`: the materialised state and where the replica stands. */
export interface ReadPagesReply {
  readonly epoch: number;
  /** The durable point a writer of this node's epoch last told it (0 after a restart until told). */
  readonly toldDurablePoint: number;
  /** Its log end (the end of its gap-free chain). */
  readonly endLsn: number;
  readonly state: MaterialisedState;
  readonly stats: StoragePagesStats;
  /** Bytes per file on this node's disk: `segment` (the log) and the pages' database files. */
  readonly diskBytes: Readonly<Record<string, number>>;
}

/** `1:n1@0 2:n2@4096`: each epoch, its writer and the lsn where its log begins. */
function describeHistory(history: History): string {
  return history.map((h) => `${h.epoch}:${h.writer}@${h.startLsn}`).join(" ");
}
