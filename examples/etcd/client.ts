/**
 * A faultline client for etcd, over etcd's HTTP/JSON gateway (`/v3/kv/range`, `/put`, `/txn`;
 * keys and values base64), through the client's own proxied link to its home member.
 *
 * Operations (the built-in workloads' shapes):
 * - register: `read [k, null]` → `[k, v]`; `write [k, v]`; `cas [k, [from, to]]`, a transaction
 *   comparing the key's value with `from` (its version with 0 when `from` is null) and putting
 *   `to` if it holds; one that does not hold fails with `cas-mismatch`.
 * - set: `add x` puts `s/x`; `read-set` lists the keys under `s/`.
 *
 * Reads are linearizable by default: etcd's quorum reads go through raft's read index. With
 * `reads: "serializable"` they are answered from the member's local state, which a partitioned
 * or lagging member serves stale (what Jepsen found in etcd's serializable reads).
 *
 * Outcomes. A read that errs or times out changed nothing: `fail`. A write or cas that errs after
 * its request may have left (a timeout, a reset, "leader changed", "request timed out") may still
 * take effect: `info`. Only an answer from etcd itself says a write did not happen (a cas whose
 * comparison failed).
 */
import type { Client, Completion, Invocation } from "faultline";

/** How long one request may take; below the runner's own operation timeout. */
const requestTimeoutMs = 3_000;

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");
const unb64 = (text: string): string => Buffer.from(text, "base64").toString("utf8");
const registerKey = (key: unknown): string => b64(`r/${JSON.stringify(key)}`);
const setPrefix = "s/";

/** The key just after every key with `prefix` (etcd's range end for a prefix). */
function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, "utf8");
  bytes[bytes.length - 1]! += 1;
  return bytes.toString("base64");
}

interface KeyValue {
  readonly key: string;
  readonly value?: string;
}

export type ReadMode = "quorum" | "serializable";

export class EtcdClient implements Client {
  constructor(
    /** The port of this client's link to its member. */
    private readonly port: () => Promise<number | undefined>,
    private readonly member: string,
    private readonly reads: ReadMode,
  ) {}

  private async call(path: string, body: unknown): Promise<Record<string, unknown>> {
    const port = await this.port();
    if (port === undefined) throw new Error(`no link to ${this.member}`);
    const response = await fetch(`http://127.0.0.1:${port}/v3/${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    const answer = (await response.json()) as Record<string, unknown>;
    if (!response.ok || answer["error"] !== undefined) {
      throw new Error(String(answer["error"] ?? answer["message"] ?? `HTTP ${response.status}`));
    }
    return answer;
  }

  async invoke(invocation: Invocation): Promise<Completion> {
    const { f, value } = invocation;
    const readOnly = f === "read" || f === "read-set";
    try {
      return { ...(await this.apply(f, value)), node: this.member };
    } catch (error) {
      const message =
        error instanceof Error ? (error.name === "TimeoutError" ? "timeout" : error.message) : String(error);
      return { type: readOnly ? "fail" : "info", value, error: message, node: this.member };
    }
  }

  private async apply(f: string, value: unknown): Promise<Omit<Completion, "node">> {
    const serializable = this.reads === "serializable";
    switch (f) {
      case "read": {
        const [key] = value as [unknown, unknown];
        const answer = await this.call("kv/range", { key: registerKey(key), serializable });
        const kvs = (answer["kvs"] ?? []) as KeyValue[];
        const read = kvs[0]?.value !== undefined ? (JSON.parse(unb64(kvs[0].value)) as unknown) : null;
        return { type: "ok", value: [key, read] };
      }
      case "write": {
        const [key, v] = value as [unknown, unknown];
        await this.call("kv/put", { key: registerKey(key), value: b64(JSON.stringify(v)) });
        return { type: "ok", value };
      }
      case "cas": {
        const [key, [from, to]] = value as [unknown, [unknown, unknown]];
        const compare =
          from === null
            ? { key: registerKey(key), target: "VERSION", result: "EQUAL", version: "0" }
            : { key: registerKey(key), target: "VALUE", result: "EQUAL", value: b64(JSON.stringify(from)) };
        const answer = await this.call("kv/txn", {
          compare: [compare],
          success: [{ request_put: { key: registerKey(key), value: b64(JSON.stringify(to)) } }],
        });
        // The gateway leaves out fields at their default: no "succeeded" means false.
        return answer["succeeded"] === true
          ? { type: "ok", value }
          : { type: "fail", value, error: "cas-mismatch" };
      }
      case "add": {
        await this.call("kv/put", { key: b64(`${setPrefix}${JSON.stringify(value)}`), value: "" });
        return { type: "ok", value };
      }
      case "read-set": {
        const answer = await this.call("kv/range", {
          key: b64(setPrefix),
          range_end: prefixEnd(setPrefix),
          keys_only: true,
          serializable,
        });
        const kvs = (answer["kvs"] ?? []) as KeyValue[];
        const elements = kvs.map((kv) => JSON.parse(unb64(kv.key).slice(setPrefix.length)) as unknown);
        return { type: "ok", value: elements.sort((a, b) => Number(a) - Number(b)) };
      }
      default:
        return { type: "fail", value, error: `etcd client: unknown operation ${f}` };
    }
  }

  async close(): Promise<void> {
    // fetch pools its connections; nothing is held per client.
  }
}
