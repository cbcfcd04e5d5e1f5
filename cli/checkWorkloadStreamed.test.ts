/**
 * `faultline check --workload append` takes the streamed path that checking by content takes (the
 * file scanned straight into Elle's table, the stats checker fed from the same pass), never the
 * ordinary reader that holds every operation as an object. Its outcome must be the ordinary path's
 * in every respect (verdict line, JSON with both checkers' results, exit code), under any Elle
 * model; and its Elle verdict and anomalies are the ones checking by content finds.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, describe, expect, it, vi } from "vitest";
import { simulateListAppend } from "../checkers/elle/simulate.ts";
import { opToJsonLine } from "../harness/history/jsonl.ts";
import type { Op } from "../harness/history/op.ts";
import * as read from "../harness/history/read.ts";
import { SeededRandom } from "../harness/runtime/random.ts";
import { bothPaths } from "./fixtures/checkBothPaths.ts";

// Counts the ordinary reader's calls (it still does the reading).
vi.mock("../harness/history/read.ts", async (importOriginal) => {
  const original = await importOriginal<typeof read>();
  return { ...original, readHistorySource: vi.fn(original.readHistorySource) };
});

const corpus = fileURLToPath(new URL("../../shared/corpus", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "faultline-check-workload-streamed-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCounter = 0;

function writeHistory(text: string): string {
  const path = join(dir, `h${fileCounter++}.jsonl`);
  writeFileSync(path, text);
  return path;
}

const jsonl = (ops: readonly Op[]): string => ops.map(opToJsonLine).join("\n") + "\n";

function listAppend(seed: number, isolation: "serializable" | "snapshot", txnCount: number): Op[] {
  return simulateListAppend({
    random: new SeededRandom(seed, "check-workload-streamed"),
    txnCount,
    processCount: 6,
    isolation,
    activeKeys: 3,
    failPerMille: 50,
    infoPerMille: 50,
  });
}

describe("faultline check --workload append, streamed", () => {
  it("streams the file (the ordinary reader never runs) and gives the ordinary path's outcome", async () => {
    const path = writeHistory(jsonl(listAppend(1, "serializable", 200)));
    const { streamed, ordinary, ordinaryReads } = await bothPaths(path, ["--workload", "append"]);
    expect(ordinaryReads).toBe(0);
    expect(streamed).toEqual(ordinary);
    expect(streamed.exitCode).toBe(0);
    expect(streamed.line).toMatch(/^valid +\S+ {2}append, elle strict-serializable, 200 operations, N ms$/);
    expect(Object.keys(streamed.json["checkers"] as object)).toEqual(["elle", "stats"]);
  });

  it("finds the same anomalies as the ordinary path and as checking by content, under --model", async () => {
    // Write skew under snapshot isolation: G2-item, which serializable forbids and SI allows.
    const path = writeHistory(jsonl(listAppend(3, "snapshot", 300)));
    const inferred = await bothPaths(path, []);
    const inferredElle = (inferred.streamed.json["checkers"] as Record<string, Record<string, unknown>>)[
      "elle"
    ]!;
    for (const [model, exitCode] of [
      [undefined, 1],
      ["serializable", 1],
      ["snapshot-isolation", 0],
    ] as const) {
      const args = ["--workload", "append", ...(model === undefined ? [] : ["--model", model])];
      const { streamed, ordinary, ordinaryReads } = await bothPaths(path, args);
      expect(ordinaryReads).toBe(0);
      expect(streamed).toEqual(ordinary);
      expect(streamed.exitCode).toBe(exitCode);
      const elle = (streamed.json["checkers"] as Record<string, Record<string, unknown>>)["elle"]!;
      expect(elle["anomalyTypes"]).toContain("G2-item");
      // The default model is the one checking by content assumes: the same Elle result, whole.
      if (model === undefined) expect(elle).toEqual(inferredElle);
    }
    expect(inferred.streamed.exitCode).toBe(1);
    expect(inferred.streamed.line).toMatch(/G2-item/);
  });

  it("gives the ordinary path's outcome on a history from the corpus (Knossos's multi-register)", async () => {
    // The corpus holds no list-append history; its one transactional history, written as JSONL
    // (here, in a temporary folder), is no list-append history either: both paths say so alike.
    const edn = join(corpus, "knossos/multi-register/good/multi-register.edn");
    const ednOutcome = await bothPaths(edn, ["--workload", "append"]);
    expect(ednOutcome.streamed).toEqual(ednOutcome.ordinary);
    const { ops } = await read.readHistoryFile(edn);
    const path = writeHistory(jsonl(ops));
    const { streamed, ordinary } = await bothPaths(path, ["--workload", "append"]);
    expect(streamed).toEqual(ordinary);
    expect(streamed.exitCode).toBe(254);
    expect(streamed.line).toMatch(/micro-op/);
  });

  it("gives the ordinary path's outcome with nemesis faults, failures, odd lines and step limits", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.nat(),
          txns: fc.integer({ min: 1, max: 40 }),
          isolation: fc.constantFrom("serializable" as const, "snapshot" as const),
          nemesisAt: fc.array(
            fc.tuple(fc.nat(), fc.constantFrom("start-partition", "stop-partition", "kill")),
            {
              maxLength: 4,
            },
          ),
          failError: fc.constantFrom(undefined, "timeout", ":aborted"),
          model: fc.constantFrom(undefined, "serializable", "read-committed"),
          stepLimit: fc.option(fc.integer({ min: 1, max: 3000 }), { nil: undefined }),
          dropLine: fc.option(fc.nat(), { nil: undefined }),
        }),
        async ({ seed, txns, isolation, nemesisAt, failError, model, stepLimit, dropLine }) => {
          let ops: Op[] = listAppend(seed, isolation, txns).map((op) =>
            op.type === "fail" && failError !== undefined ? { ...op, error: failError } : op,
          );
          for (const [at, f] of nemesisAt) {
            const i = at % (ops.length + 1);
            const time = i === 0 ? 0 : ops[i - 1]!.time;
            ops.splice(i, 0, { index: 0, time, process: "nemesis", type: "info", f, value: null } as Op);
          }
          if (dropLine !== undefined) ops.splice(dropLine % ops.length, 1);
          ops = ops.map((op, index) => ({ ...op, index }));
          const args = [
            "--workload",
            "append",
            ...(model === undefined ? [] : ["--model", model]),
            ...(stepLimit === undefined ? [] : ["--step-limit", String(stepLimit)]),
          ];
          const { streamed, ordinary } = await bothPaths(writeHistory(jsonl(ops)), args);
          expect(streamed).toEqual(ordinary);
        },
      ),
      { numRuns: 60, seed: 23 },
    );
  });
});
