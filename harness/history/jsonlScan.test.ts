/**
 * The byte-level JSONL fast path must read exactly what JSON.parse reads (with integers beyond a
 * double's exact range kept as their decimal strings, as every reader keeps them: exactJson.ts),
 * and never accept what it refuses: on lines the writer writes (which it must accept when their values are plain), on
 * those lines mutated byte by byte, and on whole files (line numbers, errors, blank lines, CRLF, a
 * byte-order mark, lines across read chunks) against the ordinary reader.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { opToJsonLine, readJsonlHistoryAll, scanJsonl } from "./jsonl.ts";
import { parseJsonExact } from "./exactJson.ts";
import { JsonlScanner, scannedOp } from "./jsonlScan.ts";
import type { Op } from "./op.ts";
import { HistorySource } from "./source.ts";
import { HistoryFormatError, opProblem } from "./validate.ts";

const dir = mkdtempSync(join(tmpdir(), "faultline-jsonl-scan-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCounter = 0;

const encoder = new TextEncoder();

/** What the fast path says of one line: the op it read, or undefined when it declined. */
function scan(line: string): Op | undefined {
  const scanner = new JsonlScanner();
  const bytes = encoder.encode(line);
  return scanner.scan(bytes, 0, bytes.length) ? scannedOp(scanner) : undefined;
}

/** Integers around the widths the scanner reads in one pass (nine digits) and at all (fifteen). */
const wideInt = fc.constantFrom(
  0,
  9,
  99_999_999,
  999_999_999,
  1_000_000_000,
  -999_999_999,
  -1_000_000_000,
  123_456_789_012,
  999_999_999_999_999,
  -999_999_999_999_999,
);
const smallInt = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -1000, max: 1_000_000 }) },
  { weight: 1, arbitrary: wideInt },
);
const key = fc.oneof(
  fc.integer({ min: 0, max: 500 }),
  fc.constantFrom("x", "y", "k1", "é"),
  wideInt.filter((k) => k >= 0),
);
const plainMicroOp = fc.oneof(
  fc.tuple(fc.constant("append"), key, smallInt),
  fc.tuple(fc.constant("w"), key, smallInt),
  fc.tuple(
    fc.constant("r"),
    key,
    fc.oneof(fc.constant(null), smallInt, fc.array(smallInt, { maxLength: 6 })),
  ),
);
const anyMicroOp = fc.oneof(
  plainMicroOp,
  fc.tuple(
    fc.constantFrom("r", "w", "append", "x"),
    fc.jsonValue({ maxDepth: 1 }),
    fc.jsonValue({ maxDepth: 2 }),
  ),
);

const opArbitrary = (value: fc.Arbitrary<unknown>): fc.Arbitrary<Op> =>
  fc
    .record({
      index: fc.nat(),
      time: fc.nat(),
      process: fc.oneof(fc.nat({ max: 100 }), fc.constant("nemesis" as const)),
      type: fc.constantFrom("invoke", "ok", "fail", "info" as const),
      f: fc.constantFrom("txn", "read", "write", "start-partition", "ünïcode"),
      value,
      node: fc.option(fc.constantFrom("n1", "n2"), { nil: undefined }),
      error: fc.option(fc.jsonValue({ maxDepth: 1 }), { nil: undefined }),
    })
    .map(({ node, error, ...rest }) => ({
      ...rest,
      ...(node === undefined ? {} : { node }),
      ...(error === undefined ? {} : { error }),
    }));

describe("JsonlScanner", () => {
  it("reads every plain line the writer writes exactly as JSON.parse does", () => {
    fc.assert(
      fc.property(opArbitrary(fc.array(plainMicroOp, { minLength: 1, maxLength: 8 })), (op) => {
        const line = opToJsonLine(op);
        const scanned = scan(line);
        expect(scanned).toBeDefined();
        expect(scanned).toEqual(parseJsonExact(line));
        expect(JSON.stringify(scanned)).toBe(JSON.stringify(parseJsonExact(line)));
      }),
      { numRuns: 300 },
    );
  });

  it("reads any value it accepts as JSON.parse does", () => {
    fc.assert(
      fc.property(
        opArbitrary(fc.oneof(fc.array(anyMicroOp, { maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }))),
        (op) => {
          const line = opToJsonLine(op);
          const scanned = scan(line);
          if (scanned !== undefined)
            expect(JSON.stringify(scanned)).toBe(JSON.stringify(parseJsonExact(line)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("never accepts a line JSON.parse refuses or that is not an op, and agrees on the rest", () => {
    const mutation = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom("delete", "insert", "replace"),
      byte: fc.constantFrom(...'{}[],:"\\ -.0123456789eE+nulltrfas\t\r\u0001é'.split("")),
    });
    fc.assert(
      fc.property(
        opArbitrary(fc.array(plainMicroOp, { minLength: 1, maxLength: 4 })),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (op, mutations) => {
          let line = opToJsonLine(op);
          for (const { at, kind, byte } of mutations) {
            const i = at % (line.length + 1);
            line =
              kind === "delete"
                ? line.slice(0, i) + line.slice(i + 1)
                : kind === "insert"
                  ? line.slice(0, i) + byte + line.slice(i)
                  : line.slice(0, i) + byte + line.slice(i + 1);
          }
          const scanned = scan(line);
          if (scanned === undefined) return;
          const parsed: unknown = parseJsonExact(line); // must not throw
          expect(opProblem(parsed)).toBeUndefined();
          expect(scanned).toEqual(parsed);
          expect(Object.keys(scanned)).toEqual(Object.keys(parsed as object));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("reads list elements of every length of digits as JSON.parse does, and declines malformed ones", () => {
    const element = fc.oneof(
      fc.integer({ min: 0, max: 2 ** 31 }),
      fc.constantFrom(
        1,
        9,
        10,
        99,
        123456789,
        999999999,
        1000000000,
        1234567890,
        2 ** 53 - 1,
        -1,
        -999999999,
      ),
      fc.stringMatching(/^(0|[1-9][0-9]{0,16})(\.[0-9]|[eE][0-9]|0)?$/),
    );
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 5 }), (elements) => {
        const line = `{"index":0,"time":0,"process":0,"type":"ok","f":"txn","value":[["r",1,[${elements.join(",")}]]]}`;
        let parsed: unknown;
        try {
          parsed = parseJsonExact(line);
        } catch {
          parsed = undefined;
        }
        const scanned = scan(line);
        // The scanner may decline a line (the ordinary reader then reads it), never misread one.
        if (scanned !== undefined) expect(scanned).toEqual(parsed);
        if (elements.every((e) => typeof e === "number" && Number.isSafeInteger(e)))
          expect(scanned).toBeDefined();
      }),
      { numRuns: 500, seed: 5 },
    );
  });

  it("reads lists longer than its element buffer, line after line, as JSON.parse does", () => {
    // The buffer starts at 1024 elements and grows (to the rest of the line's room) before a
    // list is read: lists of 3,000 and then 9,000 elements, several in a line, one scanner.
    const scanner = new JsonlScanner();
    for (const length of [3000, 9000, 10]) {
      const list = Array.from({ length }, (_, i) => (i * 7919) % 1_000_003);
      const op: Op = {
        index: length,
        time: 1,
        process: 0,
        type: "ok",
        f: "txn",
        value: [
          ["r", 1, list],
          ["append", 1, 5],
          ["r", 2, [...list].reverse()],
        ],
      };
      const bytes = encoder.encode(opToJsonLine(op));
      expect(scanner.scan(bytes, 0, bytes.length)).toBe(true);
      expect(scannedOp(scanner)).toEqual(op);
    }
  });

  it("declines what is not the writer's shape, and reads odd values through JSON.parse", () => {
    const base = '"time":0,"process":0,"type":"invoke","f":"txn","value":';
    for (const line of [
      `{"index":01,${base}null}`,
      `{"index":0,${base}null,"extra":1}`,
      `{"time":0,"index":0,"process":0,"type":"invoke","f":"txn","value":null}`,
      `{"index":0,${base}null,"index":1}`,
      `{"index":0,${base}null,}`,
      `{"index":0,${base}null}x`,
      `{"index":12345678901234567,${base}null}`,
      `{"index":0,${base}[["append",1,01]]}`,
      `{"index":0,${base}"a\\qb"}`,
      // JSON allows nothing between a minus and its digits (found by the property above).
      `{"index":0,${base}[["append",1,- 1]]}`,
      `{"index":0,${base}[["append",1,-\t10]]}`,
      `{"index":0,${base}[["w",1,-]]}`,
    ])
      expect(scan(line), line).toBeUndefined();
    for (const line of [
      `{"index":0,${base}[["append",1,-0]]}`,
      `{"index":0,${base}[["append",1,1.5e-3]]}`,
      `{"index":0,${base}[["append","\\u00e9",1]]}`,
      `{"index":0,${base}"a\\nb\\"c"}`,
    ]) {
      expect(scan(line), line).toEqual(JSON.parse(line));
      expect(Object.is((scan(line)!.value as unknown[][])[0]?.[2], -0)).toBe(line.includes("-0"));
    }
    expect(scan(`  {"index" : 0 , ${base} [ [ "r" , 2 , [ 1 , 2 ] ] ] , "node" : "n1" }  \r`)).toEqual({
      index: 0,
      time: 0,
      process: 0,
      type: "invoke",
      f: "txn",
      value: [["r", 2, [1, 2]]],
      node: "n1",
    });
  });
});

describe("scanJsonl", () => {
  async function both(text: string | Uint8Array): Promise<{ fast: unknown; ordinary: unknown }> {
    const path = join(dir, `h${fileCounter++}.jsonl`);
    writeFileSync(path, text);
    const outcome = async (read: () => Promise<Op[]>): Promise<unknown> => {
      try {
        return { ops: await read() };
      } catch (error) {
        if (!(error instanceof HistoryFormatError)) throw error;
        return { error: error.message, line: error.line };
      }
    };
    const fast = await outcome(async () => {
      const ops: Op[] = [];
      const source = HistorySource.open(path);
      try {
        await scanJsonl(source, { scanned: (s) => ops.push(scannedOp(s)), op: (o) => ops.push(o) });
      } finally {
        source.close();
      }
      return ops;
    });
    return { fast, ordinary: await outcome(() => readJsonlHistoryAll(path)) };
  }

  const line = (index: number, process: number, type: string, value: unknown): string =>
    JSON.stringify({ index, time: index, process, type, f: "txn", value });

  it("reads a file as the ordinary reader does: blank lines, CRLF, a byte-order mark, foreign lines", async () => {
    const text =
      "\uFEFF" +
      line(0, 0, "invoke", [["append", 1, 1]]) +
      "\r\n\n   \n" +
      '{"process":0,"index":1,"time":1,"type":"ok","f":"txn","value":[["append",1,1]],"extra":true}\n' +
      line(2, 1, "invoke", [["r", 1, null]]) +
      "\n" +
      line(3, 1, "ok", [["r", 1, [1]]]);
    const { fast, ordinary } = await both(text);
    expect(fast).toEqual(ordinary);
    expect((fast as { ops: Op[] }).ops).toHaveLength(4);
  });

  it("reports the same error on the same line", async () => {
    for (const bad of [
      line(0, 0, "ok", [["append", 1, 1]]), // a completion with no invocation
      '{"index":0,"time":0,"process":0,"type":"okay","f":"txn","value":null}',
      '{"index":0,"time":0,"process":0,"type":"invoke","f":"txn","value":[["append",1,1]]',
      line(5, 0, "invoke", null),
    ]) {
      const text = [line(0, 9, "invoke", null), line(1, 9, "ok", null), "", bad].join("\n");
      const { fast, ordinary } = await both(text);
      expect(fast).toEqual(ordinary);
      expect((fast as { line?: number }).line).toBe(4);
    }
  });

  it("reads each line through to its line break only when it is the writer's, else as the ordinary reader does", async () => {
    // Lines of faultline's own shape (with a node, an error, long lists) beside lines that are
    // that shape only up to their closing brace or past their line break (something after the
    // brace, a CR, an error value with a line break in it, a line too long to read through), in
    // any order; each pair of processes takes turns so most histories are well-formed.
    const compact = (i: number, type: string, extra: string): string =>
      opToJsonLine({
        index: i,
        time: i,
        process: i >> 1,
        type,
        f: "txn",
        value: [["r", 1, [1, 2]]],
      } as Op).slice(0, -1) +
      extra +
      "}";
    const shapes = [
      (i: number, type: string) => compact(i, type, ""),
      (i: number, type: string) => compact(i, type, ',"node":"n1"'),
      (i: number, type: string) => compact(i, type, ',"error":"timeout"'),
      (i: number, type: string) => compact(i, type, ',"error":\n"timeout"'),
      (i: number, type: string) => compact(i, type, "") + "}",
      (i: number, type: string) => compact(i, type, "") + " ",
      (i: number, type: string) => compact(i, type, "") + "\r",
      (i: number, type: string) =>
        JSON.stringify(JSON.parse(compact(i, type, "")), null, 1).replace(/\n/g, ""),
      (i: number, type: string) =>
        opToJsonLine({
          index: i,
          time: i,
          process: i >> 1,
          type,
          f: "txn",
          value: [["r", 1, Array.from({ length: 20_000 }, (_, k) => k + 1)]],
        } as Op),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(shapes.length - 1), { minLength: 1, maxLength: 24 }),
        async (picks) => {
          const lines = picks.map((shape, i) => shapes[shape]!(i, i % 2 === 0 ? "invoke" : "ok"));
          const { fast, ordinary } = await both(lines.join("\n") + "\n");
          expect(fast).toEqual(ordinary);
        },
      ),
      { seed: 11, numRuns: 150 },
    );
  });

  it("reads lines that straddle read chunks", async () => {
    const lines: string[] = [];
    // About 3 MiB: lines cross the 1 MiB chunks at arbitrary places.
    for (let i = 0; lines.length < 30_000; i += 2) {
      const value = Array.from({ length: 1 + (i % 7) }, (_, k) => ["r", k, [1, 2, 3].slice(0, k % 4)]);
      lines.push(line(i, i % 11, "invoke", value), line(i + 1, i % 11, "ok", value));
    }
    const { fast, ordinary } = await both(lines.join("\n") + "\n");
    expect((fast as { ops: Op[] }).ops).toHaveLength(30_000);
    expect(fast).toEqual(ordinary);
  });
});
