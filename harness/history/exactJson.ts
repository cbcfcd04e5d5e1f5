/**
 * JSON read without losing integers. `JSON.parse` turns every number into a double, which holds
 * integers exactly only up to ±(2^53 − 1): 9007199254740993 comes back as 9007199254740992. A
 * database's 64-bit ids and counters pass that bound, and a history read that way is silently
 * wrong: two appended elements collapse into a "duplicate", a read of a value nobody wrote matches
 * the write it differs from. So every reader of histories turns an integer beyond the bound into
 * its decimal string ("9007199254740993"), which checkers compare exactly, as text; integers
 * within the bound stay numbers, and floats stay as JSON reads them (a float is approximate by
 * nature, in the database as here).
 *
 * The cost is paid only by text that holds a run of 16 or more digits, the shortest an integer
 * beyond the bound can be written with; any other text is `JSON.parse`d once, as before.
 */

/** Sixteen digits in a row: the shortest integer beyond ±(2^53 − 1) has them (2^53 has 16). */
const longDigitRun = /\d{16}/;

const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER); // "9007199254740991": 16 digits

/**
 * True for an integer as the readers keep one that a double cannot hold: the decimal string of an
 * integer beyond ±(2^53 − 1) ("9007199254740993"). Checkers that sum numbers cannot use it.
 */
export function isUnsafeIntegerText(value: unknown): boolean {
  if (typeof value !== "string" || !/^-?[1-9]\d{15,}$/.test(value)) return false;
  return beyondSafe(value.startsWith("-") ? value.slice(1) : value);
}

/** `JSON.stringify`'s replacer for a `bigint`: its decimal string, which the readers read back. */
export const bigintAsDigits = (_key: string, value: unknown): unknown =>
  typeof value === "bigint" ? value.toString() : value;

/** True when the digits (no sign, no leading zero) name an integer beyond Number.MAX_SAFE_INTEGER. */
function beyondSafe(digits: string): boolean {
  return (
    digits.length > MAX_SAFE_DIGITS.length ||
    (digits.length === MAX_SAFE_DIGITS.length && digits > MAX_SAFE_DIGITS)
  );
}

/**
 * Deepest nesting of arrays and objects a history's value may have. `JSON.parse` reads any depth,
 * but the checkers walk values recursively (`JSON.stringify` among them), and a value nested tens
 * of thousands deep overflowed their stack: an internal error instead of a line naming the input.
 */
export const maxNestingDepth = 1000;

/** Where the JSON string opened at `text[open]` closes (escapes skipped), or `text.length`. */
function closingQuote(text: string, open: number): number {
  const n = text.length;
  let i = open + 1;
  while (i < n) {
    const d = text.charCodeAt(i);
    if (d === BACKSLASH) i += 2;
    else if (d === QUOTE) return i;
    else i++;
  }
  return n;
}

/** True when `text` (JSON) nests arrays and objects deeper than `maxNestingDepth`. */
function nestedTooDeep(text: string): boolean {
  // Deeper nesting needs more opening brackets than that: the common short line is not walked.
  if (text.length <= maxNestingDepth) return false;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = closingQuote(text, i);
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxNestingDepth) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * `JSON.parse(text)`, except that an integer literal beyond ±(2^53 − 1) becomes its decimal string
 * (`-9007199254740993` → `"-9007199254740993"`), and that arrays and objects nested deeper than
 * `maxNestingDepth` are a SyntaxError. A syntax error is otherwise `JSON.parse`'s own, with its
 * position in `text`.
 */
export function parseJsonExact(text: string): unknown {
  if (nestedTooDeep(text)) throw new SyntaxError(`arrays and objects nested deeper than ${maxNestingDepth}`);
  const value: unknown = JSON.parse(text);
  if (!longDigitRun.test(text)) return value;
  const quoted = quoteUnsafeIntegers(text);
  return quoted === undefined ? value : (JSON.parse(quoted) as unknown);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;

/**
 * Valid JSON `text` with each integer literal beyond the safe bound put in quotes; undefined when
 * it holds none. Walks the text once, skipping strings (with their escapes) and the fractions and
 * exponents of floats.
 */
function quoteUnsafeIntegers(text: string): string | undefined {
  let out: string | undefined;
  let copiedUpTo = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i) + 1;
      continue;
    }
    if (c !== MINUS && !isDigit(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === MINUS) i++;
    const digitsStart = i;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
    const digitsEnd = i;
    // A float's fraction and exponent (digits, signs, "e") are skipped with it.
    let isInteger = true;
    while (i < n) {
      const d = text.charCodeAt(i);
      if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === MINUS || isDigit(d)) {
        isInteger = false;
        i++;
      } else break;
    }
    if (isInteger && beyondSafe(text.slice(digitsStart, digitsEnd))) {
      out = (out ?? "") + text.slice(copiedUpTo, start) + '"' + text.slice(start, digitsEnd) + '"';
      copiedUpTo = digitsEnd;
    }
  }
  return out === undefined ? undefined : out + text.slice(copiedUpTo);
}

/**
 * What `value` becomes once written into a history and read back: its JSON data, read exactly (a
 * `bigint` or a `Date` is written as its string; NaN as null; functions and undefined fields are
 * dropped). A plugin's client or workload may hand the harness any JavaScript value, and a run
 * checks the history it recorded in memory while `faultline check` reads the file: both must see
 * the same data. Throws a TypeError for what JSON cannot hold (a cycle); undefined stays undefined.
 */
export function toJsonData(value: unknown): unknown {
  if (value === undefined) return undefined;
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  const text = JSON.stringify(value, bigintAsDigits);
  return text === undefined ? undefined : parseJsonExact(text);
}
