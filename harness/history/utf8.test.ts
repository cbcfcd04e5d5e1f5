/**
 * `Utf8Guard` against the platform's own strict decoder: bytes of every kind (ASCII, line feeds,
 * well-formed characters of two to four bytes, and bytes no UTF-8 holds: stray continuation
 * bytes, overlong forms, surrogates, past U+10FFFF, a character cut short by the next), cut into
 * chunks anywhere, are refused at the same line as `TextDecoder`'s fatal mode fed them one byte at
 * a time refuses them, or not at all when it does not (a character cut by the very end is left to
 * the readers, as a torn last line).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Utf8Guard } from "./utf8.ts";

/** The 1-based line of the byte at which a strict streaming decoder first throws, or undefined. */
function strictDecoderLine(bytes: Uint8Array): number | undefined {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 1;
  for (let at = 0; at < bytes.length; at++) {
    try {
      decoder.decode(bytes.subarray(at, at + 1), { stream: true });
    } catch {
      return line;
    }
    if (bytes[at] === 0x0a) line++;
  }
  return undefined;
}

/** Runs `bytes`, cut at `cuts`, through a guard: the line it refuses, and the bytes handed on. */
function guarded(bytes: Uint8Array, cuts: readonly number[]): { line: number | undefined; handedOn: number } {
  const guard = new Utf8Guard();
  const ends = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  for (const end of [...ends, bytes.length]) {
    if (end <= start) continue;
    const found = guard.check(Buffer.from(bytes.subarray(start, end)));
    if (found !== undefined) return { line: found.line, handedOn: start + found.wholeLinesEnd };
    start = end;
  }
  return { line: undefined, handedOn: bytes.length };
}

const piece: fc.Arbitrary<readonly number[]> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom([0x61], [0x0a], [0x22], [0x7b]) },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom("é", "€", "🦀", "\u{10ffff}", "\ufffd")
      .map((text) => [...Buffer.from(text, "utf8")]),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      [0xff],
      [0xfe],
      [0x80],
      [0xc0, 0xaf], // overlong '/'
      [0xe0, 0x80, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // a surrogate
      [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
      [0xe2, 0x82], // cut short, then whatever follows
      [0xf0, 0x9f],
      [0xc3],
    ),
  },
);

describe("Utf8Guard", () => {
  it("refuses bytes that are not UTF-8 at the strict decoder's line, however the chunks fall", () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (pieces, cuts) => {
          const bytes = Uint8Array.from(pieces.flat());
          const expected = strictDecoderLine(bytes);
          const { line, handedOn } = guarded(bytes, cuts);
          expect(line).toBe(expected);
          // What is handed on before the error holds every line before the bad one, and no more.
          if (line !== undefined)
            expect(bytes.subarray(0, handedOn).filter((byte) => byte === 0x0a).length).toBe(line - 1);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("names the line and the bytes", () => {
    const guard = new Utf8Guard();
    expect(guard.check(Buffer.from("ok\nstill ok\n"))).toBeUndefined();
    expect(guard.check(Buffer.from([0x61, 0x0a, 0x62, 0xe2]))).toBeUndefined();
    expect(guard.check(Buffer.from([0x28, 0x0a]))).toEqual({
      line: 4,
      wholeLinesEnd: 0,
      detail:
        "expected UTF-8 text (a history is read as UTF-8, as JSON is); got the bytes 0xe2 0x28, which are not UTF-8",
    });
  });
});
