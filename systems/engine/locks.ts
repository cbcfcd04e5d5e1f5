/**
 * Write locks and the waits-for graph.
 *
 * A writer locks each key it writes until it ends (commit or abort); readers take no locks and
 * never wait. A writer that finds a key locked waits for the holder to end. Deadlocks are found
 * at the moment of waiting: if the wait would close a cycle in the waits-for graph (each waiter
 * points at the one holder it waits for), the waiter aborts itself with `deadlock`, so no cycle
 * ever forms. A wait longer than `lockTimeoutNs` aborts with `lock-timeout`.
 */
import type { Clock } from "../../harness/runtime/types.ts";
import { TxnAbortedError, type AbortReason, type TxnState } from "./transactions.ts";

/** Rolls a transaction back now and ends it (the database's abort). */
export type AbortTxn = (txn: TxnState, reason: AbortReason, detail?: string) => void;

export class LockTable {
  /** keyId → the transaction holding its write lock. */
  private readonly holders = new Map<string, TxnState>();
  /** xid → wake-ups of the transactions waiting for it to end. */
  private readonly waiters = new Map<number, Set<() => void>>();

  constructor(
    private readonly clock: Clock,
    /** 0 waits forever. */
    private readonly lockTimeoutNs: number,
    private readonly abort: AbortTxn,
  ) {}

  holder(kid: string): TxnState | undefined {
    return this.holders.get(kid);
  }

  /** `txn` wrote `kid`: it holds the key's lock from now on (if it did not already). */
  take(txn: TxnState, kid: string): void {
    if (!this.holders.has(kid)) {
      this.holders.set(kid, txn);
      txn.lockedKeys.push(kid);
    }
  }

  /**
   * Waits until `holder` ends. Aborts `txn` and throws `deadlock` at once if `holder` waits,
   * directly or through others, for `txn` (the chain is followed at most `maxChain` steps, the
   * number of live transactions); a timer aborts it with `lock-timeout` if the wait is too long.
   */
  waitFor(txn: TxnState, holder: TxnState, maxChain: number): Promise<void> {
    for (
      let h: TxnState | undefined = holder, i = 0;
      h !== undefined && i <= maxChain;
      h = h.waitingFor, i++
    ) {
      if (h === txn) {
        this.abort(txn, "deadlock", `waiting for transaction ${holder.xid} would close a cycle`);
        throw new TxnAbortedError("deadlock");
      }
    }
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(holder.xid);
      if (set === undefined) this.waiters.set(holder.xid, (set = new Set()));
      const timeoutNs = this.lockTimeoutNs;
      let cancelTimer: (() => void) | undefined;
      const wake = (): void => {
        set.delete(wake);
        cancelTimer?.();
        txn.waitingFor = undefined;
        txn.wake = undefined;
        resolve();
      };
      set.add(wake);
      txn.waitingFor = holder;
      txn.wake = wake;
      if (timeoutNs > 0) {
        cancelTimer = this.clock.setTimer(timeoutNs, () => {
          cancelTimer = undefined;
          if (txn.wake === wake && txn.status === "active") {
            this.abort(txn, "lock-timeout", `waited ${timeoutNs} ns for transaction ${holder.xid}`);
          }
        });
      }
    });
  }

  /** `txn` ended: releases its locks, then wakes every transaction that waited for it. */
  release(txn: TxnState): void {
    for (const kid of txn.lockedKeys) if (this.holders.get(kid) === txn) this.holders.delete(kid);
    const waiting = this.waiters.get(txn.xid);
    this.waiters.delete(txn.xid);
    if (waiting !== undefined) for (const wake of [...waiting]) wake();
  }
}
