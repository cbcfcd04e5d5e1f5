/**
 * The memory system's server as its own OS process (process mode). In simulation the memory
 * system keeps its one copy of the data outside the node, so a crash loses nothing; a real
 * process's memory dies with kill -9, so here the data is kept the way any durable server keeps
 * it: every request is appended to a log file, the log is fsynced, and only then is the reply
 * sent (group commit: one fsync answers every request that arrived before it). A restart replays
 * the log through the same `MemoryState`, so the server stays linearizable across crashes, and
 * the memory system stays the control group in both worlds.
 *
 * A crash may tear or lose any unsynced record: recovery keeps the longest prefix of whole records
 * and cuts the file there. The log file is created durably (fsync, then the directory's) at the
 * first start. Replies are cached per client (last `maxCachedReplies` request ids), in the log
 * as in memory, so a request the network delivers twice is applied once.
 */
import type { NodeProgram, NodeProgramFactory, Runtime } from "../../harness/runtime/types.ts";
import type { Completion, Invocation } from "../../harness/system.ts";
import { MemoryState } from "./state.ts";

const logFile = "memory.log";
const maxCachedReplies = 1024;
/** Replies waiting for an fsync, at most; past it the oldest are dropped (the client times out). */
const maxWaitingReplies = 100_000;

export interface MemoryRequest {
  readonly kind: "request";
  readonly id: number;
  readonly invocation: Invocation;
}

export interface MemoryReply {
  readonly kind: "reply";
  readonly id: number;
  readonly completion: Completion;
}

interface LogRecord {
  readonly from: string;
  readonly id: number;
  readonly invocation: Invocation;
}

interface Cached {
  readonly reply: MemoryReply;
  durable: boolean;
}

export class DurableMemoryServer {
  private readonly state = new MemoryState();
  private readonly replies = new Map<string, Map<number, Cached>>();
  private waiting: { to: string; cached: Cached }[] = [];
  private flushing = false;
  private encoder = new TextEncoder();

  constructor(private readonly rt: Runtime) {}

  async start(): Promise<void> {
    // Requests that arrive while the log is replayed wait for it (as a real server's connections
    // wait in the kernel's queue), instead of being dropped and costing each client a timeout.
    let early: { from: string; message: unknown }[] | undefined = [];
    this.rt.net.onMessage((from, message) => {
      if (early === undefined) this.receive(from, message as MemoryRequest);
      else if (early.length < maxWaitingReplies) early.push({ from, message });
    });
    await this.recover();
    const waiting = early;
    early = undefined;
    for (const { from, message } of waiting) this.receive(from, message as MemoryRequest);
  }

  private apply(from: string, id: number, invocation: Invocation, durable: boolean): Cached {
    let cache = this.replies.get(from);
    if (cache === undefined) this.replies.set(from, (cache = new Map()));
    const cached: Cached = {
      reply: { kind: "reply", id, completion: { ...this.state.apply(invocation), node: this.rt.name } },
      durable,
    };
    cache.set(id, cached);
    if (cache.size > maxCachedReplies) cache.delete(cache.keys().next().value!);
    return cached;
  }

  private async recover(): Promise<void> {
    const bytes = await this.rt.disk.read(logFile);
    if (bytes === undefined) {
      // A file's name is durable only once its directory is fsynced: create the log durably
      // before any reply depends on it, or a crash could take the whole file away.
      await this.rt.disk.append(logFile, new Uint8Array(0));
      await this.rt.disk.fsync(logFile);
      await this.rt.disk.fsyncDir();
      return;
    }
    const text = new TextDecoder().decode(bytes);
    let goodBytes = 0;
    let records = 0;
    for (
      let start = 0, end = text.indexOf("\n");
      end >= 0;
      start = end + 1, end = text.indexOf("\n", start)
    ) {
      let record: LogRecord;
      try {
        record = JSON.parse(text.slice(start, end)) as LogRecord;
      } catch {
        break;
      }
      this.apply(record.from, record.id, record.invocation, true);
      goodBytes = this.encoder.encode(text.slice(0, end + 1)).length;
      records += 1;
    }
    if (goodBytes < bytes.length) {
      await this.rt.disk.truncate(logFile, goodBytes);
      await this.rt.disk.fsync(logFile);
    }
    this.rt.log(
      `recovered ${records} requests from ${logFile}${goodBytes < bytes.length ? ` (cut a torn tail of ${bytes.length - goodBytes} bytes)` : ""}`,
    );
  }

  private receive(from: string, request: MemoryRequest): void {
    if (request?.kind !== "request") return;
    let cached = this.replies.get(from)?.get(request.id);
    if (cached === undefined) {
      cached = this.apply(from, request.id, request.invocation, false);
      const record: LogRecord = { from, id: request.id, invocation: request.invocation };
      // Appends run in issue order, before any fsync issued later: the next flush covers this one.
      void this.rt.disk.append(logFile, this.encoder.encode(JSON.stringify(record) + "\n"));
    }
    if (cached.durable) {
      this.rt.net.send(from, cached.reply);
      return;
    }
    this.waiting.push({ to: from, cached });
    if (this.waiting.length > maxWaitingReplies) this.waiting.shift();
    this.flush();
  }

  /** One fsync at a time; each answers every reply that was waiting when it began. */
  private flush(): void {
    if (this.flushing || this.waiting.length === 0) return;
    this.flushing = true;
    const batch = this.waiting;
    this.waiting = [];
    this.rt.spawn("group-commit", async () => {
      await this.rt.disk.fsync(logFile);
      for (const { to, cached } of batch) {
        cached.durable = true;
        this.rt.net.send(to, cached.reply);
      }
      this.flushing = false;
      this.flush();
    });
  }
}

/** Process mode's memory node: the durable server on the first node, idle bystanders elsewhere. */
export const memoryNodeProgram: NodeProgramFactory = (args): NodeProgram => {
  const { server } = args as { server: boolean };
  if (!server) return () => undefined;
  return (rt) => {
    const node = new DurableMemoryServer(rt);
    rt.spawn("start", () => node.start());
  };
};
