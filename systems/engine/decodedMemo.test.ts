/**
 * The memo of decoding by content: which records may be handed to every reader (those equal to
 * their JSON round trip, field for field), the byte comparison, and the index's bound.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  commonPrefixBytes,
  DecodedPrefixes,
  deepFreezeJsonData,
  isCanonicalFlatRecord,
  isCanonicalJsonData,
  sameBytes,
  WeakChecksumIndex,
} from "./decodedMemo.ts";

describe("isCanonicalFlatRecord", () => {
  it("holds exactly for plain records whose JSON round trip is themselves, field order included", () => {
    const field = fc.oneof(
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.double(),
      fc.integer(),
      fc.constant(undefined),
      fc.array(fc.integer(), { maxLength: 2 }),
      fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string(), field, { maxKeys: 5 }), (fields) => {
        const record = { ...fields };
        const flat = Object.values(record).every((v) => v === null || typeof v !== "object");
        const roundTrip = JSON.parse(JSON.stringify(record)) as unknown;
        const same =
          Object.is(roundTrip, record) ||
          (JSON.stringify(Object.keys(roundTrip as object)) === JSON.stringify(Object.keys(record)) &&
            Object.entries(record).every(([k, v]) =>
              Object.is((roundTrip as Record<string, unknown>)[k], v),
            ));
        // A `toJSON` field is refused whatever it holds (JSON calls it when it is a function).
        expect(isCanonicalFlatRecord(record)).toBe(flat && same && !("toJSON" in record));
      }),
    );
  });

  it("refuses what JSON would not give back: -0, NaN, undefined, toJSON, another prototype", () => {
    expect(isCanonicalFlatRecord({ kind: "commit", xid: 1 })).toBe(true);
    expect(isCanonicalFlatRecord({ value: -0 })).toBe(false);
    expect(isCanonicalFlatRecord({ value: Number.NaN })).toBe(false);
    expect(isCanonicalFlatRecord({ value: undefined })).toBe(false);
    expect(isCanonicalFlatRecord({ value: 1, toJSON: () => 2 })).toBe(false);
    expect(isCanonicalFlatRecord(Object.assign(Object.create(null) as object, { value: 1 }))).toBe(false);
    expect(isCanonicalFlatRecord({ value: [1] })).toBe(false);
  });
});

describe("isCanonicalJsonData, deepFreezeJsonData", () => {
  it("holds only for data whose JSON round trip is itself, all through, and for what JSON.parse gives", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.anything(), (json, anything) => {
        for (const value of [json, anything, [json, anything], { a: json, b: anything }]) {
          let same = false;
          try {
            const text = JSON.stringify(value);
            same = text !== undefined && typeof value !== "bigint" && deepSame(JSON.parse(text), value);
          } catch {
            same = false;
          }
          // Not the other way round: a value JSON gives back otherwise (-0, undefined, a Map...)
          // is never taken for canonical.
          if (isCanonicalJsonData(value)) expect(same).toBe(true);
        }
        // What JSON.parse gives is canonical (JSON text never writes -0, NaN or undefined).
        expect(isCanonicalJsonData(JSON.parse(JSON.stringify(json)) as unknown)).toBe(true);
      }),
    );
    expect(isCanonicalJsonData({ kind: "checkpoint", running: [1, 2], active: [[1, 2, 3]], dirty: [] })).toBe(
      true,
    );
    expect(isCanonicalJsonData({ a: [1, -0] })).toBe(false);
    expect(isCanonicalJsonData({ a: [1, undefined] })).toBe(false);
    // eslint-disable-next-line no-sparse-arrays
    expect(isCanonicalJsonData([1, , 2])).toBe(false);
    expect(isCanonicalJsonData({ a: new Map() })).toBe(false);
    expect(isCanonicalJsonData({ a: { toJSON: () => 1 } })).toBe(false);
  });

  it("freezes every object and array inside", () => {
    const value = deepFreezeJsonData({ a: [1, [2, { b: 3 }]], c: { d: [] as number[] } });
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.a)).toBe(true);
    expect(Object.isFrozen(value.a[1])).toBe(true);
    expect(Object.isFrozen((value.a[1] as unknown[])[1])).toBe(true);
    expect(Object.isFrozen(value.c.d)).toBe(true);
  });
});

/** Same data, field order and -0 included (Object.is on primitives). */
function deepSame(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.join("\u0000") !== keysB.join("\u0000")) return false;
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return false;
  return keysA.every((k) => deepSame((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

describe("sameBytes", () => {
  it("compares two runs of bytes, and never past either end", () => {
    const a = new Uint8Array([1, 2, 3, 4]);
    const b = new Uint8Array([9, 2, 3, 4]);
    expect(sameBytes(a, 1, b, 1, 3)).toBe(true);
    expect(sameBytes(a, 0, b, 0, 2)).toBe(false);
    expect(sameBytes(a, 2, b, 2, 3)).toBe(false);
  });
});

describe("WeakChecksumIndex", () => {
  it("finds the record last remembered under a checksum", () => {
    const index = new WeakChecksumIndex<object>(8);
    const a = { a: 1 };
    const b = { b: 1 };
    index.remember(1, a);
    index.remember(2, b);
    expect(index.get(1)).toBe(a);
    index.remember(1, b);
    expect(index.get(1)).toBe(b);
    expect(index.get(3)).toBeUndefined();
  });

  it("never holds more than its bound of checksums", () => {
    const index = new WeakChecksumIndex<object>(16);
    const kept: object[] = [];
    for (let i = 0; i < 1000; i++) {
      const record = { i };
      kept.push(record);
      index.remember(i, record);
      expect(index.size).toBeLessThanOrEqual(16);
    }
    // The last remembered is always found: a full index starts over before taking it.
    expect(index.get(999)).toBe(kept[999]);
  });
});

describe("commonPrefixBytes", () => {
  it("is the length of the longest common prefix, across the blocks it compares natively", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 0, max: 250_000 }),
        (lengthA, lengthB, differAt) => {
          const a = new Uint8Array(lengthA).map((_, i) => i % 251);
          const b = new Uint8Array(lengthB).map((_, i) => i % 251);
          if (differAt < b.length) b[differAt]! ^= 0x5a;
          const naive = (): number => {
            let i = 0;
            while (i < a.length && i < b.length && a[i] === b[i]) i++;
            return i;
          };
          expect(commonPrefixBytes(a, b)).toBe(naive());
          expect(commonPrefixBytes(b, a)).toBe(naive());
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("DecodedPrefixes", () => {
  const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);

  it("finds the most items of a remembered run that lie whole in the common prefix", () => {
    const memo = new DecodedPrefixes<string>(4, 1 << 20);
    expect(memo.longestPrefix(bytesOf("ab\ncd\n"))).toBeUndefined();
    memo.remember(bytesOf("ab\ncd\nef\n"), [3, 6, 9], ["ab", undefined, "ef"]);
    // The same file, a longer one, one cut inside its third item, one that differs in its second.
    expect(memo.longestPrefix(bytesOf("ab\ncd\nef\n"))).toMatchObject({ count: 3 });
    expect(memo.longestPrefix(bytesOf("ab\ncd\nef\ngh\n"))).toMatchObject({ count: 3 });
    expect(memo.longestPrefix(bytesOf("ab\ncd\ne"))).toMatchObject({ count: 2 });
    const differs = memo.longestPrefix(bytesOf("ab\ncX\nef\n"));
    expect(differs).toMatchObject({ count: 1 });
    expect(differs!.items[0]).toBe("ab");
    expect(memo.longestPrefix(bytesOf("Xb\n"))).toBeUndefined();
  });

  it("keeps its own copy of the bytes, the longest of runs that extend one another, within its bounds", () => {
    const memo = new DecodedPrefixes<number>(2, 8);
    const file = bytesOf("1\n2\n");
    memo.remember(file, [2, 4], [1, 2]);
    file[0] = "9".charCodeAt(0);
    expect(memo.longestPrefix(bytesOf("1\n2\n"))).toMatchObject({ count: 2 });
    // A run that extends the first replaces it; a second, unrelated run is kept beside it.
    memo.remember(bytesOf("1\n2\n3\n"), [2, 4, 6], [1, 2, 3]);
    memo.remember(bytesOf("7\n"), [2], [7]);
    expect(memo.longestPrefix(bytesOf("7\n"))).toMatchObject({ count: 1 });
    expect(memo.longestPrefix(bytesOf("1\n2\n3\n"))).toMatchObject({ count: 3 });
    // A third run: the least recently used (the one of "7") makes room, then the next one's.
    memo.remember(bytesOf("5\n"), [2], [5]);
    expect(memo.longestPrefix(bytesOf("7\n"))).toBeUndefined();
    expect(memo.longestPrefix(bytesOf("1\n2\n3\n"))).toMatchObject({ count: 3 });
    expect(memo.longestPrefix(bytesOf("5\n"))).toMatchObject({ count: 1 });
    memo.remember(bytesOf("4\n4\n"), [2, 4], [4, 4]);
    expect(memo.longestPrefix(bytesOf("1\n2\n3\n"))).toBeUndefined();
    expect(memo.longestPrefix(bytesOf("5\n"))).toMatchObject({ count: 1 });
    // A file longer than the whole budget is not remembered.
    memo.remember(bytesOf("123456789\n"), [10], [1]);
    expect(memo.longestPrefix(bytesOf("123456789\n"))).toBeUndefined();
  });

  it("shares a run's own bytes with the run that extends it, and never the caller's", () => {
    const memo = new DecodedPrefixes<string>(4, 1 << 20);
    const first = bytesOf("ab\ncd\n");
    memo.longestPrefix(first);
    memo.remember(first, [3, 6], ["ab", "cd"]);
    const longer = bytesOf("ab\ncd\nef\n");
    expect(memo.longestPrefix(longer)).toMatchObject({ count: 2 });
    memo.remember(longer, [3, 6, 9], ["ab", "cd", "ef"]);
    // Both buffers changed after they were remembered: the memo holds copies.
    first.fill(0x58);
    longer.fill(0x58);
    expect(memo.longestPrefix(bytesOf("ab\ncd\nef\ngh\n"))).toMatchObject({ count: 3 });
    expect(memo.longestPrefix(bytesOf("ab\ncX\nef\n"))).toMatchObject({ count: 1 });
    // A remember of other bytes than the last looked up compares them itself.
    memo.longestPrefix(bytesOf("zz\n"));
    memo.remember(bytesOf("ab\ncd\nef\ngh\n"), [3, 6, 9, 12], ["ab", "cd", "ef", "gh"]);
    expect(memo.longestPrefix(bytesOf("ab\ncd\nef\ngh\n"))).toMatchObject({ count: 4 });
  });

  it("property: a prefix it hands out is made of the items of those very bytes", () => {
    // Files of lines drawn from a few, each read (looked up, then remembered) as a log is: the
    // items of a remembered prefix must be the lines the file itself begins with.
    const line = fc.constantFrom("a\n", "bb\n", "ccc\n", "d\n");
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ base: fc.nat({ max: 6 }), more: fc.array(line, { maxLength: 4 }), cut: fc.nat() }),
          {
            minLength: 1,
            maxLength: 25,
          },
        ),
        fc.array(line, { minLength: 1, maxLength: 4 }),
        (reads, start) => {
          const memo = new DecodedPrefixes<string>(3, 64);
          const files: string[][] = [start];
          for (const { base, more, cut } of reads) {
            const from = files[base % files.length]!;
            const lines = [...from.slice(0, cut % (from.length + 1)), ...more];
            files.push(lines);
            const bytes = bytesOf(lines.join(""));
            const known = memo.longestPrefix(bytes);
            const count = known?.count ?? 0;
            expect(count).toBeLessThanOrEqual(lines.length);
            expect(known?.items.slice(0, count) ?? []).toEqual(lines.slice(0, count));
            const ends: number[] = [];
            let at = 0;
            for (const l of lines) ends.push((at += l.length));
            if (lines.length > 0) memo.remember(bytes, ends, lines.slice());
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
