import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maxNestingDepth, parseJsonExact } from "./exactJson.ts";

describe("parseJsonExact", () => {
  it("keeps integers beyond a double's exact range as their decimal strings", () => {
    expect(parseJsonExact("9007199254740993")).toBe("9007199254740993");
    expect(parseJsonExact("-9007199254740993")).toBe("-9007199254740993");
    expect(parseJsonExact("9007199254740992")).toBe("9007199254740992");
    expect(parseJsonExact("[9007199254740992,9007199254740993]")).toEqual([
      "9007199254740992",
      "9007199254740993",
    ]);
    expect(parseJsonExact('{"value":[["append","x",123456789012345678901234567890]]}')).toEqual({
      value: [["append", "x", "123456789012345678901234567890"]],
    });
  });

  it(`refuses arrays and objects nested deeper than ${maxNestingDepth}, counting no bracket in a string`, () => {
    const nested = (depth: number, open = "[", close = "]"): string =>
      open.repeat(depth) + close.repeat(depth);
    expect(() => parseJsonExact(nested(maxNestingDepth))).not.toThrow();
    expect(() => parseJsonExact(nested(maxNestingDepth + 1))).toThrow(
      new SyntaxError(`arrays and objects nested deeper than ${maxNestingDepth}`),
    );
    const objects = '{"a":'.repeat(maxNestingDepth + 1) + "1" + "}".repeat(maxNestingDepth + 1);
    expect(() => parseJsonExact(objects)).toThrow(/nested deeper/);
    // Brackets inside strings (escaped quotes too) are text, not nesting.
    const text = JSON.stringify(['"' + "[".repeat(5000), "{".repeat(5000)]);
    expect(parseJsonExact(text)).toEqual(JSON.parse(text));
  });

  it("leaves safe integers, floats and digits inside strings as JSON.parse reads them", () => {
    expect(parseJsonExact("9007199254740991")).toBe(9007199254740991);
    expect(parseJsonExact("-9007199254740991")).toBe(-9007199254740991);
    expect(parseJsonExact("1000000000000000")).toBe(1000000000000000);
    expect(parseJsonExact("12345678901234567.5")).toBe(Number("12345678901234567.5"));
    expect(parseJsonExact("12345678901234567e2")).toBe(Number("12345678901234567e2"));
    expect(parseJsonExact("1.5e-12345678901234567")).toBe(0);
    expect(parseJsonExact('["id-12345678901234567890", "\\"12345678901234567890\\\\"]')).toEqual([
      "id-12345678901234567890",
      '"12345678901234567890\\',
    ]);
  });

  it("throws JSON.parse's own syntax error", () => {
    expect(() => parseJsonExact("[12345678901234567890,")).toThrow(SyntaxError);
    let expected = "";
    try {
      JSON.parse("[12345678901234567890 x]");
    } catch (error) {
      expected = (error as Error).message;
    }
    expect(() => parseJsonExact("[12345678901234567890 x]")).toThrow(expected);
  });

  it("is JSON.parse on any JSON whose integers are safe, and exact on any other (property)", () => {
    // Big integers are written into JSON text with a marker string replaced by their digits.
    const withBig = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.jsonValue({ maxDepth: 1 }),
        fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 3 }),
      ),
    })).value;
    fc.assert(
      fc.property(withBig, (value) => {
        const text = JSON.stringify(value, (_k, v: unknown) =>
          typeof v === "bigint" ? `\u0000big:${v.toString()}` : v,
        ).replace(/"\\u0000big:(-?\d+)"/g, "$1");
        const expected = JSON.parse(
          JSON.stringify(value, (_k, v: unknown) => {
            // A double beyond the safe range that JSON writes as plain digits reads back exact too.
            if (
              typeof v === "number" &&
              Number.isInteger(v) &&
              !Number.isSafeInteger(v) &&
              Math.abs(v) < 1e21
            ) {
              return String(v);
            }
            if (typeof v !== "bigint") return v;
            const n = Number(v);
            return Number.isSafeInteger(n) ? n : v.toString();
          }),
        ) as unknown;
        expect(parseJsonExact(text)).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });
});
