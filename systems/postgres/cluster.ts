/**
 * A PostgreSQL cluster under test: one primary and zero or more streaming standbys, each a real
 * server (server.ts) on its own loopback port, and a small control plane that fails over.
 *
 * Start-up: `initdb` of the first node, which starts as the primary and gets the schema; every
 * other node is a `pg_basebackup` of it, started as a standby streaming from it. In sync mode the
 * primary then names its standbys in `synchronous_standby_names = 'ANY 1 (n2, n3)'` with
 * `synchronous_commit = on`: a commit is acknowledged once one standby has flushed it.
 *
 * The control plane (in the harness, beside the standbys) probes the primary every
 * `probeIntervalMs` the way the standbys reach it (through each standby's link, so a partition that
 * cuts the primary off from every standby makes it unreachable, as a crash or a pause does). Once
 * it has been unreachable for `failoverAfterMs`, the control plane:
 * 1. checks that it can promote: some standby answers (sync: *every* standby answers, since an
 *    acknowledged commit is known to be on at least one of them, not which);
 * 2. fences the old primary: kill -9 of its process group, so it can never again acknowledge a
 *    write (with fencing off, the `no-fencing` bug knob, it is left running: two primaries);
 * 3. promotes (`pg_ctl promote`) the standby that received the most log (`pg_last_wal_receive_lsn`),
 *    points clients at it and, in sync mode, names the other nodes as its synchronous standbys;
 * 4. points every standby that answered with a position at or below the promoted one's at the new
 *    primary (a reload of `primary_conninfo`: it received a prefix of the same log, so it follows
 *    across the timeline switch), and rebuilds every other node, the old primary included, from
 *    the new primary with `pg_basebackup` (a standby that may hold log the new primary never saw,
 *    async, could not simply follow it).
 *
 * Asynchronous replication acknowledges a commit once the primary flushed it, so a failover loses
 * whatever the promoted standby had not received: acknowledged writes vanish, which the set
 * checker reports. Synchronous replication loses none: writes stall while no standby answers.
 *
 * Every transition of one node (start, rebuild, promotion) runs in that node's queue, one at a time;
 * a crash (kill -9) acts at once and holds the node down until the nemesis restarts it.
 */
import pg from "pg";
import { destroyConnection } from "./client.ts";
import type { PostgresBinaries } from "./binaries.ts";
import type { ServerAccount } from "./account.ts";
import { formatLsn, parseLsn } from "./lsn.ts";
import { freeLoopbackPort } from "../../harness/runtime/process/ports.ts";
import { PortInUseError, PostgresServer, type Settings } from "./server.ts";
import type { Watchdog } from "./watchdog.ts";

export type Replication = "async" | "sync";
export type NodeRole = "primary" | "standby" | "deposed";

export interface Address {
  readonly host: string;
  readonly port: number;
}

/**
 * How endpoints reach a server: clients (`from` = "client") and nodes (replication, base backups
 * and the control plane's probes, `from` = the standby's name). Direct, or through a proxy that
 * the nemesis controls.
 */
export interface Links {
  address(from: string, to: string): Address;
}

export interface ClusterOptions {
  readonly nodeNames: readonly string[];
  readonly replication: Replication;
  /** Client connections the servers must accept (workers, probes, replication, slack). */
  readonly maxConnections: number;
  readonly failoverAfterMs: number;
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
  /** Stop the old primary before promoting (off: the `no-fencing` bug knob, two primaries). */
  readonly fencing: boolean;
  readonly binaries: PostgresBinaries;
  readonly account: ServerAccount;
  readonly watchdog: Watchdog;
  /** Where node data folders go: `<dataRoot>/<node>/data`. */
  readonly dataRoot: string;
  /** Where node logs go: `<logDir>/<node>.log`. */
  readonly logDir: string;
  readonly ports: Readonly<Record<string, number>>;
  /** How each endpoint reaches each node (through the harness's proxies). */
  readonly links: Links;
  /** A node moved to another port (its own was taken): links to it must follow. */
  readonly onPortChange: (node: string, port: number) => void;
  /** A line in a node's log (the control plane's lines go to the node they concern). */
  readonly note: (node: string, line: string) => void;
  /** Called once the schema may be created on the new primary (connection to it). */
  readonly createSchema: (address: Address) => Promise<void>;
}

interface Member {
  readonly server: PostgresServer;
  role: NodeRole;
  /** Crashed by the nemesis and not yet restarted: nothing may start it. */
  heldDown: boolean;
  /** The node's queue of transitions. */
  queue: Promise<void>;
  /** Transitions queued or running. */
  pending: number;
  /** When a failed bring-up may be tried again (ms since the epoch). */
  retryAtMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Ports tried for one start before giving up. */
const maxPortAttempts = 3;

/** How long after a failed start or rebuild the control plane tries that node again. */
const retryAfterFailureMs = 1000;

/** One query on a fresh connection, bounded by `timeoutMs` (connect included). */
export async function queryOnce(
  address: Address,
  text: string,
  timeoutMs: number,
): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({
    host: address.host,
    port: address.port,
    user: "postgres",
    database: "postgres",
    connectionTimeoutMillis: timeoutMs,
    application_name: "faultline-control",
  });
  client.on("error", () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([
      (async () => {
        await client.connect();
        return (await client.query(text)).rows as Record<string, unknown>[];
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    destroyConnection(client);
  }
}

export function sharedSettings(maxConnections: number): Settings {
  return {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: "",
    max_connections: maxConnections,
    shared_buffers: "32MB",
    jit: false,
    fsync: true,
    synchronous_commit: "on",
    wal_level: "replica",
    max_wal_senders: 10,
    max_replication_slots: 10,
    wal_keep_size: "256MB",
    hot_standby: true,
    wal_sender_timeout: "5s",
    wal_receiver_timeout: "5s",
    wal_receiver_status_interval: "1s",
    wal_retrieve_retry_interval: "500ms",
    recovery_init_sync_method: "syncfs",
    recovery_target_timeline: "latest",
    deadlock_timeout: "100ms",
    idle_in_transaction_session_timeout: "10s",
    client_connection_check_interval: "1s",
    log_line_prefix: "%m [%p] %q%a ",
    logging_collector: false,
  };
}

export class PostgresCluster {
  private readonly members = new Map<string, Member>();
  private readonly links: Links;
  private primaryName: string;
  private epochNumber = 1;
  private stopped = false;
  private controlLoop: Promise<void> | undefined;
  private unreachableSinceMs: number | undefined;
  private failingOver = false;
  /** Why a failover was last held back (so it is noted once). */
  private lastHeldBack: string | undefined;
  /**
   * Where the current primary's log begins to be its own: the position it was promoted at (0 for
   * the first). A standby short of it has not caught up with the current primary.
   */
  private promotedAtLsn = 0n;
  /** While a promotion is under way, clients are told there is no primary. */
  private clientsHeld = false;
  /** Failovers done, for reports and tests. */
  readonly failovers: { readonly from: string; readonly to: string; readonly epoch: number }[] = [];

  constructor(private readonly options: ClusterOptions) {
    if (options.nodeNames.length < 1) throw new RangeError("a cluster needs at least one node");
    for (const name of options.nodeNames) {
      const server = new PostgresServer({
        name,
        dataDir: `${options.dataRoot}/${name}/data`,
        logPath: `${options.logDir}/${name}.log`,
        port: options.ports[name]!,
        binaries: options.binaries,
        account: options.account,
        watchdog: options.watchdog,
        note: (line) => options.note(name, line),
      });
      this.members.set(name, {
        server,
        role: "standby",
        heldDown: false,
        queue: Promise.resolve(),
        pending: 0,
        retryAtMs: 0,
      });
    }
    this.primaryName = options.nodeNames[0]!;
    this.members.get(this.primaryName)!.role = "primary";
    this.links = options.links;
  }

  private member(name: string): Member {
    const m = this.members.get(name);
    if (m === undefined) throw new Error(`no node named "${name}"`);
    return m;
  }

  get primary(): string {
    return this.primaryName;
  }

  get epoch(): number {
    return this.epochNumber;
  }

  roleOf(name: string): NodeRole {
    return this.member(name).role;
  }

  server(name: string): PostgresServer {
    return this.member(name).server;
  }

  private standbyNames(): string[] {
    return this.options.nodeNames.filter((n) => n !== this.primaryName);
  }

  /** The node settings of `name` in its current role. */
  private nodeSettings(name: string): { settings: Settings; standby: boolean } {
    const m = this.member(name);
    const base: Settings = { port: m.server.port, cluster_name: name };
    if (name === this.primaryName) {
      const others = this.standbyNames();
      const sync = this.options.replication === "sync" && others.length > 0 && this.syncNamed;
      return {
        settings: { ...base, synchronous_standby_names: sync ? `ANY 1 (${others.join(", ")})` : "" },
        standby: false,
      };
    }
    const upstream = this.links.address(name, this.primaryName);
    return {
      settings: {
        ...base,
        primary_conninfo: `host=${upstream.host} port=${upstream.port} user=postgres application_name=${name} connect_timeout=2 keepalives_idle=1 keepalives_interval=1 keepalives_count=3`,
      },
      standby: true,
    };
  }

  /** Whether the primary names its synchronous standbys yet (not while the cluster starts). */
  private syncNamed = false;

  private enqueue(name: string, what: string, task: () => Promise<void>): Promise<void> {
    const m = this.member(name);
    m.pending += 1;
    const run = m.queue.then(async () => {
      try {
        if (this.stopped) return;
        await task();
      } catch (error) {
        m.retryAtMs = Date.now() + retryAfterFailureMs;
        this.options.note(name, `${what} failed: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        m.pending -= 1;
      }
    });
    m.queue = run;
    return run;
  }

  // ---- start-up --------------------------------------------------------------------------------

  async start(): Promise<void> {
    const primary = this.member(this.primaryName);
    await primary.server.initdb(sharedSettings(this.options.maxConnections));
    await this.startServer(this.primaryName);
    await this.options.createSchema(this.links.address("client", this.primaryName));
    const standbys = this.standbyNames();
    await Promise.all(
      standbys.map(async (name) => {
        const m = this.member(name);
        const from = this.links.address(name, this.primaryName);
        await m.server.baseBackupFrom(from.host, from.port);
        await this.startServer(name);
      }),
    );
    if (standbys.length > 0) {
      await this.waitStreaming(standbys, 60_000);
      if (this.options.replication === "sync") {
        this.syncNamed = true;
        this.configure(this.primaryName);
        await primary.server.reload();
        this.options.note(this.primaryName, `synchronous_standby_names = 'ANY 1 (${standbys.join(", ")})'`);
      }
      this.controlLoop = this.runControlPlane();
    }
  }

  /**
   * Starts a node's server in its current role. A port picked free can be taken by another
   * process before the server binds it: then the node moves to a fresh port (its links follow)
   * and starts again, a few times at most.
   */
  private async startServer(name: string, options: { keepStandbySignal?: boolean } = {}): Promise<void> {
    const server = this.member(name).server;
    for (let attempt = 1; ; attempt++) {
      this.configure(name, options);
      try {
        await server.start();
        return;
      } catch (error) {
        if (!(error instanceof PortInUseError) || attempt >= maxPortAttempts) throw error;
        const port = await freeLoopbackPort();
        this.options.note(name, `port ${server.port} was taken; moving to port ${port}`);
        server.port = port;
        this.options.onPortChange(name, port);
      }
    }
  }

  private configure(name: string, options: { keepStandbySignal?: boolean } = {}): void {
    const { settings, standby } = this.nodeSettings(name);
    this.member(name).server.configureNode(settings, options.keepStandbySignal === true ? "keep" : standby);
  }

  /**
   * Waits (bounded) until a server reports `name` as `settings` says, read on a fresh connection,
   * then a moment more, so that its background processes have reread the configuration too.
   */
  private async waitForSetting(node: string, name: string, settings: Settings): Promise<void> {
    const wanted = String(settings[name] ?? "");
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (!this.member(node).server.running()) throw new Error(`${node} stopped running`);
      try {
        const rows = await queryOnce(this.directAddress(node), `SHOW ${name}`, 2000);
        if (String(rows[0]?.[name] ?? "") === wanted) {
          await sleep(200);
          return;
        }
      } catch {
        // Not yet.
      }
      await sleep(50);
    }
    throw new Error(`${node} did not take ${name} = '${wanted}' within 10 s`);
  }

  /** Waits until every named standby streams from the primary. */
  private async waitStreaming(standbys: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      try {
        const rows = await queryOnce(
          this.directAddress(this.primaryName),
          "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'",
          2000,
        );
        seen = rows.map((r) => String(r.application_name));
        if (standbys.every((s) => seen.includes(s))) return;
      } catch {
        // Not yet.
      }
      await sleep(100);
    }
    throw new Error(
      `standbys ${standbys.filter((s) => !seen.includes(s)).join(", ")} did not stream from ${this.primaryName} within ${timeoutMs / 1000} s; see their node logs`,
    );
  }

  /** The harness's own, unproxied way to a server (the control plane lives beside the servers). */
  private directAddress(name: string): Address {
    return { host: "127.0.0.1", port: this.member(name).server.port };
  }

  // ---- clients ---------------------------------------------------------------------------------

  /** Where a client reaches the primary now. */
  clientTarget(): (Address & { node: string }) | undefined {
    if (this.clientsHeld) return undefined;
    const name = this.primaryName;
    return { ...this.links.address("client", name), node: name };
  }

  // ---- faults ----------------------------------------------------------------------------------

  crash(name: string): void {
    const m = this.member(name);
    m.heldDown = true;
    m.server.kill("crash");
  }

  restart(name: string): void {
    const m = this.member(name);
    if (!m.heldDown) return;
    m.heldDown = false;
    void this.enqueue(name, "restart", () => this.bringUp(name));
  }

  pause(name: string): void {
    this.member(name).server.pause();
  }

  resume(name: string): void {
    this.member(name).server.resume();
  }

  /** Starts a node that is down, in its role: a deposed node is rebuilt as a standby first. */
  private async bringUp(name: string): Promise<void> {
    const m = this.member(name);
    if (m.heldDown || this.stopped || m.server.running()) return;
    if (m.role === "deposed") {
      if (name === this.primaryName) throw new Error("the primary cannot be deposed");
      const from = this.links.address(name, this.primaryName);
      await m.server.baseBackupFrom(from.host, from.port);
      if (m.heldDown || this.stopped) return;
      m.role = "standby";
      this.options.note(name, `rebuilt as a standby of ${this.primaryName} (epoch ${this.epochNumber})`);
    }
    // A primary whose promotion never finished (it was killed during it) still holds a standby's
    // data: started without standby.signal it would run plain crash recovery, which does not
    // follow the timeline switch it streamed as a standby, and lose everything after it. So it
    // starts as the standby it still is and is promoted again.
    const unfinishedPromotion = name === this.primaryName && m.server.hasStandbySignal();
    await this.startServer(name, { keepStandbySignal: unfinishedPromotion });
    if (m.heldDown || this.stopped) {
      m.server.kill("crash");
      return;
    }
    if (unfinishedPromotion) await this.promote(name);
  }

  /** Promotes a running standby in its primary settings (set, and taken, before it promotes). */
  private async promote(name: string): Promise<void> {
    const m = this.member(name);
    // (standby.signal stays: the promotion itself removes it.)
    this.configure(name, { keepStandbySignal: true });
    await m.server.reload();
    await this.waitForSetting(name, "synchronous_standby_names", this.nodeSettings(name).settings);
    await m.server.promote();
  }

  // ---- the control plane -----------------------------------------------------------------------

  /**
   * Brings up every node that should run and does not (a rebuild that failed because the primary
   * was down, a start that failed): nothing held down by the nemesis, nothing already queued.
   */
  private reconcile(): void {
    const now = Date.now();
    for (const [name, m] of this.members) {
      if (m.heldDown || m.pending > 0 || now < m.retryAtMs || m.server.running()) continue;
      if (name !== this.primaryName && !this.member(this.primaryName).server.running()) continue;
      void this.enqueue(name, "bring-up", () => this.bringUp(name));
    }
  }

  private async runControlPlane(): Promise<void> {
    while (!this.stopped) {
      await sleep(this.options.probeIntervalMs);
      if (this.stopped || this.failingOver) continue;
      this.reconcile();
      const reachable = await this.primaryReachable();
      if (this.stopped) break;
      const now = Date.now();
      if (reachable) {
        this.unreachableSinceMs = undefined;
        this.lastHeldBack = undefined;
        continue;
      }
      this.unreachableSinceMs ??= now;
      if (now - this.unreachableSinceMs >= this.options.failoverAfterMs) {
        this.failingOver = true;
        try {
          await this.failover(now - this.unreachableSinceMs);
        } catch (error) {
          this.options.note(
            this.primaryName,
            `control plane: failover failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        } finally {
          this.failingOver = false;
        }
      }
    }
  }

  /** True when some standby reaches the primary (through its link) and it answers a query. */
  private async primaryReachable(): Promise<boolean> {
    const primary = this.member(this.primaryName);
    if (primary.role !== "primary") return false;
    const probes = this.standbyNames()
      .filter((name) => this.member(name).server.running() && !this.member(name).server.isPaused())
      .map((name) => this.links.address(name, this.primaryName));
    if (probes.length === 0) probes.push(this.directAddress(this.primaryName));
    const answers = await Promise.all(
      probes.map((address) =>
        queryOnce(address, "SELECT pg_is_in_recovery() AS recovery", this.options.probeTimeoutMs).then(
          (rows) => rows[0]?.recovery === false,
          () => false,
        ),
      ),
    );
    return answers.some((a) => a);
  }

  /** Log positions of the standbys that answer, directly (the control plane sits beside them). */
  private async standbyPositions(): Promise<Map<string, bigint>> {
    const positions = new Map<string, bigint>();
    await Promise.all(
      this.standbyNames().map(async (name) => {
        const m = this.member(name);
        if (m.role !== "standby" || !m.server.running() || m.server.isPaused()) return;
        try {
          const rows = await queryOnce(
            this.directAddress(name),
            "SELECT pg_is_in_recovery() AS recovery, pg_last_wal_receive_lsn()::text AS received, pg_last_wal_replay_lsn()::text AS replayed",
            this.options.probeTimeoutMs,
          );
          const row = rows[0];
          if (row?.recovery !== true) return;
          const received = parseLsn(row.received);
          const replayed = parseLsn(row.replayed);
          const lsn =
            received === undefined
              ? replayed
              : replayed === undefined || received > replayed
                ? received
                : replayed;
          if (lsn !== undefined) positions.set(name, lsn);
        } catch {
          // Unreachable: not a candidate.
        }
      }),
    );
    return positions;
  }

  /** Notes once why a failover is held back (the same reason is not repeated every probe). */
  private holdBack(old: string, unreachableMs: number, why: string): void {
    if (why === this.lastHeldBack) return;
    this.lastHeldBack = why;
    this.options.note(
      old,
      `control plane: ${old} unreachable for ${(unreachableMs / 1000).toFixed(1)} s, but ${why}; not failing over yet`,
    );
  }

  /**
   * The standbys that may be promoted, from their positions. In sync mode only those that reached
   * the current primary's own start (`promotedAtLsn`): every commit acknowledged in this epoch was
   * flushed by a standby that had streamed past that point, and every earlier acknowledged commit
   * lies before it, so a standby short of it may lack acknowledged commits. In async mode, any.
   */
  private candidates(positions: ReadonlyMap<string, bigint>): Map<string, bigint> {
    if (this.options.replication !== "sync") return new Map(positions);
    return new Map([...positions].filter(([, lsn]) => lsn >= this.promotedAtLsn));
  }

  private async failover(unreachableMs: number): Promise<void> {
    const old = this.primaryName;
    // Only a node in the standby role can have received (and, in sync mode, acknowledged) the
    // current primary's log; a deposed node waits for its rebuild. In sync mode every one of them
    // must answer: an acknowledged commit is known to be on at least one, not which.
    const standbys = this.standbyNames().filter((n) => this.member(n).role === "standby");
    const needed = this.options.replication === "sync" ? Math.max(1, standbys.length) : 1;
    const before = await this.standbyPositions();
    const describe = (positions: ReadonlyMap<string, bigint>) =>
      [...positions].map(([n, l]) => `${n} at ${formatLsn(l)}`).join(", ") || "none";
    if (before.size < needed) {
      this.holdBack(
        old,
        unreachableMs,
        `only ${before.size} of the ${needed} standbys needed answer (${describe(before)})`,
      );
      return;
    }
    if (this.candidates(before).size === 0) {
      this.holdBack(
        old,
        unreachableMs,
        `no standby has reached ${old}'s start at ${formatLsn(this.promotedAtLsn)} (${describe(before)}), so none is sure to hold every acknowledged commit`,
      );
      return;
    }
    const oldMember = this.member(old);
    if (this.options.fencing) {
      oldMember.server.kill(
        `fenced by the control plane (unreachable for ${(unreachableMs / 1000).toFixed(1)} s)`,
      );
    } else {
      this.options.note(
        old,
        "control plane: NOT fencing the old primary (bug knob no-fencing): it keeps running",
      );
    }
    // After the fence the standbys' positions can only have grown; read them again.
    const after = await this.standbyPositions();
    const positions = after.size >= needed ? after : before;
    const candidates = this.candidates(positions);
    let chosen: string | undefined;
    for (const [name, lsn] of candidates)
      if (chosen === undefined || lsn > candidates.get(chosen)!) chosen = name;
    if (chosen === undefined) throw new Error(`no standby to promote (${describe(positions)})`);
    this.options.note(
      chosen,
      `control plane: promoting ${chosen} (${describe(positions)}); ${old} unreachable for ${(unreachableMs / 1000).toFixed(1)} s`,
    );
    oldMember.role = "deposed";
    this.primaryName = chosen;
    this.epochNumber += 1;
    const promoted = this.member(chosen);
    promoted.role = "primary";
    // Clients wait until the new primary is fully configured: a standby promoted with its standby
    // settings would acknowledge commits without any synchronous standby until its next reload.
    this.clientsHeld = true;
    // Its primary settings (in sync mode, the standbys it must wait for) first, then the
    // promotion, so that it never acknowledges a commit as a primary without them. If it dies
    // meanwhile, its restart finishes the promotion (bringUp).
    await this.enqueue(chosen, "promote", () => this.promote(chosen));
    this.clientsHeld = false;
    this.unreachableSinceMs = undefined;
    this.lastHeldBack = undefined;
    this.failovers.push({ from: old, to: chosen, epoch: this.epochNumber });
    this.options.note(
      chosen,
      `control plane: ${chosen} is the primary (epoch ${this.epochNumber}); clients now go to it`,
    );
    const chosenLsn = positions.get(chosen)!;
    this.promotedAtLsn = chosenLsn;
    for (const name of this.options.nodeNames) {
      if (name === chosen) continue;
      const m = this.member(name);
      const lsn = positions.get(name);
      if (name !== old && m.role === "standby" && lsn !== undefined && lsn <= chosenLsn) {
        // It received a prefix of what the new primary has (both streamed the old primary's log):
        // it follows the new primary across the timeline switch; a reload points it there.
        void this.enqueue(name, "follow the new primary", async () => {
          this.configure(name);
          if (m.server.running()) {
            await m.server.reload();
            this.options.note(name, `now follows ${chosen} (epoch ${this.epochNumber})`);
          } else await this.bringUp(name);
        });
        continue;
      }
      m.role = "deposed";
      // Without fencing the old primary keeps running as a second primary until something stops it.
      if (name === old && !this.options.fencing && m.server.running()) continue;
      void this.enqueue(name, "rebuild", async () => {
        if (m.server.running()) await m.server.killAndWait("stopped for a rebuild from the new primary");
        await this.bringUp(name);
      });
    }
  }

  // ---- the end ---------------------------------------------------------------------------------

  /** Stops the control plane and every server (kill -9), and removes the data folders. */
  async stop(removeData: boolean): Promise<void> {
    this.stopped = true;
    await this.controlLoop?.catch(() => undefined);
    for (const m of this.members.values()) m.heldDown = true;
    await Promise.all([...this.members.values()].map((m) => m.queue.catch(() => undefined)));
    await Promise.all([...this.members.values()].map((m) => m.server.destroy(removeData)));
  }

  /** Every pid of a postmaster the cluster believes runs (tests look for leftovers). */
  postmasterPids(): number[] {
    return [...this.members.values()].flatMap((m) => (m.server.pid !== undefined ? [m.server.pid] : []));
  }
}
