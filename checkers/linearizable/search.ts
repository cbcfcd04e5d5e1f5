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

/** How many distinct states per operation the explanation remembers. */
export const statesMetPerOpMax = 8;

/** Interns model states: one integer id per distinct state. */
class StateTable<S> {
  readonly states: S[] = [];
  private readonly byText = new Map<string, number>();
  private readonly byHash = new Map<string | number, number[]>();

  constructor(private readonly model: LinearizableModel<S>) {}

  intern(state: S): number {
    const model = this.model;
    if (model.hash === undefined) {
      const text = jsonText(state);
      const known = this.byText.get(text);
      if (known !== undefined) return known;
      this.byText.set(text, this.states.length);
    } else {
      const h = model.hash(state);
      const bucket = this.byHash.get(h);
      if (bucket !== undefined) {
        const equal = model.equal ?? ((a: S, b: S) => jsonText(a) === jsonText(b));
        for (const id of bucket) if (equal(this.states[id]!, state)) return id;
        bucket.push(this.states.length);
      } else {
        this.byHash.set(h, [this.states.length]);
      }
    }
    this.states.push(state);
    return this.states.length - 1;
  }
}

/**
 * Decides whether `ops` (one part) are linearizable under `model`. `memoryLimitBytes` bounds the
 * configuration cache (its typed arrays live outside the heap the budget measures).
 */
export function searchLinearization<S>(
  model: LinearizableModel<S>,
  ops: readonly TimedOp[],
  budget: Budget,
  memoryLimitBytes = Infinity,
): SearchOutcome<S> {
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

  // Each (state, op) step once: key state * n + op → next state id, or -1 when refused.
  const steps = new Map<number, number>();
  const stepFrom = (stateId: number, i: number): number => {
    const key = stateId * n + i;
    let to = steps.get(key);
    if (to === undefined) {
      const after = model.step(table.states[stateId]!, ops[i]!.op);
      to = after === undefined ? -1 : table.intern(after);
      steps.set(key, to);
    }
    return to;
  };

  const words = (n + 31) >>> 5;
  const bits = new Uint32Array(words);
  const codes = zobristCodes(n);
  let bitsHash = 0;
  const cache = new ConfigurationCache(words);

  const stackOp = new Int32Array(n);
  const stackState = new Int32Array(n);
  let depth = 0;

  let bestDepth = -1;
  let bestPrefix = new Int32Array(0);
  let bestState = initialState;
  let blocked = -1;
  const met = new Int32Array(n * statesMetPerOpMax);
  const metCount = new Uint8Array(n);

  const stats = (): SearchStats => ({ configurations: cache.size, states: table.states.length });

  let state = initialState;
  let remaining = completedCount;
  let entry = next[head]!;
  while (remaining > 0) {
    if (entry < 0) throw new Error("linearizable search: ran off the entry list with completed operations left (a bug)");
    const exhausted = budget.exhausted();
    if (exhausted !== undefined) return { verdict: "unknown", reason: exhausted, ...stats() };
    if ((entry & 1) === 0) {
      // A call entry: try to linearize this operation next.
      const i = entry >> 1;
      const to = stepFrom(state, i);
      if (to >= 0) {
        const word = i >>> 5;
        const bit = 1 << (i & 31);
        bits[word]! |= bit;
        const hashWith = (bitsHash ^ codes[i]!) >>> 0;
        if (cache.add(hashWith, to, bits)) {
          if (cache.bytes > memoryLimitBytes) {
            return {
              verdict: "unknown",
              reason: `memory budget of ${Math.round(memoryLimitBytes / 2 ** 20)} MiB exhausted by the configuration cache`,
              ...stats(),
            };
          }
          bitsHash = hashWith;
          stackOp[depth] = i;
          stackState[depth] = state;
          depth++;
          state = to;
          lift(i);
          if (completed[i]) remaining--;
          if (depth > bestDepth) {
            bestDepth = depth;
            bestPrefix = stackOp.slice(0, depth);
            bestState = state;
            blocked = -1;
          }
          entry = next[head]!;
          continue;
        }
        bits[word]! &= ~bit;
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
      if (depth === bestDepth && blocked < 0) blocked = i;
      if (depth === 0) {
        if (bestDepth < 0) {
          bestDepth = 0;
          blocked = i;
        }
        const statesMet: S[] = [];
        for (let k = 0; k < metCount[blocked]!; k++) statesMet.push(table.states[met[blocked * statesMetPerOpMax + k]!]!);
        return {
          verdict: false,
          prefix: Array.from(bestPrefix),
          prefixState: table.states[bestState]!,
          blocked,
          statesMet,
          ...stats(),
        };
      }
      depth--;
      const j = stackOp[depth]!;
      state = stackState[depth]!;
      bits[j >>> 5]! &= ~(1 << (j & 31));
      bitsHash = (bitsHash ^ codes[j]!) >>> 0;
      unlift(j);
      if (completed[j]) remaining++;
      entry = next[2 * j]!;
    }
  }
  return { verdict: true, ...stats() };
}
