/**
 * Hand-written histories, briefly: tests state transactions as `[process, microOps, type]` and
 * get a well-formed history back, serial (each completes before the next begins) or with the
 * invocations and completions interleaved exactly as written.
 */
import type { Op, OpType } from "../../harness/history/op.ts";

export type TxnSpec = readonly [process: number, value: unknown, type?: Exclude<OpType, "invoke">];
export type EventSpec = readonly [type: OpType, process: number, value: unknown];

/** Invocations and completions in exactly the order given. */
export function historyOf(events: readonly EventSpec[]): Op[] {
  return events.map(([type, process, value], index) => ({
    index,
    time: index * 1_000_000,
    process,
    type,
    f: "txn",
    value,
  }));
}

/** Each transaction invoked and completed before the next begins. */
export function serialHistory(txns: readonly TxnSpec[]): Op[] {
  const events: EventSpec[] = [];
  for (const [process, value, type] of txns) {
    events.push(["invoke", process, value], [type ?? "ok", process, value]);
  }
  return historyOf(events);
}

/** All transactions invoked first, then all completed: no realtime order among them. */
export function concurrentHistory(txns: readonly TxnSpec[]): Op[] {
  const events: EventSpec[] = [];
  for (const [process, value] of txns) events.push(["invoke", process, value]);
  for (const [process, value, type] of txns) events.push([type ?? "ok", process, value]);
  return historyOf(events);
}
