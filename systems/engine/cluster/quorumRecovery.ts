/**
 * How a compute node becomes the quorum writer (Aurora's recovery of the durable point).
 *
 * It sends `recover` under the new epoch to the storage replicas and needs max(Vw, Vr) answers:
 * the replicas that answer adopt the epoch (a write quorum fenced, so the deposed writer can
 * commit nothing more) and list the records they hold (a read quorum read, which meets every
 * write quorum, so every acknowledged commit is among them). From its own applied log it walks
 * the gap-free chain of those records by their back-pointers; the chain's end is the recovery
 * point. It fetches the records up to it and starts its epoch there: everything above is
 * truncated (storage replicas drop records of older epochs at or above a later epoch's start).
 * Its own log is trusted only below the durable point it was told, and never a writer's log.
 */
import type { Rpc } from "../../../harness/runtime/rpc.ts";
import type { Database } from "../database.ts";
import type { WalRecord } from "../wal.ts";
import type { ResolvedConfig } from "./config.ts";
import { gather, storedRecordMetaWidth, type StoredRecordMetas } from "./protocol.ts";
import { superseded, type History } from "./timeline.ts";

/** What recovery uses of the node that becomes writer. */
export interface RecoveringNode {
  readonly rpc: Rpc;
  readonly config: ResolvedConfig;
  /** The timeline now (a heartbeat may lengthen it while recovery waits). */
  history(): History;
  /** The durable point this node was told as a read replica. */
  readonly toldDurablePoint: number;
  /** The node's database now (recovery may reopen it). */
  db(): Database | undefined;
  /** Closes the database, cuts its log below `cut` (quorum: drops it) and reopens it as a follower. */
  reopenCut(cut: number): Promise<void>;
}

/** Bound on the chain walk (records) and on fetch rounds. */
const maxChainRecords = 10_000_000;
const maxFetchRounds = 100;

/** Recovers the log from the storage quorum; returns the recovery point, where the new epoch starts. */
export async function recoverFromStorage(node: RecoveringNode, epoch: number): Promise<number> {
  const { rpc, config } = node;
  const { storageNodes } = config.topology;
  const { write, read } = config.quorum;
  const db = node.db();
  if (db === undefined || !db.isReplica || db.wal.endLsn > node.toldDurablePoint) await node.reopenCut(0);
  const fromLsn = node.db()!.wal.endLsn;
  const replies = await gather(
    storageNodes.map((s) =>
      rpc.request(s, "recover", { epoch, history: node.history(), fromLsn }, config.timing.commitTimeoutNs),
    ),
    Math.max(write, read),
  );
  if (replies.length < Math.max(write, read)) {
    throw new Error(`reached ${replies.length} storage replicas, need ${Math.max(write, read)}`);
  }
  const chain = new Map<number, RecordMeta>();
  for (const reply of replies) {
    const r = reply as { epoch: number; records: StoredRecordMetas };
    if (r.epoch > epoch) throw new Error(`storage is at epoch ${r.epoch} > ${epoch}`);
    const history = node.history();
    const metas = r.records;
    for (let i = 0; i + storedRecordMetaWidth <= metas.length; i += storedRecordMetaWidth) {
      const lsn = metas[i]!;
      const recEpoch = metas[i + 3]!;
      if (superseded(history, recEpoch, lsn)) continue;
      const have = chain.get(lsn);
      if (have === undefined || have.epoch < recEpoch)
        chain.set(lsn, { prevLsn: metas[i + 1]!, sizeBytes: metas[i + 2]!, epoch: recEpoch });
    }
  }
  let recoveryPoint = fromLsn;
  let prev = node.db()!.wal.lastLsn;
  for (let steps = 0; steps < maxChainRecords; steps++) {
    const next = chain.get(recoveryPoint);
    if (next === undefined || next.prevLsn !== prev) break;
    prev = recoveryPoint;
    recoveryPoint += next.sizeBytes;
  }
  for (let round = 0; node.db()!.wal.endLsn < recoveryPoint && round < maxFetchRounds; round++) {
    const source = storageNodes[round % storageNodes.length]!;
    let records: WalRecord[];
    try {
      records = (await rpc.request(
        source,
        "read-log",
        { fromLsn: node.db()!.wal.endLsn, toLsn: recoveryPoint, maxCount: 500 },
        config.timing.commitTimeoutNs,
      )) as WalRecord[];
    } catch {
      continue;
    }
    const at = node.db()!.wal.endLsn;
    const usable = records.filter((r) => r.lsn >= at && r.lsn + r.sizeBytes <= recoveryPoint);
    if (usable.length > 0 && usable[0]!.lsn === at) await node.db()!.applyShipped(usable);
  }
  if (node.db()!.wal.endLsn !== recoveryPoint)
    throw new Error(`could not fetch the log up to ${recoveryPoint}`);
  return recoveryPoint;
}

/** A stored record's place in the chain, with the epoch that wrote it (the newest one listed). */
interface RecordMeta {
  readonly prevLsn: number;
  readonly sizeBytes: number;
  readonly epoch: number;
}
