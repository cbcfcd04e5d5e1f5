/**
 * `--system postgres`: PostgreSQL 15 from Debian's packages as the system under test. A primary
 * and `nodes − 1` streaming standbys (cluster.ts), clients over node-postgres (client.ts), nemeses
 * acting on the real processes: crash is kill -9 of a server's process group and a restart with
 * `pg_ctl`, pause is SIGSTOP of it. PostgreSQL runs only as real processes: there is no simulated
 * PostgreSQL, so this system exists in process mode only.
 *
 * The servers' data lives in the run's store (`nodes/<node>/data`, removed when the run ends; the
 * logs `nodes/<node>.log` stay). Whatever ends the run, no server outlives it: teardown kills them,
 * and a watchdog process kills them if the harness itself dies (watchdog.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { BuildConfig } from "../../harness/testConfig.ts";
import type { World } from "../../harness/runtime/types.ts";
import { ProxyNetwork } from "../../harness/runtime/process/proxy.ts";
import { proxyFaultsOf } from "../../harness/runtime/process/world.ts";
import type { Client, NodeControl, NodeInfo, SystemUnderTest } from "../../harness/system.ts";
import {
  checkServerUserSwitch,
  chooseDataRoot,
  serverAccount,
  type DataRoot,
  type ServerAccount,
} from "./account.ts";
import { findPostgresBinaries, type PostgresBinaries } from "./binaries.ts";
import { PostgresClient } from "./client.ts";
import { PostgresCluster, queryOnce, type Links } from "./cluster.ts";
import { freeLoopbackPort } from "../../harness/runtime/process/ports.ts";
import { rowTableFor, schemaStatements, type Isolation } from "./sql.ts";
import { Watchdog } from "./watchdog.ts";
import { postgresMaxNodes } from "./options.ts";

export interface PostgresSystemOptions {
  readonly replication: "async" | "sync";
  readonly isolation: Isolation;
  readonly nodes: number;
  readonly concurrency: number;
  readonly workload?: string;
  readonly failoverAfterMs?: number;
  readonly bugs?: readonly string[];
  readonly run?: BuildConfig["run"];
  /** Keep the data folders when the run ends (default: remove them; the logs stay). */
  readonly keepData?: boolean;
}

/** The endpoint name of the clients on the proxy (partitions never name it: they cut nodes). */
const clientEndpoint = "client";

/** Throws SystemUnavailableError (one line: what to install) when PostgreSQL cannot run here. */
export function postgresPreflight(): void {
  findPostgresBinaries();
  checkServerUserSwitch(serverAccount());
}

export class PostgresSystem implements SystemUnderTest {
  readonly name = "postgres";
  readonly nodeNames: readonly string[];
  private readonly binaries: PostgresBinaries;
  private readonly account: ServerAccount;
  private cluster: PostgresCluster | undefined;
  private watchdog: Watchdog | undefined;
  private dataRoot: DataRoot | undefined;
  /** Links in the store to data folders that live in a temporary folder. */
  private readonly links: string[] = [];
  private ownRunDir: string | undefined;
  private world: World | undefined;
  private network: ProxyNetwork | undefined;

  constructor(private readonly options: PostgresSystemOptions) {
    if (!(Number.isInteger(options.nodes) && options.nodes >= 1 && options.nodes <= postgresMaxNodes))
      throw new RangeError(`postgres runs 1 to ${postgresMaxNodes} nodes, got ${options.nodes}`);
    this.nodeNames = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    // Both throw SystemUnavailableError with the one line to act on, before anything starts.
    this.binaries = findPostgresBinaries();
    this.account = serverAccount();
  }

  private note(node: string, line: string): void {
    this.options.run?.log(node, this.world?.nowNs() ?? 0, `postgres: ${line}`);
  }

  async setup(world: World): Promise<void> {
    this.world = world;
    const runDir = resolve(
      this.options.run?.dir ?? (this.ownRunDir = mkdtempSync(join(tmpdir(), "faultline-postgres-run-"))),
    );
    this.watchdog = Watchdog.start();
    this.dataRoot = chooseDataRoot(this.account, join(runDir, "nodes"));
    if (this.dataRoot.temporary) this.watchdog.watchTemporaryDir(this.dataRoot.dir);
    // Data kept in the store goes at the end of the run (teardown), and with the watchdog if the
    // harness dies first: a gate's or sweep's worker is killed on Ctrl-C and at its time limit,
    // which left 70-90 MB a node in the store, uploaded with it by CI.
    else if (this.options.keepData !== true)
      for (const name of this.nodeNames)
        this.watchdog.watchTemporaryDir(join(this.dataRoot.dir, name, "data"));
    if (this.dataRoot.note !== undefined) this.note(this.nodeNames[0]!, this.dataRoot.note);
    if (this.dataRoot.temporary) {
      // The store still shows where each node's data is: nodes/<node>/data links to it.
      for (const name of this.nodeNames) {
        const link = join(runDir, "nodes", name, "data");
        mkdirSync(join(runDir, "nodes", name), { recursive: true });
        symlinkSync(join(this.dataRoot.dir, name, "data"), link);
        this.links.push(link);
      }
    }
    // Every link through the harness's proxy: clients to each node, and each node to every other
    // (replication, base backups and the control plane's probes of the primary), opened first so
    // that every address is known before a server is configured, and so that the servers' ports,
    // picked next, cannot be ones the proxies listen on.
    const network = (this.network = new ProxyNetwork(world.random.fork("postgres/proxy")));
    for (const name of this.nodeNames) network.setTarget(name, 0);
    const linkPorts = new Map<string, number>();
    for (const to of this.nodeNames) {
      for (const from of [clientEndpoint, ...this.nodeNames]) {
        if (from === to) continue;
        const port = await network.link(from, to);
        if (port === undefined) throw new Error(`postgres: no proxy link ${from} -> ${to}`);
        linkPorts.set(`${from}>${to}`, port);
      }
    }
    const ports: Record<string, number> = {};
    for (const name of this.nodeNames) {
      ports[name] = await freeLoopbackPort();
      network.setTarget(name, ports[name]);
    }
    const links: Links = {
      address: (from, to) => {
        const port = linkPorts.get(`${from === to ? clientEndpoint : from}>${to}`);
        if (port === undefined) throw new Error(`postgres: no link from ${from} to ${to}`);
        return { host: "127.0.0.1", port };
      },
    };
    this.cluster = new PostgresCluster({
      nodeNames: this.nodeNames,
      replication: this.options.replication,
      maxConnections: Math.max(100, this.options.concurrency * 2 + 40),
      failoverAfterMs: this.options.failoverAfterMs ?? 2000,
      probeIntervalMs: 250,
      probeTimeoutMs: 1000,
      fencing: !(this.options.bugs ?? []).includes("no-fencing"),
      binaries: this.binaries,
      account: this.account,
      watchdog: this.watchdog,
      dataRoot: this.dataRoot.dir,
      logDir: join(runDir, "nodes"),
      ports,
      links,
      onPortChange: (node, port) => network.setTarget(node, port),
      note: (node, line) => this.note(node, line),
      createSchema: async (address) => {
        for (const statement of schemaStatements) await queryOnce(address, statement, 30_000);
      },
    });
    await this.cluster.start();
  }

  private get started(): PostgresCluster {
    if (this.cluster === undefined) throw new Error("postgres: setup has not run");
    return this.cluster;
  }

  async openClient(_world: World, clientName: string): Promise<Client> {
    const cluster = this.started;
    return new PostgresClient({
      target: () => cluster.clientTarget(),
      applicationName: `faultline ${clientName}`,
      connectTimeoutMs: 2000,
      isolation: this.options.isolation,
      table: rowTableFor(this.options.workload),
    });
  }

  control(_world: World): NodeControl {
    const unsupported = (what: string) => () => {
      throw new Error(`postgres: ${what} is not supported`);
    };
    return {
      nodes: (): NodeInfo[] =>
        this.nodeNames.map((name) => ({ name, role: this.cluster?.roleOf(name) ?? "standby" })),
      writer: () =>
        this.cluster === undefined ? undefined : { node: this.cluster.primary, epoch: this.cluster.epoch },
      crash: (n) => this.started.crash(n),
      restart: (n) => this.started.restart(n),
      pause: (n) => this.started.pause(n),
      resume: (n) => this.started.resume(n),
      setGrudge: (grudge) => this.network?.setGrudge(grudge),
      heal: () => this.network?.heal(),
      setLinkFaults: (faults) => this.network?.setFaults(proxyFaultsOf(faults)),
      setClock: unsupported("a clock fault (PostgreSQL reads the OS clock; libfaketime is not wired in)"),
    };
  }

  /** Every postmaster pid the system started and believes alive (tests look for leftovers). */
  postmasterPids(): number[] {
    return this.cluster?.postmasterPids() ?? [];
  }

  get failovers(): readonly { from: string; to: string; epoch: number }[] {
    return this.cluster?.failovers ?? [];
  }

  async teardown(): Promise<void> {
    try {
      await this.cluster?.stop(this.options.keepData !== true);
    } finally {
      await this.network?.close();
      if (this.dataRoot?.temporary === true) rmSync(this.dataRoot.dir, { recursive: true, force: true });
      for (const link of this.links) rmSync(link, { force: true });
      if (this.ownRunDir !== undefined && this.options.keepData !== true)
        rmSync(this.ownRunDir, { recursive: true, force: true });
      this.watchdog?.close();
    }
  }
}
