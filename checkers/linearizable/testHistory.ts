/**
 * Test helper: a history written as rows `[process, type, f, value, extra?]`, given index and
 * time by position. Used by this folder's tests only.
 */
import type { Op, OpType, Process } from "../../harness/history/op.ts";

export type Row = readonly [Process, OpType, string, unknown, Record<string, unknown>?];

export function history(rows: readonly Row[]): Op[] {
  return rows.map(([process, type, f, value, extra], index) => ({
    index,
    time: index,
    process,
    type,
    f,
    value,
    ...extra,
  }));
}

/**
 * Whether a client operation in `history` has a known result (`ok`, or a CAS that completed and
 * found another value): without one, every operation can be left out of an order, and the checker
 * answers "unknown" (nothing to check) rather than a vacuous "valid".
 */
export function hasKnownResult(history: readonly Op[]): boolean {
  return history.some(
    (op) =>
      op.process !== "nemesis" && (op.type === "ok" || (op.type === "fail" && op.error === "cas-mismatch")),
  );
}
