import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimWorld } from "../runtime/sim/index.ts";
import { scratchFolders } from "../testkit.ts";
import { formatSeconds, NodeLogs } from "./nodeLogs.ts";

const fresh = scratchFolders("nodelogs");

describe("node logs", () => {
  it("writes one file per endpoint that logged, each line stamped with test time", () => {
    const dir = fresh();
    const logs = new NodeLogs(dir);
    logs.write("n1", 1_500_000_000, "opened");
    logs.write("n2", 2_000_000_001, "adopted epoch 2\nand more");
    logs.write("n1", 3e9, "stepped down");
    logs.close();
    expect(readdirSync(join(dir, "nodes")).sort()).toEqual(["n1.log", "n2.log"]);
    expect(readFileSync(join(dir, "nodes", "n1.log"), "utf8")).toBe(
      "1.500000000 opened\n3.000000000 stepped down\n",
    );
    // A line break inside a line cannot forge another line.
    expect(readFileSync(join(dir, "nodes", "n2.log"), "utf8")).toBe(
      "2.000000001 adopted epoch 2\\nand more\n",
    );
    logs.write("n1", 4e9, "after close: dropped");
    expect(readFileSync(join(dir, "nodes", "n1.log"), "utf8")).not.toMatch(/after close/);
  });

  it("closes durably: every log fsynced before it is closed, a refused fsync recorded as unwritten", async () => {
    const dir = fresh();
    const logs = new NodeLogs(dir);
    logs.write("n1", 0, "a");
    logs.write("n2", 0, "b");
    const synced: number[] = [];
    await logs.closeDurably((fd) => {
      synced.push(fd);
      return Promise.resolve(
        synced.length === 2 ? Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" }) : undefined,
      );
    });
    expect(synced).toHaveLength(2);
    expect(logs.unwritten()).toEqual([{ file: "nodes/n2.log", reason: expect.stringMatching(/EIO|i\/o/) }]);
    logs.write("n1", 1, "after close: dropped");
    expect(readFileSync(join(dir, "nodes", "n1.log"), "utf8")).toBe("0.000000000 a\n");
    expect(logs.endpoints()).toEqual(["n1", "n2"]);
  });

  it("still names its logs once closed (the run's reports are written after)", () => {
    const logs = new NodeLogs(fresh());
    logs.write("n2", 0, "a");
    logs.write("cp", 0, "b");
    logs.close();
    expect(logs.endpoints()).toEqual(["cp", "n2"]);
  });

  it("bounds a chatty endpoint's log and says so once", () => {
    const dir = fresh();
    const logs = new NodeLogs(dir, 3);
    for (let i = 0; i < 10; i++) logs.write("n1", i, `line ${i}`);
    logs.close();
    const lines = readFileSync(join(dir, "nodes", "n1.log"), "utf8")
      .trimEnd()
      .split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatch(/bound of 3 lines reached/);
  });

  it("refuses an endpoint name that could escape the folder", () => {
    const logs = new NodeLogs(fresh());
    expect(() => logs.write("../x", 0, "nope")).toThrow(/bad endpoint name/);
  });

  it("property: formatted times sort as the times do", () => {
    fc.assert(
      fc.property(fc.nat({ max: 1e6 * 1e9 }), fc.nat({ max: 1e6 * 1e9 }), (a, b) => {
        const [fa, fb] = [formatSeconds(a), formatSeconds(b)];
        if (Math.floor(a / 1e9) === Math.floor(b / 1e9)) expect(fa < fb).toBe(Math.floor(a) < Math.floor(b));
        expect(Number(fa)).toBeCloseTo(a / 1e9, 6);
      }),
    );
  });

  it("gets the sim world's lifecycle events and the program's own lines, only while it is alive", async () => {
    const lines: string[] = [];
    const world = new SimWorld({
      seed: 1,
      budget: { maxEvents: 10_000, maxVirtualTimeNs: 10e9 },
      endpointLog: (endpoint, timeNs, line) => lines.push(`${endpoint} ${timeNs} ${line}`),
    });
    await world.run(async () => {
      world.startNode("n1", (rt) => {
        rt.log("hello");
        rt.spawn("later", async () => {
          await rt.clock.sleep(2e9);
          rt.log("never: crashed before");
        });
      });
      await world.sleep(1e9);
      world.crash("n1");
      await world.sleep(3e9);
    });
    expect(lines).toEqual([
      "n1 0 world: start #0",
      "n1 0 #0 hello",
      "n1 1000000000 world: crash #0: no unsynced writes",
    ]);
  });
});
