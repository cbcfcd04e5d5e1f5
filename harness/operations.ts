/**
 * The two client operations whose writes depend on their reads, as every system's client must
 * parse them: `transfer` (the bank workload) and `take-off-call` (write skew), over stamped rows
 * (`{balance, writeId}`, `{onCall, writeId}`; workloads/rows.ts says why rows are stamped). One
 * parser here, so the reference memory system and the engine refuse exactly the same inputs with
 * exactly the same words, and a system can never drift from the contract the workloads write to.
 */
import type { Key } from "./history/op.ts";

export interface AccountRow {
  readonly balance: number;
  readonly writeId: number;
}

export interface DoctorRow {
  readonly onCall: boolean;
  readonly writeId: number;
}

export interface TransferValue {
  readonly from: Key;
  readonly to: Key;
  readonly amount: number;
  readonly writeId: number;
}

export interface TakeOffCallValue {
  readonly doctors: readonly [Key, Key];
  readonly doctor: Key;
  readonly writeId: number;
}

const isKey = (k: unknown): k is Key => typeof k === "string" || typeof k === "number";

/** A well-formed transfer (distinct keys, a non-negative amount), or the error to fail it with. */
export function parseTransfer(value: unknown): TransferValue | { readonly error: string } {
  const v = value as Partial<Record<keyof TransferValue, unknown>> | null;
  if (
    typeof v !== "object" ||
    v === null ||
    !isKey(v.from) ||
    !isKey(v.to) ||
    v.from === v.to ||
    typeof v.amount !== "number" ||
    !(v.amount >= 0) ||
    typeof v.writeId !== "number"
  ) {
    return {
      error: `transfer expects {from, to, amount, writeId} with distinct keys, got ${JSON.stringify(value)}`,
    };
  }
  return { from: v.from, to: v.to, amount: v.amount, writeId: v.writeId };
}

/** A well-formed take-off-call (the doctor is one of the two), or the error to fail it with. */
export function parseTakeOffCall(value: unknown): TakeOffCallValue | { readonly error: string } {
  const v = value as Partial<Record<keyof TakeOffCallValue, unknown>> | null;
  const doctors = typeof v === "object" && v !== null ? v.doctors : undefined;
  if (
    !Array.isArray(doctors) ||
    doctors.length !== 2 ||
    !isKey(doctors[0]) ||
    !isKey(doctors[1]) ||
    !doctors.includes(v!.doctor) ||
    typeof v!.writeId !== "number"
  ) {
    return {
      error: `take-off-call expects {doctors: [a, b], doctor, writeId}, got ${JSON.stringify(value)}`,
    };
  }
  return { doctors: [doctors[0], doctors[1]], doctor: v!.doctor as Key, writeId: v!.writeId };
}

/** An account row's balance; undefined when the row is missing or not an account. */
export function balanceOf(row: unknown): number | undefined {
  const balance =
    typeof row === "object" && row !== null ? (row as { balance?: unknown }).balance : undefined;
  return typeof balance === "number" ? balance : undefined;
}

export function isOnCall(row: unknown): boolean {
  return typeof row === "object" && row !== null && (row as { onCall?: unknown }).onCall === true;
}

/**
 * What a transaction that has read its rows does next: fail with a business error (nothing
 * written), or write `writes` and complete with the micro-ops it executed (`executed`), which is
 * what an rw-register checker reads. Systems read the rows their own way (one copy, MVCC) and
 * call these, so the decision itself is written once.
 */
export type Plan =
  | { readonly error: string }
  | { readonly writes: readonly (readonly [Key, unknown])[]; readonly executed: readonly unknown[] };

export function planTransfer(t: TransferValue, rowFrom: unknown, rowTo: unknown): Plan {
  const balanceFrom = balanceOf(rowFrom);
  const balanceTo = balanceOf(rowTo);
  if (balanceFrom === undefined || balanceTo === undefined) return { error: "no-such-account" };
  if (balanceFrom < t.amount) return { error: "insufficient-funds" };
  const newFrom: AccountRow = { balance: balanceFrom - t.amount, writeId: t.writeId };
  const newTo: AccountRow = { balance: balanceTo + t.amount, writeId: t.writeId };
  return {
    writes: [
      [t.from, newFrom],
      [t.to, newTo],
    ],
    executed: [
      ["r", t.from, rowFrom],
      ["r", t.to, rowTo],
      ["w", t.from, newFrom],
      ["w", t.to, newTo],
    ],
  };
}

export function planTakeOffCall(t: TakeOffCallValue, rowA: unknown, rowB: unknown): Plan {
  const [a, b] = t.doctors;
  const reads = [
    ["r", a, rowA],
    ["r", b, rowB],
  ];
  if (!(isOnCall(rowA) && isOnCall(rowB))) return { writes: [], executed: reads };
  const written: DoctorRow = { onCall: false, writeId: t.writeId };
  return { writes: [[t.doctor, written]], executed: [...reads, ["w", t.doctor, written]] };
}
