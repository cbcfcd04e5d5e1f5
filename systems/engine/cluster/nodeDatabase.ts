/**
 * A data node's engine database through its life: opened as the first writer or as a follower,
 * reopened from what the disk holds after an I/O error, cut at a point of the timeline.
 *
 * A follower opens it repairing what it can: a quorum compute node keeps no log of its own worth
 * trusting and rebuilds it from the writer's stream; a standalone server recovers as a primary
 * (redo and undo of its own log, as PostgreSQL's crash recovery) and serves once cp promotes it
 * again, since no stream could end its losers.
 *
 * Disk failures: a database that fails on an I/O error (a failed fsync is never retried, and a
 * full disk fails its writes) is dropped and reopened from what the disk holds, as PostgreSQL
 * restarts after a PANIC; the node serves nothing meanwhile and keeps trying while the disk still
 * fails, up to `reopenMaxAttempts` times (about half a minute): then it gives up and serves nothing
 * until it is restarted, as a PostgreSQL whose startup keeps failing stays down until its
 * supervisor starts it again. A log with a record corrupted at rest is dropped and rebuilt from the
 * writer's stream (a standalone server has no peer: it refuses to serve, and the node has no
 * database).
 */
import type { Runtime } from "../../../harness/runtime/types.ts";
import { Database } from "../database.ts";
import { describeRecovery } from "../recovery.ts";
import { WalCorruptionError } from "../wal.ts";
import type { ResolvedConfig } from "./config.ts";
import type { SerialQueue } from "./timeline.ts";

/** Longer than one engine background pass takes (its interval is 10 ms). */
const backgroundSettleNs = 50e6;
/**
 * Pauses between attempts to open a database (or, on a storage replica, to load its state) on a
 * disk that still fails: doubling, up to 1 s.
 */
export const reopenFirstPauseNs = 20e6;
export const reopenMaxPauseNs = 1e9;
/** Attempts to open a database (after a start or a failure) before the node gives up: about 30 s. */
export const reopenMaxAttempts = 36;
/**
 * A quorum compute node writes its dirty pages every 5th background pass (50 ms) instead of every
 * pass (10 ms); its log flush, vacuum and checkpoints keep their cadence. Its pages are never read:
 * it drops its database files at every restart, demotion, cut and reopen and rebuilds them from
 * the writer's stream (the storage replicas hold the durable state), as Aurora's compute tier,
 * which writes no pages at all. Written less often, a hot page's changes coalesce into one write
 * (a fifth as many page writes, each two writes and two fsyncs on the simulated disk: a fifth
 * less CPU for the default engine run).
 */
const quorumComputePagesEveryPasses = 5;
/** Tries to enter the node's queue for a reopen before giving up (each 50 ms apart: about 10 s). */
const recoverMaxQueueTries = 200;

/** What the database's life needs of its node. */
export interface DatabaseHost {
  readonly rt: Runtime;
  readonly config: ResolvedConfig;
  /** The node's queue for appends and promotions: a reopen after a failure runs in it. */
  readonly serial: SerialQueue;
  /** The local log was dropped: it belongs to no epoch now (persisted where that matters). */
  forgetLogEpoch(): Promise<void>;
  /** A commit record was appended to the current database at `commitEnd`. */
  committed(commitEnd: number): void;
  /** The database failed: stop serving (a writer steps down). */
  stopServing(): void;
  /** Whether the node can serve (it has a database). */
  setReady(ready: boolean): void;
  /** The log is being cut: what the node buffered of the stream above it goes too. */
  dropBuffered(): void;
}

export class NodeDatabase {
  /** The open database; undefined while it is being opened, cut or reopened, or refused. */
  current: Database | undefined;

  constructor(private readonly host: DatabaseHost) {}

  private get rt(): Runtime {
    return this.host.rt;
  }

  /** Opens the database with `role`; it becomes current once open. */
  async openCurrent(role: "primary" | "replica"): Promise<void> {
    this.current = await this.open(role);
  }

  /** Opens the database as a follower does (see the header); undefined when it refuses to serve. */
  async openFollowerCurrent(): Promise<void> {
    this.current = await this.openAsFollower();
  }

  /**
   * Opens the database as a follower does after a start or a failure, repairing what it can. A
   * log corrupted at rest is dropped and rebuilt from the stream, or (standalone) refused:
   * undefined. An I/O error is retried after a pause, `reopenMaxAttempts` times in all: then the
   * node gives up (undefined) and serves nothing until it is restarted.
   */
  private async openAsFollower(): Promise<Database | undefined> {
    const { standalone } = this.host.config.topology;
    let dropLocalLog = this.host.config.mode === "quorum";
    let pauseNs = reopenFirstPauseNs;
    for (let attempt = 1; attempt <= reopenMaxAttempts; attempt++) {
      try {
        if (dropLocalLog) await this.dropLocalLog();
        return await this.open(standalone ? "primary" : "replica");
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
        if (attempt === reopenMaxAttempts) {
          this.rt.log(
            `could not open the database (${describeError(error)}); giving up after ${attempt} attempts: serving nothing until restarted`,
          );
          break;
        }
        this.rt.log(
          `could not open the database (${describeError(error)}); trying again in ${pauseNs / 1e6} ms`,
        );
        await this.rt.clock.sleep(pauseNs);
        pauseNs = Math.min(2 * pauseNs, reopenMaxPauseNs);
      }
    }
    return undefined;
  }

  /** Removes the database's files; a log of no epoch is cut nowhere when the stream rebuilds it. */
  private async dropLocalLog(): Promise<void> {
    await Database.removeFiles(this.rt.disk);
    await this.host.forgetLogEpoch();
  }

  private async open(role: "primary" | "replica"): Promise<Database> {
    const { config } = this.host;
    const db = await Database.open(this.rt, {
      isolation: config.isolation,
      bugs: config.bugs,
      role,
      ...(config.mode === "quorum" ? { pagesEveryPasses: quorumComputePagesEveryPasses } : {}),
    });
    db.retainWalFrom(0);
    db.wal.onAppend((record) => {
      if (this.current !== db || record.kind !== "commit") return;
      this.host.committed(record.lsn + record.sizeBytes);
    });
    db.onFailure((error) => void this.recover(db, error));
    return db;
  }

  /**
   * The database failed on an I/O error: stop serving (a writer steps down), drop it, and reopen
   * it from what the disk holds, in the serial queue (no append or promotion meanwhile).
   */
  private async recover(failed: Database, error: unknown): Promise<void> {
    if (this.current !== failed) return;
    this.rt.log(`database stopped on an I/O error (${describeError(error)}); recovering from the disk`);
    this.host.stopServing();
    this.current = undefined;
    this.host.setReady(false);
    // The queue refuses work only when full, which clears; bounded all the same.
    for (let tries = 1; ; tries++) {
      const done = await this.host.serial.run(async () => {
        // Let a background pass already under way finish before the files are read again.
        await this.rt.clock.sleep(backgroundSettleNs);
        const db = await this.openAsFollower();
        this.current = db;
        this.host.setReady(db !== undefined);
        if (db !== undefined)
          this.rt.log(`reopened as a follower; ${describeRecovery(db.recovery, db.wal.endLsn)}`);
        return true;
      });
      if (done !== undefined) return;
      if (tries === recoverMaxQueueTries) {
        this.rt.log(`could not reopen the database: its queue stayed full; serving nothing until restarted`);
        return;
      }
      await this.rt.clock.sleep(backgroundSettleNs);
    }
  }

  /** Closes the database, cuts its log below `cut` (quorum: drops it all) and reopens it as a follower. */
  async reopenCut(cut: number): Promise<void> {
    const old = this.current;
    this.current = undefined;
    this.host.setReady(false);
    if (old !== undefined) {
      await old.close();
      // Let a background pass already under way (page flush, checkpoint) finish before cutting.
      await this.rt.clock.sleep(backgroundSettleNs);
    }
    const quorum = this.host.config.mode === "quorum";
    if (quorum) await Database.removeFiles(this.rt.disk);
    else {
      try {
        await Database.truncateAbove(this.rt.disk, cut - 1, this.host.config.bugs);
      } catch (error) {
        if (!(error instanceof WalCorruptionError)) throw error;
        this.rt.log(`${error.message}: dropping the local log; rebuilding it from the writer's stream`);
        await this.dropLocalLog();
      }
    }
    this.rt.log(
      quorum
        ? "dropped the local log; rebuilding from the writer's stream"
        : `cut the log at lsn ${cut}, reopening as a follower`,
    );
    this.host.dropBuffered();
    this.current = await this.open("replica");
    this.host.setReady(true);
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
