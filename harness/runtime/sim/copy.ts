/**
 * A fast deep copy with exactly JSON's meaning: `copyJson(x)` equals
 * `JSON.parse(JSON.stringify(x))`. The simulated network copies every message so sender and
 * receiver never share an object, and must give them what the real runtime's JSON frames would;
 * copying plain objects, arrays and primitives directly is several times faster than a string
 * round trip, and anything unusual (class instances, toJSON, Maps, very deep values) takes the
 * round trip itself, so the meaning stays JSON's.
 */

/** Depth past which the copy falls back to JSON (which also reports cycles as TypeError). */
const MAX_DIRECT_DEPTH = 64;

class NeedsJson extends Error {}

function copy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      // JSON writes NaN and ±Infinity as null, and -0 as 0.
      return Number.isFinite(value) ? value + 0 : null;
    case "object": {
      if (value === null) return null;
      if (depth > MAX_DIRECT_DEPTH) throw new NeedsJson();
      if (Array.isArray(value)) {
        const out = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          const type = typeof item;
          out[i] =
            item === undefined || type === "function" || type === "symbol" ? null : copy(item, depth + 1);
        }
        return out;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if ((proto !== Object.prototype && proto !== null) || "toJSON" in value) throw new NeedsJson();
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        const item: unknown = (value as Record<string, unknown>)[key];
        const type = typeof item;
        if (item === undefined || type === "function" || type === "symbol") continue;
        // JSON.parse makes "__proto__" an own property; a plain assignment would set the prototype.
        if (key === "__proto__") {
          Object.defineProperty(out, key, {
            value: copy(item, depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else out[key] = copy(item, depth + 1);
      }
      return out;
    }
    default:
      // undefined, functions, symbols and bigints at the top or in odd places: let JSON decide.
      throw new NeedsJson();
  }
}

/**
 * Returns `JSON.parse(JSON.stringify(value))`, computed faster for plain data. Throws what
 * `JSON.stringify` throws (cycles, bigints), and a TypeError for a value JSON cannot represent at
 * all (undefined, a function, a symbol).
 */
export function copyJson(value: unknown): unknown {
  try {
    return copy(value, 0);
  } catch (error) {
    if (!(error instanceof NeedsJson)) throw error;
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError("not a JSON value");
    return JSON.parse(json);
  }
}
