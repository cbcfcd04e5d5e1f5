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
