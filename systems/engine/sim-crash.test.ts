/**
 * The engine on the simulated world: worker tasks append unique elements while the node is
 * crashed and restarted at random virtual times (the simulated disk loses unsynced writes and may
 * tear the last one), with background flushing, vacuum and checkpoints running. After every
 * recovery, and at the end, every acknowledged append is present exactly once, no append that
 * failed is present, and nothing appears that was never attempted.
 */
import { describe, expect, it } from "vitest";
import { SimWorld } from "../../harness/runtime/sim/index.ts";
import type { Runtime } from "../../harness/runtime/types.ts";
import { Database, type IsolationLevel } from "./database.ts";

interface Outcome {
  readonly violations: string[];
  readonly acked: number;
  readonly recoveries: number;
}

async function crashRun(seed: number, isolation: IsolationLevel, bugs: string[] = []): Promise<Outcome> {
  const world = new SimWorld({
    seed,
    budget: { maxEvents: 3_000_000, maxVirtualTimeNs: 600e9 },
    disk: { tornWriteProbability: 0.5 },
  });
  const acked = new Map<string, string>(); // element → key
  const failed = new Set<string>();
  const attempted = new Set<string>();
  const violations: string[] = [];
  let current: Database | undefined;
  let incarnation = 0;
  let recoveries = 0;
  let stopped = false;

  const check = (db: Database, when: string): void => {
    const seen = new Map<string, number>();
    for (const [key, list] of db.dump()) {
      for (const el of list as string[]) {
        seen.set(el, (seen.get(el) ?? 0) + 1);
        if (!attempted.has(el)) violations.push(`${when}: ${el} in ${String(key)} was never attempted`);
        if (failed.has(el)) violations.push(`${when}: ${el} failed but is present`);
      }
    }
    for (const [el, key] of acked) {
      if (seen.get(el) !== 1)
        violations.push(`${when}: acknowledged ${el} (key ${key}) seen ${seen.get(el) ?? 0} times`);
    }
  };

  world.startNode("n1", (rt: Runtime) => {
    const inc = ++incarnation;
    rt.spawn("main", async () => {
      const db = await Database.open(rt, {
        isolation,
        bugs: new Set(bugs),
        backgroundIntervalNs: 3_000_000,
        checkpointEveryPasses: 4,
        pagesPerPass: 2,
        pageSizeBytes: 16384,
      });
      recoveries++;
      check(db, `recovery ${inc}`);
      current = db;
      for (let w = 0; w < 4; w++) {
        rt.spawn(`worker-${w}`, async () => {
          for (let i = 0; i < 10_000 && !stopped; i++) {
            const key = `k${rt.random.int(3)}`;
            const el = `${inc}.${w}.${i}`;
            attempted.add(el);
            const r = await db.transact(
              [
                ["r", key, null],
                ["append", key, el],
              ],
              isolation,
            );
            if (r.type === "ok") acked.set(el, key);
            else failed.add(el);
            await rt.clock.sleep(rt.random.int(3_000_000));
          }
        });
      }
    });
  });

  await world.run(async () => {
    for (let c = 0; c < 5; c++) {
      await world.sleep(world.random.intBetween(20, 150) * 1_000_000);
      world.crash("n1");
      world.restart("n1");
    }
    await world.sleep(200_000_000);
    stopped = true;
    await world.sleep(50_000_000);
  });
  check(current!, "end");
  return { violations, acked: acked.size, recoveries };
}

describe("engine on the simulated world, crashed and restarted", () => {
  for (const isolation of ["read-committed", "snapshot", "serializable"] as const) {
    it(`${isolation}: no acknowledged append lost, no failed or phantom append present`, async () => {
      for (let seed = 1; seed <= 4; seed++) {
        const out = await crashRun(seed, isolation);
        expect(out.violations).toEqual([]);
        expect(out.recoveries).toBe(6);
        expect(out.acked).toBeGreaterThan(50);
      }
    });
  }

  it("ack-before-fsync loses acknowledged appends on the same schedule", async () => {
    let lost = 0;
    // Seeds 1..4 in order until one loses: the later ones could not change the verdict.
    for (let seed = 1; seed <= 4 && lost === 0; seed++)
      lost += (await crashRun(seed, "snapshot", ["ack-before-fsync"])).violations.length;
    expect(lost).toBeGreaterThan(0);
  });
});
