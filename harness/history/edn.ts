/**
 * EDN, as Jepsen writes it: enough of the format to read any `history.edn`, mapped straight to
 * plain JSON-like values, because a history is data and every checker reads JSON-like values.
 *
 * The mapping (lossy where EDN is richer than JSON, on purpose):
 * - `nil` → `null`, `true`/`false` → booleans, strings → strings (escapes decoded);
 * - keywords → strings without the colon (`:ok` → `"ok"`, `:jepsen.foo/bar` → `"jepsen.foo/bar"`);
 *   symbols → their name as a string; characters (`\a`, `\newline`, `\u00e9`) → one-char strings;
 * - integers → numbers, or their decimal string when beyond Number.MAX_SAFE_INTEGER, where a
 *   double would lose them (`9007199254740993` → `"9007199254740993"`; the `N` suffix is
 *   accepted); floats (and the `M` suffix) → numbers, `##Inf`/`##-Inf`/`##NaN` too; ratios `a/b`
 *   → the number a/b;
 * - vectors and lists → arrays; sets → arrays in one canonical order (numbers ascending, strings
 *   by code unit, anything else by its `valueText`), so that two sets of the same elements are the
 *   same array whatever order they were written in, and every checker that compares values (a
 *   register written `#{1 2}` and read `#{2 1}`, a set of sets) compares them as sets. A set that
 *   holds an element twice is an error, as Clojure's reader says (Jepsen never writes one); so is
 *   one whose elements become one value here (`#{:a "a"}`, `#{1 1N}`, `#{#{1 2} [1 2]}`), rather
 *   than a guess;
 * - maps → plain objects; a key that is not a string becomes one (`1` → `"1"`, a vector → its
 *   JSON text); a duplicate key is an error;
 * - tagged literals (`#jepsen.history.Op{…}`, `#inst "…"`, `#uuid "…"`) → the tagged value;
 *   `#_ form` discards the form; `;` comments and commas are whitespace.
 *
 * So values compare as JSON's do, not as Clojure's `=` (Knossos's and Elle's): `1`, `1N` and `1.0`
 * are one number, and `:a` and `"a"` one string, where Clojure tells a long from a double and a
 * keyword from a string. A read of `1.0` after a write of `1` is linearizable here and not in
 * Knossos. Kept so, on purpose: telling them apart would take a value kind of its own through every
 * checker (bank and counter add numbers; Elle's, the set checker's and the models' elements are
 * JSON values; results and explanations print them), and the same of the Jepsen JSON reader
 * (JSON.parse reads `1.0` as `1`, Cheshire as a double), for histories Jepsen's own workloads do
 * not write (their registers, counters, banks and sets hold integers; no history in
 * ../shared/corpus holds a float).
 *
 * Errors are `EdnParseError`s carrying the 1-based line and column. Nesting is bounded
 * (`maxEdnDepth`) so a hostile file cannot overflow the stack.
 */

import { maxNestingDepth } from "./exactJson.ts";
import { describeFound } from "./validate.ts";
import { valueText } from "./valueText.ts";

export type EdnValue =
  null | boolean | number | string | readonly EdnValue[] | { readonly [key: string]: EdnValue };

/** Deepest nesting of collections the parser accepts: the JSON readers' bound (see there). */
export const maxEdnDepth = maxNestingDepth;

export class EdnParseError extends Error {
  override name = "EdnParseError";
  constructor(
    /** What went wrong, without the position. */
    readonly detail: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${line}:${column}: ${detail}`);
  }
}

/** The arrays this module made of EDN sets (see `isEdnSet`). */
const setArrays = new WeakSet<object>();

/**
 * Whether `value` is the array an EDN set was read as: a reader that needs an order (a list-append
 * read) can refuse one, since a set has none (its canonical order is no order the database gave).
 */
export function isEdnSet(value: unknown): boolean {
  return typeof value === "object" && value !== null && setArrays.has(value);
}

/** Parses a text holding exactly one EDN form (plus whitespace and comments). */
export function parseEdn(text: string): EdnValue {
  const reader = new EdnReader(text);
  const form = reader.readForm();
  if (form === undefined) throw reader.error("expected an EDN value, got the end of the text");
  if (!reader.atEnd()) throw reader.error("expected the end of the text after one EDN value");
  return form.value;
}

/** Parses every top-level form of a text (one Jepsen op map per line, say). */
export function parseEdnAll(text: string): EdnValue[] {
  const reader = new EdnReader(text);
  const values: EdnValue[] = [];
  for (let form = reader.readForm(); form !== undefined; form = reader.readForm()) values.push(form.value);
  return values;
}

/** A form read by `EdnReader`, with the position where it starts. */
export interface EdnForm {
  readonly value: EdnValue;
  readonly line: number;
  readonly column: number;
}

/** Character classes by char code, for the hot loops: 1 = whitespace (commas too), 2 = other delimiter. */
const charClass = new Uint8Array(128);
for (const c of " ,\n\t\r\f\v") charClass[c.charCodeAt(0)] = 1;
for (const c of '()[]{}";\\') charClass[c.charCodeAt(0)] = 2;
const isWhitespaceCode = (code: number): boolean => code < 128 && charClass[code] === 1;
const isDelimiterCode = (code: number): boolean => code < 128 && charClass[code] !== 0;
const isWhitespace = (c: string): boolean => isWhitespaceCode(c.charCodeAt(0));
const newlineCode = 10;
const colonCode = 58;
const plusCode = 43;
const minusCode = 45;
const isDigitCode = (code: number): boolean => code >= 48 && code <= 57;

const namedCharacters: Record<string, string> = {
  newline: "\n",
  space: " ",
  tab: "\t",
  return: "\r",
  formfeed: "\f",
  backspace: "\b",
};

const stringEscapes: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  n: "\n",
  t: "\t",
  r: "\r",
  b: "\b",
  f: "\f",
  "/": "/",
};

const integerPattern = /^[+-]?(0|[1-9][0-9]*)N?$/;
const floatPattern = /^[+-]?(0|[1-9][0-9]*)(\.[0-9]*)?([eE][+-]?[0-9]+)?M?$/;
const ratioPattern = /^([+-]?[0-9]+)\/([0-9]+)$/;

/**
 * A cursor over EDN text that reads one top-level form at a time, so that a caller can report
 * where each form began (the history readers turn that into `file:line`).
 */
export class EdnReader {
  private pos = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly text: string) {}

  /** The current 1-based line and column. */
  position(): { line: number; column: number } {
    return { line: this.line, column: this.pos - this.lineStart + 1 };
  }

  error(detail: string, line = this.line, column = this.pos - this.lineStart + 1): EdnParseError {
    return new EdnParseError(detail, line, column);
  }

  /** Skips whitespace, commas, comments and discarded forms; true when nothing is left. */
  atEnd(): boolean {
    this.skipIgnorable(0);
    return this.pos >= this.text.length;
  }

  /** The next significant character (after skipping), without consuming it, or undefined at the end. */
  peek(): string | undefined {
    this.skipIgnorable(0);
    return this.text[this.pos];
  }

  /** Consumes one character that `peek` returned. */
  advance(): void {
    this.next();
  }

  /** Reads the next form, or undefined at the end of the text. */
  readForm(): EdnForm | undefined {
    this.skipIgnorable(0);
    if (this.pos >= this.text.length) return undefined;
    const { line, column } = this.position();
    const value = this.readValue(0);
    return { value, line, column };
  }

  private next(): string {
    const c = this.text[this.pos++]!;
    if (c === "\n") {
      this.line++;
      this.lineStart = this.pos;
    }
    return c;
  }

  private skipIgnorable(depth: number): void {
    const text = this.text;
    while (this.pos < text.length) {
      const code = text.charCodeAt(this.pos);
      if (isWhitespaceCode(code)) {
        this.pos++;
        if (code === newlineCode) {
          this.line++;
          this.lineStart = this.pos;
        }
        continue;
      }
      const c = text[this.pos]!;
      if (c === ";") {
        while (this.pos < this.text.length && this.text[this.pos] !== "\n") this.pos++;
      } else if (c === "#" && this.text[this.pos + 1] === "_") {
        this.pos += 2;
        this.skipIgnorable(depth);
        if (this.pos >= this.text.length) throw this.error("expected a form to discard after #_");
        this.readValue(depth);
      } else {
        return;
      }
    }
  }

  private readValue(depth: number): EdnValue {
    if (depth > maxEdnDepth) throw this.error(`collections nested deeper than ${maxEdnDepth}`);
    const c = this.text[this.pos]!;
    switch (c) {
      case "[":
      case "(":
        this.next();
        return this.readSequence(c === "[" ? "]" : ")", depth);
      case "{":
        this.next();
        return this.readMap(depth);
      case '"':
        return this.readString();
      case "\\":
        return this.readCharacter();
      case "#":
        return this.readDispatch(depth);
      case ")":
      case "]":
      case "}":
        throw this.error(`unexpected "${c}" with no collection open`);
      default:
        return this.readAtom();
    }
  }

  private readSequence(close: string, depth: number): EdnValue[] {
    const { line, column } = this.position();
    const items: EdnValue[] = [];
    while (true) {
      this.skipIgnorable(depth + 1);
      if (this.pos >= this.text.length) {
        throw this.error(`expected "${close}" to close the collection opened at ${line}:${column - 1}`);
      }
      if (this.text[this.pos] === close) {
        this.next();
        return items;
      }
      items.push(this.readValue(depth + 1));
    }
  }

  private readMap(depth: number): { [key: string]: EdnValue } {
    const { line, column } = this.position();
    const entries = this.readSequence("}", depth);
    if (entries.length % 2 !== 0) {
      throw this.error(`expected an even number of forms in the map opened at ${line}:${column - 1}`);
    }
    const map: { [key: string]: EdnValue } = {};
    for (let i = 0; i < entries.length; i += 2) {
      const key = mapKey(entries[i]!);
      if (Object.prototype.hasOwnProperty.call(map, key)) {
        throw this.error(`duplicate key ${JSON.stringify(key)} in the map opened at ${line}:${column - 1}`);
      }
      if (key === "__proto__") {
        // defineProperty, so that a key "__proto__" is an ordinary field, not the prototype.
        Object.defineProperty(map, key, {
          value: entries[i + 1]!,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        map[key] = entries[i + 1]!;
      }
    }
    return map;
  }

  private readString(): string {
    const { line, column } = this.position();
    this.next(); // the opening quote
    let out = "";
    while (true) {
      if (this.pos >= this.text.length)
        throw this.error(`expected '"' to close the string opened at ${line}:${column}`);
      const c = this.next();
      if (c === '"') return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      if (this.pos >= this.text.length)
        throw this.error(`expected '"' to close the string opened at ${line}:${column}`);
      const e = this.next();
      if (e === "u") {
        const hex = this.text.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex))
          throw this.error(`expected four hex digits after \\u, got "${hex}"`);
        this.pos += 4;
        out += String.fromCharCode(parseInt(hex, 16));
      } else if (stringEscapes[e] !== undefined) {
        out += stringEscapes[e];
      } else {
        throw this.error(`expected a string escape (\\" \\\\ \\n \\t \\r \\b \\f \\uXXXX), got "\\${e}"`);
      }
    }
  }

  private readToken(): string {
    const text = this.text;
    const start = this.pos;
    while (this.pos < text.length && !isDelimiterCode(text.charCodeAt(this.pos))) this.pos++;
    return text.slice(start, this.pos);
  }

  private readCharacter(): string {
    this.next(); // the backslash
    // A character literal is at least one character, even a delimiter: `\(`, `\ ` is not EDN.
    const first = this.text[this.pos];
    if (first === undefined || isWhitespace(first)) throw this.error("expected a character after \\");
    this.pos++;
    const token = first + this.readToken();
    if (token.length === 1) return token;
    const named = namedCharacters[token];
    if (named !== undefined) return named;
    if (/^u[0-9a-fA-F]{4}$/.test(token)) return String.fromCharCode(parseInt(token.slice(1), 16));
    throw this.error(`expected a character such as \\a, \\newline or \\u00e9, got "\\${token}"`);
  }

  private readDispatch(depth: number): EdnValue {
    this.next(); // '#'
    const c = this.text[this.pos];
    if (c === "{") {
      const { line, column } = this.position();
      this.next();
      const set = canonicalSet(this.readSequence("}", depth));
      if (set.duplicate !== undefined)
        throw this.error(
          `expected each element once in the set opened at ${line}:${column - 1}; got ${describeFound(set.duplicate)} twice` +
            " (as read here: keywords, symbols and characters are strings, 1, 1N and 1.0 one number, a set the array of its elements)",
        );
      setArrays.add(set.elements);
      return set.elements;
    }
    if (c === "#") {
      this.next();
      const token = this.readToken();
      if (token === "Inf") return Infinity;
      if (token === "-Inf") return -Infinity;
      if (token === "NaN") return NaN;
      throw this.error(`expected ##Inf, ##-Inf or ##NaN, got "##${token}"`);
    }
    if (c === undefined || !/[A-Za-z]/.test(c)) {
      throw this.error(`expected a tag, a set "#{" or a discard "#_" after "#", got "${c ?? "end of text"}"`);
    }
    this.readToken(); // the tag: its value is kept as it is
    this.skipIgnorable(depth);
    if (this.pos >= this.text.length) throw this.error("expected a value after the tag");
    return this.readValue(depth);
  }

  private readAtom(): EdnValue {
    const line = this.line;
    const column = this.pos - this.lineStart + 1;
    const token = this.readToken();
    if (token === "") throw this.error(`unexpected "${this.text[this.pos]}"`);
    if (token === "nil") return null;
    if (token === "true") return true;
    if (token === "false") return false;
    const c = token.charCodeAt(0);
    if (c === colonCode) {
      if (token.length === 1) throw this.error("expected a keyword name after ':'", line, column);
      return token.charCodeAt(1) === colonCode ? token.slice(2) : token.slice(1);
    }
    if (isDigitCode(c) || ((c === plusCode || c === minusCode) && isDigitCode(token.charCodeAt(1)))) {
      return parseNumber(token, () => this.error(`expected a number, got "${token}"`, line, column));
    }
    return token; // a symbol
  }
}

function parseNumber(token: string, fail: () => EdnParseError): number | string {
  if (integerPattern.test(token)) {
    // Up to 15 digits always fit a double exactly; longer ones go through BigInt, and one beyond
    // the safe bound is kept exact as its decimal string (as the JSON readers do: exactJson.ts).
    if (token.length <= 15 && !token.endsWith("N")) return Number(token) || 0; // never -0
    const digits = token.endsWith("N") ? token.slice(0, -1) : token;
    const big = BigInt(digits);
    const n = Number(big);
    return Number.isSafeInteger(n) ? n : big.toString();
  }
  if (floatPattern.test(token)) return Number(token.endsWith("M") ? token.slice(0, -1) : token);
  const ratio = ratioPattern.exec(token);
  if (ratio !== null) {
    const denominator = Number(ratio[2]);
    if (denominator === 0) throw fail();
    return Number(ratio[1]) / denominator;
  }
  throw fail();
}

/**
 * A set's elements in canonical order (see the module header), or the first element found twice.
 * The order only has to be the same for the same elements: numbers alone sort by value, strings
 * alone by code unit (the usual sets of a history, sorted without making a text of each), any
 * other mix by `valueText`, which is the identity every checker compares values by.
 */
function canonicalSet(items: EdnValue[]): { elements: EdnValue[]; duplicate?: EdnValue } {
  if (items.length < 2) return { elements: items };
  const numbers = items.every((v) => typeof v === "number" && !Number.isNaN(v));
  const strings = !numbers && items.every((v) => typeof v === "string");
  if (numbers || strings) {
    const sorted = numbers
      ? (items as number[]).sort((a, b) => a - b)
      : (items as string[]).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 1; i < sorted.length; i++)
      if (sorted[i] === sorted[i - 1]) return { elements: sorted, duplicate: sorted[i]! };
    return { elements: sorted };
  }
  const keyed = items.map((value) => ({ value, text: valueText(value) }));
  keyed.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  for (let i = 1; i < keyed.length; i++)
    if (keyed[i]!.text === keyed[i - 1]!.text) return { elements: [], duplicate: keyed[i]!.value };
  return { elements: keyed.map((k) => k.value) };
}

function mapKey(key: EdnValue): string {
  if (typeof key === "string") return key;
  if (key === null || typeof key === "boolean" || typeof key === "number") return String(key);
  return JSON.stringify(key);
}
