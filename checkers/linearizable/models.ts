/**
 * The built-in sequential models, by name: register, cas-register, multi-register, kv, set, mutex,
 * counter, fifo-queue. Each is an ordinary `LinearizableModel` (see model.ts), written the way a
 * user would write one.
 *
 * The register family (register, cas-register, kv) keeps a map from key to value, so one model
 * serves a history checked whole and one split by key. An op's key is its `key` field (Jepsen's
 * independent keys, Porcupine's kv) or, in faultline's own keyed shape, the first half of its
 * value: `read [k, v]`, `write [k, v]`, `cas [k, [from, to]]`, `get/put/append [k, v]`. A key
 * never written holds the initial value (`--init`; default `null`, or `""` for kv). States are
 * canonical: keys sorted, a key holding its initial value left out, so equal maps hash equally.
 *
 * The meaning of a `null` read follows where the history comes from: when the register starts as
 * `null` ("never written", as in the etcd logs), a `null` read says it read `null`; when it starts
 * with a value (`--init 0`, as in Knossos), `null` is no value it could hold, and a `null` read is
 * a read whose value was not recorded: it matches any state, as in Knossos.
 */
import { decimalSum } from "../../harness/decimalSum.ts";
import type { Key } from "../../harness/history/op.ts";
import type { LinearizableModel, ModelOp } from "./model.ts";
import { KeyTexts, ModelInputError, jsonText } from "./model.ts";
import { sameValue, valueText } from "../../harness/history/valueText.ts";

type Values = Readonly<Record<string, unknown>>; // an --init map of key to value

const isKey = (k: unknown): k is Key => typeof k === "string" || typeof k === "number";

/**
 * The register family's state: key → value, with keys at their initial value left out, as a
 * short persistent list of bindings (cheap to copy for the few keys a part holds), with each
 * value's hash and the map's hash kept up to date as it changes, so that telling states apart
 * costs O(1) even when the values are long strings grown by appends. A value's hash is
 * polynomial, so appending to a string extends its hash in the time of the suffix; the map's hash
 * is the XOR of its bindings' hashes, so it does not depend on their order.
 */
interface Binding {
  readonly key: string;
  readonly value: unknown;
  readonly valueHash: number;
  /**
   * For a value made by an append: the value appended to and the suffix. Two such values with the
   * same base and suffix are equal without comparing (and so flattening) two long strings.
   */
  readonly base: unknown;
  readonly suffix: string | undefined;
  /** This binding's own hash, and the map's hash from here to the end of the list. */
  readonly ownHash: number;
  readonly mapHash: number;
  readonly next: Binding | null;
}

/** The state is its first binding (one object per state); null: every key at its initial value. */
type RegisterState = Binding | null;

const emptyRegisterState: RegisterState = null;

function bindingOf(state: RegisterState, k: string): Binding | null {
  for (let b = state; b !== null; b = b.next) if (b.key === k) return b;
  return null;
}

function bind(
  key: string,
  value: unknown,
  valueHash: number,
  base: unknown,
  suffix: string | undefined,
  next: Binding | null,
  ownHash = bindingHash(key, valueHash),
): Binding {
  return {
    key,
    value,
    valueHash,
    base,
    suffix,
    ownHash,
    mapHash: ownHash ^ (next === null ? 0 : next.mapHash),
    next,
  };
}

function valueAt(state: RegisterState, k: string, initial: unknown): unknown {
  const b = bindingOf(state, k);
  return b === null ? initial : b.value;
}

const hashBase = 0x01000193;

/**
 * A kv op as the kv model prepares it: what every step needs, computed once. Every prepared op has
 * the same fields in the same order (one shape), so the step reads them at a fixed place.
 */
interface KvOp extends ModelOp {
  /** 0 get, 1 put, 2 append. */
  readonly kind: 0 | 1 | 2;
  /** The key as the state names it ("" without a key), its hash, and its initial value. */
  readonly keyName: string;
  readonly keyHash: number;
  readonly initial: unknown;
  /** The initial value as text and its hash (a get of a key never written compares with it). */
  readonly initialText: string;
  readonly initialHash: number;
  /** The value as text (a get's result, a put's value, an append's suffix), its hash, and hashBase ** its length. */
  readonly text: string;
  readonly textHash: number;
  readonly textPower: number;
}

function textHash(text: string, seed = 0): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, hashBase) + text.charCodeAt(i)) | 0;
  return h;
}

/** hashBase ** exponent, mod 2^32. */
function hashPower(exponent: number): number {
  let result = 1;
  let base = hashBase;
  for (let e = exponent; e > 0; e >>>= 1) {
    if (e & 1) result = Math.imul(result, base);
    base = Math.imul(base, base);
  }
  return result;
}

const valueHash = (v: unknown): number =>
  typeof v === "string" ? textHash(v) : textHash(valueText(v), 0x2545f491);

function bindingHash(k: string, vHash: number, kHash = textHash(k)): number {
  let h = Math.imul(kHash ^ Math.imul(vHash, 0x85ebca6b), 0xc2b2ae35);
  h ^= h >>> 15;
  return h | 0;
}

/** Sets key `k` to `v` (whose hash is `vHash`), leaving it out when `v` is its initial value. */
function assign(
  state: RegisterState,
  k: string,
  v: unknown,
  initial: unknown,
  vHash = valueHash(v),
  base: unknown = undefined,
  suffix: string | undefined = undefined,
  kHash = textHash(k),
): RegisterState {
  let rest: Binding | null = null;
  for (let b = state; b !== null; b = b.next) {
    if (b.key !== k) rest = bind(b.key, b.value, b.valueHash, b.base, b.suffix, rest, b.ownHash);
  }
  return sameValue(v, initial) ? rest : bind(k, v, vHash, base, suffix, rest, bindingHash(k, vHash, kHash));
}

function sameRegisterState(a: RegisterState, b: RegisterState): boolean {
  if (a === b) return true;
  let size = 0;
  if (a === null || b === null) return false;
  for (let x: Binding | null = a; x !== null; x = x.next) {
    size++;
    const y = bindingOf(b, x.key);
    if (y === null || y.valueHash !== x.valueHash) return false;
    const sameAppend = x.suffix !== undefined && x.suffix === y.suffix && x.base === y.base;
    if (!sameAppend && !sameValue(x.value, y.value)) return false;
  }
  for (let y: Binding | null = b; y !== null; y = y.next) size--;
  return size === 0;
}

function describeMap(
  state: RegisterState,
  initialFor: (k: string) => unknown,
  keys: readonly string[],
  onlyKeys = false,
): string {
  const bound: string[] = [];
  for (let b = state; b !== null; b = b.next) bound.push(b.key);
  const all = [...new Set(onlyKeys ? keys : [...keys, ...bound])].sort();
  const valueOf = (k: string): unknown => valueAt(state, k, initialFor(k));
  if (all.length === 0 || (all.length === 1 && all[0] === "")) return jsonText(valueOf(""));
  return all.map((k) => `${k === "" ? "(no key)" : k}=${jsonText(valueOf(k))}`).join(", ");
}

/** The hooks every register-family model shares: state hashing, equality, description. */
function registerStateHooks(initialFor: (k: string) => unknown, keys: readonly string[] = []) {
  return {
    init: () => emptyRegisterState,
    hash: (state: RegisterState) => (state === null ? 0 : state.mapHash),
    equal: sameRegisterState,
    describe: (state: RegisterState, op?: ModelOp) =>
      op?.key !== undefined
        ? describeMap(state, initialFor, [String(op.key)], true)
        : describeMap(state, initialFor, keys),
  };
}

/** Moves a key carried in the value (`[k, v]`) to `key`; `casValue` tells cas's `[k, [from, to]]`. */
function liftKeyFromValue(op: ModelOp, isCas: boolean): ModelOp {
  if (op.key !== undefined) return op;
  const v = op.value;
  if (Array.isArray(v) && v.length === 2 && isKey(v[0]) && (!isCas || Array.isArray(v[1]))) {
    return { ...op, key: v[0], value: v[1] };
  }
  return op;
}

const keyText = (op: ModelOp): string => (op.key === undefined ? "" : String(op.key));

function checkCasValue(op: ModelOp): void {
  if (!Array.isArray(op.value) || op.value.length !== 2) {
    throw new ModelInputError(`expected a cas value [from, to]; got ${jsonText(op.value)}`);
  }
}

/** register (read, write) and cas-register (read, write, cas). */
export function registerModel(
  name: "register" | "cas-register",
  init: unknown = null,
): LinearizableModel<RegisterState> {
  const allowCas = name === "cas-register";
  const nullReadIsUnknown = init !== null;
  const fs = allowCas ? "read, write or cas" : "read or write";
  return {
    name,
    ...registerStateHooks(() => init),
    prepare(op) {
      if (op.f !== "read" && op.f !== "write" && !(allowCas && op.f === "cas")) {
        throw new ModelInputError(`the ${name} model takes ${fs} operations; got f "${op.f}"`);
      }
      const lifted = liftKeyFromValue(op, op.f === "cas");
      if (lifted.f === "cas") checkCasValue(lifted);
      return lifted;
    },
    partition: (op) => keyText(op),
    readOnly: (op) => op.f === "read" || op.outcome === "fail",
    step(state, op) {
      const k = keyText(op);
      const current = valueAt(state, k, init);
      switch (op.f) {
        case "read":
          if (op.outcome === "info") return state;
          if (sameValue(op.value, current) || (op.value === null && nullReadIsUnknown)) return state;
          return undefined;
        case "write":
          return assign(state, k, op.value, init);
        default: {
          const [from, to] = op.value as [unknown, unknown];
          const matches = sameValue(from, current);
          if (op.outcome === "fail") return matches ? undefined : state;
          return matches ? assign(state, k, to, init) : undefined;
        }
      }
    },
    describeOp(op) {
      const on = op.key === undefined ? "" : ` ${String(op.key)}`;
      const outcome = op.outcome === "info" ? " (outcome unknown)" : "";
      if (op.f === "read")
        return op.outcome === "info" ? `read${on} (result unknown)` : `read${on} → ${jsonText(op.value)}`;
      if (op.f === "write") return `write${on} ${jsonText(op.value)}${outcome}`;
      const [from, to] = op.value as [unknown, unknown];
      const found = op.outcome === "fail" ? " (found another value, did not swap)" : outcome;
      return `cas${on} ${jsonText(from)}→${jsonText(to)}${found}`;
    },
  };
}

/** kv: get, put, append on string values; a key never written reads as the initial value (""). */
export function kvModel(init: unknown = ""): LinearizableModel<RegisterState> {
  const isMap = typeof init === "object" && init !== null && !Array.isArray(init);
  const initialFor = (k: string): unknown => (isMap ? ((init as Values)[k] ?? "") : init);
  if (typeof init !== "string" && !isMap) {
    throw new ModelInputError(
      `the kv model's --init is a string (every key's initial value) or an object of key to string; got ${jsonText(init)}`,
    );
  }
  const asText = (v: unknown): string =>
    v === null || v === undefined ? "" : typeof v === "string" ? v : jsonText(v);
  /** The prepared form of an op (see KvOp); the step takes it or an op not yet prepared. */
  const prepareKv = (op: ModelOp): KvOp => {
    if (op.f !== "get" && op.f !== "put" && op.f !== "append") {
      throw new ModelInputError(`the kv model takes get, put or append operations; got f "${op.f}"`);
    }
    const lifted = liftKeyFromValue(op, false);
    const keyName = keyText(lifted);
    const initial = initialFor(keyName);
    const initialText = asText(initial);
    const text = asText(lifted.value);
    return {
      f: lifted.f,
      value: lifted.value,
      key: lifted.key,
      outcome: lifted.outcome,
      index: lifted.index,
      process: lifted.process,
      kind: lifted.f === "get" ? 0 : lifted.f === "put" ? 1 : 2,
      keyName,
      keyHash: textHash(keyName),
      initial,
      initialText,
      initialHash: textHash(initialText),
      text,
      textHash: textHash(text),
      textPower: hashPower(text.length),
    };
  };
  const step = (state: RegisterState, op: KvOp): RegisterState | undefined => {
    const k = op.keyName;
    // The initial value is read on every step, not only where the key is unbound: every part
    // starts unbound, so a read made only there had no type feedback when the step was compiled
    // (during the first part, by then bound), and the next part's first step threw the compiled
    // step away, and with it sometimes the search loop it was inlined into (kv c50-ok).
    const { initialHash, initialText } = op;
    const bound = bindingOf(state, k);
    // Hashes before strings: comparing a long appended string would flatten it, and every
    // state would then keep a flat copy of its value.
    const currentHash = bound === null ? initialHash : bound.valueHash;
    switch (op.kind) {
      case 0:
        if (op.outcome === "info") return state;
        if (currentHash !== op.textHash) return undefined;
        return op.text === (bound === null ? initialText : asText(bound.value)) ? state : undefined;
      case 1:
        return assign(state, k, op.text, op.initial, op.textHash, undefined, undefined, op.keyHash);
      default: {
        const current = bound === null ? initialText : asText(bound.value);
        const vHash = (Math.imul(currentHash, op.textPower) + op.textHash) | 0;
        return assign(state, k, current + op.text, op.initial, vHash, current, op.text, op.keyHash);
      }
    }
  };
  return {
    name: "kv",
    ...registerStateHooks(initialFor),
    prepare: prepareKv,
    partition: (op) => keyText(op),
    readOnly: (op) => op.f === "get",
    step: (state, op) => step(state, (op as Partial<KvOp>).kind === undefined ? prepareKv(op) : (op as KvOp)),
    describeOp(op) {
      const on = op.key === undefined ? "" : ` ${String(op.key)}`;
      if (op.f === "get")
        return op.outcome === "info"
          ? `get${on} (result unknown)`
          : `get${on} → ${jsonText(asText(op.value))}`;
      return `${op.f}${on} ${jsonText(asText(op.value))}${op.outcome === "info" ? " (outcome unknown)" : ""}`;
    },
  };
}

type MicroOp = readonly [string, Key, unknown];

/**
 * multi-register (Knossos): `txn` ops whose value is a list of `[read|r, k, v]` and `[write|w, k,
 * v]`; a read of `null` is a read whose value was not recorded. Not split: a txn spans keys.
 */
export function multiRegisterModel(init: unknown = {}): LinearizableModel<RegisterState> {
  if (typeof init !== "object" || init === null || Array.isArray(init)) {
    throw new ModelInputError(
      `the multi-register model's --init is an object of key to value, such as {"x":0,"y":0}; got ${jsonText(init)}`,
    );
  }
  const initial = init as Values;
  const initialFor = (k: string): unknown => initial[k] ?? null;
  const microOps = (op: ModelOp): readonly MicroOp[] => op.value as readonly MicroOp[];
  /** Its micro-ops' keys (prepare.ts checks an op's own key): one model per history (builtinModel). */
  const keyTexts = new KeyTexts();
  return {
    name: "multi-register",
    ...registerStateHooks(initialFor, Object.keys(initial)),
    prepare(op) {
      if (op.f !== "txn")
        throw new ModelInputError(`the multi-register model takes txn operations; got f "${op.f}"`);
      const ok =
        Array.isArray(op.value) &&
        op.value.every(
          (m: unknown) =>
            Array.isArray(m) &&
            m.length === 3 &&
            ["read", "r", "write", "w"].includes(m[0] as string) &&
            isKey(m[1]),
        );
      if (!ok)
        throw new ModelInputError(
          `expected a txn value [[read|write, key, value], ...]; got ${jsonText(op.value)}`,
        );
      for (const [, key] of microOps(op)) keyTexts.check(key, op.index);
      return op;
    },
    readOnly: (op) => microOps(op).every((m) => m[0] === "read" || m[0] === "r"),
    step(state, op) {
      let next = state;
      for (const [f, key, v] of microOps(op)) {
        const k = String(key);
        if (f === "read" || f === "r") {
          if (v !== null && !sameValue(v, valueAt(next, k, initialFor(k)))) return undefined;
        } else {
          next = assign(next, k, v, initialFor(k));
        }
      }
      return next;
    },
    describeOp: (op) =>
      `txn ${microOps(op)
        .map(([f, k, v]) => `${f} ${String(k)} ${jsonText(v)}`)
        .join("; ")}${op.outcome === "info" ? " (outcome unknown)" : ""}`,
  };
}

/** mutex: acquire (or lock) when free, release (or unlock) when held. */
export function mutexModel(init: unknown = false): LinearizableModel<boolean> {
  if (typeof init !== "boolean")
    throw new ModelInputError(
      `the mutex model's --init is true (held) or false (free); got ${jsonText(init)}`,
    );
  return {
    name: "mutex",
    init: () => init,
    prepare(op) {
      if (!["acquire", "lock", "release", "unlock"].includes(op.f)) {
        throw new ModelInputError(`the mutex model takes acquire or release operations; got f "${op.f}"`);
      }
      return op;
    },
    partition: (op) => op.key ?? "",
    step: (held, op) => ((op.f === "acquire" || op.f === "lock") === held ? undefined : !held),
    hash: (held) => (held ? 1 : 0),
    equal: (a, b) => a === b,
    describe: (held) => (held ? "held" : "free"),
    describeOp: (op) => `${op.f}${op.outcome === "info" ? " (outcome unknown)" : ""}`,
  };
}

/** A collection of JSON texts, kept sorted (set) or in order (queue). */
type Texts = readonly string[];

function initialTexts(name: string, init: unknown): Texts {
  if (!Array.isArray(init))
    throw new ModelInputError(`the ${name} model's --init is a JSON array; got ${jsonText(init)}`);
  return init.map(valueText);
}

/** set: add v; read → the whole set (an array, in any order, each element once). */
export function setModel(init: unknown = []): LinearizableModel<Texts> {
  const start = [...new Set(initialTexts("set", init))].sort();
  return {
    name: "set",
    init: () => start,
    prepare(op) {
      if (op.f !== "add" && op.f !== "read")
        throw new ModelInputError(`the set model takes add or read operations; got f "${op.f}"`);
      if (op.f === "read" && op.outcome !== "info" && !Array.isArray(op.value)) {
        throw new ModelInputError(`expected a set read to return an array; got ${jsonText(op.value)}`);
      }
      return op;
    },
    partition: (op) => op.key ?? "",
    readOnly: (op) => op.f === "read",
    step(state, op) {
      if (op.f === "add") {
        const t = valueText(op.value);
        return state.includes(t) ? state : [...state, t].sort();
      }
      if (op.outcome === "info") return state;
      // Not deduplicated: a set holds each element once, so a read that returns one twice is no
      // state of it (the set-full checker calls it "duplicated").
      const read = (op.value as unknown[]).map(valueText).sort();
      return read.length === state.length && read.every((t, i) => t === state[i]) ? state : undefined;
    },
    hash: (state) => state.join("\n"),
    equal: () => true, // JSON texts hold no raw newline, so the joined text is canonical
    describe: (state) => `{${state.join(", ")}}`,
  };
}

/**
 * a + b for whole numbers, exactly: a double while the sum lies within ±(2^53 − 1), a bigint
 * beyond (a double would round it, and a count off by one would match a read it should not).
 */
function wholeSum(a: number | bigint, b: number): number | bigint {
  if (typeof a === "number") {
    const sum = a + b;
    if (Number.isSafeInteger(sum)) return sum;
  }
  const big = BigInt(a) + BigInt(b);
  const safe = big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= -BigInt(Number.MAX_SAFE_INTEGER);
  return safe ? Number(big) : big;
}

/** counter: add (or inc, increment) n (default 1); read → the count (a bigint beyond 2^53 − 1). */
export function counterModel(init: unknown = 0): LinearizableModel<number | bigint> {
  if (typeof init !== "number")
    throw new ModelInputError(`the counter model's --init is a number; got ${jsonText(init)}`);
  const delta = (op: ModelOp): number =>
    op.value === null || op.value === undefined ? 1 : (op.value as number);
  return {
    name: "counter",
    init: () => init,
    prepare(op) {
      if (!["add", "inc", "increment", "read"].includes(op.f)) {
        throw new ModelInputError(`the counter model takes add or read operations; got f "${op.f}"`);
      }
      const v = op.value;
      if (op.f !== "read" && v !== null && v !== undefined && typeof v !== "number") {
        throw new ModelInputError(`expected a number to add; got ${jsonText(v)}`);
      }
      // A read of text ("1": a BIGINT as node-postgres answers it) is no count: it was compared as
      // one, and never matched, so a correct history was not linearizable.
      if (op.f === "read" && op.outcome === "ok" && v !== null && v !== undefined && typeof v !== "number") {
        throw new ModelInputError(`expected a counter read to return a number; got ${jsonText(v)}`);
      }
      return op;
    },
    partition: (op) => op.key ?? "",
    readOnly: (op) => op.f === "read",
    step(count, op) {
      if (op.f !== "read") {
        // Decimals add as written (0.1 + 0.2 is 0.3, as in the database), whole numbers exactly.
        const d = delta(op);
        if (Number.isInteger(d) && (typeof count === "bigint" || Number.isInteger(count)))
          return wholeSum(count, d);
        return decimalSum([Number(count), d]);
      }
      return op.outcome === "info" || op.value === count ? count : undefined;
    },
    hash: (count) => (typeof count === "bigint" ? `${count}n` : count),
    equal: (a, b) => a === b,
    describe: (count) => String(count),
  };
}

/** fifo-queue: enqueue v; dequeue → the head (null: the queue was empty). */
export function fifoQueueModel(init: unknown = []): LinearizableModel<Texts> {
  const start = initialTexts("fifo-queue", init);
  return {
    name: "fifo-queue",
    init: () => start,
    prepare(op) {
      if (op.f !== "enqueue" && op.f !== "dequeue") {
        throw new ModelInputError(
          `the fifo-queue model takes enqueue or dequeue operations; got f "${op.f}"`,
        );
      }
      return op;
    },
    partition: (op) => op.key ?? "",
    step(queue, op) {
      if (op.f === "enqueue") return [...queue, valueText(op.value)];
      if (op.outcome === "info") return queue.length === 0 ? undefined : queue.slice(1);
      if (op.value === null || op.value === undefined) return queue.length === 0 ? queue : undefined;
      return queue[0] === valueText(op.value) ? queue.slice(1) : undefined;
    },
    hash: (queue) => queue.join("\n"),
    equal: () => true,
    describe: (queue) => (queue.length === 0 ? "empty" : `[${queue.join(", ")}] (head first)`),
  };
}

export const builtinModelNames = [
  "register",
  "cas-register",
  "multi-register",
  "kv",
  "set",
  "mutex",
  "counter",
  "fifo-queue",
] as const;

/**
 * A built-in model by name, started from `init` (parsed JSON; undefined: the model's default).
 * An unknown name or an `init` the model cannot take is a `ModelInputError`.
 */
export function builtinModel(name: string, init?: unknown): LinearizableModel<unknown> {
  const model = ((): LinearizableModel<never> | undefined => {
    switch (name) {
      case "register":
      case "cas-register":
        return registerModel(name, init === undefined ? null : init) as LinearizableModel<never>;
      case "multi-register":
        return multiRegisterModel(init ?? {}) as LinearizableModel<never>;
      case "kv":
        return kvModel(init ?? "") as LinearizableModel<never>;
      case "set":
        return setModel(init ?? []) as LinearizableModel<never>;
      case "mutex":
        return mutexModel(init ?? false) as LinearizableModel<never>;
      case "counter":
        return counterModel(init ?? 0) as LinearizableModel<never>;
      case "fifo-queue":
        return fifoQueueModel(init ?? []) as LinearizableModel<never>;
      default:
        return undefined;
    }
  })();
  if (model === undefined) {
    throw new ModelInputError(
      `unknown linearizability model "${name}"; expected one of ${builtinModelNames.join(", ")}`,
    );
  }
  return model as LinearizableModel<unknown>;
}
