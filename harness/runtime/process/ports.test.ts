/**
 * Free loopback ports: picked outside the kernel's ephemeral range (where outgoing connections and
 * `listen(0)` take ports unasked), never handed out twice in a row, and free when handed out.
 */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freeLoopbackPort, loopbackHost, pickedPortRange, readEphemeralRange } from "./ports.ts";

describe("pickedPortRange", () => {
  it("is below the ephemeral range when there is room, else above it, else none", () => {
    expect(pickedPortRange("32768\t60999\n")).toEqual([10_000, 32_767]);
    expect(pickedPortRange("1024 49151")).toEqual([49_152, 65_535]);
    expect(pickedPortRange("1024 65000")).toBeUndefined();
    expect(pickedPortRange("not numbers")).toBeUndefined();
    expect(pickedPortRange(undefined)).toBeUndefined();
  });
});

describe("freeLoopbackPort", () => {
  it("hands out distinct ports, outside this machine's ephemeral range, that can be listened on", async () => {
    const range = pickedPortRange(readEphemeralRange());
    const ports: number[] = [];
    for (let i = 0; i < 200; i++) ports.push(await freeLoopbackPort());
    expect(new Set(ports).size).toBe(ports.length);
    if (range !== undefined)
      for (const port of ports) expect(port >= range[0] && port <= range[1]).toBe(true);
    for (const port of ports.slice(0, 20)) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, loopbackHost, () => resolve());
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
