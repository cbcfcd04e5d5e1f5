/**
 * Stamped rows, and how bank and write-skew histories become rw-register histories for Elle.
 *
 * Elle's rw-register inference needs every write to a key to carry a value unique to that key: a
 * read then names exactly the write it saw. Bank balances and on-call flags repeat (an account goes
 * back to 10, a doctor back on call), so the rows these workloads write are stamped:
 *
 *     account row  { "balance": 95, "writeId": 17 }
 *     doctor row   { "onCall": true, "writeId": 4 }
 *
 * and every transaction that writes stamps its rows with its own `writeId`, unique over the run.
 * For Elle the adapter below replaces each row by its `writeId` (a scalar, unique per key), turns
 * the `transfer` and `take-off-call` operations into plain `txn`s of the micro-ops they executed,
 * and keeps every operation's `index`, so Elle's explanations point at the real history.
 *
 * The two operations (implemented by every system's client; see systems/memory/state.ts):
 *
 * - `transfer {from, to, amount, writeId}`: one transaction reads rows `from` and `to`; if `from`
 *   holds less than `amount` it fails with error `insufficient-funds` (a missing row fails with
 *   `no-such-account`), else it writes `from` = balance − amount and `to` = balance + amount, both
 *   stamped `writeId`, and completes ok with the micro-ops it executed:
 *   `[["r",from,rowFrom],["r",to,rowTo],["w",from,newFrom],["w",to,newTo]]`.
 * - `take-off-call {doctors: [a, b], doctor, writeId}`: one transaction reads rows a and b; if both
 *   are on call (`onCall: true`) it writes `doctor` = `{onCall: false, writeId}`. It completes ok
 *   with the micro-ops it executed: the two reads, then the write if it made one.
 */
import type { Key, MicroOp, Op } from "../harness/history/op.ts";

export type { AccountRow, DoctorRow, TakeOffCallValue, TransferValue } from "../harness/operations.ts";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The write id of a stamped row; a plain scalar (a foreign history's value) stands for itself. */
export function versionOf(value: unknown): unknown {
  if (isRecord(value) && typeof value.writeId === "number") return value.writeId;
  return value;
}

const isKey = (k: unknown): k is Key => typeof k === "string" || typeof k === "number";

function plannedMicroOps(op: Op): MicroOp[] | undefined {
  const v = op.value;
  if (op.f === "txn" && Array.isArray(v)) return v as MicroOp[];
  if (!isRecord(v)) return undefined;
  if (op.f === "transfer" && isKey(v.from) && isKey(v.to)) {
    return [
      ["r", v.from, null],
      ["r", v.to, null],
      ["w", v.from, { writeId: v.writeId }],
      ["w", v.to, { writeId: v.writeId }],
    ];
  }
  if (op.f === "take-off-call" && Array.isArray(v.doctors) && isKey(v.doctor)) {
    const [a, b] = v.doctors as unknown[];
    if (!isKey(a) || !isKey(b)) return undefined;
    return [
      ["r", a, null],
      ["r", b, null],
      ["w", v.doctor, { writeId: v.writeId }],
    ];
  }
  return undefined;
}

const stampOps = new Set(["txn", "transfer", "take-off-call"]);

function versioned(mops: readonly MicroOp[]): MicroOp[] {
  return mops.map((m) => (Array.isArray(m) && m.length === 3 ? [m[0], m[1], versionOf(m[2])] : m));
}

/**
 * The history as Elle's rw-register workload reads it: `txn`, `transfer` and `take-off-call`
 * operations as `txn`s whose values are write ids; everything else kept as it is (Elle passes
 * over operations that are not `txn`s, and says so when that leaves it nothing). An `ok` completion carries the micro-ops executed; an invocation (which Elle reads for
 * `fail` and `info` transactions) the micro-ops planned. A value it cannot read (an `ok`
 * completion's included: it never stands in for the reads it should carry) is kept as is, for
 * Elle to reject with the index.
 */
export function toRwRegisterHistory(history: readonly Op[]): Op[] {
  const out: Op[] = [];
  const planned = new Map<unknown, MicroOp[] | undefined>();
  for (const op of history) {
    if (op.process === "nemesis" || !stampOps.has(op.f)) {
      out.push(op); // Elle reads only txns; kept, so that Elle counts what the history held
      continue;
    }
    if (op.type === "invoke") {
      const mops = plannedMicroOps(op);
      planned.set(op.process, mops);
      out.push({ ...op, f: "txn", value: mops === undefined ? op.value : versioned(mops) });
      continue;
    }
    const mops = planned.get(op.process);
    planned.delete(op.process);
    if (op.type === "ok") {
      // An ok completion carries the micro-ops it executed, reads filled in. One that does not
      // is kept as it is for Elle to reject: the planned micro-ops' reads are nulls, which Elle
      // would take for reads of the initial state.
      out.push({
        ...op,
        f: "txn",
        value: Array.isArray(op.value) ? versioned(op.value as MicroOp[]) : op.value,
      });
    } else {
      out.push({ ...op, f: "txn", value: mops === undefined ? op.value : versioned(mops) });
    }
  }
  return out;
}
