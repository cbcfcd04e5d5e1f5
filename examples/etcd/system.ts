/**
 * etcd under faultline, as a plugin loaded by path exactly as a user's own would be:
 *
 *     npx faultline run --system ./examples/etcd/system.ts --workload register --nemesis partition,crash
 *     npx faultline run --system ./examples/etcd/system.ts --workload register --reads serializable
 *
 * A three-node cluster of Debian's `etcd` (package `etcd-server`), each member its own process
 * group on free loopback ports, under faultline's process control (kill -9, SIGSTOP/SIGCONT, a
 * reaper so no member outlives the harness) and behind its fault proxy: every member → member link
 * (through each member's peer router, peerRouter.ts) and every client → member link is a proxy the
 * nemesis partitions. Output goes to `nodes/<member>.log` of the run; data to the run's folder (or
 * a temporary one), removed at teardown as PostgreSQL's is (and by the supervisor's reaper if the
 * harness dies first): etcd preallocates its write-ahead log, about 80 MB a member, which a stored
 * run has no use for once its members are gone.
 *
 * What faultline should find, as Jepsen did: with the default quorum reads, etcd is linearizable
 * under partitions, crashes and pauses; with `--reads serializable` a member cut off from the
 * leader keeps answering reads from its own state, and the register workload finds stale reads.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  defineSystem,
  freeLoopbackPort,
  loopbackHost,
  ProcessSupervisor,
  ProxyNetwork,
  type BuildConfig,
  type ManagedProcess,
  type NodeControl,
  type SystemUnderTest,
  type World,
} from "faultline";
import { EtcdClient, type ReadMode } from "./client.ts";
import { PeerRouter } from "./peerRouter.ts";

const etcdProgram = "etcd";
/** How long the members may take to elect a leader and serve, ms. */
const readyLimitMs = 30_000;

interface Member {
  readonly name: string;
  /** The member's own peer listener. */
  readonly peerPort: number;
  /** Its client listener (the gateway). */
  readonly clientPort: number;
  /** The port in its advertised peer URL: a label the routers read, never listened on. */
  readonly labelPort: number;
  router?: PeerRouter;
  process?: ManagedProcess;
}

/** The `run` part of a process-mode BuildConfig, where the harness provides it. */
type RunPlace = { readonly dir: string; readonly log?: (node: string, timeNs: number, line: string) => void };

class EtcdCluster implements SystemUnderTest {
  readonly name = "etcd";
  readonly nodeNames: readonly string[];
  private readonly members: Member[] = [];
  private supervisor: ProcessSupervisor | undefined;
  private network: ProxyNetwork | undefined;
  private dataRoot = "";
  private removeDataRoot = false;
  private world: World | undefined;

  constructor(
    private readonly config: BuildConfig,
    private readonly reads: ReadMode,
  ) {
    this.nodeNames = Array.from({ length: config.nodes }, (_, i) => `n${i + 1}`);
  }

  private get runPlace(): RunPlace | undefined {
    return this.config.run;
  }

  private log(node: string, line: string): void {
    this.runPlace?.log?.(node, this.world?.nowNs() ?? 0, line);
  }

  async setup(world: World): Promise<void> {
    this.world = world;
    const place = this.runPlace;
    if (place !== undefined) {
      this.dataRoot = join(place.dir, "nodes");
    } else {
      this.dataRoot = mkdtempSync(join(tmpdir(), "faultline-etcd-"));
      this.removeDataRoot = true;
    }
    this.supervisor = new ProcessSupervisor();
    // What teardown removes goes with the members if the harness dies before it (SIGKILL, a
    // gate's worker killed on Ctrl-C or at its time limit): else about 120 MB a member stay.
    if (this.removeDataRoot) this.supervisor.removeIfHarnessDies(resolve(this.dataRoot));
    else for (const name of this.nodeNames) this.supervisor.removeIfHarnessDies(resolve(this.dataRoot, name));
    this.network = new ProxyNetwork(world.random.fork("etcd-proxy"));
    for (const name of this.nodeNames) {
      const [peerPort, clientPort, labelPort] = [
        await freeLoopbackPort(),
        await freeLoopbackPort(),
        await freeLoopbackPort(),
      ];
      this.members.push({ name, peerPort: peerPort!, clientPort: clientPort!, labelPort: labelPort! });
    }
    const labels = new Map(this.members.map((m) => [m.labelPort, m.name]));
    for (const member of this.members) {
      this.network.setTarget(member.name, member.peerPort);
      this.network.setTarget(clientEndpoint(member.name), member.clientPort);
      member.router = await PeerRouter.open(member.name, labels, this.network);
    }
    for (const member of this.members) this.start(member);
    await this.waitUntilServing();
  }

  private start(member: Member): void {
    const initialCluster = this.members.map((m) => `${m.name}=http://0.0.0.0:${m.labelPort}`).join(",");
    const dataDir = join(this.dataRoot, member.name, "data");
    mkdirSync(dataDir, { recursive: true });
    const proxy = `http://${loopbackHost}:${member.router!.port}`;
    member.process = this.supervisor!.start({
      name: member.name,
      file: etcdProgram,
      args: [
        ...["--name", member.name, "--data-dir", dataDir],
        ...["--listen-peer-urls", `http://${loopbackHost}:${member.peerPort}`],
        ...["--initial-advertise-peer-urls", `http://0.0.0.0:${member.labelPort}`],
        ...["--listen-client-urls", `http://${loopbackHost}:${member.clientPort}`],
        ...["--advertise-client-urls", `http://${loopbackHost}:${member.clientPort}`],
        ...["--initial-cluster", initialCluster, "--initial-cluster-state", "new"],
        ...["--initial-cluster-token", `faultline-${this.config.seed}`],
        ...["--logger", "zap", "--log-outputs", "stderr"],
      ],
      // Peer traffic through this member's router (Go's proxy settings; none inherited).
      env: {
        HTTP_PROXY: proxy,
        http_proxy: proxy,
        NO_PROXY: "",
        no_proxy: "",
        HTTPS_PROXY: "",
        https_proxy: "",
      },
      logFile: join(this.dataRoot, `${member.name}.log`),
    });
    this.log(member.name, `started etcd (pid ${member.process.pid})`);
  }

  /** Every member answers /health with a leader elected, or the setup fails naming the logs. */
  private async waitUntilServing(): Promise<void> {
    const deadline = Date.now() + readyLimitMs;
    for (const member of this.members) {
      for (;;) {
        if (member.process?.running !== true)
          throw new Error(
            `etcd ${member.name} exited during setup; see ${join(this.dataRoot, `${member.name}.log`)}`,
          );
        try {
          const response = await fetch(`http://${loopbackHost}:${member.clientPort}/health`, {
            signal: AbortSignal.timeout(1_000),
          });
          const health = (await response.json()) as { health?: string };
          if (health.health === "true") break;
        } catch {
          // Not listening yet.
        }
        if (Date.now() > deadline)
          throw new Error(
            `etcd ${member.name} not healthy after ${readyLimitMs / 1000} s; see its log in ${this.dataRoot}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  async openClient(_world: World, clientName: string): Promise<EtcdClient> {
    // Clients are homed on members round-robin by worker thread (process mod concurrency), as in
    // Jepsen, so a worker whose operation ended in info comes back to the same member.
    const process = Number(/\d+/.exec(clientName)?.[0] ?? 0);
    const index = (process % this.config.concurrency) % this.members.length;
    const member = this.members[index]!;
    return new EtcdClient(
      () => this.network!.link(clientName, clientEndpoint(member.name)),
      member.name,
      this.reads,
    );
  }

  control(_world: World): NodeControl {
    const member = (name: string): Member => {
      const m = this.members.find((x) => x.name === name);
      if (m === undefined) throw new Error(`etcd: no member ${name}`);
      return m;
    };
    return {
      nodes: () => this.members.map((m) => ({ name: m.name, role: "member" })),
      writer: () => undefined,
      crash: (name) => {
        member(name).process?.kill();
        this.log(name, "crashed (kill -9)");
      },
      restart: (name) => {
        const m = member(name);
        if (m.process?.running === true) return;
        this.start(m);
      },
      pause: (name) => {
        member(name).process?.pause();
        this.log(name, "paused (SIGSTOP)");
      },
      resume: (name) => {
        member(name).process?.resume();
        this.log(name, "resumed (SIGCONT)");
      },
      setGrudge: (grudge) => this.network!.setGrudge(grudge),
      heal: () => this.network!.heal(),
      setLinkFaults: (faults) =>
        this.network!.setFaults(
          faults.extraLatencyNs !== undefined ? { delayMeanNs: faults.extraLatencyNs } : {},
        ),
      setClock: () => {
        throw new Error("etcd: clock faults are not supported (faultline does not own the members' clocks)");
      },
    };
  }

  async teardown(): Promise<void> {
    await Promise.all(this.members.map((m) => m.process?.terminate(2_000)));
    await Promise.all(this.members.map((m) => m.router?.close()));
    await this.network?.close();
    await this.supervisor?.close();
    if (this.removeDataRoot) rmSync(this.dataRoot, { recursive: true, force: true });
    else
      for (const member of this.members)
        rmSync(join(this.dataRoot, member.name), { recursive: true, force: true, maxRetries: 5 });
  }
}

/** The endpoint name of a member's client listener on the proxy network. */
const clientEndpoint = (member: string): string => `${member}/client`;

/** Whether Debian's etcd is installed (apt-get install etcd-server). */
export function etcdInstalled(): boolean {
  return spawnSync(etcdProgram, ["--version"], { stdio: "ignore" }).status === 0;
}

export default defineSystem({
  name: "etcd",
  description: "a three-member etcd cluster (Debian's etcd-server), an example plugin",
  defaultNodes: 3,
  workloads: ["register", "set"],
  nemeses: ["partition", "crash", "pause"],
  modes: ["process"],
  options: {
    reads: {
      description: "quorum (linearizable, the default) | serializable (a member's local state)",
      choices: ["quorum", "serializable"],
      default: "quorum",
    },
  },
  refuse: () => (etcdInstalled() ? undefined : "etcd is not installed: apt-get install etcd-server"),
  build: (config) => new EtcdCluster(config, (config.systemOptions?.["reads"] ?? "quorum") as ReadMode),
});
