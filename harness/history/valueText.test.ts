/**
 * valueText: one text per value, whatever the order of an object's keys, and never one text for
 * two values (a number beyond a double's range is no null).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { displayText, valueText } from "./valueText.ts";

describe("valueText", () => {
  it("is one text for an object whatever the order of its keys, at every depth", () => {
    expect(valueText({ a: 1, b: [{ c: 2, d: null }] })).toBe(valueText({ b: [{ d: null, c: 2 }], a: 1 }));
    expect(valueText({ a: 1, b: 2 })).not.toBe(valueText({ a: 2, b: 1 }));
  });

  it("keeps JSON's text for values without objects", () => {
    for (const v of [1, -2.5, "x", null, true, [1, "a", [2]], "{"])
      expect(valueText(v)).toBe(JSON.stringify(v));
  });

  it("never takes a number beyond a double's range, or NaN, for null", () => {
    // JSON.parse reads 1e400 as Infinity, which JSON.stringify writes as null.
    const infinite = JSON.parse("1e400") as number;
    for (const [a, b] of [
      [infinite, null],
      [-infinite, null],
      [NaN, null],
      [[infinite], [null]],
      [{ a: infinite }, { a: null }],
      [infinite, -infinite],
    ] as const)
      expect(valueText(a), `${String(a)} vs ${String(b)}`).not.toBe(valueText(b));
    expect(valueText({ a: infinite, b: 1 })).toBe(valueText({ b: 1, a: infinite }));
  });
});

describe("displayText", () => {
  it("is JSON.stringify's text for every JSON value, keys in their order", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(displayText(value)).toBe(JSON.stringify(value));
      }),
      { numRuns: 300 },
    );
    expect(displayText({ b: 1, a: [undefined] })).toBe('{"b":1,"a":[null]}');
    expect(displayText(undefined)).toBe("null");
  });

  it("names a number beyond a double's range, and NaN, as themselves, not as null", () => {
    expect(displayText(Infinity)).toBe("Infinity");
    expect(displayText([1, -Infinity, { a: NaN, b: null }])).toBe('[1,-Infinity,{"a":NaN,"b":null}]');
  });
});
