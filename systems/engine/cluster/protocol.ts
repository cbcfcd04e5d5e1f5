/**
 * The cluster's messages: what the writer, its followers, the storage replicas, the control plane
 * and the clients say to each other (all over `harness/runtime/rpc.ts`), and `gather`, which
 * collects the quorum of replies several of them wait for. The table in README.md lists every
 * message with its direction and meaning; log positions are named as in ../README.md's glossary.
 */
import type { Completion, Invocation } from "../../../harness/system.ts";
import type { WalRecord } from "../wal.ts";
import type { NodeRole } from "./config.ts";
import type { History } from "./timeline.ts";

/** What nodes publish for the harness's node-control view (never read by node logic). */
export interface NodeBoard {
  role: NodeRole;
  ready: boolean;
  epoch: number;
}

/** Writer → follower: log shipping (an empty one is a keep-alive). */
export interface AppendMessage {
  readonly epoch: number;
  readonly history: History;
  readonly records: readonly WalRecord[];
  /** Quorum: the writer's durable point. */
  readonly durablePoint: number;
}

/** Follower → writer: how far it holds the writer's log. */
export interface AppendedMessage {
  readonly epoch: number;
  /** The follower's acked end: standby, its fsynced end; storage, its log end; read replica, what it holds. */
  readonly ackedEnd: number;
  /** It holds nothing at the start of what was sent (or nothing was sent): send from `ackedEnd`. */
  readonly gap?: boolean;
  /** The sender's epoch is older than the follower's: it is fenced off. */
  readonly rejected?: boolean;
  /** Storage: LSNs of the records of this batch it holds durably. */
  readonly stored?: readonly number[];
}

/** Control plane → data node, every heartbeat interval. */
export interface HeartbeatMessage {
  readonly epoch: number;
  readonly writer: string | undefined;
  readonly history: History;
}

export interface HeartbeatReply {
  readonly epoch: number;
  readonly logEpoch: number;
  /** How much log it holds, to pick the newest for a promotion: its fsynced end (quorum: its log end). */
  readonly logEnd: number;
  readonly role: NodeRole;
  readonly ready: boolean;
}

/** Client → data node: one operation. */
export interface OpRequest {
  readonly invocation: Invocation;
  readonly allowReplica: boolean;
  /** Unique per client operation (client name and a counter). */
  readonly requestId: string;
}

export type OpReply = Completion | { readonly redirect: string | null };

/**
 * The stored records storage lists to a recovering writer, four numbers a record, one after
 * another: `[lsn, prevLsn, sizeBytes, epoch, lsn, prevLsn, …]`. Flat, not an array per record: a
 * listing holds every record from the recovering node's log end on (from LSN 0 after a quorum
 * compute node dropped its log), thousands per replica at each promotion, and an array per record
 * was made three times over (listed, copied by the network, gathered) for a few numbers each.
 */
export type StoredRecordMetas = readonly number[];

/** Numbers per record in `StoredRecordMetas`. */
export const storedRecordMetaWidth = 4;

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
