/**
 * utf8Length counts what the encoder would write, for every string: ASCII, two- and three-byte
 * characters, surrogate pairs and lone surrogates (which the encoder replaces with U+FFFD).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8Encoder, utf8Length } from "./checksum.ts";

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
