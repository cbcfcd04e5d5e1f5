/**
 * A gate or sweep worker process: takes seed jobs from its parent over IPC, one at a time, runs each
 * in-process (cli/suite/seedRun.ts) and sends back its summary. It ends when the parent says so or
 * goes away. Started by cli/suite/pool.ts, from the TypeScript sources or a compiled tree alike.
 *
 * The messages go over Node's own IPC channel (`process.send`, the `message` event), not through
 * execa's helpers: the parent's execa sends and reads plain values (its messages are not wrapped
 * unless sent `strict`, which the pool does not), and a worker that never imports execa starts
 * without loading its hundred modules (about 0.15 s of CPU at every worker start, a third of it).
 * Node keeps a message that arrives before the listener below is added, so the parent may send
 * its hello as soon as the worker starts.
 */
import { runSeed, type SeedJob } from "./seedRun.ts";

type Message = { readonly type: "hello" | "exit" } | { readonly type: "job"; readonly job: SeedJob };

/** Sends one message; resolves once it has been handed to the channel. */
function send(message: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    process.send!(message, undefined, {}, (error: Error | null) =>
      error === null ? resolve() : reject(error),
    );
  });
}

async function answer(message: Message): Promise<void> {
  if (message.type === "hello") return send({ type: "ready" });
  if (message.type !== "job") process.exit(0);
  const run = await runSeed(message.job);
  await send({ type: "done", run });
}

// One message at a time, in the order they came (the parent sends a job only once the last one is
// answered, but a hello and a job may be queued together).
let answered: Promise<void> = Promise.resolve();
process.on("message", (message) => {
  answered = answered.then(() => answer(message as Message));
  answered.catch((error: unknown) => {
    // The channel broke while answering: the parent is gone or going, and no one can be told.
    process.stderr.write(`worker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
});
process.on("disconnect", () => process.exit(0));
