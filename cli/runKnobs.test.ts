/**
 * The run options `faultline shrink` turns: `--nemesis-windows` (only the chosen fault windows of
 * the seed's schedule) and `--keys` (keys in use, accounts). Each is validated like every option
 * (one line, exit 254), written canonically into the reproduce command and test.json, and gives a
 * byte-identical history for the same seed, so a shrunk run replays from its printed command.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeRun } from "./execute.ts";
import { UsageError } from "./main.ts";
import { resolveRunConfig } from "./run.ts";
import { reproduceCommand, type RunConfig } from "./runConfig.ts";

let store = "";
beforeAll(() => {
  store = mkdtempSync(join(tmpdir(), "faultline-knobs-"));
});
afterAll(() => {
  rmSync(store, { recursive: true, force: true });
});

function resolved(args: string[]): RunConfig {
  const config = resolveRunConfig([...args, "--store", store, "--quiet"]);
  if (config === "help") throw new Error("help");
  return config;
}

const setRun = [
  "--system",
  "engine",
  "--replication",
  "sync",
  "--workload",
  "set",
  "--nemesis",
  "crash,partition",
];
const startsOf = (history: readonly { process: unknown; type: string; f: string }[]) =>
  history
    .filter((op) => op.process === "nemesis" && op.type === "invoke" && op.f.startsWith("start-"))
    .map((op) => op.f);

describe("--nemesis-windows", () => {
  it("is written canonically into the reproduce command, which resolves to the same run", () => {
    const config = resolved([...setRun, "--nemesis-windows", "partition:3,crash:1", "--seed", "4"]);
    expect(config["nemesis-windows"]).toBe("crash:1,partition:3");
    // Built-in systems and workloads print no quoted words: the command splits on spaces.
    const again = resolved(reproduceCommand(config).split(" ").slice(3));
    expect(again).toEqual(config);
  });

  it("refuses a package the run does not have, a bad form, or a run without nemesis: one line", () => {
    for (const [args, pattern] of [
      [
        [...setRun, "--nemesis-windows", "pause:1"],
        /--nemesis-windows: no pause windows in this run \(its nemesis packages: crash, partition\)/,
      ],
      [
        [...setRun, "--nemesis-windows", "crash"],
        /--nemesis-windows: expected "none" or a list of package:N/,
      ],
      [["--nemesis", "none", "--nemesis-windows", "crash:1"], /--nemesis-windows: the run has no nemesis/],
      [
        ["--nemesis", "all", "--nemesis-windows", "storage-cut:1"],
        /no storage-cut windows in this run \(its nemesis packages: partition, crash, pause, clock, packet\)/,
      ],
    ] as const) {
      expect(() => resolved([...args]), args.join(" ")).toThrow(UsageError);
      try {
        resolved([...args]);
      } catch (error) {
        expect((error as Error).message).toMatch(pattern);
        expect((error as Error).message).not.toContain("\n");
      }
    }
  });

  it("applies only the chosen windows, records them in test.json, and replays byte for byte", async () => {
    const args = [...setRun, "--nemesis-interval", "1", "--time-limit", "10", "--seed", "3"];
    const whole = await executeRun(resolved(args));
    expect(startsOf(whole.history).length).toBeGreaterThan(6);
    const config = resolved([...args, "--nemesis-windows", "partition:2,crash:3"]);
    const [a, b] = [await executeRun(config), await executeRun(config)];
    expect(startsOf(a.history).sort()).toEqual(["start-crash", "start-partition"]);
    expect(readFileSync(join(a.storeDir, "history.jsonl"), "utf8")).toBe(
      readFileSync(join(b.storeDir, "history.jsonl"), "utf8"),
    );
    const recorded = JSON.parse(readFileSync(join(a.storeDir, "test.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(recorded["nemesis-windows"]).toBe("crash:3,partition:2");
    expect(recorded["reproduceCommand"]).toContain("--nemesis-windows crash:3,partition:2");
    const none = await executeRun(resolved([...args, "--nemesis-windows", "none"]));
    expect(startsOf(none.history)).toEqual([]);
  }, 120_000);
});

describe("--keys", () => {
  it("sizes the keyed workloads and is refused where there are no keys", async () => {
    const keysSeen = async (keys: string[]) => {
      const run = await executeRun(
        resolved([
          "--system",
          "memory",
          "--workload",
          "register",
          "--nemesis",
          "none",
          "--time-limit",
          "3",
          "--seed",
          "1",
          ...keys,
        ]),
      );
      return new Set(
        run.history
          .filter((op) => op.type === "invoke")
          .map((op) => JSON.stringify((op.value as unknown[])[0])),
      ).size;
    };
    expect(await keysSeen(["--keys", "1"])).toBeLessThan(await keysSeen([]));
    expect(resolved(["--system", "memory", "--workload", "bank", "--keys", "3"]).keys).toBe(3);
    expect(() => resolved(["--system", "memory", "--workload", "set", "--keys", "3"])).toThrow(
      /--keys does not apply to the set workload/,
    );
    expect(() => resolved(["--system", "memory", "--workload", "bank", "--keys", "1"])).toThrow(
      /at least 2 accounts/,
    );
    expect(() => resolved(["--workload", "append", "--keys", "0"])).toThrow(/--keys: must be at least 1/);
  }, 60_000);
});
