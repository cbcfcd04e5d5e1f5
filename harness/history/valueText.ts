/**
 * A history value's identity as text, for checkers that compare values that are not numbers or
 * strings. JSON objects (and EDN maps) are unordered, so {"a":1,"b":2} and {"b":2,"a":1} are one
 * value: a database may hand a document back with its keys in another order than they were written
 * (PostgreSQL's jsonb does), and comparing JSON texts as written would call that a read of a value
 * nobody wrote. So an object's keys are written sorted, at every depth. A number beyond a double's
 * range (1e400, read as Infinity) or NaN is written bare (`Infinity`, `NaN`, text no JSON value
 * has), not as JSON.stringify's `null`, so it never passes for null. Any other value is its JSON
 * text, as `JSON.stringify` writes it (`undefined` as `null`).
 */

/** The text of a value that holds an object or a null (see the module header). */
function canonicalText(value: unknown): string {
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : String(value);
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalText).join(",")}]`;
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalText(record[k])}`)
    .join(",")}}`;
}

export function valueText(value: unknown): string {
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value) ?? "null";
  // Only text that holds an object can differ, or a "null" that may stand for a non-finite number:
  // everything else keeps JSON.stringify's one pass.
  return typeof value === "object" && value !== null && (text.includes("{") || text.includes("null"))
    ? canonicalText(value)
    : text;
}

/** One value: the same number or string, or the same object or list, its keys in any order. */
export function sameValue(a: unknown, b: unknown): boolean {
  return (
    a === b ||
    (a !== null &&
      b !== null &&
      typeof a === "object" &&
      typeof b === "object" &&
      valueText(a) === valueText(b))
  );
}

/**
 * One reference for every object or list equal to it (by `valueText`), for checkers that compare
 * values by identity (===, Map, Set): every value read from a file is a new object, and a list read
 * back is a new list each time. `firstMet` makes the reference kept the first time a value is met.
 */
export class ValueInterner {
  private readonly byText = new Map<string, unknown>();

  of(v: unknown, firstMet: (v: object) => unknown = (x) => x): unknown {
    if (v === null || typeof v !== "object") return v;
    const text = valueText(v);
    if (this.byText.has(text)) return this.byText.get(text);
    const kept = firstMet(v);
    this.byText.set(text, kept);
    return kept;
  }
}

/**
 * A value's JSON text as written (keys in their order), for a person to read: as JSON.stringify
 * writes it (`undefined` as `null`), but a number beyond a double's range (1e400 in a history,
 * read as Infinity) or NaN written bare (`Infinity`, `NaN`), where JSON.stringify writes `null` and
 * an explanation would name a value nobody wrote ("element null was read but never added").
 */
export function displayText(value: unknown): string {
  const text = JSON.stringify(value) ?? "null";
  return text.includes("null") ? displayTextWithNonFinite(value) : text;
}

/** `displayText` the long way, for text that may hold a non-finite number written as `null`. */
function displayTextWithNonFinite(value: unknown): string {
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : String(value);
  if (Array.isArray(value)) return `[${value.map(displayTextWithNonFinite).join(",")}]`;
  if (typeof value === "object" && value !== null && !("toJSON" in value))
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined && typeof v !== "function")
      .map(([k, v]) => `${JSON.stringify(k)}:${displayTextWithNonFinite(v)}`)
      .join(",")}}`;
  return JSON.stringify(value) ?? "null";
}
