/**
 * How fast the simulated world runs: 5 nodes and 10 clients exchanging request/response messages
 * (through Rpc, with timeouts) while the nodes gossip among themselves, for 1,000 simulated
 * seconds. Prints the speed-up over real time, events per second and messages delivered.
 */
import { Rpc } from "../harness/runtime/rpc.ts";
import { SimWorld } from "../harness/runtime/sim/world.ts";

const SIMULATED_SECONDS = 1000;
const NODES = ["n1", "n2", "n3", "n4", "n5"];
const CLIENTS = 10;
/** Mean think time between a client's requests, ns. */
const CLIENT_THINK_NS = 10e6;
/** Gossip period of each node, ns. */
const GOSSIP_PERIOD_NS = 50e6;

export async function run(): Promise<void> {
  const world = new SimWorld({ seed: 1, budget: { maxEvents: 50_000_000, maxVirtualTimeNs: 2_000e9 } });
  for (const name of NODES) {
    world.startNode(name, (rt) => {
      const rpc = new Rpc(rt);
      let version = 0;
      let gossipSeen = 0;
      rpc.handle("get", (body) => ({ key: (body as { key: number }).key, version }));
      rpc.handle("gossip", () => void gossipSeen++);
      rt.spawn("gossip", async () => {
        while (true) {
          await rt.clock.sleep(GOSSIP_PERIOD_NS);
          version++;
          rpc.notify(rt.random.pick(NODES.filter((n) => n !== name)), "gossip", { version, gossipSeen });
        }
      });
    });
  }
  let replies = 0;
  let timeouts = 0;
  const endNs = SIMULATED_SECONDS * 1e9;
  const clients = Array.from({ length: CLIENTS }, (_, i) => {
    const rt = world.clientRuntime(`c${i + 1}`);
    const rpc = new Rpc(rt, { defaultTimeoutNs: 100e6 });
    return async () => {
      while (world.nowNs() < endNs) {
        await rt.clock.sleep(Math.round(rt.random.exponential(CLIENT_THINK_NS)));
        try {
          await rpc.request(rt.random.pick(NODES), "get", { key: rt.random.int(100) });
          replies++;
        } catch {
          timeouts++;
        }
      }
    };
  });
  world.setLinkFaults({ lossProbability: 0.001 });
  const startedMs = performance.now();
  const cpuBefore = process.cpuUsage();
  await world.run(() => Promise.all(clients.map((client) => client())));
  const elapsedS = (performance.now() - startedMs) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const stats = world.stats();
  const simulatedS = world.nowNs() / 1e9;
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  console.log(`simulated ${simulatedS.toFixed(1)} s in ${elapsedS.toFixed(2)} s of real time`);
  console.log(`speed-up over real time: ${(simulatedS / elapsedS).toFixed(0)}x (target >= 100x)`);
  // Per CPU second: the figure that does not depend on what else the machine is running.
  console.log(
    `simulated seconds per CPU second: ${(simulatedS / cpuS).toFixed(0)} (${cpuS.toFixed(2)} CPU s)`,
  );
  console.log(
    `events: ${stats.eventsRun} (${Math.round(stats.eventsRun / elapsedS).toLocaleString("en")} per second)`,
  );
  console.log(
    `messages: ${stats.messagesSent} sent, ${stats.messagesDelivered} delivered, ${stats.messagesDropped} dropped; ` +
      `${replies} replies, ${timeouts} timeouts`,
  );
  console.log(`heap in use after the run: ${heapMiB.toFixed(0)} MiB`);
}
