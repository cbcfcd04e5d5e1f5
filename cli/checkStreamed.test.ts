/**
 * `faultline check` streams a JSONL list-append history straight into Elle's transaction table
 * (checkStreamedAppend in check.ts). Its outcome must be the ordinary path's in every respect: the
 * same verdict line (but for the milliseconds), the same JSON, the same exit code, the same error
 * on the same line. Properties compare the two on generated histories, valid and not, mutated at
 * the level of values (odd reads, foreign key orders, nemesis lines) and of bytes (any byte
 * replaced, lines dropped or swapped, CRLF, a byte-order mark), under step limits too.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { simulateListAppend } from "../checkers/elle/simulate.ts";
import { opToJsonLine } from "../harness/history/jsonl.ts";
import type { Op } from "../harness/history/op.ts";
import { SeededRandom } from "../harness/runtime/random.ts";
import { checkFile, parseCheckArgs } from "./check.ts";

const dir = mkdtempSync(join(tmpdir(), "faultline-check-streamed-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCounter = 0;

/** Both paths' outcomes for a file's bytes, milliseconds masked. */
async function bothPaths(bytes: Uint8Array | string, args: readonly string[] = []) {
  const path = join(dir, `h${fileCounter++}.jsonl`);
  writeFileSync(path, bytes);
  const options = await parseCheckArgs([...args, path]);
  const mask = (o: Awaited<ReturnType<typeof checkFile>>) => ({
    ...o,
    line: o.line.replace(/\d+ ms$/, "N ms"),
  });
  const streamed = mask(await checkFile(path, options));
  const ordinary = mask(await checkFile(path, options, true));
  return { streamed, ordinary };
}

/** Odd values a read may hold: the fast path declines or keeps them aside, never misreads them. */
const oddValue = fc.oneof(
  fc.constant(null),
  fc.integer({ min: -5, max: 5 }),
  fc.array(fc.integer({ min: -3, max: 40 }), { maxLength: 5 }),
  fc.constantFrom(1.5, 2 ** 40, -0, "x", true, [1, "a"], [[1]], { a: 1 }, [2 ** 31, 1]),
);

type ValueMutation =
  | { kind: "none" }
  | { kind: "read"; at: number; mop: number; value: unknown }
  | { kind: "f"; at: number; mop: number; f: string }
  | { kind: "keyOrder"; at: number }
  | { kind: "nemesis"; at: number }
  | { kind: "stringKeys" }
  | { kind: "noAppends" };

const valueMutation: fc.Arbitrary<ValueMutation> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({ kind: fc.constant("read" as const), at: fc.nat(), mop: fc.nat(), value: oddValue }),
  fc.record({
    kind: fc.constant("f" as const),
    at: fc.nat(),
    mop: fc.nat(),
    f: fc.constantFrom("w", "r", "append", "cas"),
  }),
  fc.record({ kind: fc.constant("keyOrder" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("nemesis" as const), at: fc.nat() }),
  fc.constant({ kind: "stringKeys" as const }),
  fc.constant({ kind: "noAppends" as const }),
);

type ByteMutation =
  | { kind: "none" }
  | { kind: "byte"; at: number; char: string }
  | { kind: "dropLine"; at: number }
  | { kind: "swapLines"; at: number }
  | { kind: "crlf" }
  | { kind: "bom" }
  | { kind: "blankLines"; at: number };

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "none" as const }) },
  fc.record({
    kind: fc.constant("byte" as const),
    at: fc.nat(),
    char: fc.constantFrom(...'{}[],:"\\ -.019eE+nulltrfas\t\r\u0001é'.split("")),
  }),
  fc.record({ kind: fc.constant("dropLine" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("swapLines" as const), at: fc.nat() }),
  fc.constant({ kind: "crlf" as const }),
  fc.constant({ kind: "bom" as const }),
  fc.record({ kind: fc.constant("blankLines" as const), at: fc.nat() }),
);

function mutateValues(history: Op[], m: ValueMutation): Op[] {
  const ops = history.map((op) => ({ ...op, value: structuredClone(op.value) as unknown }));
  const mopsOf = (op: { value: unknown }): unknown[][] => op.value as unknown[][];
  switch (m.kind) {
    case "none":
      return ops;
    case "read": {
      const op = ops[m.at % ops.length]!;
      const mops = mopsOf(op);
      if (mops.length > 0) mops[m.mop % mops.length]![2] = m.value;
      return ops;
    }
    case "f": {
      const op = ops[m.at % ops.length]!;
      const mops = mopsOf(op);
      if (mops.length > 0) mops[m.mop % mops.length]![0] = m.f;
      return ops;
    }
    case "stringKeys":
      for (const op of ops) for (const mop of mopsOf(op)) mop[1] = `k${String(mop[1])}`;
      return ops;
    case "noAppends":
      for (const op of ops) for (const mop of mopsOf(op)) if (mop[0] === "append") mop[0] = "w";
      return ops;
    case "nemesis": {
      const at = m.at % (ops.length + 1);
      const nemesis = { index: 0, time: 0, process: "nemesis", type: "info", f: "start", value: null };
      ops.splice(at, 0, { ...nemesis, time: at === 0 ? 0 : ops[at - 1]!.time } as Op);
      return ops.map((op, index) => ({ ...op, index }));
    }
    case "keyOrder":
      return ops; // applied when the lines are written
  }
}

function linesOf(ops: readonly Op[], m: ValueMutation): string[] {
  return ops.map((op, i) => {
    if (m.kind === "keyOrder" && i === m.at % ops.length) {
      const { value, index, ...rest } = op;
      return JSON.stringify({ value, ...rest, index });
    }
    return opToJsonLine(op);
  });
}

function mutateBytes(lines: string[], m: ByteMutation): string {
  const out = [...lines];
  switch (m.kind) {
    case "none":
      return out.join("\n") + "\n";
    case "byte": {
      const text = out.join("\n") + "\n";
      const at = m.at % text.length;
      return text.slice(0, at) + m.char + text.slice(at + 1);
    }
    case "dropLine":
      out.splice(m.at % out.length, 1);
      return out.join("\n") + "\n";
    case "swapLines": {
      const at = m.at % Math.max(1, out.length - 1);
      if (at + 1 < out.length) [out[at], out[at + 1]] = [out[at + 1]!, out[at]!];
      return out.join("\n") + "\n";
    }
    case "crlf":
      return out.join("\r\n") + "\r\n";
    case "bom":
      return "\ufeff" + out.join("\n") + "\n";
    case "blankLines":
      out.splice(m.at % out.length, 0, "", "  ");
      return out.join("\n");
  }
}

describe("faultline check, streamed list-append path", () => {
  it("gives the ordinary path's outcome on generated histories, mutated in values and in bytes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.nat(),
          txns: fc.integer({ min: 1, max: 40 }),
          processes: fc.integer({ min: 1, max: 6 }),
          isolation: fc.constantFrom("serializable" as const, "snapshot" as const),
          values: valueMutation,
          bytes: byteMutation,
          stepLimit: fc.option(fc.integer({ min: 1, max: 3000 }), { nil: undefined }),
        }),
        async ({ seed, txns, processes, isolation, values, bytes, stepLimit }) => {
          const history = simulateListAppend({
            random: new SeededRandom(seed, "check-streamed"),
            txnCount: txns,
            processCount: processes,
            isolation,
            activeKeys: 4,
            appendsPerKey: 6,
            failPerMille: 100,
            infoPerMille: 100,
          });
          const ops = mutateValues(history, values);
          const text = mutateBytes(linesOf(ops, values), bytes);
          const args = stepLimit === undefined ? [] : ["--step-limit", String(stepLimit)];
          const { streamed, ordinary } = await bothPaths(text, args);
          expect(streamed).toEqual(ordinary);
        },
      ),
      { numRuns: 150, seed: 17 },
    );
  });

  it("finds the same anomalies on a history that has them, and counts the same operations", async () => {
    const history = simulateListAppend({
      random: new SeededRandom(3, "check-streamed"),
      txnCount: 300,
      processCount: 8,
      isolation: "snapshot",
      activeKeys: 3,
    });
    const { streamed, ordinary } = await bothPaths(history.map(opToJsonLine).join("\n") + "\n");
    expect(streamed.exitCode).toBe(1); // write skew under snapshot isolation: not strict serializable
    expect(streamed.line).toMatch(/^INVALID.*300 operations, N ms$/);
    expect(streamed).toEqual(ordinary);
  });

  it("reads a history with nothing but invocations as unknown, and an empty or nemesis-only one too", async () => {
    const invoke = { index: 0, time: 0, process: 0, type: "invoke", f: "txn", value: [["append", 1, 1]] };
    const nemesis = { index: 0, time: 0, process: "nemesis", type: "info", f: "txn", value: null };
    for (const text of [JSON.stringify(invoke) + "\n", JSON.stringify(nemesis) + "\n", ""]) {
      const { streamed, ordinary } = await bothPaths(text);
      expect(streamed).toEqual(ordinary);
    }
    const { streamed } = await bothPaths(JSON.stringify(invoke) + "\n");
    expect(streamed.exitCode).toBe(2);
  });
});
