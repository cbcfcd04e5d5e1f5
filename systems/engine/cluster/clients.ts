/**
 * How a data node answers a client's operation, whatever its role.
 *
 * - The writer runs it, then confirms what the answer depends on under the mode's rule
 *   (writer.ts): a commit waits until the confirmed point passes its commit end (async: its local
 *   fsync is all the mode promises); a read, or a refusal decided on what it read (cas-mismatch),
 *   waits only for the newest commit end of the keys it read, then a barrier. A writer deposed
 *   meanwhile answers `info`, as does one whose confirmation times out.
 * - A follower serves a read-only operation the client allows on a replica from its own snapshot
 *   (serializable ones are refused, as PostgreSQL refuses them on a hot standby: a replica's
 *   snapshot cannot take part in the writer's SSI) and redirects everything else to the writer it
 *   knows.
 * The network may deliver a request twice: each request id runs once, and both deliveries get
 * its result.
 */
import type { Completion, Invocation } from "../../../harness/system.ts";
import type { Database } from "../database.ts";
import type { ResolvedConfig } from "./config.ts";
import { answerDependsOnReads, executeOn, isReadOnly, keysReadBy } from "./ops.ts";
import type { OpReply, OpRequest } from "./protocol.ts";
import type { Writer } from "./writer.ts";

const maxRecentOps = 10_000;

/** What answering a client reads of its node, live. */
export interface ServingNode {
  readonly name: string;
  readonly config: ResolvedConfig;
  db(): Database | undefined;
  isWriter(): boolean;
  /** The writer side of the latest promotion. */
  writer(): Writer | undefined;
  /** Bumped at each promotion and step-down. */
  writerGeneration(): number;
  knownWriter(): string | undefined;
}

export class ClientAnswers {
  /** Results of recent client requests by id, so a duplicated request is not run twice. */
  private readonly recentOps = new Map<string, Promise<OpReply>>();

  constructor(private readonly node: ServingNode) {}

  /** Answers a request, once per request id. */
  answer(request: OpRequest): Promise<OpReply> {
    const seen = this.recentOps.get(request.requestId);
    if (seen !== undefined) return seen;
    const result = this.onOp(request);
    this.recentOps.set(request.requestId, result);
    if (this.recentOps.size > maxRecentOps) this.recentOps.delete(this.recentOps.keys().next().value!);
    return result;
  }

  private async onOp(body: OpRequest): Promise<OpReply> {
    const node = this.node;
    const { invocation, allowReplica } = body;
    const readOnly = isReadOnly(invocation);
    const db = node.db();
    const knownWriter = node.knownWriter();
    if (db === undefined) return { redirect: knownWriter === node.name ? null : (knownWriter ?? null) };
    if (!node.isWriter()) {
      if (readOnly && allowReplica) {
        if (node.config.isolation === "serializable") {
          return { type: "fail", value: invocation.value, error: "serializable-on-replica" };
        }
        return await run(db, invocation);
      }
      const writer = knownWriter === node.name ? undefined : knownWriter;
      return { redirect: writer ?? null };
    }
    const generation = node.writerGeneration();
    const writer = node.writer()!;
    const result = await run(db, invocation);
    if (result.type === "info" || (result.type === "fail" && !answerDependsOnReads(result))) return result;
    if (node.writerGeneration() !== generation) return { ...result, type: "info", error: "deposed" };
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
    if (node.config.mode === "async") return result;
    const target = writer.lastCommitEnd;
    writer.ship();
    const confirmed = await writer.waitConfirmed(target);
    return confirmed ? result : { ...result, type: "info", error: "replication-timeout" };
  }
}

/** Runs an invocation on `db`; anything it throws is `info` (it may or may not have happened). */
async function run(db: Database, invocation: Invocation): Promise<Completion> {
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
