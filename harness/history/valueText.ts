/**
 * A history value's identity as text, for checkers that compare values that are not numbers or
 * strings. JSON objects (and EDN maps) are unordered, so {"a":1,"b":2} and {"b":2,"a":1} are one
 * value: a database may hand a document back with its keys in another order than they were written
 * (PostgreSQL's jsonb does), and comparing JSON texts as written would call that a read of a value
 * nobody wrote. So an object's keys are written sorted, at every depth; any other value is its
 * JSON text, as `JSON.stringify` writes it (`undefined` as `null`).
 */

/** `JSON.stringify`'s replacer that writes every object's keys in sorted order. */
const sortedKeys = (_key: string, value: unknown): unknown =>
  value === null || typeof value !== "object" || Array.isArray(value)
    ? value
    : Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, (value as Record<string, unknown>)[k]]),
      );

export function valueText(value: unknown): string {
  const text = JSON.stringify(value) ?? "null";
  // Only text that holds an object can differ: everything else keeps JSON.stringify's one pass.
  return typeof value === "object" && value !== null && text.includes("{")
    ? JSON.stringify(value, sortedKeys)
    : text;
}
