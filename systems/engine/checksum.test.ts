/**
 * utf8Length counts what the encoder would write, for every string: ASCII, two- and three-byte
 * characters, surrogate pairs and lone surrogates (which the encoder replaces with U+FFFD).
 * crc32 is the table loop's CRC-32 of any range of any bytes, whichever way it computes it (short
 * ranges eight bytes a step, long ones by zlib), and so is the eight-bytes-a-step loop itself.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32, crc32BySlices, crc32ByTable, utf8Encoder, utf8Length } from "./checksum.ts";

describe("crc32", () => {
  it("is the standard CRC-32 (check value of 123456789), short and long", () => {
    const check = utf8Encoder.encode("123456789");
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32ByTable(check)).toBe(0xcbf43926);
    expect(crc32BySlices(check)).toBe(0xcbf43926);
    // The same bytes inside a long buffer: a range of it, and the whole of it.
    const long = new Uint8Array(1000);
    long.set(check, 500);
    expect(crc32(long, 500, 509)).toBe(0xcbf43926);
    expect(crc32(long)).toBe(crc32ByTable(long));
  });

  it("of any range of any bytes is the table loop's", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
        const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
        expect(crc32(bytes, start, end)).toBe(crc32ByTable(bytes, start, end));
        expect(crc32BySlices(bytes, start, end)).toBe(crc32ByTable(bytes, start, end));
        expect(crc32(bytes)).toBe(crc32ByTable(bytes));
        expect(crc32BySlices(bytes)).toBe(crc32ByTable(bytes));
      }),
      { numRuns: 2000, seed: 17 },
    );
  });
});

describe("utf8Length", () => {
  it("is the encoded length of any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
        expect(utf8Length(text)).toBe(utf8Encoder.encode(text).length);
      }),
      { numRuns: 2000, seed: 17 },
    );
    for (const text of ["", "a", "é", "€", "😀", "\ud800", "\udc00", "\ud800a", "a\udbff", '["k",1]'])
      expect(utf8Length(text)).toBe(utf8Encoder.encode(text).length);
  });
});
