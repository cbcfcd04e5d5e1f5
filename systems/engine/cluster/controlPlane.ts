/**
 * The control plane (node "cp"): detects a dead or unreachable writer by heartbeats on its own
 * simulated clock and promotes a new writer under a higher epoch. async/sync: it first fences the
 * standbys at the new epoch (so the old writer can no longer get confirmations), waits for enough
 * of them to be sure the most up-to-date one is among those answering (sync: all but n−1 of the
 * n standbys a commit needs), and promotes the one with the newest log (by log epoch, then end).
 * quorum: it promotes a reachable compute node, which recovers the log from the storage quorum.
 * standalone (async, one data node): it promotes that node again once it answers after a restart.
 * With leases, it never promotes before the old writer's lease ran out on its own clock. Its
 * state (epoch, writer, timeline) is persisted, so a crashed control plane resumes where it was.
 */
import { Rpc } from "../../../harness/runtime/rpc.ts";
import type { Runtime } from "../../../harness/runtime/types.ts";
import { Durability } from "../durability.ts";
import type { ResolvedConfig } from "./config.ts";
import { gather, type HeartbeatMessage, type HeartbeatReply, type NodeBoard } from "./protocol.ts";
import { freezeHistory, readJsonFile, writeJsonFile, type History } from "./timeline.ts";

export interface ControlState {
  epoch: number;
  writer: string | undefined;
  history: History;
}

const stateFile = "cp-state";

export class ControlPlane {
  private readonly rpc: Rpc;
  private state: ControlState;
  private readonly lastHeardNs = new Map<string, number>();
  private readonly reports = new Map<string, HeartbeatReply>();
  private writerGoodNs = 0;
  private leaseUntilNs = -Infinity;
  private failingOver = false;

  constructor(
    private readonly rt: Runtime,
    private readonly config: ResolvedConfig,
    board: NodeBoard,
    /** Where the harness reads who the writer is (never read back by the protocol). */
    private readonly publish: (state: ControlState) => void,
  ) {
    this.rpc = new Rpc(rt, { defaultTimeoutNs: config.timing.heartbeatIntervalNs * 2 });
    board.role = "control";
    board.ready = true;
    const first = config.topology.initialWriter;
    this.state = {
      epoch: 1,
      writer: first,
      history: freezeHistory([{ epoch: 1, writer: first, startLsn: 0 }]),
    };
    this.rpc.handle("lease", (body, from) => this.onLease(body as { epoch: number }, from));
  }

  async start(): Promise<void> {
    const saved = (await readJsonFile(this.rt.disk, stateFile)) as ControlState | undefined;
    if (saved !== undefined) this.state = { ...saved, history: freezeHistory(saved.history) };
    else await this.save();
    this.publish(this.state);
    this.writerGoodNs = this.rt.clock.monotonicNs();
    // After a restart, an old lease may still run: wait one full lease before any promotion.
    if (this.config.leases) this.leaseUntilNs = this.rt.clock.monotonicNs() + this.leaseWaitNs();
    this.rt.spawn("heartbeat", async () => {
      for (;;) {
        this.heartbeat();
        await this.rt.clock.sleep(this.config.timing.heartbeatIntervalNs);
        await this.check();
      }
    });
  }

  private leaseWaitNs(): number {
    const { leaseNs, leaseDriftBoundPpm } = this.config.timing;
    return leaseNs * (1 + leaseDriftBoundPpm * 1e-6);
  }

  private async save(): Promise<void> {
    await writeJsonFile(new Durability(this.rt.disk, this.config.bugs), stateFile, this.state);
    this.publish(this.state);
  }

  private onLease(body: { epoch: number }, from: string): { granted: boolean; grantWallNs: number } {
    const granted = !this.failingOver && body.epoch === this.state.epoch && from === this.state.writer;
    if (granted) {
      this.leaseUntilNs = Math.max(this.leaseUntilNs, this.rt.clock.monotonicNs() + this.leaseWaitNs());
    }
    return { granted, grantWallNs: this.rt.clock.nowNs() };
  }

  private heartbeat(): void {
    const message: HeartbeatMessage = {
      epoch: this.state.epoch,
      writer: this.state.writer,
      history: this.state.history,
    };
    for (const node of this.config.topology.dataNodes) {
      this.rpc.request(node, "hb", message).then(
        (reply) => {
          const r = reply as HeartbeatReply;
          const now = this.rt.clock.monotonicNs();
          this.lastHeardNs.set(node, now);
          this.reports.set(node, r);
          if (node === this.state.writer && r.role === "writer" && r.epoch === this.state.epoch) {
            this.writerGoodNs = now;
          }
        },
        () => undefined,
      );
    }
  }

  private async check(): Promise<void> {
    const now = this.rt.clock.monotonicNs();
    if (this.failingOver || now - this.writerGoodNs <= this.config.timing.failoverAfterNs) return;
    if (now < this.leaseUntilNs) return;
    this.failingOver = true;
    try {
      await this.failover();
    } finally {
      this.failingOver = false;
      // Bound the retry rate: the next attempt waits another detection period.
      this.writerGoodNs = Math.max(
        this.writerGoodNs,
        this.rt.clock.monotonicNs() - this.config.timing.failoverAfterNs / 2,
      );
    }
  }

  private async failover(): Promise<void> {
    const { topology, timing, mode } = this.config;
    const epoch = this.state.epoch + 1;
    const oldWriter = this.state.writer;
    let candidate: string | undefined;
    if (mode === "quorum") {
      // The candidate comes from heartbeats alone: with none, no epoch is spent (an unreachable
      // writer and no data node in reach once made a new epoch every retry, each saved and sent).
      const recent = this.rt.clock.monotonicNs() - timing.failoverAfterNs;
      const alive = topology.dataNodes.filter(
        (n) => (this.lastHeardNs.get(n) ?? -Infinity) >= recent && this.reports.get(n)?.ready === true,
      );
      alive.sort((a, b) => (this.reports.get(b)?.logEnd ?? 0) - (this.reports.get(a)?.logEnd ?? 0));
      candidate = alive.find((n) => n !== oldWriter) ?? alive[0];
      if (candidate === undefined) {
        this.rt.log(
          `failover: writer ${oldWriter ?? "none"} not seen at epoch ${this.state.epoch}; no data node in reach, epoch kept`,
        );
        return;
      }
    }
    this.rt.log(
      `failover: writer ${oldWriter ?? "none"} not seen at epoch ${this.state.epoch}; trying epoch ${epoch}`,
    );
    // The new epoch is durable before anyone hears of it, so it is never reused.
    this.state = { ...this.state, epoch };
    await this.save();
    if (mode !== "quorum") {
      const standbys = topology.dataNodes.filter((n) => n !== oldWriter);
      // A standalone server has no standby: its own log is the only one, so once it answers
      // (restarted and recovered) it is promoted again, under the new epoch.
      const need = topology.standalone
        ? 0
        : mode === "async"
          ? 1
          : standbys.length - this.config.syncStandbys.count + 1;
      const replies = await gather(
        topology.dataNodes.map((n) =>
          this.rpc.request(n, "fence", { epoch }, timing.heartbeatIntervalNs * 4).then((r) => {
            return { node: n, reply: r as HeartbeatReply };
          }),
        ),
        topology.dataNodes.length,
        (r) => (r as { reply: HeartbeatReply }).reply.ready,
      );
      const answered = replies as { node: string; reply: HeartbeatReply }[];
      if (answered.filter((a) => a.node !== oldWriter).length < need) {
        this.rt.log(
          `failover to epoch ${epoch} abandoned: ${answered.length} nodes fenced, need ${need} besides the old writer`,
        );
        return;
      }
      if (this.config.bugs.has("promote-any-standby")) {
        candidate = answered.find((a) => a.node !== oldWriter)?.node;
      } else {
        answered.sort(
          (a, b) =>
            b.reply.logEpoch - a.reply.logEpoch ||
            b.reply.logEnd - a.reply.logEnd ||
            (a.node < b.node ? -1 : 1),
        );
        candidate = answered[0]?.node;
      }
    }
    if (candidate === undefined) {
      this.rt.log(`failover to epoch ${epoch} abandoned: no candidate`);
      return;
    }
    try {
      const reply = (await this.rpc.request(
        candidate,
        "promote",
        { epoch, history: this.state.history },
        timing.commitTimeoutNs * 3,
      )) as { startLsn: number };
      this.state = {
        epoch,
        writer: candidate,
        history: freezeHistory([
          ...this.state.history,
          { epoch, writer: candidate, startLsn: reply.startLsn },
        ]),
      };
      await this.save();
      this.rt.log(`promoted ${candidate} at epoch ${epoch}, log from lsn ${reply.startLsn}`);
      this.writerGoodNs = this.rt.clock.monotonicNs();
      this.heartbeat();
    } catch (error) {
      // The promotion did not (visibly) happen; a later attempt uses a higher epoch.
      this.rt.log(`promotion of ${candidate} to epoch ${epoch} failed: ${String(error)}`);
    }
  }
}
