import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { copyJson, isShareable } from "./copy.ts";

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
    // An own "__proto__" (as JSON.parse makes it), and a bigint deep inside.
    const protoKey = JSON.parse('{"a":1,"__proto__":{"b":2}}') as unknown;
    expect(copyJson(protoKey)).toStrictEqual(viaJson(protoKey));
    expect(Object.keys(copyJson(protoKey) as object)).toEqual(["a", "__proto__"]);
    expect(() => copyJson({ a: [{ b: 1n }] })).toThrow(TypeError);
  });

  it("follows JSON while Object.prototype has an enumerable property or a toJSON", () => {
    const value = { a: 1, b: { c: [1, { d: 2 }] } };
    for (const key of ["extra", "toJSON"]) {
      const proto = Object.prototype as Record<string, unknown>;
      proto[key] = key === "toJSON" ? () => "replaced" : 7;
      try {
        expect(copyJson(value)).toStrictEqual(viaJson(value));
        expect(JSON.stringify(copyJson(value))).toBe(JSON.stringify(viaJson(value)));
      } finally {
        delete proto[key];
      }
    }
    expect(copyJson(value)).toStrictEqual(viaJson(value));
  });

  it("property: a deeply frozen value is shared where JSON would give the same, copied elsewhere; nothing mutable is shared", () => {
    const values = fc.oneof(
      fc.jsonValue(),
      fc.object({ withNullPrototype: true, withBoxedValues: false, withDate: true }),
      fc.array(fc.oneof(fc.double(), fc.constant(undefined), fc.constant(-0), fc.jsonValue())),
    );
    fc.assert(
      fc.property(values, fc.boolean(), (raw, freezeAll) => {
        let expected: unknown;
        try {
          expected = viaJson(raw);
        } catch {
          return;
        }
        // Freeze every object, or only some (those at even depths), to mix shared and copied parts.
        const inputObjects = new Set<object>();
        const freeze = (v: unknown, depth: number): void => {
          if (typeof v !== "object" || v === null) return;
          inputObjects.add(v);
          for (const child of Object.values(v)) freeze(child, depth + 1);
          if (freezeAll || depth % 2 === 0) Object.freeze(v);
        };
        freeze(raw, 0);
        const copied = copyJson(raw);
        expect(copied).toStrictEqual(expected);
        expect(JSON.stringify(copied)).toBe(JSON.stringify(expected));
        // Every object of the result that belongs to the input is deeply frozen.
        const deeplyFrozen = (v: unknown): boolean =>
          typeof v !== "object" || v === null || (Object.isFrozen(v) && Object.values(v).every(deeplyFrozen));
        const check = (v: unknown): void => {
          if (typeof v !== "object" || v === null) return;
          if (inputObjects.has(v)) expect(deeplyFrozen(v)).toBe(true);
          else for (const child of Object.values(v)) check(child);
        };
        check(copied);
        // A deeply frozen canonical input is shared whole.
        if (typeof raw === "object" && raw !== null && freezeAll && isShareable(raw))
          expect(copied).toBe(raw);
      }),
      { numRuns: 300 },
    );
  });

  it("shares a frozen canonical value, copies a frozen one JSON would change", () => {
    const record = Object.freeze({ kind: "update", key: "k", value: 3, lsn: 10 });
    const message = { records: [record, record] };
    const copied = copyJson(message) as { records: unknown[] };
    expect(copied).not.toBe(message);
    expect(copied.records).not.toBe(message.records);
    expect(copied.records[0]).toBe(record);
    for (const odd of [
      Object.freeze({ a: undefined }),
      Object.freeze({ a: -0 }),
      Object.freeze({ a: NaN }),
      Object.freeze([1, undefined]),
      // eslint-disable-next-line no-sparse-arrays
      Object.freeze([1, , 2]),
      Object.freeze({ a: Object.freeze(new Date(0)) }),
      Object.freeze({ a: { b: 1 } }), // the inner object is not frozen
      Object.freeze(Object.defineProperty({}, "hidden", { value: 1, enumerable: false })),
      Object.freeze(Object.defineProperty({}, "got", { get: () => 1, enumerable: true })),
      Object.freeze({ toJSON: () => 1 }),
    ]) {
      expect(isShareable(odd)).toBe(false);
      expect(copyJson(odd)).not.toBe(odd);
      expect(copyJson(odd)).toStrictEqual(viaJson(odd));
    }
  });
});
