/**
 * A fast path for reading faultline's own JSONL, straight from the file's bytes: no line string,
 * no `JSON.parse`, no object per operation. A history of ten million transactions is tens of
 * gigabytes as JavaScript objects, and parsing it the ordinary way costs more than checking it.
 *
 * The scanner understands exactly one shape, the one faultline writes: an object whose keys are
 * `index`, `time`, `process`, `type`, `f`, `value`, then optionally `node` and `error`, in that
 * order, with integers written plainly and strings without escapes. Anything else on a line
 * (another key order, a foreign field, an escape, a float, a syntax error) makes `scan` answer
 * false, and the caller reads that line the ordinary way (`JSON.parse` and `opProblem`), which
 * also gives the error message. So the fast path accepts a subset of valid JSON and reads it as
 * `JSON.parse` would; it never decides what is an error.
 *
 * A `value` that is a list of micro-ops (`[["append", 3, 7], ["r", 4, [1, 2]], ["r", 5, null]]`)
 * is read into `mops` (kinds, keys, and values as numbers, null, or lists of integers into one
 * reused buffer); any other value is left as bytes for `valueJson()`.
 */
import { parseJsonExact } from "./exactJson.ts";
import type { Op, OpType, Process } from "./op.ts";

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const BACKSLASH = 0x5c;

const NEWLINE = 0x0a;

/** The longest line `scanThrough` reads. */
const maxThroughBytes = 1 << 16;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

/** Bytes of `"name":` for each key, matched directly. */
const keyBytes = (name: string): Uint8Array => new TextEncoder().encode(`"${name}"`);
const KEY_INDEX = keyBytes("index");
const KEY_TIME = keyBytes("time");
const KEY_PROCESS = keyBytes("process");
const KEY_TYPE = keyBytes("type");
const KEY_F = keyBytes("f");
const KEY_VALUE = keyBytes("value");
const KEY_NODE = keyBytes("node");
const KEY_ERROR = keyBytes("error");

/** A micro-op's value kind in `MicroOpBuffer.valueKind`. */
export const ScannedValue = { null: 0, number: 1, list: 2, other: 3 } as const;
/** A micro-op's f in `MicroOpBuffer.kind`. */
export const ScannedKind = { r: 0, w: 1, append: 2 } as const;

/** The micro-ops of one scanned value, in reused arrays (valid until the next scan). */
export class MicroOpBuffer {
  count = 0;
  kind = new Uint8Array(64);
  /** The key: a number (keyIsString 0) or a string (keyIsString 1, in `stringKey`). */
  keyNumber = new Float64Array(64);
  readonly stringKey: (string | undefined)[] = [];
  keyIsString = new Uint8Array(64);
  valueKind = new Uint8Array(64);
  /** number: the value; list: its first element's position in `elements`, with `listLength`. */
  valueNumber = new Float64Array(64);
  listLength = new Int32Array(64);
  /** other: the value's bytes, for JSON.parse. */
  otherStart = new Int32Array(64);
  otherEnd = new Int32Array(64);
  /** The integers of every list value, one after another. */
  elements = new Float64Array(1024);
  elementCount = 0;

  reset(): void {
    this.count = 0;
    this.elementCount = 0;
  }

  /** Room for one more micro-op. */
  grow(): void {
    if (this.count < this.kind.length) return;
    const size = this.kind.length * 2;
    const widen = <T extends Uint8Array | Int32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.kind = widen(this.kind);
    this.keyNumber = widen(this.keyNumber);
    this.keyIsString = widen(this.keyIsString);
    this.valueKind = widen(this.valueKind);
    this.valueNumber = widen(this.valueNumber);
    this.listLength = widen(this.listLength);
    this.otherStart = widen(this.otherStart);
    this.otherEnd = widen(this.otherEnd);
  }

  /** Room for `count` more list elements, so a loop may write them without checking. */
  reserveElements(count: number): Float64Array {
    const needed = this.elementCount + count;
    if (needed > this.elements.length) {
      let size = this.elements.length * 2;
      while (size < needed) size *= 2;
      const grown = new Float64Array(size);
      grown.set(this.elements.subarray(0, this.elementCount));
      this.elements = grown;
    }
    return this.elements;
  }

  pushElement(value: number): void {
    this.reserveElements(1)[this.elementCount++] = value;
  }
}

/** One line as the scanner read it. Reused from line to line. */
export class JsonlScanner {
  index = 0;
  time = 0;
  process: Process = 0;
  type: OpType = "invoke";
  f = "";
  node: string | undefined;
  /** Whether the line has an `error` field; its value is `errorJson()`. */
  hasError = false;
  /** Whether `value` was read as micro-ops into `mops`. */
  isTxn = false;
  readonly mops = new MicroOpBuffer();

  private bytes: Uint8Array = new Uint8Array(0);
  private at = 0;
  private end = 0;
  private valueStart = 0;
  private valueEnd = 0;
  private errorStart = 0;
  private errorEnd = 0;
  /** Short ASCII strings met before (f, type, keys, node names), by their bytes. */
  private readonly strings = new Map<number, string[]>();
  private readonly decoder = new TextDecoder();

  /** Reads bytes[start, end) (one line, without its newline); false when it is not the fast shape. */
  scan(bytes: Uint8Array, start: number, end: number): boolean {
    this.bytes = bytes;
    this.end = end;
    this.node = undefined;
    this.hasError = false;
    this.isTxn = false;
    if (this.scanCompact(bytes, viewOf(bytes), start, end) === end) return true;
    this.isTxn = false;
    this.node = undefined;
    this.hasError = false;
    this.at = start;
    this.skipSpace();
    if (!this.take(OPEN_BRACE)) return false;
    if (!this.key(KEY_INDEX)) return false;
    const index = this.natural();
    if (index < 0 || !this.comma() || !this.key(KEY_TIME)) return false;
    const time = this.natural();
    if (time < 0 || !this.comma() || !this.key(KEY_PROCESS)) return false;
    this.skipSpace();
    let process: Process;
    if (this.peek() === QUOTE) {
      if (this.string() !== "nemesis") return false;
      process = "nemesis";
    } else {
      process = this.natural();
      if (process < 0) return false;
    }
    if (!this.comma() || !this.key(KEY_TYPE)) return false;
    const type = this.string();
    if (type !== "invoke" && type !== "ok" && type !== "fail" && type !== "info") return false;
    if (!this.comma() || !this.key(KEY_F)) return false;
    const f = this.string();
    if (f === undefined || !this.comma() || !this.key(KEY_VALUE)) return false;
    this.skipSpace();
    this.valueStart = this.at;
    this.isTxn = this.microOps();
    if (!this.isTxn) {
      this.at = this.valueStart;
      if (!this.skipValue(0)) return false;
    }
    this.valueEnd = this.at;
    this.skipSpace();
    if (this.peek() === COMMA) {
      this.at++;
      this.skipSpace();
      if (this.startsWith(KEY_NODE)) {
        if (!this.key(KEY_NODE)) return false;
        const node = this.string();
        if (node === undefined) return false;
        this.node = node;
        this.skipSpace();
        if (this.peek() === COMMA) {
          this.at++;
          this.skipSpace();
          if (!this.errorField()) return false;
        }
      } else if (!this.errorField()) {
        return false;
      }
    }
    this.skipSpace();
    if (!this.take(CLOSE_BRACE)) return false;
    this.skipSpace();
    if (this.at !== this.end) return false;
    this.index = index;
    this.time = time;
    this.process = process;
    this.type = type;
    this.f = f;
    return true;
  }

  /**
   * Reads the line that starts at `start`, among the lines of bytes[start, end), when it is the
   * writer's own bytes exactly (see `scanCompact`; an `error` field aside) and a line break
   * follows it: the position of that break, else -1 (then read the line with `scan`). The line's
   * end is found by reading it: no search for the break first. `view`: a view of `bytes` (`viewOf`),
   * made once for many lines.
   */
  scanThrough(bytes: Uint8Array, start: number, end: number, view: DataView<ArrayBufferLike>): number {
    // A bound on the line (longer ones are read by `scan`): `compactMicroOps` keeps room for as
    // many list elements as its bytes could hold.
    const bound = Math.min(end, start + maxThroughBytes);
    this.bytes = bytes;
    this.end = bound;
    this.node = undefined;
    this.hasError = false;
    this.isTxn = false;
    const after = this.scanCompact(bytes, view, start, bound);
    // An error's value is skipped as JSON, whose white space includes a line break: read by `scan`.
    if (after < 0 || after >= bound || bytes[after] !== NEWLINE || this.hasError) return -1;
    return after;
  }

  /**
   * The writer's own bytes exactly (no whitespace; the value a list of micro-ops of plain
   * integers and strings) in one pass of local variables: the common case, several times faster
   * than the general path below, which reads everything else. The position after the line's
   * closing brace (whatever follows it), or -1.
   */
  private scanCompact(
    bytes: Uint8Array,
    view: DataView<ArrayBufferLike>,
    start: number,
    end: number,
  ): number {
    let at = expectWords(view, start, end, PREFIX_INDEX);
    if (at < 0 || (at = readNatural(bytes, at, end)) < 0) return -1;
    const index = numberRead;
    if ((at = expectWords(view, at, end, PREFIX_TIME)) < 0 || (at = readNatural(bytes, at, end)) < 0)
      return -1;
    const time = numberRead;
    if ((at = expectWords(view, at, end, PREFIX_PROCESS)) < 0) return -1;
    let process: Process;
    if (bytes[at] === QUOTE) {
      if ((at = expectBytes(bytes, at, end, NEMESIS)) < 0) return -1;
      process = "nemesis";
    } else {
      if ((at = readNatural(bytes, at, end)) < 0) return -1;
      process = numberRead;
    }
    let type: OpType;
    let f: string;
    // The usual rest, a transaction's type, f and the value's key, `,"type":"ok","f":"txn","value":`:
    // one constant per type, compared four bytes at a time; anything else field by field.
    const t = at + 12 <= end ? bytes[at + 9] : 0;
    const tail =
      t === 0x6f
        ? OK_TXN
        : t === 0x69
          ? bytes[at + 11] === 0x76
            ? INVOKE_TXN
            : INFO_TXN
          : t === 0x66
            ? FAIL_TXN
            : undefined;
    const afterTail = tail === undefined ? -1 : expectWords(view, at, end, tail);
    if (afterTail >= 0) {
      type = tail!.type;
      f = "txn";
      at = afterTail;
    } else {
      if ((at = expectBytes(bytes, at, end, PREFIX_TYPE)) < 0) return -1;
      const t = bytes[at];
      if (t === 0x6f && (at = expectBytes(bytes, at, end, TYPE_OK)) >= 0) type = "ok";
      else if (t === 0x69 && bytes[at + 2] === 0x76 && (at = expectBytes(bytes, at, end, TYPE_INVOKE)) >= 0)
        type = "invoke";
      else if (t === 0x69 && (at = expectBytes(bytes, at, end, TYPE_INFO)) >= 0) type = "info";
      else if (t === 0x66 && (at = expectBytes(bytes, at, end, TYPE_FAIL)) >= 0) type = "fail";
      else return -1;
      if ((at = expectBytes(bytes, at, end, PREFIX_F)) < 0) return -1;
      const afterTxn = expectBytes(bytes, at, end, F_TXN);
      if (afterTxn >= 0) {
        f = "txn";
        at = afterTxn;
      } else {
        const close = plainStringEnd(bytes, at, end);
        if (close < 0) return -1;
        f = this.text(bytes, at, close);
        at = close + 1;
      }
      if ((at = expectWords(view, at, end, PREFIX_VALUE)) < 0) return -1;
    }
    this.valueStart = at;
    if ((at = this.compactMicroOps(bytes, at, end)) < 0) return -1;
    this.valueEnd = at;
    if (at < end && bytes[at] === COMMA) {
      const afterNode = expectBytes(bytes, at, end, PREFIX_NODE);
      if (afterNode >= 0) {
        const close = plainStringEnd(bytes, afterNode, end);
        if (close < 0) return -1;
        this.node = this.text(bytes, afterNode, close);
        at = close + 1;
      }
      if (at < end && bytes[at] === COMMA) {
        if ((at = expectBytes(bytes, at, end, PREFIX_ERROR)) < 0) return -1;
        this.at = at;
        this.errorStart = at;
        if (!this.skipValue(0)) return -1;
        at = this.errorEnd = this.at;
        this.hasError = true;
      }
    }
    if (at >= end || bytes[at] !== CLOSE_BRACE) return -1;
    this.isTxn = true;
    this.index = index;
    this.time = time;
    this.process = process;
    this.type = type;
    this.f = f;
    return at + 1;
  }

  /** `[["append",1,2],["r",3,[1,2]],["r",4,null]]` at `at`, into `mops`: the position after it, or -1. */
  private compactMicroOps(bytes: Uint8Array, at: number, end: number): number {
    const mops = this.mops;
    mops.reset();
    if (bytes[at] !== OPEN_BRACKET || bytes[at + 1] !== OPEN_BRACKET) return -1;
    at++;
    while (true) {
      // ["r", ["w", ["append",
      if (bytes[at] !== OPEN_BRACKET || bytes[at + 1] !== QUOTE) return -1;
      const k = bytes[at + 2];
      let kind: number;
      if (k === 0x72 && bytes[at + 3] === QUOTE) {
        kind = ScannedKind.r;
        at += 4;
      } else if (
        // ["append", spelt out byte by byte (a call to expectBytes per micro-op cost more)
        k === 0x61 &&
        at + 10 <= end &&
        bytes[at + 3] === 0x70 &&
        bytes[at + 4] === 0x70 &&
        bytes[at + 5] === 0x65 &&
        bytes[at + 6] === 0x6e &&
        bytes[at + 7] === 0x64 &&
        bytes[at + 8] === QUOTE
      ) {
        kind = ScannedKind.append;
        at += 9;
      } else if (k === 0x77 && bytes[at + 3] === QUOTE) {
        kind = ScannedKind.w;
        at += 4;
      } else return -1;
      if (bytes[at] !== COMMA) return -1;
      at++;
      mops.grow();
      const i = mops.count;
      mops.kind[i] = kind;
      if (bytes[at] === QUOTE) {
        const close = plainStringEnd(bytes, at + 1, end);
        if (close < 0) return -1;
        mops.keyIsString[i] = 1;
        mops.stringKey[i] = this.text(bytes, at + 1, close);
        at = close + 1;
      } else {
        // The usual key, a natural of one to nine digits followed by a comma, read here; anything
        // else by readInteger.
        let c = bytes[at]!;
        let key = -1;
        if (c > ZERO && c <= NINE) {
          let value = c - ZERO;
          let p = at + 1;
          while (p < end && p - at < 9 && (c = bytes[p]!) >= ZERO && c <= NINE) {
            value = value * 10 + (c - ZERO);
            p++;
          }
          if (p < end && bytes[p] === COMMA) {
            key = value;
            at = p;
          }
        }
        if (key === -1) {
          if ((at = readInteger(bytes, at, end)) < 0) return -1;
          key = numberRead;
        }
        mops.keyIsString[i] = 0;
        mops.keyNumber[i] = key;
      }
      if (bytes[at] !== COMMA) return -1;
      at++;
      const c = bytes[at];
      if (c === OPEN_BRACKET) {
        at++;
        const first = mops.elementCount;
        let count = first;
        if (bytes[at] === CLOSE_BRACKET) {
          at++;
        } else {
          // Every element takes two bytes at least (a digit and a comma or the closing bracket):
          // room for as many as the rest of the line could hold, then written without a check.
          const elements = mops.reserveElements(((end - at) >> 1) + 1);
          while (true) {
            // The usual element, a natural of one to nine digits followed by , or ]: read here, in
            // one pass (tens of millions of them in a large history); anything else by readInteger.
            let c = bytes[at]!;
            if (c > ZERO && c <= NINE && at + 2 < end) {
              // One or two digits (most elements: lists of a key's appends, 1, 2, 3, ...), unrolled.
              const d = bytes[at + 1]!;
              if (d === COMMA || d === CLOSE_BRACKET) {
                elements[count++] = c - ZERO;
                at += 2;
                if (d === CLOSE_BRACKET) break;
                continue;
              }
              const e = bytes[at + 2]!;
              if (d >= ZERO && d <= NINE && (e === COMMA || e === CLOSE_BRACKET)) {
                elements[count++] = (c - ZERO) * 10 + (d - ZERO);
                at += 3;
                if (e === CLOSE_BRACKET) break;
                continue;
              }
            }
            if (c > ZERO && c <= NINE) {
              let value = c - ZERO;
              let p = at + 1;
              while (p < end && p - at < 9 && (c = bytes[p]!) >= ZERO && c <= NINE) {
                value = value * 10 + (c - ZERO);
                p++;
              }
              if (p < end && ((c = bytes[p]!) === COMMA || c === CLOSE_BRACKET)) {
                elements[count++] = value;
                at = p + 1;
                if (c === CLOSE_BRACKET) break;
                continue;
              }
            }
            if ((at = readInteger(bytes, at, end)) < 0) return -1;
            elements[count++] = numberRead;
            const next = bytes[at++];
            if (next === CLOSE_BRACKET) break;
            if (next !== COMMA) return -1;
          }
        }
        mops.elementCount = count;
        mops.valueKind[i] = ScannedValue.list;
        mops.valueNumber[i] = first;
        mops.listLength[i] = count - first;
      } else if (c === 0x6e) {
        if ((at = expectBytes(bytes, at, end, NULL)) < 0) return -1;
        mops.valueKind[i] = ScannedValue.null;
      } else {
        // The usual appended value, a natural of one to nine digits ending the micro-op, read here.
        let d = c!;
        let value = -1;
        if (d > ZERO && d <= NINE) {
          let number = d - ZERO;
          let p = at + 1;
          while (p < end && p - at < 9 && (d = bytes[p]!) >= ZERO && d <= NINE) {
            number = number * 10 + (d - ZERO);
            p++;
          }
          if (p < end && bytes[p] === CLOSE_BRACKET) {
            value = number;
            at = p;
          }
        }
        if (value === -1) {
          if ((at = readInteger(bytes, at, end)) < 0) return -1;
          value = numberRead;
        }
        mops.valueKind[i] = ScannedValue.number;
        mops.valueNumber[i] = value;
      }
      if (bytes[at] !== CLOSE_BRACKET) return -1;
      mops.count = i + 1;
      const next = bytes[at + 1];
      at += 2;
      if (next === CLOSE_BRACKET) return at;
      if (next !== COMMA) return -1;
    }
  }

  /** The `value` of the line just scanned, parsed. */
  valueJson(): unknown {
    return parseJsonExact(this.valueText());
  }

  /** The `value` of the line just scanned, as its JSON text (`parseJsonExact` reads it as `valueJson`). */
  valueText(): string {
    return this.decoder.decode(this.bytes.subarray(this.valueStart, this.valueEnd));
  }

  /** The `error` of the line just scanned, parsed (when `hasError`). */
  errorJson(): unknown {
    return parseJsonExact(this.decoder.decode(this.bytes.subarray(this.errorStart, this.errorEnd)));
  }

  /** A micro-op's `other` value, parsed. */
  otherJson(i: number): unknown {
    return parseJsonExact(
      this.decoder.decode(this.bytes.subarray(this.mops.otherStart[i], this.mops.otherEnd[i])),
    );
  }

  private errorField(): boolean {
    if (!this.key(KEY_ERROR)) return false;
    this.skipSpace();
    this.errorStart = this.at;
    if (!this.skipValue(0)) return false;
    this.errorEnd = this.at;
    this.hasError = true;
    return true;
  }

  private peek(): number {
    return this.at < this.end ? this.bytes[this.at]! : -1;
  }

  private skipSpace(): void {
    while (this.at < this.end && isSpace(this.bytes[this.at]!)) this.at++;
  }

  private take(c: number): boolean {
    this.skipSpace();
    if (this.peek() !== c) return false;
    this.at++;
    return true;
  }

  private comma(): boolean {
    return this.take(COMMA);
  }

  private startsWith(word: Uint8Array): boolean {
    if (this.at + word.length > this.end) return false;
    for (let i = 0; i < word.length; i++) if (this.bytes[this.at + i] !== word[i]) return false;
    return true;
  }

  /** `"name"` then `:`. */
  private key(word: Uint8Array): boolean {
    this.skipSpace();
    if (!this.startsWith(word)) return false;
    this.at += word.length;
    return this.take(COLON);
  }

  /** A non-negative integer as JSON writes it (no leading zero, at most 15 digits); -1 if not one. */
  private natural(): number {
    this.skipSpace();
    const bytes = this.bytes;
    const start = this.at;
    let value = 0;
    let at = start;
    while (at < this.end) {
      const c = bytes[at]!;
      if (c < ZERO || c > NINE) break;
      value = value * 10 + (c - ZERO);
      at++;
    }
    const digits = at - start;
    if (digits === 0 || digits > 15 || (digits > 1 && bytes[start] === ZERO)) return -1;
    // A fraction or an exponent: not an integer written plainly.
    if (at < this.end && (bytes[at] === 0x2e || bytes[at] === 0x65 || bytes[at] === 0x45)) return -1;
    this.at = at;
    return value;
  }

  /** An integer, possibly negative, written plainly; NaN if not one. */
  private integer(): number {
    this.skipSpace();
    if (this.peek() === MINUS) {
      this.at++;
      // JSON allows nothing between the minus and its digits (natural() would skip spaces).
      const next = this.peek();
      if (next < ZERO || next > NINE) return NaN;
      const n = this.natural();
      // -0 is a float in JSON.parse's eyes (it gives -0): not fast.
      return n <= 0 ? NaN : -n;
    }
    const n = this.natural();
    return n < 0 ? NaN : n;
  }

  /** A string without escapes or control characters; undefined if not one. */
  private string(): string | undefined {
    this.skipSpace();
    if (this.peek() !== QUOTE) return undefined;
    const bytes = this.bytes;
    const start = ++this.at;
    let ascii = true;
    let hash = 0;
    let at = start;
    for (; at < this.end; at++) {
      const c = bytes[at]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH || c < 0x20) return undefined;
      if (c >= 0x80) ascii = false;
      hash = (Math.imul(hash, 31) + c) | 0;
    }
    if (at >= this.end) return undefined;
    this.at = at + 1;
    return ascii ? this.text(bytes, start, at, hash) : this.decoder.decode(bytes.subarray(start, at));
  }

  /**
   * The text of bytes[start, end), which hold no quote, backslash or control character. Short
   * ASCII strings repeat (f, type, keys, node names): they are looked up by their bytes.
   */
  private text(bytes: Uint8Array, start: number, end: number, hash?: number): string {
    const length = end - start;
    if (length > 32) return this.decoder.decode(bytes.subarray(start, end));
    let h = hash ?? 0;
    if (hash === undefined) {
      for (let i = start; i < end; i++) {
        const c = bytes[i]!;
        if (c >= 0x80) return this.decoder.decode(bytes.subarray(start, end));
        h = (Math.imul(h, 31) + c) | 0;
      }
    }
    const key = (h ^ length) | 0;
    const known = this.strings.get(key);
    if (known !== undefined) {
      for (const s of known) if (s.length === length && sameAscii(s, bytes, start)) return s;
    }
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
    if (known === undefined) this.strings.set(key, [s]);
    else if (known.length < 8) known.push(s);
    return s;
  }

  /** Skips one JSON value, checking its syntax as JSON.parse would; false if it is not one. */
  private skipValue(depth: number): boolean {
    this.skipSpace();
    const c = this.peek();
    if (c === QUOTE) return this.skipString();
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.skipNumber();
    if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (depth > 32) return false;
      const close = c === OPEN_BRACKET ? CLOSE_BRACKET : CLOSE_BRACE;
      this.at++;
      this.skipSpace();
      if (this.peek() === close) {
        this.at++;
        return true;
      }
      while (true) {
        if (close === CLOSE_BRACE) {
          this.skipSpace();
          if (this.peek() !== QUOTE || !this.skipString() || !this.take(COLON)) return false;
        }
        if (!this.skipValue(depth + 1)) return false;
        this.skipSpace();
        const next = this.peek();
        this.at++;
        if (next === close) return true;
        if (next !== COMMA) return false;
      }
    }
    return this.word("null") || this.word("true") || this.word("false");
  }

  /** A JSON string, escapes included; false if not one. */
  private skipString(): boolean {
    const bytes = this.bytes;
    let at = this.at + 1;
    while (at < this.end) {
      const c = bytes[at]!;
      if (c === QUOTE) {
        this.at = at + 1;
        return true;
      }
      if (c < 0x20) return false;
      if (c === BACKSLASH) {
        const e = at + 1 < this.end ? bytes[at + 1]! : -1;
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) if (at + k >= this.end || !isHex(bytes[at + k]!)) return false;
          at += 6;
          continue;
        }
        // " \ / b f n r t
        if (
          e !== QUOTE &&
          e !== BACKSLASH &&
          e !== 0x2f &&
          e !== 0x62 &&
          e !== 0x66 &&
          e !== 0x6e &&
          e !== 0x72 &&
          e !== 0x74
        )
          return false;
        at += 2;
        continue;
      }
      at++;
    }
    return false;
  }

  /** A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; false if not one. */
  private skipNumber(): boolean {
    const bytes = this.bytes;
    const end = this.end;
    let at = this.at;
    const digit = (i: number): boolean => i < end && bytes[i]! >= ZERO && bytes[i]! <= NINE;
    if (bytes[at] === MINUS) at++;
    if (!digit(at)) return false;
    if (bytes[at] === ZERO) at++;
    else while (digit(at)) at++;
    if (at < end && bytes[at] === 0x2e) {
      at++;
      if (!digit(at)) return false;
      while (digit(at)) at++;
    }
    if (at < end && (bytes[at] === 0x65 || bytes[at] === 0x45)) {
      at++;
      if (at < end && (bytes[at] === 0x2b || bytes[at] === MINUS)) at++;
      if (!digit(at)) return false;
      while (digit(at)) at++;
    }
    this.at = at;
    return true;
  }

  private word(w: string): boolean {
    if (this.at + w.length > this.end) return false;
    for (let i = 0; i < w.length; i++) if (this.bytes[this.at + i] !== w.charCodeAt(i)) return false;
    this.at += w.length;
    return true;
  }

  /** `[["r"|"w"|"append", key, value], …]` into `mops`; false (position unchanged or not) if not that. */
  private microOps(): boolean {
    const mops = this.mops;
    mops.reset();
    if (!this.take(OPEN_BRACKET)) return false;
    this.skipSpace();
    if (this.peek() === CLOSE_BRACKET) return false; // an empty list: let JSON.parse read it
    while (true) {
      if (!this.take(OPEN_BRACKET)) return false;
      const f = this.string();
      const kind =
        f === "r" ? ScannedKind.r : f === "append" ? ScannedKind.append : f === "w" ? ScannedKind.w : -1;
      if (kind < 0 || !this.comma()) return false;
      mops.grow();
      const i = mops.count;
      mops.kind[i] = kind;
      this.skipSpace();
      if (this.peek() === QUOTE) {
        const key = this.string();
        if (key === undefined) return false;
        mops.keyIsString[i] = 1;
        mops.stringKey[i] = key;
      } else {
        const key = this.integer();
        if (Number.isNaN(key)) return false;
        mops.keyIsString[i] = 0;
        mops.keyNumber[i] = key;
      }
      if (!this.comma()) return false;
      this.skipSpace();
      const c = this.peek();
      if (c === OPEN_BRACKET) {
        this.at++;
        const first = mops.elementCount;
        this.skipSpace();
        if (this.peek() === CLOSE_BRACKET) {
          this.at++;
        } else {
          while (true) {
            this.skipSpace();
            const v = this.integer();
            if (Number.isNaN(v)) return false;
            mops.pushElement(v);
            this.skipSpace();
            const next = this.peek();
            this.at++;
            if (next === CLOSE_BRACKET) break;
            if (next !== COMMA) return false;
          }
        }
        mops.valueKind[i] = ScannedValue.list;
        mops.valueNumber[i] = first;
        mops.listLength[i] = mops.elementCount - first;
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        const v = this.integer();
        if (Number.isNaN(v)) return false;
        mops.valueKind[i] = ScannedValue.number;
        mops.valueNumber[i] = v;
      } else if (this.word("null")) {
        mops.valueKind[i] = ScannedValue.null;
      } else {
        const start = this.at;
        if (!this.skipValue(1)) return false;
        mops.valueKind[i] = ScannedValue.other;
        mops.otherStart[i] = start;
        mops.otherEnd[i] = this.at;
      }
      if (!this.take(CLOSE_BRACKET)) return false;
      mops.count = i + 1;
      this.skipSpace();
      const next = this.peek();
      this.at++;
      if (next === CLOSE_BRACKET) return true;
      if (next !== COMMA) return false;
    }
  }
}

const kindNames = ["r", "w", "append"] as const;

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
/**
 * A constant to compare with `expectWords`: its bytes as little-endian 32-bit words, the bytes
 * past the last whole word apart; `type` for the constants that end a transaction line's fields.
 */
interface Words {
  readonly length: number;
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  readonly type: OpType;
}

const words = (text: string, type: OpType = "invoke"): Words => {
  const bytes = ascii(text);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const whole = new Int32Array(bytes.length >> 2);
  for (let i = 0; i < whole.length; i++) whole[i] = view.getInt32(4 * i, true);
  return { length: bytes.length, words: whole, bytes, type };
};

const PREFIX_INDEX = words('{"index":');
const PREFIX_TIME = words(',"time":');
const PREFIX_PROCESS = words(',"process":');
const OK_TXN = words(',"type":"ok","f":"txn","value":', "ok");
const INVOKE_TXN = words(',"type":"invoke","f":"txn","value":', "invoke");
const INFO_TXN = words(',"type":"info","f":"txn","value":', "info");
const FAIL_TXN = words(',"type":"fail","f":"txn","value":', "fail");
const NEMESIS = ascii('"nemesis"');
const PREFIX_TYPE = ascii(',"type":"');
const TYPE_OK = ascii('ok"');
const TYPE_INVOKE = ascii('invoke"');
const TYPE_INFO = ascii('info"');
const TYPE_FAIL = ascii('fail"');
const PREFIX_F = ascii(',"f":"');
const F_TXN = ascii('txn"');
const PREFIX_VALUE = words(',"value":');
const PREFIX_NODE = ascii(',"node":"');
const PREFIX_ERROR = ascii(',"error":');
const NULL = ascii("null");

/** A view of `bytes`, for `expectWords`. */
export const viewOf = (bytes: Uint8Array): DataView<ArrayBufferLike> =>
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** `expectBytes` of a constant four bytes at a time, read through `view` (of the same bytes). */
function expectWords(view: DataView<ArrayBufferLike>, at: number, end: number, word: Words): number {
  if (at < 0 || at + word.length > end) return -1;
  const whole = word.words;
  for (let i = 0; i < whole.length; i++) if (view.getInt32(at + 4 * i, true) !== whole[i]) return -1;
  const bytes = word.bytes;
  for (let i = whole.length * 4; i < bytes.length; i++) if (view.getUint8(at + i) !== bytes[i]) return -1;
  return at + word.length;
}

/** The position after `word` if bytes at `at` spell it, else -1. */
function expectBytes(bytes: Uint8Array, at: number, end: number, word: Uint8Array): number {
  if (at < 0 || at + word.length > end) return -1;
  for (let i = 0; i < word.length; i++) if (bytes[at + i] !== word[i]) return -1;
  return at + word.length;
}

/** The number the last readNatural or readInteger read. */
let numberRead = 0;

/** A natural number JSON's way (no leading zero, at most 15 digits) into `numberRead`; the position after it, or -1. */
function readNatural(bytes: Uint8Array, at: number, end: number): number {
  const start = at;
  let value = 0;
  while (at < end) {
    const c = bytes[at]!;
    if (c < ZERO || c > NINE) break;
    value = value * 10 + (c - ZERO);
    at++;
  }
  const digits = at - start;
  if (digits === 0 || digits > 15 || (digits > 1 && bytes[start] === ZERO)) return -1;
  if (at < end && (bytes[at] === 0x2e || bytes[at] === 0x65 || bytes[at] === 0x45)) return -1;
  numberRead = value;
  return at;
}

/** An integer written plainly (-0 is not: JSON.parse makes it a float) into `numberRead`; the position after it, or -1. */
function readInteger(bytes: Uint8Array, at: number, end: number): number {
  if (bytes[at] !== MINUS) return readNatural(bytes, at, end);
  at = readNatural(bytes, at + 1, end);
  if (at < 0 || numberRead === 0) return -1;
  numberRead = -numberRead;
  return at;
}

/** Where the plain string that starts at `at` (after its quote) ends: its closing quote, or -1. */
function plainStringEnd(bytes: Uint8Array, at: number, end: number): number {
  for (; at < end; at++) {
    const c = bytes[at]!;
    if (c === QUOTE) return at;
    if (c === BACKSLASH || c < 0x20) return -1;
  }
  return -1;
}

/** The op the scanner just read, as `JSON.parse` would have made it (same fields, same order). */
export function scannedOp(scanner: JsonlScanner): Op {
  const value = scannedValue(scanner);
  const op: Record<string, unknown> = {
    index: scanner.index,
    time: scanner.time,
    process: scanner.process,
    type: scanner.type,
    f: scanner.f,
    value,
  };
  if (scanner.node !== undefined) op["node"] = scanner.node;
  if (scanner.hasError) op["error"] = scanner.errorJson();
  return op as Op;
}

/** The `value` of the line the scanner just read, as `scannedOp` gives it (without the rest of the op). */
export function scannedValue(scanner: JsonlScanner): unknown {
  if (!scanner.isTxn) return scanner.valueJson();
  const m = scanner.mops;
  const list: unknown[] = [];
  for (let i = 0; i < m.count; i++) {
    const key = m.keyIsString[i] === 1 ? m.stringKey[i]! : m.keyNumber[i]!;
    const kind = m.valueKind[i]!;
    let v: unknown;
    if (kind === ScannedValue.null) v = null;
    else if (kind === ScannedValue.number) v = m.valueNumber[i]!;
    else if (kind === ScannedValue.list) {
      // A plain loop: Array.from over a typed array walks an iterator, several times slower.
      const first = m.valueNumber[i]!;
      const elements = new Array<number>(m.listLength[i]!);
      for (let j = 0; j < elements.length; j++) elements[j] = m.elements[first + j]!;
      v = elements;
    } else v = scanner.otherJson(i);
    list.push([kindNames[m.kind[i]!], key, v]);
  }
  return list;
}

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function sameAscii(s: string, bytes: Uint8Array, start: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== bytes[start + i]) return false;
  return true;
}
