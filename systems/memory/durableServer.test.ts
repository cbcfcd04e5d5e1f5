import { describe, expect, it } from "vitest";
import { SimWorld } from "../../harness/runtime/sim/index.ts";
import type { Runtime } from "../../harness/runtime/types.ts";
import { memoryNodeProgram, type MemoryReply } from "./durableServer.ts";

/** Sends requests from a client runtime; resolves each with its reply, or "timeout". */
function client(rt: Runtime) {
  let nextId = 0;
  const waiting = new Map<number, (reply: MemoryReply) => void>();
  rt.net.onMessage((_from, message) => {
    const reply = message as MemoryReply;
    waiting.get(reply.id)?.(reply);
    waiting.delete(reply.id);
  });
  return (f: string, value: unknown): Promise<MemoryReply | "timeout"> => {
    const id = nextId++;
    return new Promise((resolve) => {
      rt.clock.setTimer(1e9, () => resolve("timeout"));
      waiting.set(id, resolve);
      rt.net.send("n1", { kind: "request", id, invocation: { f, value } });
    });
  };
}

describe("the memory system's durable server (process mode's memory node)", () => {
  it("keeps every acknowledged write across crashes that lose and tear unsynced writes", async () => {
    const logLines: string[] = [];
    for (const seed of [1, 2, 3, 4, 5]) {
      const world = new SimWorld({
        seed,
        endpointLog: (_endpoint, _timeNs, line) => logLines.push(line),
        disk: { tornWriteProbability: 1 },
        budget: { maxEvents: 2_000_000, maxVirtualTimeNs: 600e9 },
      });
      await world.run(async () => {
        world.startNode(
          "n1",
          memoryNodeProgram({ server: true }, () => {}),
        );
        const ask = client(world.clientRuntime("c1"));
        const acked: number[] = [];
        const add = async (x: number): Promise<void> => {
          const reply = await ask("add", x);
          if (reply !== "timeout" && reply.completion.type === "ok") acked.push(x);
        };
        for (let round = 0; round < 4; round++) {
          // Some writes acknowledged before the crash, then more in flight when it comes.
          await Promise.all(Array.from({ length: 10 }, (_, i) => add(round * 100 + i)));
          const pending = Array.from({ length: 20 }, (_, i) => add(round * 100 + 50 + i));
          // Crash while some appends are in flight and unsynced, then restart.
          await world.sleep(1_500_000);
          world.crash("n1");
          world.restart("n1");
          await Promise.all(pending);
        }
        const read = await ask("read-set", null);
        expect(read).not.toBe("timeout");
        const elements = new Set((read as MemoryReply).completion.value as number[]);
        expect(acked.length).toBeGreaterThan(0);
        for (const x of acked) expect(elements.has(x)).toBe(true);
      });
    }
    // The crashes did tear the log, and recovery cut the torn record off.
    expect(logLines.some((line) => line.includes("cut a torn tail"))).toBe(true);
  });
});
