/**
 * The transaction table keeps micro-op values in one int32 column read by their kind: int32
 * numbers as they are, lists of numbers as a start in the list elements, anything else aside.
 * Whatever the value, the table gives it back exactly (`valueAt`, `microOpsOf`): numbers beyond
 * int32, fractions and -0 included.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { opToJsonLine } from "../../harness/history/jsonl.ts";
import { JsonlScanner } from "../../harness/history/jsonlScan.ts";
import type { Op } from "../../harness/history/op.ts";
import { MopKind, MopValue, readTxns, TxnTableBuilder, type TxnTable } from "./txns.ts";

/** Deep equality that tells -0 from 0 (toEqual would not catch a -0 read back as 0). */
function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null)
    return JSON.stringify(a) === JSON.stringify(b);
  return Object.is(a, b);
}

const txn = (index: number, type: Op["type"], value: unknown): Op =>
  ({ index, time: index, process: 0, type, f: "txn", value }) as Op;

describe("TxnTable values", () => {
  it("keeps int32 numbers in the column, and every other value exactly", () => {
    const values: unknown[] = [7, -3, 2 ** 31 - 1, 2 ** 31, 2 ** 40, 1.5, -0, 0, [1, 2], [1, "a"], null, "x"];
    const mops = values.map((v, i) => ["append", i, v]);
    const t = readTxns([txn(0, "invoke", mops), txn(1, "ok", mops)]);
    expect(values.map((_, i) => same(t.valueAt(i), values[i]))).toEqual(values.map(() => true));
    const kinds = [...t.mopValueKind];
    expect(kinds.slice(0, 3)).toEqual([MopValue.int, MopValue.int, MopValue.int]);
    // Beyond int32, a fraction and -0 are kept aside, not truncated into the int32 column.
    expect(kinds.slice(3, 7)).toEqual([MopValue.other, MopValue.other, MopValue.other, MopValue.other]);
    expect(kinds[7]).toBe(MopValue.int);
    expect(kinds[8]).toBe(MopValue.list);
    expect(t.mopValue[0]).toBe(7);
  });

  it("rebuilds any JSON micro-op value as it was given", () => {
    const value = fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(null, -0, 2 ** 53, "s"),
      fc.array(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), { maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 6 }), (values) => {
        const mops = values.map((v, i) => ["r", i, v]);
        const t = readTxns([txn(0, "invoke", mops), txn(1, "ok", mops)]);
        return same(t.microOpsOf(0), mops);
      }),
      { seed: 17, numRuns: 200 },
    );
  });
});

/** The table of `ops`, each line read by the JSONL scanner (the streamed path). */
function scannedTable(ops: readonly Op[]): TxnTable {
  const builder = new TxnTableBuilder();
  const scanner = new JsonlScanner();
  for (const op of ops) {
    const bytes = new TextEncoder().encode(opToJsonLine(op));
    expect(scanner.scan(bytes, 0, bytes.length)).toBe(true);
    builder.addScanned(scanner);
  }
  return builder.build();
}

/** Read micro-op i's list, from the table. */
const listOf = (t: TxnTable, i: number): unknown[] => t.valueAt(i) as unknown[];
const isPrefix = (a: readonly unknown[], b: readonly unknown[]): boolean =>
  a.length <= b.length && a.every((x, n) => x === b[n]);

describe("TxnTable key lines (mopOnKeyLine)", () => {
  it("marks reads kept as a prefix or an extension of the key's longest list, never one that diverges", () => {
    const reads: unknown[] = [[1, 2], [1], [1, 2, 3], [1, 5], [1, 2, 3], [], [7]];
    const ops = reads.flatMap((v, i) => [
      txn(2 * i, "invoke", [["r", i < 6 ? 1 : 2, null]]),
      txn(2 * i + 1, "ok", [["r", i < 6 ? 1 : 2, v]]),
    ]);
    const t = scannedTable(ops);
    // [1, 2] starts key 1's line, [1] is a prefix, [1, 2, 3] extends it, [1, 5] diverges, [1, 2, 3]
    // again is on the line, [] is a prefix of anything; key 2's [7] starts its own line.
    expect([...t.mopOnKeyLine]).toEqual([1, 1, 1, 0, 1, 1, 1]);
    expect(reads.map((_, i) => same(listOf(t, i), reads[i]))).toEqual(reads.map(() => true));
    // Lists read from Op objects are never marked: a mark says something, its absence nothing.
    expect([...readTxns(ops).mopOnKeyLine]).toEqual(reads.map(() => 0));
  });

  it("any two marked reads of one key are prefixes of one another (the shortcut list-append takes)", () => {
    const list = fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 5 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), list), { maxLength: 12 }), (reads) => {
        const ops = reads.flatMap(([k, v], i) => [
          txn(2 * i, "invoke", [["r", k, null]]),
          txn(2 * i + 1, "ok", [["r", k, v]]),
        ]);
        const t = scannedTable(ops);
        for (let i = 0; i < reads.length; i++) {
          expect(t.mopKind[i]).toBe(MopKind.r);
          for (let j = 0; j < reads.length; j++) {
            if (t.mopOnKeyLine[i] !== 1 || t.mopOnKeyLine[j] !== 1 || t.mopKey[i] !== t.mopKey[j]) continue;
            const [a, b] = [listOf(t, i), listOf(t, j)];
            expect(isPrefix(a, b) || isPrefix(b, a)).toBe(true);
          }
        }
      }),
      { seed: 23, numRuns: 300 },
    );
  });

  it("gives back every read list exactly while keys' lines outgrow their room and their values outgrow int32", () => {
    // Each key's line grows by reads that extend it (written in place into the room kept after
    // it), interleaved across keys so other lists lie after each line; now and then a read cuts
    // the line short or diverges from it, and an element of 2^40 turns the int32 column to doubles
    // while later lists are there.
    const element = fc.oneof(
      { weight: 12, arbitrary: fc.integer({ min: 1, max: 1000 }) },
      { weight: 1, arbitrary: fc.constant(2 ** 40) },
    );
    const read = fc.record({
      key: fc.integer({ min: 0, max: 3 }),
      grow: fc.array(element, { maxLength: 14 }),
      shape: fc.constantFrom("line", "line", "line", "prefix", "diverge"),
      cut: fc.nat(),
    });
    fc.assert(
      fc.property(fc.array(read, { maxLength: 40 }), (steps) => {
        const lines = new Map<number, number[]>();
        const reads = steps.map(({ key, grow, shape, cut }): [number, number[]] => {
          const line = lines.get(key) ?? [];
          lines.set(key, line);
          if (shape === "line") line.push(...grow);
          const kept = line.slice(0, shape === "line" ? line.length : cut % (line.length + 1));
          return [key, shape === "diverge" ? [...kept, 1001, ...grow] : kept];
        });
        const ops = reads.flatMap(([k, v], i) => [
          txn(2 * i, "invoke", [["r", k, null]]),
          txn(2 * i + 1, "ok", [["r", k, v]]),
        ]);
        const t = scannedTable(ops);
        for (let i = 0; i < reads.length; i++) expect(listOf(t, i)).toEqual(reads[i]![1]);
      }),
      { seed: 29, numRuns: 400 },
    );
  });
});

describe("TxnTable repeatsKey", () => {
  it("marks exactly the transactions whose micro-ops (those kept) meet a key twice, read either way", () => {
    const mop = fc.tuple(
      fc.constantFrom("r", "append"),
      fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom("a", "b")),
    );
    const mops = fc.array(mop, { maxLength: 6 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(mops, mops, fc.constantFrom("ok", "fail", "info")), { maxLength: 10 }),
        (txns) => {
          // Each transaction invoked with one list of micro-ops and completed with another: the
          // table keeps the completion's when it is ok, else the invocation's.
          const value = (list: readonly (readonly [string, number | string])[]): unknown[] =>
            list.map(([f, k], i) => [f, k, f === "r" ? null : i + 1]);
          const ops = txns.flatMap(([invoked, completed, type], i) => [
            txn(2 * i, "invoke", value(invoked)),
            txn(2 * i + 1, type, value(type === "ok" ? completed : invoked)),
          ]);
          for (const t of [readTxns(ops), scannedTable(ops)]) {
            for (let x = 0; x < t.count; x++) {
              const keys = [...t.mopKey.subarray(t.mopStart[x]!, t.mopStart[x + 1]!)];
              expect(t.repeatsKey[x]).toBe(new Set(keys).size < keys.length ? 1 : 0);
            }
          }
        },
      ),
      { seed: 5, numRuns: 300 },
    );
  });
});

describe("TxnTable opOf", () => {
  it("describes a fail or info completion read by the scanner as the ordinary reader does", () => {
    // The scanner's table keeps such a completion's value as its JSON text and parses it only
    // when the operation is asked for: it must come back as the value itself, of any shape.
    const mopValue = fc.oneof(
      fc.constant(null),
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      fc.array(fc.nat({ max: 1000 }), { maxLength: 5 }),
    );
    const mop = fc.tuple(
      fc.constantFrom("r", "append"),
      fc.oneof(fc.nat({ max: 50 }), fc.constant("k")),
      mopValue,
    );
    const completion = fc.oneof(
      fc.array(mop, { minLength: 1, maxLength: 4 }),
      fc.constant(null),
      fc.constant("x"),
    );
    fc.assert(
      fc.property(
        fc.array(mop, { minLength: 1, maxLength: 4 }),
        fc.constantFrom<Op["type"]>("fail", "info"),
        completion,
        (mops, type, value) => {
          const ops = [txn(0, "invoke", mops), txn(1, type, value)];
          const scanned = scannedTable(ops).opOf(0);
          const ordinary = readTxns(ops).opOf(0);
          return same(scanned, ordinary) && same(scanned.value, value) && scanned.type === type;
        },
      ),
      { seed: 23, numRuns: 300 },
    );
  });
});
