/**
 * A stand-in worker for the pool's tests (cli/suite/pool.test.ts): it answers seed jobs at once
 * without running anything, except that seed 13 makes it die (exit code 3, after a line on stderr)
 * and seed 14 makes it hang, so the pool's handling of both can be shown in a second.
 */
import { getEachMessage, sendMessage } from "execa";
import type { SeedJob } from "./seedRun.ts";

for await (const message of getEachMessage()) {
  const m = message as unknown as { type: string; job: SeedJob };
  if (m.type === "hello") {
    await sendMessage({ type: "ready" });
    continue;
  }
  if (m.type !== "job") break;
  if (m.job.seed === 13) {
    process.stderr.write("fixture worker: dying on seed 13\n");
    process.exit(3);
  }
  if (m.job.seed === 14) await new Promise(() => {});
  const run = {
    row: m.job.row,
    seed: m.job.seed,
    valid: true,
    reported: [],
    reproduceCommand: `fixture --seed ${m.job.seed}`,
    elapsedMs: 0,
    operations: process.pid,
  };
  await sendMessage({ type: "done", run });
}
process.exit(0);
