/**
 * The Wing–Gong search with Lowe's memoisation, on one independent part of a history.
 *
 * Operations become entries of a doubly linked list in history order: a call entry where each was
 * invoked and a return entry where it completed (none for an operation whose outcome is unknown:
 * it may take effect any time after its call, or never). The search walks the list from the
 * front. At a call entry it tries to linearize that operation next: if the model accepts it from
 * the current state and the resulting configuration (operations linearized, state) is new, it
 * lifts the operation's two entries out of the list, pushes it on a stack and starts again from
 * the front. Reaching a return entry means that operation had to take effect by now and cannot:
 * the search backtracks, popping the last operation, putting its entries back, and trying the
 * call after it. The history is linearizable once every completed operation is linearized, and is
 * not once the search must backtrack with an empty stack. This is Porcupine's checker.go loop;
 * the configuration cache (cache.ts) is Lowe's improvement.
 *
 * One pruning beyond Porcupine's: an operation that cannot change the state (a read) is
 * linearized as soon as it is possible, and that choice is never undone in favour of a sibling
 * (moving such an operation earlier cannot hurt any other), so a failure below it fails its
 * configuration too.
 *
 * Speed comes from integers: model states are numbered (an id per distinct state, found by hash
 * and confirmed by equality, while a memo of steps pays; a new id per new state without a lookup
 * when states seldom repeat), each (state, operation) step is computed once and remembered while
 * that pays, and the linearized set is a Uint32Array bitset with an incrementally kept Zobrist
 * hash.
 *
 * For an explanation when the answer is no, the search keeps the deepest configuration it
 * reached (the longest linearizable prefix), the operation whose return entry stopped it there,
 * and for every operation the states in which the search met its return entry unplaced.
 */
import type { Budget } from "../../harness/budget.ts";
import { ConfigurationCache, zobristCodes } from "./cache.ts";
import type { LinearizableModel, ModelOp } from "./model.ts";
import { jsonText } from "./model.ts";

/** One operation of a part, placed in time by its positions in the history. */
export interface TimedOp {
  readonly op: ModelOp;
  /** Position of the invocation in the history. */
  readonly callAt: number;
  /** Position of the completion; undefined when the outcome is unknown (info, or never completed). */
  readonly returnAt: number | undefined;
}

interface SearchStats {
  /** Distinct configurations explored (entries of the cache). */
  readonly configurations: number;
  /**
   * Model states numbered: the distinct states met while steps are memoised; once states seldom
   * repeat and the memo is off, each new state is counted without a lookup (see StateTable).
   */
  readonly states: number;
}

export type SearchOutcome<S> =
  | ({ readonly verdict: true } & SearchStats)
  | ({
      readonly verdict: false;
      /** Positions (in the part's ops) of the longest linearizable prefix found, in order. */
      readonly prefix: readonly number[];
      /** The state after that prefix. */
      readonly prefixState: S;
      /** The operation whose completion the longest prefix could not get past. */
      readonly blocked: number;
      /** States in which the search met the blocked operation's completion with it unplaced. */
      readonly statesMet: readonly S[];
    } & SearchStats)
  | ({ readonly verdict: "unknown"; readonly reason: string } & SearchStats);

/** Step lookups after which the step memo decides whether it is worth keeping. */
const memoTrialLookups = 4096;

/** First looks for a read-only op after which the search decides whether to keep looking first. */
const passTrialCount = 1024;

/**
 * How `Search.run` stopped. Plain numbers, not an enum: TypeScript keeps an enum (even a const
 * one, under isolatedModules) as an object, and each way out of the loop would then read a
 * property the optimised loop has not seen read before.
 */
type Ended = 0 | 1 | 2 | 3 | 4;
const endedSlice = 0;
const endedLinearizable = 1;
const endedViolation = 2;
const endedBudget = 3;
const endedMemory = 4;

/** How many distinct states per operation the explanation remembers. */
export const statesMetPerOpMax = 8;

/**
 * Model states by integer id. `intern` gives equal states one id (the step memo needs that);
 * `fresh` gives a state a new id without looking it up, for searches whose states seldom repeat
 * (a kv history's appends), where the lookup would cost more than it finds. Either way `keyOf(id)`
 * is equal for equal states (the model's integer hash, or the interned id), and `same` tells two
 * ids of equal states: the configuration cache hashes the key and confirms with `same`.
 */
class StateTable<S> {
  readonly states: S[];
  private readonly byText = new Map<string, number>();
  /** Hash → the newest state id with that hash; `older[id]` chains to the previous one (-1: none). */
  private readonly byHash = new Map<string | number, number>();
  /** The same for integer hashes, open addressing: slot → id + 1 (0: empty). */
  private byIntHash = new Int32Array(1024);
  /** keys[id]: the state's integer hash, or for a state without one, its (interned) id. */
  private keys = new Int32Array(1024);
  private intCount = 0;
  private readonly older: number[] = [];
  private readonly equal: (a: S, b: S) => boolean;

  /** A table whose state 0 is `initial`. */
  constructor(
    private readonly model: LinearizableModel<S>,
    initial: S,
  ) {
    this.equal = model.equal ?? ((a: S, b: S) => jsonText(a) === jsonText(b));
    // Made holding a state and emptied, so that the array has the kind of element it holds (V8's
    // elements kind) before its first push: made empty, it is an array of small integers until
    // then, the pushes in intern's optimised code learnt both kinds, and the next part's table,
    // empty again, threw that code away at its first push ("not a Smi": kv c50-ok, once a check).
    this.states = [initial];
    this.states.pop();
    this.intern(initial);
  }

  /** Equal for equal states. */
  keyOf(id: number): number {
    return this.keys[id]!;
  }

  /** Whether ids a and b are equal states. */
  same(a: number, b: number): boolean {
    return a === b || (this.keys[a] === this.keys[b] && this.equal(this.states[a]!, this.states[b]!));
  }

  intern(state: S): number {
    const model = this.model;
    const id = this.states.length;
    if (model.hash === undefined) {
      const text = jsonText(state);
      const known = this.byText.get(text);
      if (known !== undefined) return known;
      this.byText.set(text, id);
    } else {
      const h = model.hash(state);
      if (typeof h === "number" && (h | 0) === h) return this.internIntHash(state, h, id);
      const newest = this.byHash.get(h);
      for (let other = newest ?? -1; other >= 0; other = this.older[other]!) {
        if (this.equal(this.states[other]!, state)) return other;
      }
      this.byHash.set(h, id);
      this.older[id] = newest ?? -1;
    }
    return this.push(state, id);
  }

  /**
   * The id of `state`, the result of a step from state `from`: `from` itself when the step left
   * the state equal, else a new id, not looked up (states with an integer hash; others are
   * interned).
   */
  fresh(state: S, from: number): number {
    this.lastFresh = -1;
    const current = this.states[from]!;
    if (state === current) return from;
    const h = this.model.hash?.(state);
    if (typeof h !== "number" || (h | 0) !== h) return this.intern(state);
    if (h === this.keys[from] && this.equal(current, state)) return from;
    this.states.push(state);
    this.lastFresh = this.states.length - 1;
    return this.setKey(this.lastFresh, h);
  }

  /** The state `fresh` made in its last call (-1: it made none, or it was dropped). */
  private lastFresh = -1;

  /**
   * Forgets state `id` if `fresh` has just made it (no lookup table holds it): a state whose
   * configuration was met before is not needed, and a search that meets many keeps only those it
   * uses.
   */
  dropFresh(id: number): void {
    if (id !== this.lastFresh || id !== this.states.length - 1) return;
    this.states.pop();
    this.lastFresh = -1;
  }

  private push(state: S, id: number): number {
    this.states.push(state);
    return this.setKey(id, id);
  }

  private setKey(id: number, key: number): number {
    if (id >= this.keys.length) {
      const keys = new Int32Array(this.keys.length * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    this.keys[id] = key;
    return id;
  }

  private internIntHash(state: S, h: number, id: number): number {
    const { byIntHash, keys, states } = this;
    const mask = byIntHash.length - 1;
    let slot = (Math.imul(h, 0x9e3779b1) >>> 7) & mask;
    for (let entry = byIntHash[slot]!; entry !== 0; entry = byIntHash[slot]!) {
      if (keys[entry - 1] === h && this.equal(states[entry - 1]!, state)) return entry - 1;
      slot = (slot + 1) & mask;
    }
    states.push(state);
    this.setKey(id, h);
    byIntHash[slot] = id + 1;
    if (++this.intCount * 2 > byIntHash.length) this.rehashInt();
    return id;
  }

  private rehashInt(): void {
    const old = this.byIntHash;
    const byIntHash = new Int32Array(old.length * 2);
    const mask = byIntHash.length - 1;
    const keys = this.keys;
    for (let s = 0; s < old.length; s++) {
      const entry = old[s]!;
      if (entry === 0) continue;
      let slot = (Math.imul(keys[entry - 1]!, 0x9e3779b1) >>> 7) & mask;
      while (byIntHash[slot] !== 0) slot = (slot + 1) & mask;
      byIntHash[slot] = entry;
    }
    this.byIntHash = byIntHash;
  }
}

/**
 * Each (state, operation) step computed once: an open-addressing table over typed arrays from
 * (state id, op) to the next state id, or -1 when the model refuses the step.
 */
class StepMemo {
  private fromState: Int32Array;
  private op: Int32Array;
  private to: Int32Array;
  private count = 0;
  bytes = 0;

  constructor(slotCount = 1024) {
    this.fromState = new Int32Array(slotCount).fill(-1);
    this.op = new Int32Array(slotCount);
    this.to = new Int32Array(slotCount);
    this.bytes = slotCount * 12;
  }

  private static slotOf(state: number, op: number, mask: number): number {
    let h = Math.imul(state, 0x9e3779b1) ^ Math.imul(op + 0x632be5ab, 0x85ebca6b);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return (h ^ (h >>> 12)) & mask;
  }

  /**
   * The next state id, -1 if refused, -2 if not yet computed. The probe starts a slot before the
   * home slot and moves first, so that the move runs on every lookup: run only on a collision, it
   * had no type feedback when the search loop was compiled if the history's first collision came
   * after, and that collision threw the compiled loop away (seen in etcd's logs).
   */
  get(state: number, op: number): number {
    const mask = this.fromState.length - 1;
    for (let slot = StepMemo.slotOf(state, op, mask) - 1; ;) {
      slot = (slot + 1) & mask;
      const from = this.fromState[slot]!;
      if (from === -1) return -2;
      if (from === state && this.op[slot] === op) return this.to[slot]!;
    }
  }

  set(state: number, op: number, to: number): void {
    if ((this.count + 1) * 2 > this.fromState.length) this.grow();
    const mask = this.fromState.length - 1;
    let slot = StepMemo.slotOf(state, op, mask) - 1;
    do slot = (slot + 1) & mask;
    while (this.fromState[slot] !== -1);
    this.fromState[slot] = state;
    this.op[slot] = op;
    this.to[slot] = to;
    this.count++;
  }

  private grow(): void {
    const { fromState, op, to } = this;
    const slotCount = fromState.length * 2;
    this.fromState = new Int32Array(slotCount).fill(-1);
    this.op = new Int32Array(slotCount);
    this.to = new Int32Array(slotCount);
    this.bytes = slotCount * 12;
    this.count = 0;
    const mask = slotCount - 1;
    for (let old = 0; old < fromState.length; old++) {
      const from = fromState[old]!;
      if (from === -1) continue;
      let slot = StepMemo.slotOf(from, op[old]!, mask);
      while (this.fromState[slot] !== -1) slot = (slot + 1) & mask;
      this.fromState[slot] = from;
      this.op[slot] = op[old]!;
      this.to[slot] = to[old]!;
      this.count++;
    }
  }
}

/**
 * Typed-array memory held by searches, outside the heap the budget measures: the searches of one
 * history share one meter, so that together they stay within `limitBytes`.
 */
export class ExternalMemoryMeter {
  bytes = 0;
  constructor(readonly limitBytes = Infinity) {}
}

/** Iterations between two yields of a resumable search. */
export const searchSliceIterations = 1 << 14;

/**
 * Iterations of one call of the search's loop (`Search.run`), a divisor of a slice. A fresh
 * process's first search runs unoptimised until V8 compiles the loop; returned to this often, the
 * loop is compiled once, as a whole function on a later call, instead of being replaced while it
 * runs (on-stack replacement), which the first search's later phases (its first dead end, its
 * first configuration met twice) threw away and compiled again. kv c50-ok whole process: CPU
 * 0.97x; etcd x102 0.96x. The iterations, the slices and so every outcome are the same.
 */
const runChunkIterations = 1 << 10;

/** Decides whether `ops` (one part) are linearizable under `model`, in one go. */
export function searchLinearization<S>(
  model: LinearizableModel<S>,
  ops: readonly TimedOp[],
  budget: Budget,
  memory = new ExternalMemoryMeter(),
): SearchOutcome<S> {
  const search = linearizationSearch(model, ops, budget, memory);
  for (let r = search.next(); ; r = search.next()) if (r.done === true) return r.value;
}

/**
 * The search, resumable: it yields every `searchSliceIterations` iterations, so that a caller can
 * interleave the searches of several parts (a violation in a cheap part then answers the history
 * without waiting for an expensive one) and returns the outcome.
 */
export function* linearizationSearch<S>(
  model: LinearizableModel<S>,
  ops: readonly TimedOp[],
  budget: Budget,
  memory: ExternalMemoryMeter,
): Generator<undefined, SearchOutcome<S>, undefined> {
  if (ops.length === 0) {
    new StateTable(model, model.init());
    return { verdict: true, configurations: 0, states: 1 };
  }
  const search = new Search(model, ops, budget, memory);
  while (true) {
    const outcome = search.runSlice();
    if (outcome !== undefined) return outcome;
    yield;
  }
}

/**
 * The search's state and its loop. The loop lives in a plain method (not in the generator above),
 * so that V8 can optimise it while it runs, and in small methods, so that optimising it is cheap:
 * a short check pays for its compilation too.
 *
 * Configurations are keyed compactly (see cache.ts). Operations are numbered in call order; for
 * the set L of operations linearized so far, `low` is the first completed operation not in L
 * (every completed operation before it is in L) and `high` the last operation in L (every one
 * after it is not). The key is: low, high, the bits of the operations of unknown outcome (info)
 * before `low`, by their rank among those (they may stay out of L for ever), and the words of L's
 * bitset from low to high. It names L exactly, and its size follows the history's concurrency and
 * its open info operations, not its length.
 */
class Search<S> {
  private readonly n: number;
  private readonly table: StateTable<S>;
  private readonly initialState: number;
  /** The entry list: call entry of op i is node 2i, its return entry 2i + 1, the head is 2n. */
  private readonly head: number;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly completed: Uint8Array;
  private readonly steps: StepMemo;
  // Remembering steps pays when states repeat (a register's few values); when nearly every step
  // makes a new state (appends), the table costs more than it saves: after a trial of
  // memoTrialLookups, and after each later run of as many, the memo stays on only if at least half
  // of those lookups were hits.
  private memoOn = true;
  private memoLookups = 0;
  private memoHits = 0;

  private readonly bits: Uint32Array;
  private readonly codes: Uint32Array;
  private bitsHash = 0;
  private readonly cache: ConfigurationCache;
  /** Rank of each op among the ops of unknown outcome (-1 for a completed op). */
  private readonly infoRank: Int32Array;
  /** Bits of the info ops in L, by rank. */
  private readonly infoBits: Uint32Array;
  private low = 0;
  private high = -1;
  /** Info ops before `low`. */
  private infoBelow = 0;

  // readOnly[i]: op i cannot change any state. Linearizing such an op as soon as it is callable
  // and possible loses nothing (moving it earlier changes no state any other op sees), so when
  // that choice fails, its configuration has failed too: no sibling choice is tried.
  private readonly readOnly: Uint8Array;

  private readonly stackOp: Int32Array;
  private readonly stackState: Int32Array;
  /** stackForced[d]: the choice at depth d was a read-only op, taken as the only choice. */
  private readonly stackForced: Uint8Array;
  /** low, high and infoBelow before the choice at depth d. */
  private readonly stackLow: Int32Array;
  private readonly stackHigh: Int32Array;
  private readonly stackInfoBelow: Int32Array;
  private depth = 0;

  /** The deepest configuration reached: its depth, state, and its ops (see `bestOnStack`). */
  private bestDepth = 0;
  private bestPrefix = new Int32Array(0);
  /** True while the stack still holds the deepest prefix (it is copied only when popped). */
  private bestOnStack = false;
  private bestState: number;
  private readonly met: Int32Array;
  private readonly metCount: Uint8Array;

  private state: number;
  private remaining = 0;
  private entry: number;

  // The first look pays when read-only ops are often possible (a register's reads); when they
  // seldom are, it costs a scan per configuration: after passTrialCount looks, it stays on only if
  // at least a quarter of them found one.
  private hasReadOnly: boolean;
  private passes = 0;
  private passHits = 0;
  /** A configuration just entered: first look for a read-only op it can take (see readOnly). */
  private fresh: boolean;
  private bytesCounted = 0;
  private iterations = 0;

  constructor(
    private readonly model: LinearizableModel<S>,
    private readonly ops: readonly TimedOp[],
    private readonly budget: Budget,
    private readonly memory: ExternalMemoryMeter,
  ) {
    const n = ops.length;
    this.n = n;
    this.table = new StateTable(model, model.init());
    this.initialState = 0; // the table's first state
    this.cache = new ConfigurationCache(this.table);
    this.head = 2 * n;
    this.next = new Int32Array(2 * n + 1).fill(-1);
    this.prev = new Int32Array(2 * n + 1).fill(-1);
    this.completed = new Uint8Array(n);
    this.infoRank = new Int32Array(n).fill(-1);
    let infoCount = 0;
    for (let i = 0; i < n; i++) {
      if (ops[i]!.returnAt !== undefined) {
        this.completed[i] = 1;
        this.remaining++;
      } else {
        this.infoRank[i] = infoCount++;
      }
    }
    this.linkEntries();
    this.steps = new StepMemo(1 << Math.min(20, Math.max(10, 32 - Math.clz32(n * 64))));
    this.bits = new Uint32Array((n + 31) >>> 5);
    this.codes = zobristCodes(n);
    this.infoBits = new Uint32Array((infoCount + 31) >>> 5);
    this.readOnly = new Uint8Array(n);
    if (model.readOnly !== undefined)
      for (let i = 0; i < n; i++) this.readOnly[i] = model.readOnly(ops[i]!.op) ? 1 : 0;
    this.stackOp = new Int32Array(n);
    this.stackState = new Int32Array(n);
    this.stackForced = new Uint8Array(n);
    this.stackLow = new Int32Array(n);
    this.stackHigh = new Int32Array(n);
    this.stackInfoBelow = new Int32Array(n);
    this.met = new Int32Array(n * statesMetPerOpMax);
    this.metCount = new Uint8Array(n);
    this.bestState = this.initialState;
    this.state = this.initialState;
    this.advanceLow();
    this.entry = this.next[this.head]!;
    this.hasReadOnly = this.readOnly.includes(1);
    this.fresh = this.hasReadOnly;
  }

  /** Links the entries in history order (positions are distinct history indices, so a sort by them is total). */
  private linkEntries(): void {
    const { ops, n, next, prev, head } = this;
    const positionOf = (node: number): number => {
      const t = ops[node >> 1]!;
      return node & 1 ? t.returnAt! : t.callAt;
    };
    // Sort (position, node) pairs as one number each: position * (2n + 1) + node.
    const nodes = 2 * n + 1;
    const keys: number[] = [];
    for (let i = 0; i < n; i++) {
      keys.push(positionOf(2 * i) * nodes + 2 * i);
      if (this.completed[i]) keys.push(positionOf(2 * i + 1) * nodes + 2 * i + 1);
    }
    const sorted = Float64Array.from(keys).sort();
    let last = head;
    for (const key of sorted) {
      const node = key % nodes;
      next[last] = node;
      prev[node] = last;
      last = node;
    }
  }

  private lift(i: number): void {
    const { next, prev } = this;
    const c = 2 * i;
    next[prev[c]!] = next[c]!;
    if (next[c]! >= 0) prev[next[c]!] = prev[c]!;
    if (this.completed[i]) {
      const r = c + 1;
      next[prev[r]!] = next[r]!;
      if (next[r]! >= 0) prev[next[r]!] = prev[r]!;
    }
  }

  private unlift(i: number): void {
    const { next, prev } = this;
    const c = 2 * i;
    if (this.completed[i]) {
      const r = c + 1;
      next[prev[r]!] = r;
      if (next[r]! >= 0) prev[next[r]!] = r;
    }
    next[prev[c]!] = c;
    if (next[c]! >= 0) prev[next[c]!] = c;
  }

  /** Moves `low` past every op in L and every info op (counting those in `infoBelow`). */
  private advanceLow(): void {
    const { n, bits, completed } = this;
    let low = this.low;
    while (low < n && (!completed[low] || (bits[low >>> 5]! & (1 << (low & 31))) !== 0)) {
      if (!completed[low]) this.infoBelow++;
      low++;
    }
    this.low = low;
  }

  private stepFrom(stateId: number, i: number): number {
    if (!this.memoOn) {
      const after = this.model.step(this.table.states[stateId]!, this.ops[i]!.op);
      return after === undefined ? -1 : this.table.fresh(after, stateId);
    }
    let to = this.steps.get(stateId, i);
    if (to === -2) {
      const after = this.model.step(this.table.states[stateId]!, this.ops[i]!.op);
      to = after === undefined ? -1 : this.table.intern(after);
      this.steps.set(stateId, i, to);
    } else {
      this.memoHits++;
    }
    if (++this.memoLookups === memoTrialLookups) {
      if (this.memoHits * 2 < this.memoLookups) this.memoOn = false;
      this.memoLookups = this.memoHits = 0;
    }
    return to;
  }

  /** Adds op i to L (its bit, hash, low and high); `remember` records the key of the result. */
  private addToCache(i: number, to: number): boolean {
    // The key of L ∪ {i}, built without changing anything yet.
    const high = i > this.high ? i : this.high;
    let low = this.low;
    let infoBelow = this.infoBelow;
    const { bits, completed, n } = this;
    bits[i >>> 5]! |= 1 << (i & 31);
    if (this.infoRank[i]! >= 0) this.infoBits[this.infoRank[i]! >>> 5]! |= 1 << (this.infoRank[i]! & 31);
    if (i === low) {
      while (low < n && (!completed[low] || (bits[low >>> 5]! & (1 << (low & 31))) !== 0)) {
        if (!completed[low]) infoBelow++;
        low++;
      }
    }
    const infoWords = (infoBelow + 31) >>> 5;
    const firstWord = low >>> 5;
    const windowWords = high >= low ? (high >>> 5) - firstWord + 1 : 0;
    const length = 2 + infoWords + windowWords;
    const cache = this.cache;
    const key = cache.keySpace(length);
    const at = cache.keyAt;
    key[at] = low;
    key[at + 1] = high + 1;
    const infoBits = this.infoBits;
    for (let w = 0; w < infoWords; w++) key[at + 2 + w] = infoBits[w]!;
    const windowAt = at + 2 + infoWords;
    for (let w = 0; w < windowWords; w++) key[windowAt + w] = bits[firstWord + w]!;
    const hashWith = (this.bitsHash ^ this.codes[i]!) >>> 0;
    if (!cache.add(hashWith, this.table.keyOf(to), to, length)) {
      this.clearBit(i);
      return false;
    }
    this.stackLow[this.depth] = this.low;
    this.stackHigh[this.depth] = this.high;
    this.stackInfoBelow[this.depth] = this.infoBelow;
    this.low = low;
    this.high = high;
    this.infoBelow = infoBelow;
    this.bitsHash = hashWith;
    return true;
  }

  private clearBit(j: number): void {
    this.bits[j >>> 5]! &= ~(1 << (j & 31));
    const rank = this.infoRank[j]!;
    if (rank >= 0) this.infoBits[rank >>> 5]! &= ~(1 << (rank & 31));
  }

  /** Counts the caches' bytes against the shared meter; false when the meter is past its limit. */
  private meterMemory(): boolean {
    const bytes = this.cache.bytes + this.steps.bytes;
    if (bytes !== this.bytesCounted) {
      this.memory.bytes += bytes - this.bytesCounted;
      this.bytesCounted = bytes;
      if (this.memory.bytes > this.memory.limitBytes) return false;
    }
    return true;
  }

  /** Undoes choices until one with untried siblings; false when none is left (not linearizable). */
  private backtrack(): boolean {
    while (this.depth > 0) {
      if (this.depth === this.bestDepth && this.bestOnStack) {
        this.bestPrefix = this.stackOp.slice(0, this.bestDepth);
        this.bestOnStack = false;
      }
      const depth = --this.depth;
      const j = this.stackOp[depth]!;
      this.state = this.stackState[depth]!;
      this.clearBit(j);
      this.bitsHash = (this.bitsHash ^ this.codes[j]!) >>> 0;
      this.low = this.stackLow[depth]!;
      this.high = this.stackHigh[depth]!;
      this.infoBelow = this.stackInfoBelow[depth]!;
      this.unlift(j);
      if (this.completed[j]) this.remaining++;
      if (!this.stackForced[depth]) {
        this.entry = this.next[2 * j]!;
        return true;
      }
    }
    return false;
  }

  private stats(): SearchStats {
    return { configurations: this.cache.size, states: this.table.states.length };
  }

  private finish(outcome: SearchOutcome<S>): SearchOutcome<S> {
    // Gives the meter back this search's bytes: its tables are garbage once it has answered.
    this.memory.bytes -= this.bytesCounted;
    this.bytesCounted = 0;
    return outcome;
  }

  private violation(): SearchOutcome<S> {
    const { n, ops, completed, table } = this;
    if (this.bestOnStack) this.bestPrefix = this.stackOp.slice(0, this.bestDepth);
    // The operation the longest prefix could not get past: the first to complete of those not in it.
    const inPrefix = new Uint8Array(n);
    for (const i of this.bestPrefix) inPrefix[i] = 1;
    let blocked = -1;
    for (let i = 0; i < n; i++) {
      if (completed[i] && !inPrefix[i] && (blocked < 0 || ops[i]!.returnAt! < ops[blocked]!.returnAt!))
        blocked = i;
    }
    const statesMet: S[] = [];
    for (let k = 0; k < this.metCount[blocked]!; k++)
      statesMet.push(table.states[this.met[blocked * statesMetPerOpMax + k]!]!);
    if (statesMet.length === 0) statesMet.push(table.states[this.bestState]!);
    return this.finish({
      verdict: false,
      prefix: Array.from(this.bestPrefix),
      prefixState: table.states[this.bestState]!,
      blocked,
      statesMet,
      ...this.stats(),
    });
  }

  /** A read-only op callable now that leaves the state as it is (the entry of its call), or -1. */
  private firstPossibleRead(): number {
    const { next, readOnly, state } = this;
    for (let e = next[this.head]!; e >= 0 && (e & 1) === 0; e = next[e]!) {
      if (readOnly[e >> 1] === 1 && this.stepFrom(state, e >> 1) === state) return e;
    }
    return -1;
  }

  /** A return entry: its operation should have taken effect by now and could not. */
  private remember(i: number): void {
    const count = this.metCount[i]!;
    if (count >= statesMetPerOpMax) return;
    const base = i * statesMetPerOpMax;
    for (let k = 0; k < count; k++) if (this.table.same(this.met[base + k]!, this.state)) return;
    this.met[base + count] = this.state;
    this.metCount[i] = count + 1;
  }

  /** Linearizes op i into state `to` (its configuration is already in the cache). */
  private push(i: number, to: number, forced: boolean): void {
    const depth = this.depth;
    this.stackOp[depth] = i;
    this.stackState[depth] = this.state;
    this.stackForced[depth] = forced ? 1 : 0;
    this.depth = depth + 1;
    this.state = to;
    this.lift(i);
    if (this.completed[i]) this.remaining--;
    if (this.depth > this.bestDepth) {
      this.bestDepth = this.depth;
      this.bestOnStack = true;
      this.bestState = to;
    }
    this.entry = this.next[this.head]!;
    this.fresh = this.hasReadOnly;
  }

  /** Runs up to `searchSliceIterations` iterations: the outcome once decided, else undefined. */
  runSlice(): SearchOutcome<S> | undefined {
    const sliceEnd = this.iterations + searchSliceIterations;
    let ended: Ended;
    do ended = this.run();
    while (ended === endedSlice && this.iterations < sliceEnd);
    switch (ended) {
      case endedSlice:
        return undefined;
      case endedLinearizable:
        return this.finish({ verdict: true, ...this.stats() });
      case endedViolation:
        return this.violation();
      case endedBudget:
        return this.finish({ verdict: "unknown", reason: this.budget.reason!, ...this.stats() });
      case endedMemory:
        return this.finish({
          verdict: "unknown",
          reason: `memory budget of ${Math.round(this.memory.limitBytes / 2 ** 20)} MiB exhausted by the configuration caches`,
          ...this.stats(),
        });
    }
  }

  /**
   * The loop itself, `runChunkIterations` iterations at a time (`runSlice` calls it until its
   * slice is done). It answers with a number only: every way out is then as cheap for the
   * optimising compiler as the loop (building an outcome here, on a path first taken when a part
   * ends, would throw away the loop's optimised code at the end of the first part).
   */
  private run(): Ended {
    const sliceEnd = this.iterations + runChunkIterations;
    while (this.remaining > 0) {
      if (this.entry < 0)
        throw new Error("linearizable search: ran off the entry list with completed operations left (a bug)");
      // One step is one iteration, counted against the budget 64 at a time.
      if (this.iterations === sliceEnd) return endedSlice;
      if ((++this.iterations & 63) === 0 && this.budget.exhausted(64) !== undefined) return endedBudget;
      if (this.fresh) {
        this.fresh = false;
        const read = this.firstPossibleRead();
        if (read >= 0) {
          this.entry = read;
          this.passHits++;
        }
        // Decided on every look, not only at the trial's end: code first run after the loop was
        // compiled has no type feedback and throws the compiled loop away (seen in etcd's logs).
        const passes = ++this.passes;
        const fewHits = this.passHits * 4 < passes;
        this.hasReadOnly = !(passes === passTrialCount && fewHits);
      }
      const entry = this.entry;
      if ((entry & 1) === 1) {
        this.remember(entry >> 1);
        if (!this.backtrack()) return endedViolation;
        continue;
      }
      // A call entry: try to linearize this operation next.
      const i = entry >> 1;
      const to = this.stepFrom(this.state, i);
      if (to >= 0) {
        const forced = this.readOnly[i] === 1 && to === this.state;
        if (this.addToCache(i, to)) {
          if (!this.meterMemory()) return endedMemory;
          this.push(i, to, forced);
          continue;
        }
        this.table.dropFresh(to);
        if (forced) {
          // The read-only choice was explored before and failed: so has this configuration.
          if (!this.backtrack()) return endedViolation;
          continue;
        }
      }
      this.entry = this.next[entry]!;
    }
    return endedLinearizable;
  }
}
