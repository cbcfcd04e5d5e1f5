/**
 * `faultline run` removes its SIGINT/SIGTERM listeners as checking begins, after letting the event
 * loop deliver a signal that already arrived (cli/run.ts `pendingSignalsDelivered`): a second
 * SIGINT sent as the run ended must exit at once, not be dropped with the listener. Here a signal
 * this process sends itself from a poll-phase callback (a file read's), where one turn of
 * `setImmediate` ends before the loop reads signals again.
 */
import { readFile } from "node:fs";
import { describe, expect, it } from "vitest";
import { pendingSignalsDelivered } from "./run.ts";

/** Sends SIGUSR2 to this process from a file read's callback, waits as `run` does, and says whether its listener saw it. */
function seenBeforeRemoval(): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let seen = false;
    const listener = () => {
      seen = true;
    };
    process.on("SIGUSR2", listener);
    readFile(import.meta.filename, (error) => {
      if (error !== null) {
        process.off("SIGUSR2", listener);
        reject(error);
        return;
      }
      process.kill(process.pid, "SIGUSR2");
      void pendingSignalsDelivered().then(() => {
        process.off("SIGUSR2", listener);
        resolve(seen);
      });
    });
  });
}

describe("pendingSignalsDelivered", () => {
  it("lets a signal that arrived in a poll-phase callback reach its listener before it is removed", async () => {
    // Several times: the loop's phases, not chance, decide it (one setImmediate turn failed each time).
    for (let attempt = 0; attempt < 5; attempt++) expect(await seenBeforeRemoval()).toBe(true);
  });
});
