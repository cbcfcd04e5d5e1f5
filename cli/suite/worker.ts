/**
 * A gate or sweep worker process: takes seed jobs from its parent over IPC, one at a time, runs each
 * in-process (cli/suite/seedRun.ts) and sends back its summary. It ends when the parent says so or
 * goes away. Started by cli/suite/pool.ts, from the TypeScript sources or a compiled tree alike.
 */
import { getEachMessage, sendMessage } from "execa";
import { runSeed, type SeedJob } from "./seedRun.ts";

interface JobMessage {
  readonly type: "job";
  readonly job: SeedJob;
}

for await (const message of getEachMessage()) {
  const m = message as unknown as JobMessage | { readonly type: "hello" | "exit" };
  if (m.type === "hello") {
    await sendMessage({ type: "ready" });
    continue;
  }
  if (m.type !== "job") break;
  const run = await runSeed(m.job);
  await sendMessage({ type: "done", run } as unknown as Parameters<typeof sendMessage>[0]);
}
process.exit(0);
