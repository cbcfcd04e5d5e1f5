/**
 * The replicated engine as a system under test: starts the data nodes, the storage replicas
 * (quorum mode) and the control plane "cp" on a world, opens clients that follow redirects to
 * the writer, and exposes the nodes' real roles, zones and the current writer to nemeses.
 *
 * Clients: as in Jepsen, each client has a home node (data nodes round-robin by client name) and
 * sends every operation there first; a node that is not the writer answers with a redirect to the
 * writer it knows (followed at most `maxRedirects` times) or "no writer" (the op was not run:
 * `fail`). So during a failover, clients homed on the old writer keep talking to it while others
 * reach the new one, which is what exposes a deposed writer that still answers. A home node that
 * did not answer in time is skipped for `homeBackoffNs` (the client tries the writer it last
 * heard of, rotating on silence), so a crashed node does not turn every op into `info`.
 * Reads go to a replica only with `readFrom: "replicas"`. No reply in time is `info`.
 */
import { Rpc, RpcRemoteError } from "../../../harness/runtime/rpc.ts";
import type { World } from "../../../harness/runtime/types.ts";
import {
  worldNodeControl,
  type Client,
  type Completion,
  type Invocation,
  type NodeControl,
  type NodeInfo,
  type SystemUnderTest,
} from "../../../harness/system.ts";
import { resolveConfig, type EngineClusterConfig, type ResolvedConfig } from "./config.ts";
import type { ControlState } from "./controlPlane.ts";
import type { NodeBoard, OpReply, OpRequest } from "./protocol.ts";
import {
  engineNodeProgram,
  portableEngineNode,
  type EngineNodeArgs,
  type EngineNodeStatus,
} from "./nodeProgram.ts";
import { isReadOnly } from "./ops.ts";

export { engineBugNames, engineDefaultNodes, engineProcessTiming } from "./config.ts";

const maxRedirects = 3;
/** How long a client skips its home node after it did not answer. */
const homeBackoffNs = 2e9;
/** Setup waits at most this long (true time) for the first writer. */
const setupLimitNs = 30e9;

export class EngineSystem implements SystemUnderTest {
  readonly name = "engine";
  readonly nodeNames: readonly string[];
  readonly config: ResolvedConfig;
  private readonly boards = new Map<string, NodeBoard>();
  private control_: ControlState | undefined;

  constructor(private readonly clusterConfig: EngineClusterConfig) {
    this.config = resolveConfig(clusterConfig);
    this.nodeNames = this.config.topology.nodes.map((n) => n.name);
    for (const n of this.config.topology.nodes)
      this.boards.set(n.name, { role: "standby", ready: false, epoch: 0 });
  }

  async setup(world: World): Promise<void> {
    for (const spec of this.config.topology.nodes) {
      const onStatus = (status: EngineNodeStatus): void => {
        if ("board" in status) this.boards.set(spec.name, status.board);
        else this.control_ = status.control;
      };
      const args: EngineNodeArgs = { config: this.clusterConfig, node: spec.name };
      world.startNode(
        spec.name,
        engineNodeProgram(args, (status) => onStatus(status as EngineNodeStatus)),
        portableEngineNode(this.clusterConfig, spec.name, onStatus),
      );
    }
    const writer = this.config.topology.initialWriter;
    for (let waitedNs = 0; waitedNs < setupLimitNs; waitedNs += 10e6) {
      if (this.boards.get(writer)!.ready && [...this.boards.values()].every((b) => b.ready)) return;
      await world.sleep(10e6);
    }
    throw new Error(`engine: nodes not ready after ${setupLimitNs / 1e9} s`);
  }

  /**
   * A client homed on a data node chosen from its name (round-robin-like, as Jepsen spreads
   * clients over nodes), or on `options.home` (benchmarks home every client on the writer, so that
   * a dead standby costs only what the durability rule makes it cost).
   */
  async openClient(world: World, clientName: string, options: { home?: string } = {}): Promise<Client> {
    const rt = world.clientRuntime(clientName);
    const { topology, readFrom, timing } = this.config;
    const rpc = new Rpc(rt, { defaultTimeoutNs: timing.clientTimeoutNs });
    let writerGuess = topology.initialWriter;
    const replicas = topology.dataNodes.filter((n) => n !== topology.initialWriter);
    const index = [...clientName].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7);
    let nextRequest = 0;
    const replica = replicas.length > 0 ? replicas[index % replicas.length] : undefined;
    if (options.home !== undefined && !topology.dataNodes.includes(options.home)) {
      throw new Error(
        `engine: client home ${options.home} is not a data node (${topology.dataNodes.join(", ")})`,
      );
    }
    const home = options.home ?? topology.dataNodes[index % topology.dataNodes.length]!;
    let skipHomeUntilNs = -Infinity;
    return {
      async invoke(invocation: Invocation): Promise<Completion> {
        const readOnly = isReadOnly(invocation);
        const requestId = `${clientName}:${nextRequest++}`;
        const toReplica = readOnly && readFrom === "replicas" && replica !== undefined;
        const homeAnswers = rt.clock.monotonicNs() >= skipHomeUntilNs;
        let target = toReplica ? replica : homeAnswers ? home : writerGuess;
        for (let hop = 0; hop <= maxRedirects; hop++) {
          let reply: OpReply;
          try {
            const request: OpRequest = { invocation, allowReplica: toReplica, requestId };
            reply = (await rpc.request(target, "op", request)) as OpReply;
          } catch (error) {
            // No handler yet (a node still starting) means the op was not run; silence may hide anything.
            if (error instanceof RpcRemoteError) {
              return { type: "fail", value: invocation.value, error: "unavailable", node: target };
            }
            // Ask another node next time: it knows the writer or redirects to it.
            if (target === home) skipHomeUntilNs = rt.clock.monotonicNs() + homeBackoffNs;
            const i = topology.dataNodes.indexOf(target);
            writerGuess = topology.dataNodes[(i + 1) % topology.dataNodes.length]!;
            return { type: "info", value: invocation.value, error: "timeout", node: target };
          }
          if ("redirect" in reply) {
            if (reply.redirect === null || reply.redirect === target) {
              return { type: "fail", value: invocation.value, error: "no-writer", node: target };
            }
            target = reply.redirect;
            writerGuess = reply.redirect;
            continue;
          }
          return { ...reply, node: target };
        }
        return { type: "fail", value: invocation.value, error: "too-many-redirects", node: target };
      },
      async close() {},
    };
  }

  /** Every node with its role now (as the node itself last published it) and its zone. */
  nodes(): NodeInfo[] {
    return this.config.topology.nodes.map((n) => ({
      name: n.name,
      role: this.boards.get(n.name)!.role,
      zone: n.zone,
    }));
  }

  /** The writer and epoch the control plane last decided on. */
  writer(): { node: string; epoch: number } | undefined {
    const s = this.control_;
    if (s === undefined || s.writer === undefined) return undefined;
    const last = s.history.at(-1);
    return last === undefined ? undefined : { node: last.writer, epoch: last.epoch };
  }

  control(world: World): NodeControl {
    return worldNodeControl(
      world,
      this.nodeNames,
      () => this.nodes(),
      () => this.writer(),
      (node, what) => {
        // Data nodes keep a part-1 database (`pages`, `wal`); storage replicas their `segment` log
        // beside the database their pages are materialised in. The control plane keeps neither.
        const storage = this.config.topology.storageNodes.includes(node);
        if (!storage && !this.config.topology.dataNodes.includes(node)) return undefined;
        return what === "page" ? "pages" : storage ? "segment" : "wal";
      },
    );
  }

  async teardown(): Promise<void> {}
}
