import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EdnValue } from "./edn.ts";
import { EdnParseError, maxEdnDepth, parseEdn, parseEdnAll } from "./edn.ts";
import { valueText } from "./valueText.ts";

describe("parseEdn: hand-written cases", () => {
  it("reads scalars", () => {
    expect(parseEdn("nil")).toBe(null);
    expect(parseEdn("true")).toBe(true);
    expect(parseEdn("false")).toBe(false);
    expect(parseEdn("42")).toBe(42);
    expect(parseEdn("-7")).toBe(-7);
    expect(parseEdn("+3")).toBe(3);
    expect(parseEdn("12N")).toBe(12);
    // Beyond a double's exact integers: kept exact, as their decimal string.
    expect(parseEdn("123456789012345678901234567890N")).toBe("123456789012345678901234567890");
    expect(parseEdn("-9007199254740993")).toBe("-9007199254740993");
    expect(parseEdn("9007199254740991")).toBe(9007199254740991);
    expect(parseEdn("1.5")).toBe(1.5);
    // One number, as JSON has it; Clojure's = (Knossos's) tells the double apart (see the header).
    expect(parseEdn("[1 1N 1.0 1e0 1.0M]")).toEqual([1, 1, 1, 1, 1]);
    expect(parseEdn("-2.5e3")).toBe(-2500);
    expect(parseEdn("1.25M")).toBe(1.25);
    expect(parseEdn("1/4")).toBe(0.25);
    expect(parseEdn("##Inf")).toBe(Infinity);
    expect(parseEdn("##-Inf")).toBe(-Infinity);
    expect(parseEdn("##NaN")).toBeNaN();
  });

  it("reads keywords, symbols, strings and characters as strings", () => {
    expect(parseEdn(":ok")).toBe("ok");
    expect(parseEdn(":jepsen.foo/bar")).toBe("jepsen.foo/bar");
    expect(parseEdn("foo/bar")).toBe("foo/bar");
    expect(parseEdn('"a\\"b\\\\c\\nd\\te\\u00e9"')).toBe('a"b\\c\nd\te\u00e9');
    expect(parseEdn("\\a")).toBe("a");
    expect(parseEdn("\\newline")).toBe("\n");
    expect(parseEdn("\\space")).toBe(" ");
    expect(parseEdn("\\u00e9")).toBe("\u00e9");
    expect(parseEdn("[\\( \\)]")).toEqual(["(", ")"]);
  });

  it("reads collections, tags, comments, discards and commas", () => {
    expect(parseEdn("[1 2, 3]")).toEqual([1, 2, 3]);
    expect(parseEdn("(1 (2) [])")).toEqual([1, [2], []]);
    expect(parseEdn("#{1 2}")).toEqual([1, 2]);
    expect(parseEdn("#{}")).toEqual([]);
    expect(parseEdn("{:a 1, :b [nil]}")).toEqual({ a: 1, b: [null] });
    expect(parseEdn('{1 :x, "s" 2, [1 2] 3, nil 4}')).toEqual({ "1": "x", s: 2, "[1,2]": 3, null: 4 });
    expect(parseEdn('#inst "2024-01-01T00:00:00Z"')).toBe("2024-01-01T00:00:00Z");
    expect(parseEdn("#jepsen.history.Op{:index 0, :type :ok}")).toEqual({ index: 0, type: "ok" });
    expect(parseEdn("[1 #_ 2 3 #_ #_ 4 5 6] ; trailing")).toEqual([1, 3, 6]);
    expect(parseEdn("; lead\n[:a ; mid\n :b]")).toEqual(["a", "b"]);
  });

  it("reads two sets of the same elements as the same array, whatever order they were written in", () => {
    // Before, sets were arrays in the order written: a register written #{1 2} and read #{2 1} was
    // a read of a value nobody wrote, and a set of sets missed its own elements.
    expect(parseEdn("#{2 10 1}")).toEqual([1, 2, 10]);
    expect(parseEdn('#{"b" "a" "B"}')).toEqual(["B", "a", "b"]);
    expect(parseEdn('#{:b 1 "a" nil}')).toEqual(parseEdn('#{nil "a" 1 :b}'));
    expect(parseEdn("#{#{2 1} #{3} [2 1]}")).toEqual(parseEdn("#{[2 1] #{3} #{1 2}}"));
    expect(parseEdn("#{{:a 1 :b 2} {:b 1 :a 2}}")).toEqual(parseEdn("#{{:b 1 :a 2} {:a 1 :b 2}}"));
    expect(parseEdn("[#{3 1 2} (3 1 2)]")).toEqual([
      [1, 2, 3],
      [3, 1, 2],
    ]);
  });

  it("keeps a __proto__ key as an ordinary field", () => {
    const map = parseEdn('{"__proto__" 1}') as Record<string, unknown>;
    expect(Object.keys(map)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
  });

  it("reads every top-level form with parseEdnAll", () => {
    expect(parseEdnAll("{:a 1}\n{:a 2}\n")).toEqual([{ a: 1 }, { a: 2 }]);
    expect(parseEdnAll("  ; nothing\n")).toEqual([]);
  });
});

describe("parseEdn: errors name the line and column", () => {
  const errorOf = (text: string): EdnParseError => {
    try {
      parseEdn(text);
    } catch (error) {
      if (error instanceof EdnParseError) return error;
      throw error;
    }
    throw new Error(`expected ${JSON.stringify(text)} not to parse`);
  };

  it.each([
    ["[1 2", 1, 'expected "]" to close the collection opened at 1:1'],
    ["[1\n 2}", 2, 'unexpected "}"'],
    ["{:a}", 1, "even number of forms"],
    ['"abc', 1, "close the string"],
    ['"\\q"', 1, "string escape"],
    ["{:a 1 :a 2}", 1, 'duplicate key "a"'],
    ["\n\n  12abc", 3, 'expected a number, got "12abc"'],
    ["1 2", 1, "end of the text"],
    ["", 1, "got the end of the text"],
    ["#foo", 1, "value after the tag"],
    ["##Bad", 1, "##Inf"],
    ["\\bogus", 1, "character"],
    ["1/0", 1, "expected a number"],
    ["#{1 2 1}", 1, "expected each element once in the set opened at 1:1; got 1 twice"],
    ['[\n #{:a "a"}]', 2, 'expected each element once in the set opened at 2:2; got "a" twice'],
    ["#{1 1N}", 1, "got 1 twice"],
    ["#{[1 2] [1 2]}", 1, "got [1,2] twice"],
    ["#{#{1 2} #{2 1}}", 1, "got [1,2] twice"],
    ["#{#{1 2} [1 2]}", 1, "a set the array of its elements"],
  ])("%j fails on line %i with %s", (text, line, message) => {
    const error = errorOf(text);
    expect(error.line).toBe(line);
    expect(error.message).toContain(message);
    expect(error.message.startsWith(`${error.line}:${error.column}: `)).toBe(true);
  });

  it("reports the column", () => {
    expect(errorOf("[1\n  3 }").column).toBe(5);
  });

  it("bounds nesting instead of overflowing the stack", () => {
    const deep = "[".repeat(maxEdnDepth + 5) + "]".repeat(maxEdnDepth + 5);
    expect(errorOf(deep).message).toContain("nested deeper");
    const fine = "[".repeat(100) + "]".repeat(100);
    expect(() => parseEdn(fine)).not.toThrow();
  });
});

/**
 * The order a set's elements are read in, written out again as the reference: numbers alone by
 * value, strings alone by code unit, anything else by its text.
 */
function canonicalSetOrder(values: EdnValue[]): EdnValue[] {
  const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  if (values.every((v) => typeof v === "number")) return [...values].sort((a, b) => a - b);
  if (values.every((v) => typeof v === "string")) return [...values].sort(byText);
  return [...values].sort((a, b) => byText(valueText(a), valueText(b)));
}

/** An EDN value as written, with the value the parser must give back. */
interface Sample {
  readonly text: string;
  readonly value: EdnValue;
}

const separator = fc.constantFrom(" ", ",", "\n", " , ", "\t", " ; a comment\n", " #_ :gone ", " #_[1 2] ");
const name = fc
  .stringMatching(/^[a-z][a-z0-9*!?_-]{0,6}$/)
  .filter((s) => !["nil", "true", "false"].includes(s));
const qualifiedName = fc
  .tuple(fc.option(name, { nil: undefined }), name)
  .map(([ns, n]) => (ns ? `${ns}/${n}` : n));

const scalar: fc.Arbitrary<Sample> = fc.oneof(
  fc.constant({ text: "nil", value: null }),
  fc.boolean().map((b) => ({ text: String(b), value: b })),
  fc.integer().map((n) => ({ text: String(n), value: n })),
  fc.integer().map((n) => ({ text: `${n}N`, value: n })),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((n) => {
    const asNumber = Number(n);
    return { text: n.toString(), value: Number.isSafeInteger(asNumber) ? asNumber : n.toString() };
  }),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .filter((x) => !Object.is(x, -0))
    .map((x) => ({
      text: String(x).includes(".") || String(x).includes("e") ? String(x) : `${x}.0`,
      value: x,
    })),
  fc.tuple(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 1, max: 1000 })).map(([n, d]) => ({
    text: `${n}/${d}`,
    value: n / d,
  })),
  fc.constantFrom({ text: "##Inf", value: Infinity }, { text: "##-Inf", value: -Infinity }),
  fc.string({ unit: "binary", maxLength: 12 }).map((s) => ({ text: JSON.stringify(s), value: s })),
  qualifiedName.map((n) => ({ text: `:${n}`, value: n })),
  qualifiedName.map((n) => ({ text: n, value: n })),
  fc.constantFrom(
    { text: "\\a", value: "a" },
    { text: "\\Z", value: "Z" },
    { text: "\\newline", value: "\n" },
    { text: "\\tab", value: "\t" },
    { text: "\\u00e9", value: "\u00e9" },
  ),
);

const join = (parts: readonly string[], seps: readonly string[]): string =>
  parts.map((p, i) => (i === 0 ? p : (seps[i % seps.length] ?? " ") + p)).join("");

const { sample } = fc.letrec<{ sample: Sample }>((tie) => ({
  sample: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc
      .tuple(
        fc.constantFrom(["[", "]"], ["(", ")"]),
        fc.array(tie("sample"), { maxLength: 5 }),
        fc.array(separator, { minLength: 1, maxLength: 3 }),
      )
      .map(([[open, close], items, seps]) => ({
        text: `${open}${join(
          items.map((i) => i.text),
          seps,
        )}${close}`,
        value: items.map((i) => i.value),
      })),
    fc
      .tuple(
        fc.uniqueArray(tie("sample"), { maxLength: 5, selector: (item) => valueText(item.value) }),
        fc.array(separator, { minLength: 1, maxLength: 3 }),
      )
      .map(([items, seps]) => ({
        text: `#{${join(
          items.map((i) => i.text),
          seps,
        )}}`,
        value: canonicalSetOrder(items.map((i) => i.value)),
      })),
    fc
      .tuple(
        fc.uniqueArray(fc.tuple(name, tie("sample")), { maxLength: 4, selector: ([k]) => k }),
        fc.boolean(),
        fc.array(separator, { minLength: 1, maxLength: 3 }),
      )
      .map(([entries, keywordKeys, seps]) => {
        const value: Record<string, EdnValue> = {};
        for (const [k, v] of entries) value[k] = v.value;
        const parts = entries.flatMap(([k, v]) => [keywordKeys ? `:${k}` : JSON.stringify(k), v.text]);
        return { text: `{${join(parts, seps)}}`, value };
      }),
    fc
      .tuple(fc.constantFrom("#inst", "#uuid", "#jepsen.history.Op", "#my/tag"), tie("sample"))
      .map(([tag, inner]) => ({ text: `${tag} ${inner.text}`, value: inner.value })),
  ),
}));

describe("parseEdn: properties", () => {
  it("parses what an EDN printer wrote back to the same value", () => {
    fc.assert(
      fc.property(sample, separator, (s, sep) => {
        expect(parseEdn(`${sep}${s.text}${sep}`)).toEqual(s.value);
      }),
      { numRuns: 400 },
    );
  });

  it("reads a sequence of forms, one per line, in order", () => {
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 6 }), (samples) => {
        expect(parseEdnAll(samples.map((s) => s.text).join("\n"))).toEqual(samples.map((s) => s.value));
      }),
      { numRuns: 100 },
    );
  });

  it("either parses or raises an EdnParseError on arbitrary text, never anything else", () => {
    const ednish = fc
      .array(
        fc.constantFrom(
          "[",
          "]",
          "(",
          ")",
          "{",
          "}",
          "#",
          "_",
          '"',
          "\\",
          ":",
          ";",
          "\n",
          " ",
          "1",
          "a",
          "/",
          "N",
          ".",
        ),
        {
          maxLength: 30,
        },
      )
      .map((cs) => cs.join(""));
    fc.assert(
      fc.property(fc.oneof(ednish, fc.string()), (text) => {
        try {
          parseEdnAll(text);
        } catch (error) {
          expect(error).toBeInstanceOf(EdnParseError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
