/**
 * What the simulated network hands a receiver: a value with exactly JSON's meaning, so
 * `copyJson(x)` is indistinguishable from `JSON.parse(JSON.stringify(x))` except that deeply
 * frozen parts are shared instead of copied. The network must never let two nodes share mutable
 * state, and must give them what the real runtime's JSON frames would.
 *
 * - Plain objects, arrays and primitives are copied directly: several times faster than a string
 *   round trip. Anything unusual (class instances, toJSON, Maps, very deep values) takes the round
 *   trip itself, so the meaning stays JSON's.
 * - A value that is already deeply frozen and already what JSON would make of it (objects of
 *   Object.prototype with only enumerable own data properties, dense arrays, finite numbers other than -0, strings,
 *   booleans, null; nothing undefined) is shared as is: nobody can change it, and it equals its
 *   round trip, so sharing it is the same as copying it. A sender that ships one immutable value
 *   to many nodes (the engine's log records) freezes it once and pays nothing per send. Whether a
 *   frozen value qualifies is decided once per object and remembered (a WeakSet).
 */

/** Depth past which the copy falls back to JSON (which also reports cycles as TypeError). */
const MAX_DIRECT_DEPTH = 64;

class NeedsJson extends Error {}

/** Frozen objects known to be deeply frozen and JSON-canonical (see the header). */
const shareable = new WeakSet<object>();

/** Whether a property value may be shared as is (a canonical primitive or a shareable object). */
function canonicalItem(item: unknown, depth: number): boolean {
  switch (typeof item) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(item) && !Object.is(item, -0);
    case "object":
      return item === null || isShareable(item, depth + 1);
    default:
      return false;
  }
}

/**
 * True when `value` is deeply frozen and equals its own JSON round trip (see the header): then it
 * can be handed to a receiver as is. Remembered for the object once true.
 */
export function isShareable(value: object, depth = 0): boolean {
  if (shareable.has(value)) return true;
  if (depth > MAX_DIRECT_DEPTH || !Object.isFrozen(value)) return false;
  const ownKeys = Reflect.ownKeys(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    // Own keys of a dense array with nothing else on it: its indices and "length".
    if (ownKeys.length !== value.length + 1) return false;
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || !canonicalItem(value[i], depth)) return false;
    }
  } else {
    // A null prototype is not JSON's: its round trip has Object.prototype.
    if (Object.getPrototypeOf(value) !== Object.prototype || "toJSON" in value) return false;
    for (const key of ownKeys) {
      if (typeof key !== "string") return false;
      const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
      if (!descriptor.enumerable || !("value" in descriptor)) return false;
      if (!canonicalItem(descriptor.value, depth)) return false;
    }
  }
  shareable.add(value);
  return true;
}

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
      // Only a frozen value can be shared: asking the WeakSet about the (many) unfrozen ones
      // would give them an identity hash for nothing.
      if (Object.isFrozen(value) && isShareable(value, depth)) return value;
      if (Array.isArray(value)) {
        // A copy of the array (a spread: dense and exactly its size, whatever the array's class),
        // each item then replaced by its copy. Not `new Array(n)`, which V8 keeps "holey" even
        // once filled: JSON.stringify takes its slow, element-by-element path for a holey array,
        // which the history writer paid on every completion value that came over the network.
        // Nor push, which gives a short array room for 16 more items.
        const out: unknown[] = [...(value as unknown[])];
        for (let i = 0; i < out.length; i++) {
          const item: unknown = out[i];
          switch (typeof item) {
            // The common items inline, without a call.
            case "string":
            case "boolean":
              break;
            case "number":
              if (!Number.isFinite(item)) out[i] = null;
              else if (item === 0) out[i] = 0; // -0 as 0, as JSON writes it
              break;
            case "undefined":
            case "function":
            case "symbol":
              out[i] = null;
              break;
            default:
              out[i] = copy(item, depth + 1);
          }
        }
        return out;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new NeedsJson();
      // A for-in loop, not Object.keys (no array of keys made per object): it visits the own
      // enumerable string keys in Object.keys' order, then inherited enumerable ones, of which
      // there are none while Object.prototype has none (`copyJson` checks that before it starts).
      // A `toJSON` it would inherit from Object.prototype is checked there too; an own one meets
      // the loop as a function.
      const out: Record<string, unknown> = {};
      for (const key in value) {
        const item: unknown = (value as Record<string, unknown>)[key];
        switch (typeof item) {
          case "string":
          case "boolean":
            out[key] = item;
            break;
          case "number":
            // JSON writes NaN and ±Infinity as null, and -0 as 0.
            out[key] = Number.isFinite(item) ? item + 0 : null;
            break;
          case "object":
            out[key] = item === null ? null : copy(item, depth + 1);
            break;
          case "undefined":
          case "symbol":
            break;
          case "function":
            if (key === "toJSON") throw new NeedsJson();
            break;
          default:
            // A bigint: JSON throws.
            throw new NeedsJson();
        }
        // JSON.parse makes "__proto__" an own property; the assignment above set the prototype.
        if (key === "__proto__") throw new NeedsJson();
      }
      return out;
    }
    default:
      // undefined, functions, symbols and bigints at the top or in odd places: let JSON decide.
      throw new NeedsJson();
  }
}

/**
 * Whether Object.prototype has an enumerable property (which a for-in loop would visit) or a
 * `toJSON` (which JSON would call on every plain object): then every copy takes the JSON round
 * trip. Never so unless some code changed the prototype.
 */
function prototypesChanged(): boolean {
  if ("toJSON" in Object.prototype) return true;
  for (const _ in Object.prototype) return true;
  return false;
}

/**
 * Returns `JSON.parse(JSON.stringify(value))`, computed faster for plain data, with deeply frozen
 * canonical parts shared (see the header). Throws what `JSON.stringify` throws (cycles, bigints),
 * and a TypeError for a value JSON cannot represent at all (undefined, a function, a symbol).
 */
export function copyJson(value: unknown): unknown {
  try {
    if (prototypesChanged()) throw new NeedsJson();
    return copy(value, 0);
  } catch (error) {
    if (!(error instanceof NeedsJson)) throw error;
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError("not a JSON value");
    return JSON.parse(json);
  }
}
