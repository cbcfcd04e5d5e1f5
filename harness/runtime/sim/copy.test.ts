import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { copyJson } from "./copy.ts";

const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

describe("copyJson", () => {
  it("property: equals a JSON round trip, and shares no object with its input", () => {
    const values = fc.oneof(
      fc.jsonValue(),
      fc.object({
        withNullPrototype: true,
        withBoxedValues: false,
        withMap: true,
        withSet: true,
        withDate: true,
      }),
    );
    fc.assert(
      fc.property(values, (value) => {
        let expected: unknown;
        try {
          expected = viaJson(value);
        } catch {
          return; // JSON itself refuses it (e.g. a bigint): copyJson must throw too
        }
        const copied = copyJson(value);
        expect(JSON.stringify(copied)).toBe(JSON.stringify(expected));
        expect(copied).toStrictEqual(expected);
        if (typeof value === "object" && value !== null) expect(copied).not.toBe(value);
      }),
      { numRuns: 300 },
    );
  });

  it("matches JSON on the edge cases", () => {
    const value = {
      a: undefined,
      b: [undefined, () => 1, NaN, -0, Infinity],
      c: new Date(0),
      d: { toJSON: () => "t" },
    };
    expect(copyJson(value)).toStrictEqual(viaJson(value));
    expect(Object.is(copyJson(-0), 0)).toBe(true);
    expect(() => copyJson(undefined)).toThrow(TypeError);
    expect(() => copyJson(10n)).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => copyJson(cyclic)).toThrow(TypeError);
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    expect(copyJson(deep)).toStrictEqual(viaJson(deep));
  });
});
