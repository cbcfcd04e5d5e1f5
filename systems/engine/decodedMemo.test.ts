/**
 * The memo of decoding by content: which records may be handed to every reader (those equal to
 * their JSON round trip, field for field), the byte comparison, and the index's bound.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isCanonicalFlatRecord, sameBytes, WeakChecksumIndex } from "./decodedMemo.ts";

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
