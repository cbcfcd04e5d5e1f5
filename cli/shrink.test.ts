/**
 * `faultline shrink` end to end (the installed bin): a failing async-failover run and a failing
 * no-fencing run each shrink to a run with at most 2 fault windows and under half the operations, stored with its reports and a
 * shrink.json, whose printed command replays it byte for byte; a folder that is not a failing
 * simulated run is refused in one line, exit 254. (The search itself: shrinkSearch.test.ts; the
 * matrix rows' figures: bench/shrink.bench.ts.)
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellWord } from "./runConfig.ts";
import { shellWords, sizeOf } from "./shrink.ts";
import type { Op } from "../harness/history/op.ts";

const bin = fileURLToPath(new URL("../bin/faultline.js", import.meta.url));
let scratch = "";
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "faultline-shrink-test-"));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** The bin as a user starts it: through its first line, with the Node flags it carries (0.95x CPU here). */
const faultline = (...args: string[]) =>
  execa(bin, args, { env: { CI: "true", NO_COLOR: "1" }, reject: false, all: true });

const historyOf = (dir: string): Op[] =>
  readFileSync(join(dir, "history.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Op);

describe("faultline shrink", () => {
  it("shrinks a failing async-failover run to at most 2 fault windows and under half the operations, replayable", async () => {
    const store = join(scratch, "store");
    const original = await faultline(
      "run",
      "--system",
      "engine",
      "--replication",
      "async",
      "--workload",
      "set",
      "--nemesis",
      "crash,partition",
      "--time-limit",
      "20",
      "--seed",
      "4",
      "--store",
      store,
      "--quiet",
    );
    expect(original.exitCode, original.all).toBe(1);
    const before = sizeOf(historyOf(join(store, "latest")));
    // The matrix's async-failover row, seed 4; a bounded search (each attempt is a whole run).
    const shrunk = await faultline("shrink", join(store, "latest"), "--max-attempts", "20");
    expect(shrunk.exitCode, shrunk.all).toBe(0);
    const storedDir = /^stored: (.*)$/m.exec(shrunk.all ?? "")![1]!;
    const command = /^reproduce: (npx faultline run .*)$/m.exec(shrunk.all ?? "")![1]!;
    const after = sizeOf(historyOf(storedDir));
    expect(before.windows).toBeGreaterThan(2);
    expect(after.windows).toBeLessThanOrEqual(2);
    expect(after.operations).toBeLessThan(before.operations / 2);
    const summary = JSON.parse(readFileSync(join(storedDir, "shrink.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(summary).toMatchObject({
      anomalyClasses: expect.arrayContaining(["set-full:lost"]),
      reproduceCommand: command,
    });
    expect(readdirSync(storedDir)).toEqual(
      expect.arrayContaining(["results.json", "report.html", "junit.xml", "test.json"]),
    );
    // The printed command replays the stored run exactly, and it fails the same way.
    const words = shellWords(command).slice(3);
    const replay = await faultline("run", ...words, "--store", join(scratch, "replay"), "--quiet");
    expect(replay.exitCode, replay.all).toBe(1);
    expect(replay.all).toMatch(/set-full: INVALID \(\d+ lost/);
    expect(readFileSync(join(scratch, "replay", "latest", "history.jsonl"), "utf8")).toBe(
      readFileSync(join(storedDir, "history.jsonl"), "utf8"),
    );
  }, 600_000);

  it("shrinks a failing no-fencing run to at most 2 fault windows and under half the operations", async () => {
    // The matrix's bug-no-fencing configuration, shorter and slower (6 s at 50/s, 3 windows): seed 2
    // loses acknowledged writes.
    // The matrix row itself (30 s, a partition window every second) takes far more: bench/shrink.bench.ts.
    const store = join(scratch, "no-fencing");
    const original = await faultline(
      "run",
      "--system",
      "engine",
      "--replication",
      "sync",
      "--bug",
      "no-fencing",
      "--workload",
      "set",
      "--nemesis",
      "partition",
      "--nemesis-interval",
      "1",
      "--time-limit",
      "6",
      "--rate",
      "50",
      "--seed",
      "2",
      "--store",
      store,
      "--quiet",
    );
    expect(original.exitCode, original.all).toBe(1);
    const before = sizeOf(historyOf(join(store, "latest")));
    // A store that cannot take the result is refused before the search, in one line.
    const notAFolder = join(store, "latest", "test.json", "shrunk");
    const refused = await faultline("shrink", join(store, "latest"), "--store", notAFolder);
    expect(refused.exitCode, refused.all).toBe(254);
    expect(refused.stderr.trim()).toMatch(
      /^faultline shrink: --store .*: cannot create or write this folder: .*\(ENOTDIR\)$/,
    );
    const shrunk = await faultline("shrink", join(store, "latest"), "--max-attempts", "12");
    expect(shrunk.exitCode, shrunk.all).toBe(0);
    const storedDir = /^stored: (.*)$/m.exec(shrunk.all ?? "")![1]!;
    const after = sizeOf(historyOf(storedDir));
    expect(before.windows).toBeGreaterThan(2);
    expect(after.windows).toBeLessThanOrEqual(2);
    expect(after.operations).toBeLessThan(before.operations / 2);
    const results = JSON.parse(readFileSync(join(storedDir, "results.json"), "utf8")) as {
      checkers: Record<string, { valid: unknown }>;
    };
    expect(results.checkers["set-full"]?.valid).toBe(false);
    expect(shrunk.all).toMatch(/fails with: {2}set-full:lost/);
    expect(shrunk.all).toMatch(
      /^reproduce: npx faultline run .*--bug no-fencing .*--nemesis-windows partition:\d/m,
    );
  }, 600_000);

  it("refuses a folder that is not a stored run, and a run whose replay does not fail: one line, exit 254", async () => {
    const notARun = await faultline("shrink", scratch);
    expect(notARun.exitCode).toBe(254);
    expect(notARun.stderr.trim()).toMatch(/^faultline shrink: .*: not a stored run \(no test\.json\)$/);
    // A test.json of JSON null was an internal error (exit 255, a stack trace).
    const odd = join(scratch, "odd");
    mkdirSync(odd, { recursive: true });
    for (const [config, message] of [
      ["null", /test\.json: expected a JSON object \(the resolved test config\)$/],
      ['{"reproduceCommand":5}', /test\.json: expected "reproduceCommand" to be text; got 5$/],
    ] as const) {
      writeFileSync(join(odd, "test.json"), config);
      const refused = await faultline("shrink", odd);
      expect(refused.exitCode, config).toBe(254);
      expect(refused.stderr.trim(), config).toMatch(message);
      expect(refused.stderr.trim().split("\n"), config).toHaveLength(1);
    }
    const store = join(scratch, "valid");
    await faultline(
      "run",
      "--system",
      "memory",
      "--workload",
      "set",
      "--nemesis",
      "none",
      "--time-limit",
      "2",
      "--seed",
      "1",
      "--store",
      store,
      "--quiet",
    );
    const valid = await faultline("shrink", join(store, "latest"));
    expect(valid.exitCode).toBe(254);
    expect(valid.stderr.trim()).toMatch(/its replay is valid: nothing to shrink$/);
    expect(valid.stderr.trim().split("\n")).toHaveLength(1);
  }, 120_000);
});

describe("reading a reproduce command back", () => {
  it("gives back the words shellWord wrote, whatever they hold", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1 }), { maxLength: 8 }), (words) => {
        expect(shellWords(words.map(shellWord).join(" "))).toEqual(words);
      }),
    );
  });
});
