/**
 * A small deterministic test bench for the cluster: concurrent clients add unique elements to the
 * set while a nemesis acts on the world; then every fault is healed, crashed nodes restart, the
 * cluster settles and the final set is read. The outcome lists acknowledged elements missing from
 * the final read (lost acknowledged writes) and elements read that nobody tried to add. Shared by
 * the simulation tests and the replication benchmark; it never asserts anything itself.
 */
import { SimWorld } from "../../../harness/runtime/sim/index.ts";
import type { Random } from "../../../harness/runtime/types.ts";
import type { Client, Completion } from "../../../harness/system.ts";
import type { EngineClusterConfig } from "./config.ts";
import { EngineSystem } from "./system.ts";

export interface ScenarioOptions {
  readonly config: EngineClusterConfig;
  readonly seed: number;
  readonly clients?: number;
  /** How long clients write, simulated ns. */
  readonly durationNs?: number;
  /** Pause between one client's operations, ns. */
  readonly thinkNs?: number;
  /** Home every client on the first writer instead of spreading them over the data nodes. */
  readonly homeOnWriter?: boolean;
  /** Acts on the world while clients write. */
  readonly nemesis?: (ctx: NemesisContext) => Promise<void>;
}

export interface NemesisContext {
  readonly world: SimWorld;
  readonly system: EngineSystem;
  readonly random: Random;
}

export interface ScenarioOutcome {
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  /** Acknowledged adds missing from the final read. */
  readonly lost: readonly number[];
  /** Adds that ended `fail` (certainly not applied) yet appear in the final read. */
  readonly failedButPresent: readonly number[];
  /** Elements read that no client tried to add. */
  readonly phantom: readonly number[];
  /** The final read, or undefined when no read succeeded. */
  readonly final: readonly number[] | undefined;
  /** Simulated latency of each acknowledged add, ns. */
  readonly okLatenciesNs: readonly number[];
  readonly writer: { readonly node: string; readonly epoch: number } | undefined;
}

const finalReadAttempts = 20;

export async function runScenario(options: ScenarioOptions): Promise<ScenarioOutcome> {
  const world = new SimWorld({
    seed: options.seed,
    budget: { maxEvents: 20_000_000, maxVirtualTimeNs: 3600e9 },
  });
  const system = new EngineSystem(options.config);
  const clientCount = options.clients ?? 3;
  const durationNs = options.durationNs ?? 2e9;
  const thinkNs = options.thinkNs ?? 5e6;
  const acked = new Set<number>();
  const attempted = new Set<number>();
  const failed = new Set<number>();
  const okLatenciesNs: number[] = [];
  let ok = 0;
  let fail = 0;
  let info = 0;
  const count = (c: Completion): void => {
    if (c.type === "ok") ok++;
    else if (c.type === "fail") fail++;
    else info++;
  };
  return world.run(async () => {
    await system.setup(world);
    const start = world.nowNs();
    const clients: Client[] = [];
    const home = options.homeOnWriter === true ? { home: system.config.topology.initialWriter } : {};
    for (let i = 0; i < clientCount; i++) clients.push(await system.openClient(world, `c${i}`, home));
    const workers = clients.map(async (client, w) => {
      for (let i = 0; world.nowNs() - start < durationNs && i < 1_000_000; i++) {
        const element = w * 1_000_000 + i;
        attempted.add(element);
        const t0 = world.nowNs();
        const c = await client.invoke({ f: "add", value: element });
        count(c);
        if (c.type === "ok") {
          acked.add(element);
          okLatenciesNs.push(world.nowNs() - t0);
        } else if (c.type === "fail") failed.add(element);
        await world.sleep(thinkNs);
      }
    });
    const nemesis = options.nemesis?.({ world, system, random: world.random.fork("nemesis") });
    await Promise.all([...workers, nemesis]);
    world.heal();
    for (const e of world.endpoints()) {
      if (e.kind !== "node") continue;
      if (e.paused) world.resume(e.name);
      if (!e.up) world.restart(e.name);
      world.setClock(e.name, { offsetNs: 0, driftPpm: 0 });
    }
    let final: number[] | undefined;
    for (let attempt = 0; attempt < finalReadAttempts && final === undefined; attempt++) {
      await world.sleep(500e6);
      const c = await clients[0]!.invoke({ f: "read-set", value: null });
      if (c.type === "ok") final = c.value as number[];
    }
    const seen = new Set(final ?? []);
    return {
      ok,
      fail,
      info,
      lost: final === undefined ? [] : [...acked].filter((e) => !seen.has(e)),
      failedButPresent: [...failed].filter((e) => seen.has(e)),
      phantom: [...seen].filter((e) => !attempted.has(e)),
      final,
      okLatenciesNs,
      writer: system.writer(),
    };
  });
}

/** The nemesis of the failover tests: crash or isolate the writer, or cut random links, then heal. */
export function writerFaults(kinds: readonly ("crash" | "isolate" | "partition")[], rounds = 2) {
  return async ({ world, system, random }: NemesisContext): Promise<void> => {
    for (let round = 0; round < rounds; round++) {
      await world.sleep(random.intBetween(100, 400) * 1e6);
      const writer = system.writer()?.node ?? "n1";
      const kind = random.pick(kinds);
      const others = system.nodeNames.filter((n) => n !== writer);
      if (kind === "crash") {
        world.crash(writer);
        await world.sleep(random.intBetween(400, 900) * 1e6);
        world.restart(writer);
      } else {
        const cut =
          kind === "isolate" ? others : random.shuffle(others).slice(0, random.intBetween(1, others.length));
        const grudge = new Map<string, Set<string>>([[writer, new Set(cut)]]);
        for (const n of cut) grudge.set(n, new Set([writer]));
        world.setGrudge(grudge);
        await world.sleep(random.intBetween(400, 900) * 1e6);
        world.heal();
      }
      await world.sleep(random.intBetween(200, 500) * 1e6);
    }
  };
}
