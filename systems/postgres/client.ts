/**
 * A worker's client: one node-postgres connection, opened lazily to wherever the cluster says the
 * primary is at that moment, kept while it works and replaced after it breaks. Every operation
 * runs through sql.ts; every error is classified by errors.ts (`fail` when it certainly did not
 * commit, `info` when it may have). A connection that cannot be opened is `fail`: nothing was sent.
 *
 * Closing destroys the socket at once rather than waiting for the server's goodbye (a paused server
 * never says it), so a worker that timed out never waits on its old connection.
 */
import pg from "pg";
import type { Client, Completion, Invocation } from "../../harness/system.ts";
import { classifyError } from "./errors.ts";
import { isolationSql, runOperation, type OperationContext, type Session } from "./sql.ts";

/** Where to connect: host, port, and the node behind them (for the history's `node`). */
export interface Target {
  readonly host: string;
  readonly port: number;
  readonly node: string;
}

export interface PostgresClientOptions extends OperationContext {
  /** The primary as the cluster knows it now, or undefined while there is none. */
  readonly target: () => Target | undefined;
  readonly applicationName: string;
  readonly connectTimeoutMs: number;
}

interface Open {
  readonly connection: pg.Client;
  readonly node: string;
  broken: boolean;
}

/** Closes a connection at once: destroys its socket rather than waiting for the server's goodbye. */
export function destroyConnection(connection: pg.Client): void {
  const stream = (connection as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection
    ?.stream;
  stream?.destroy?.();
  connection.end().catch(() => undefined);
}

export class PostgresClient implements Client {
  private open: Open | undefined;
  private closed = false;

  constructor(private readonly options: PostgresClientOptions) {}

  private async connect(): Promise<Open> {
    if (this.open !== undefined && !this.open.broken) return this.open;
    if (this.open !== undefined) destroyConnection(this.open.connection);
    this.open = undefined;
    const target = this.options.target();
    if (target === undefined) throw new Error("no primary");
    const connection = new pg.Client({
      host: target.host,
      port: target.port,
      user: "postgres",
      database: "postgres",
      application_name: this.options.applicationName,
      connectionTimeoutMillis: this.options.connectTimeoutMs,
      keepAlive: true,
    });
    const open: Open = { connection, node: target.node, broken: false };
    // An error event after the connection was established (the server went away while idle).
    connection.on("error", () => {
      open.broken = true;
    });
    try {
      await connection.connect();
      await connection.query(
        `SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL ${isolationSql[this.options.isolation]}`,
      );
    } catch (error) {
      destroyConnection(connection);
      throw error;
    }
    if (this.closed) {
      destroyConnection(connection);
      throw new Error("client closed");
    }
    this.open = open;
    return open;
  }

  async invoke(invocation: Invocation): Promise<Completion> {
    let open: Open;
    try {
      open = await this.connect();
    } catch (error) {
      return {
        type: "fail",
        value: invocation.value,
        error: `connect: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    let commitSent = false;
    const run = (text: string, params?: readonly unknown[]) =>
      open.connection
        .query(text, params as unknown[] | undefined)
        .then((r) => ({ rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount }));
    const session: Session = {
      query: run,
      commit: (text, params) => {
        commitSent = true;
        return run(text, params);
      },
    };
    try {
      const completion = await runOperation(session, invocation, this.options);
      return { ...completion, node: open.node };
    } catch (error) {
      const outcome = classifyError(error, commitSent);
      if (outcome.connectionLost) open.broken = true;
      else if (!commitSent) {
        // The server aborted the transaction; end the aborted block so the connection is usable.
        await open.connection.query("ROLLBACK").catch(() => {
          open.broken = true;
        });
      }
      return { type: outcome.type, value: invocation.value, error: outcome.error, node: open.node };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.open !== undefined) destroyConnection(this.open.connection);
    this.open = undefined;
  }
}
