/**
 * Small transactional executors that produce list-append histories with known guarantees, for the
 * property tests and the benchmark: concurrent processes invoke random transactions over a rolling
 * set of keys (each key retires after a few dozen appends, as in Elle's generator), and
 *
 * - "serializable": each transaction takes effect atomically at its completion, so the history is
 *   strict-serializable;
 * - "snapshot": each transaction reads a snapshot taken at its invocation and commits at its
 *   completion unless another transaction committed an append to one of its keys since its
 *   snapshot (first committer wins), so the history is strong snapshot isolation; write skew is
 *   allowed and happens.
 *
 * A few transactions fail (no effect) or end in `info` (applied or not, by a coin flip). Randomness
 * comes from the caller, so a seed gives the same history.
 */
import type { MicroOp, Op } from "../../harness/history/op.ts";

export interface RandomSource {
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

export interface SimulationOptions {
  readonly random: RandomSource;
  readonly txnCount: number;
  readonly processCount: number;
  readonly isolation: "serializable" | "snapshot";
  readonly minOps?: number;
  readonly maxOps?: number;
  /** Keys open for appends at any moment. */
  readonly activeKeys?: number;
  /** Appends a key takes before it retires. */
  readonly appendsPerKey?: number;
  /** Out of 1000: how many transactions fail on purpose, and how many end in info. */
  readonly failPerMille?: number;
  readonly infoPerMille?: number;
}

interface Running {
  readonly process: number;
  readonly ops: MicroOp[];
  readonly snapshot: number;
}

interface KeyLog {
  readonly values: number[];
  readonly commitSeq: number[];
  nextValue: number;
}

export function simulateListAppend(options: SimulationOptions): Op[] {
  const { random, txnCount, processCount, isolation } = options;
  const minOps = options.minOps ?? 4;
  const maxOps = options.maxOps ?? 8;
  const activeKeyCount = options.activeKeys ?? 100;
  const appendsPerKey = options.appendsPerKey ?? 32;
  const failPerMille = options.failPerMille ?? 5;
  const infoPerMille = options.infoPerMille ?? 5;
  const logs: KeyLog[] = [];
  const active: number[] = [];
  const appendsPlanned: number[] = [];
  for (let i = 0; i < activeKeyCount; i++) {
    active.push(logs.length);
    logs.push({ values: [], commitSeq: [], nextValue: 1 });
    appendsPlanned.push(0);
  }
  let commitSeq = 0;
  const history: Op[] = [];
  const running: (Running | undefined)[] = new Array(processCount).fill(undefined);
  const processIds = Array.from({ length: processCount }, (_, i) => i);
  let started = 0;
  let open = 0;

  const emit = (process: number, type: Op["type"], value: unknown): void => {
    history.push({ index: history.length, time: history.length * 1000, process, type, f: "txn", value });
  };
  const readAt = (key: number, snapshot: number): number[] => {
    const log = logs[key]!;
    let n = log.values.length;
    while (n > 0 && log.commitSeq[n - 1]! > snapshot) n--;
    return log.values.slice(0, n);
  };

  while (started < txnCount || open > 0) {
    const slot = random.int(processCount);
    const txn = running[slot];
    if (txn === undefined) {
      if (started >= txnCount) continue;
      started++;
      open++;
      const count = minOps + random.int(maxOps - minOps + 1);
      const ops: MicroOp[] = [];
      for (let i = 0; i < count; i++) {
        const at = random.int(active.length);
        const key = active[at]!;
        if (random.int(2) === 0) {
          ops.push(["r", key, null]);
        } else {
          const log = logs[key]!;
          ops.push(["append", key, log.nextValue++]);
          if (++appendsPlanned[at]! >= appendsPerKey) {
            active[at] = logs.length;
            logs.push({ values: [], commitSeq: [], nextValue: 1 });
            appendsPlanned[at] = 0;
          }
        }
      }
      running[slot] = { process: processIds[slot]!, ops, snapshot: commitSeq };
      emit(processIds[slot]!, "invoke", ops);
      continue;
    }
    running[slot] = undefined;
    open--;
    const roll = random.int(1000);
    if (roll < failPerMille) {
      emit(txn.process, "fail", txn.ops);
      continue;
    }
    // Execute: serializable reads the latest state now; snapshot reads its snapshot.
    const snapshot = isolation === "serializable" ? commitSeq : txn.snapshot;
    const own = new Map<number, number[]>();
    const done: MicroOp[] = [];
    let conflict = false;
    for (const [f, k, v] of txn.ops) {
      const key = k as number;
      if (f === "append") {
        const mine = own.get(key) ?? [];
        mine.push(v as number);
        own.set(key, mine);
        const log = logs[key]!;
        if (log.commitSeq.length > 0 && log.commitSeq[log.commitSeq.length - 1]! > snapshot) conflict = true;
        done.push([f, k, v]);
      } else {
        done.push(["r", k, [...readAt(key, snapshot), ...(own.get(key) ?? [])]]);
      }
    }
    if (conflict) {
      emit(txn.process, "fail", txn.ops);
      continue;
    }
    const info = roll < failPerMille + infoPerMille;
    if (!info || random.int(2) === 0) {
      commitSeq++;
      for (const [key, values] of own) {
        const log = logs[key]!;
        for (const v of values) {
          log.values.push(v);
          log.commitSeq.push(commitSeq);
        }
      }
    }
    if (info) {
      emit(txn.process, "info", txn.ops);
      processIds[slot] = processIds[slot]! + processCount;
    } else {
      emit(txn.process, "ok", done);
    }
  }
  return history;
}
