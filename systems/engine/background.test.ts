import { describe, expect, it } from "vitest";
import { spawnBackground, type BackgroundOptions, type BackgroundWork } from "./background.ts";
import { testRuntime } from "./testkit.ts";
import type { Wal } from "./wal.ts";

/** Runs `passes` background passes 10 ms apart; counts what each kind of work was asked. */
async function countWork(options: BackgroundOptions, passes: number) {
  const rt = testRuntime();
  const asked = { pageWrites: 0, vacuums: 0, checkpoints: 0 };
  const work: BackgroundWork = {
    // A log with nothing to flush.
    wal: { fsyncedEnd: 0, endLsn: 0 } as unknown as Wal,
    flushDirtyPages: () => {
      asked.pageWrites++;
      return Promise.resolve(0);
    },
    vacuum: () => {
      asked.vacuums++;
      return 0;
    },
    checkpoint: () => {
      asked.checkpoints++;
      return Promise.resolve();
    },
    fail: (error) => {
      throw error;
    },
  };
  let closed = false;
  spawnBackground(rt, work, { backgroundIntervalNs: 10e6, ...options }, () => closed);
  for (let i = 0; i < passes; i++) {
    rt.clock.advance(10e6);
    // Each pass's continuations settle before the next timer fires.
    await new Promise((resolve) => setImmediate(resolve));
  }
  closed = true;
  rt.clock.advance(10e6);
  expect(rt.errors).toEqual([]);
  return asked;
}

describe("background passes", () => {
  it("write dirty pages, vacuum and checkpoint at their cadences", async () => {
    expect(await countWork({ checkpointEveryPasses: 4 }, 20)).toEqual({
      pageWrites: 20,
      vacuums: 20,
      checkpoints: 5,
    });
  });

  it("write dirty pages only every pagesEveryPasses passes, the rest of the work unchanged", async () => {
    expect(await countWork({ checkpointEveryPasses: 4, pagesEveryPasses: 5 }, 20)).toEqual({
      pageWrites: 4,
      vacuums: 20,
      checkpoints: 5,
    });
  });
});
