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
 * Speed comes from integers: model states are interned once (an id per distinct state, found by
 * hash and confirmed by equality), each (state, operation) step is computed once and remembered,
 * and the linearized set is a Uint32Array bitset with an incrementally kept Zobrist hash.
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
  /** Distinct model states met. */
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

/** How many distinct states per operation the explanation remembers. */
export const statesMetPerOpMax = 8;

/** Interns model states: one integer id per distinct state. */
class StateTable<S> {
  readonly states: S[] = [];
  private readonly byText = new Map<string, number>();
  /** Hash → the newest state id with that hash; `older[id]` chains to the previous one (-1: none). */
  private readonly byHash = new Map<string | number, number>();
  /** The same for integer hashes, open addressing: slot → id + 1 (0: empty). */
  private byIntHash = new Int32Array(1024);
  private readonly hashOf: number[] = [];
  private intCount = 0;
  private readonly older: number[] = [];
  private readonly equal: (a: S, b: S) => boolean;

  constructor(private readonly model: LinearizableModel<S>) {
    this.equal = model.equal ?? ((a: S, b: S) => jsonText(a) === jsonText(b));
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
      this.older.push(newest ?? -1);
    }
    this.states.push(state);
    return id;
  }

  private internIntHash(state: S, h: number, id: number): number {
    let mask = this.byIntHash.length - 1;
    let slot = (Math.imul(h, 0x9e3779b1) >>> 7) & mask;
    for (; this.byIntHash[slot] !== 0; slot = (slot + 1) & mask) {
      const other = this.byIntHash[slot]! - 1;
      if (this.hashOf[other] === h && this.equal(this.states[other]!, state)) return other;
    }
    this.states.push(state);
    this.hashOf[id] = h;
    this.byIntHash[slot] = id + 1;
    if (++this.intCount * 2 > this.byIntHash.length) {
      const old = this.byIntHash;
      this.byIntHash = new Int32Array(old.length * 2);
      mask = this.byIntHash.length - 1;
      for (const entry of old) {
        if (entry === 0) continue;
        let s2 = (Math.imul(this.hashOf[entry - 1]!, 0x9e3779b1) >>> 7) & mask;
        while (this.byIntHash[s2] !== 0) s2 = (s2 + 1) & mask;
        this.byIntHash[s2] = entry;
      }
    }
    return id;
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

  /** The next state id, -1 if refused, -2 if not yet computed. */
  get(state: number, op: number): number {
    const mask = this.fromState.length - 1;
    for (let slot = StepMemo.slotOf(state, op, mask); ; slot = (slot + 1) & mask) {
      const from = this.fromState[slot]!;
      if (from === -1) return -2;
      if (from === state && this.op[slot] === op) return this.to[slot]!;
    }
  }

  set(state: number, op: number, to: number): void {
    if ((this.count + 1) * 2 > this.fromState.length) this.grow();
    const mask = this.fromState.length - 1;
    let slot = StepMemo.slotOf(state, op, mask);
    while (this.fromState[slot] !== -1) slot = (slot + 1) & mask;
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
  const n = ops.length;
  const table = new StateTable(model);
  const initialState = table.intern(model.init());
  if (n === 0) return { verdict: true, configurations: 0, states: 1 };

  // The entry list: call entry of op i is node 2i, its return entry 2i + 1, the head is 2n.
  const head = 2 * n;
  const next = new Int32Array(2 * n + 1).fill(-1);
  const prev = new Int32Array(2 * n + 1).fill(-1);
  const completed = new Uint8Array(n);
  const order: number[] = [];
  const positionOf = (node: number): number => {
    const t = ops[node >> 1]!;
    return node & 1 ? t.returnAt! : t.callAt;
  };
  let completedCount = 0;
  for (let i = 0; i < n; i++) {
    order.push(2 * i);
    if (ops[i]!.returnAt !== undefined) {
      completed[i] = 1;
      completedCount++;
      order.push(2 * i + 1);
    }
  }
  order.sort((a, b) => positionOf(a) - positionOf(b) || a - b);
  let last = head;
  for (const node of order) {
    next[last] = node;
    prev[node] = last;
    last = node;
  }

  const lift = (i: number): void => {
    const c = 2 * i;
    next[prev[c]!] = next[c]!;
    if (next[c]! >= 0) prev[next[c]!] = prev[c]!;
    if (completed[i]) {
      const r = c + 1;
      next[prev[r]!] = next[r]!;
      if (next[r]! >= 0) prev[next[r]!] = prev[r]!;
    }
  };
  const unlift = (i: number): void => {
    const c = 2 * i;
    if (completed[i]) {
      const r = c + 1;
      next[prev[r]!] = r;
      if (next[r]! >= 0) prev[next[r]!] = r;
    }
    next[prev[c]!] = c;
    if (next[c]! >= 0) prev[next[c]!] = c;
  };

  const steps = new StepMemo(1 << Math.min(20, Math.max(10, 32 - Math.clz32(n * 64))));
  // Remembering steps pays when states repeat (a register's few values); when nearly every step
  // makes a new state (appends), the table costs more than it saves: after a trial of
  // memoTrialLookups, and after each later run of as many, the memo stays on only if at least half
  // of those lookups were hits.
  let memoOn = true;
  let memoLookups = 0;
  let memoHits = 0;
  const stepFrom = (stateId: number, i: number): number => {
    if (!memoOn) {
      const after = model.step(table.states[stateId]!, ops[i]!.op);
      return after === undefined ? -1 : table.intern(after);
    }
    let to = steps.get(stateId, i);
    if (to === -2) {
      const after = model.step(table.states[stateId]!, ops[i]!.op);
      to = after === undefined ? -1 : table.intern(after);
      steps.set(stateId, i, to);
    } else {
      memoHits++;
    }
    if (++memoLookups === memoTrialLookups) {
      if (memoHits * 2 < memoLookups) memoOn = false;
      memoLookups = memoHits = 0;
    }
    return to;
  };

  const words = (n + 31) >>> 5;
  const bits = new Uint32Array(words);
  const codes = zobristCodes(n);
  let bitsHash = 0;
  const cache = new ConfigurationCache(words);

  // readOnly[i]: op i cannot change any state. Linearizing such an op as soon as it is callable
  // and possible loses nothing (moving it earlier changes no state any other op sees), so when
  // that choice fails, its configuration has failed too: no sibling choice is tried.
  const readOnly = new Uint8Array(n);
  if (model.readOnly !== undefined)
    for (let i = 0; i < n; i++) readOnly[i] = model.readOnly(ops[i]!.op) ? 1 : 0;

  const stackOp = new Int32Array(n);
  const stackState = new Int32Array(n);
  /** stackForced[d]: the choice at depth d was a read-only op, taken as the only choice. */
  const stackForced = new Uint8Array(n);
  let depth = 0;

  let bestDepth = 0;
  let bestPrefix = new Int32Array(0);
  let bestState = initialState;
  const met = new Int32Array(n * statesMetPerOpMax);
  const metCount = new Uint8Array(n);

  const stats = (): SearchStats => ({ configurations: cache.size, states: table.states.length });

  let state = initialState;
  let remaining = completedCount;
  let entry = next[head]!;

  /** Undoes choices until one with untried siblings; false when none is left (not linearizable). */
  const backtrack = (): boolean => {
    while (depth > 0) {
      depth--;
      const j = stackOp[depth]!;
      state = stackState[depth]!;
      bits[j >>> 5]! &= ~(1 << (j & 31));
      bitsHash = (bitsHash ^ codes[j]!) >>> 0;
      unlift(j);
      if (completed[j]) remaining++;
      if (!stackForced[depth]) {
        entry = next[2 * j]!;
        return true;
      }
    }
    return false;
  };

  const violation = (): SearchOutcome<S> => {
    // The operation the longest prefix could not get past: the first to complete of those not in it.
    const inPrefix = new Uint8Array(n);
    for (const i of bestPrefix) inPrefix[i] = 1;
    let blocked = -1;
    for (let i = 0; i < n; i++) {
      if (completed[i] && !inPrefix[i] && (blocked < 0 || ops[i]!.returnAt! < ops[blocked]!.returnAt!))
        blocked = i;
    }
    const statesMet: S[] = [];
    for (let k = 0; k < metCount[blocked]!; k++)
      statesMet.push(table.states[met[blocked * statesMetPerOpMax + k]!]!);
    if (statesMet.length === 0) statesMet.push(table.states[bestState]!);
    return {
      verdict: false,
      prefix: Array.from(bestPrefix),
      prefixState: table.states[bestState]!,
      blocked,
      statesMet,
      ...stats(),
    };
  };

  // The first look pays when read-only ops are often possible (a register's reads); when they
  // seldom are, it costs a scan per configuration: after passTrialCount looks, it stays on only if
  // at least a quarter of them found one.
  let hasReadOnly = readOnly.includes(1);
  let passes = 0;
  let passHits = 0;
  /** A configuration just entered: first look for a read-only op it can take (see readOnly). */
  let fresh = hasReadOnly;
  let bytesCounted = 0;
  /** Gives the meter back this search's bytes: its tables are garbage once it has answered. */
  const finish = (outcome: SearchOutcome<S>): SearchOutcome<S> => {
    memory.bytes -= bytesCounted;
    bytesCounted = 0;
    return outcome;
  };
  let iterations = 0;
  while (remaining > 0) {
    if (entry < 0)
      throw new Error("linearizable search: ran off the entry list with completed operations left (a bug)");
    // Counted 64 iterations at a time: one step is one iteration.
    if ((++iterations & 63) === 0) {
      const exhausted = budget.exhausted(64);
      if (exhausted !== undefined) return finish({ verdict: "unknown", reason: exhausted, ...stats() });
      if ((iterations & (searchSliceIterations - 1)) === 0) yield;
    }
    if (fresh) {
      fresh = false;
      let read = -1;
      for (let e = next[head]!; e >= 0 && (e & 1) === 0; e = next[e]!) {
        if (readOnly[e >> 1] === 1 && stepFrom(state, e >> 1) === state) {
          read = e;
          break;
        }
      }
      if (read >= 0) {
        entry = read;
        passHits++;
      }
      if (++passes === passTrialCount && passHits * 4 < passes) hasReadOnly = false;
    }
    if ((entry & 1) === 0) {
      // A call entry: try to linearize this operation next.
      const i = entry >> 1;
      const to = stepFrom(state, i);
      if (to >= 0) {
        const forced = readOnly[i] === 1 && to === state;
        const word = i >>> 5;
        const bit = 1 << (i & 31);
        bits[word]! |= bit;
        const hashWith = (bitsHash ^ codes[i]!) >>> 0;
        if (cache.add(hashWith, to, bits)) {
          const bytes = cache.bytes + steps.bytes;
          if (bytes !== bytesCounted) {
            memory.bytes += bytes - bytesCounted;
            bytesCounted = bytes;
            if (memory.bytes > memory.limitBytes) {
              return finish({
                verdict: "unknown",
                reason: `memory budget of ${Math.round(memory.limitBytes / 2 ** 20)} MiB exhausted by the configuration caches`,
                ...stats(),
              });
            }
          }
          bitsHash = hashWith;
          stackOp[depth] = i;
          stackState[depth] = state;
          stackForced[depth] = forced ? 1 : 0;
          depth++;
          state = to;
          lift(i);
          if (completed[i]) remaining--;
          if (depth > bestDepth) {
            bestDepth = depth;
            bestPrefix = stackOp.slice(0, depth);
            bestState = state;
          }
          entry = next[head]!;
          fresh = hasReadOnly;
          continue;
        }
        bits[word]! &= ~bit;
        if (forced) {
          // The read-only choice was explored before and failed: so has this configuration.
          if (!backtrack()) return finish(violation());
          continue;
        }
      }
      entry = next[entry]!;
    } else {
      // A return entry: its operation should have taken effect by now and could not.
      const i = entry >> 1;
      const count = metCount[i]!;
      if (count < statesMetPerOpMax) {
        let seen = false;
        for (let k = 0; k < count; k++) if (met[i * statesMetPerOpMax + k] === state) seen = true;
        if (!seen) {
          met[i * statesMetPerOpMax + count] = state;
          metCount[i] = count + 1;
        }
      }
      if (!backtrack()) return finish(violation());
    }
  }
  return finish({ verdict: true, ...stats() });
}
