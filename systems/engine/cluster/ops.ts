/**
 * The workloads' operations on one engine node: registers (`read`, `write`, `cas`), transactions
 * of `r`/`w`/`append` micro-ops, and the set (`add`, `read-set`; each element is its own key
 * `set/<x>`, read back from one snapshot), and the two transactions whose writes depend on their
 * reads, `transfer` (bank) and `take-off-call` (write skew), over stamped rows (workloads/rows.ts
 * gives their exact shapes). Shapes as in systems/memory/state.ts. `fail` here means the engine
 * rolled the transaction back; anything it threw is reported as `info` by the caller.
 */
import type { Key, MicroOp } from "../../../harness/history/op.ts";
import type { Completion, Invocation } from "../../../harness/system.ts";
import { TxnAbortedError, type Database } from "../database.ts";

const setPrefix = "set/";

function isKey(k: unknown): k is string | number {
  return typeof k === "string" || (typeof k === "number" && Number.isInteger(k));
}

/** Operations that change nothing: they may go to a replica, and on the writer need only a barrier. */
export function isReadOnly(invocation: Invocation): boolean {
  const { f, value } = invocation;
  if (f === "read" || f === "read-set") return true;
  return f === "txn" && Array.isArray(value) && value.every((m) => Array.isArray(m) && m[0] === "r");
}

function compareScalars(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0;
}

/** Runs one invocation as one transaction on `db`. Never returns `info`: errors propagate. */
export async function executeOn(db: Database, invocation: Invocation): Promise<Completion> {
  const { f, value } = invocation;
  switch (f) {
    case "read":
    case "write":
    case "cas": {
      if (!Array.isArray(value) || value.length !== 2 || !isKey(value[0])) {
        return { type: "fail", value, error: `expected [key, value], got ${JSON.stringify(value)}` };
      }
      const [key, arg] = value as [string | number, unknown];
      const r = await db.register(f, key, arg);
      if (r.type === "fail") return { type: "fail", value, error: r.error };
      return { type: "ok", value: f === "read" ? [key, r.value ?? null] : value };
    }
    case "txn": {
      if (!Array.isArray(value)) return { type: "fail", value, error: "txn expects a list of micro-ops" };
      const r = await db.transact(value as MicroOp[]);
      if (r.type === "fail") return { type: "fail", value, error: r.error };
      return { type: "ok", value: r.value };
    }
    case "transfer":
      return transfer(db, value);
    case "take-off-call":
      return takeOffCall(db, value);
    case "add": {
      const r = await db.transact([["w", `${setPrefix}${JSON.stringify(value)}`, value]]);
      if (r.type === "fail") return { type: "fail", value, error: r.error };
      return { type: "ok", value };
    }
    case "read-set": {
      const elements: unknown[] = [];
      for (const [key, v] of db.dump()) {
        if (typeof key === "string" && key.startsWith(setPrefix)) elements.push(v);
      }
      return { type: "ok", value: elements.sort(compareScalars) };
    }
    default:
      return { type: "fail", value, error: `unknown operation "${f}"` };
  }
}

/**
 * Runs `body` as one interactive transaction: commit on success, roll back on a business failure
 * (the body returns a fail) or an abort. A fail always means nothing was committed.
 */
async function interactive(
  db: Database,
  value: unknown,
  body: (
    read: (k: Key) => Promise<unknown>,
    write: (k: Key, v: unknown) => Promise<void>,
  ) => Promise<Completion>,
): Promise<Completion> {
  const txn = db.begin();
  try {
    const outcome = await body(
      (k) => db.read(txn, k),
      (k, v) => db.write(txn, k, v),
    );
    if (outcome.type !== "ok") {
      db.abort(txn);
      return outcome;
    }
    await db.commit(txn);
    return outcome;
  } catch (error) {
    db.abort(txn);
    if (error instanceof TxnAbortedError) return { type: "fail", value, error: error.reason };
    throw error;
  }
}

function balanceOf(row: unknown): number | undefined {
  const balance =
    typeof row === "object" && row !== null ? (row as { balance?: unknown }).balance : undefined;
  return typeof balance === "number" ? balance : undefined;
}

function isOnCall(row: unknown): boolean {
  return typeof row === "object" && row !== null && (row as { onCall?: unknown }).onCall === true;
}

/** `transfer {from, to, amount, writeId}`: see workloads/rows.ts. */
function transfer(db: Database, value: unknown): Promise<Completion> {
  const v = value as { from?: unknown; to?: unknown; amount?: unknown; writeId?: unknown } | null;
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
    const error = `transfer expects {from, to, amount, writeId} with distinct keys, got ${JSON.stringify(value)}`;
    return Promise.resolve({ type: "fail", value, error });
  }
  const { from, to, amount, writeId } = v as { from: Key; to: Key; amount: number; writeId: number };
  return interactive(db, value, async (read, write) => {
    const rowFrom = await read(from);
    const rowTo = await read(to);
    const balanceFrom = balanceOf(rowFrom);
    const balanceTo = balanceOf(rowTo);
    if (balanceFrom === undefined || balanceTo === undefined)
      return { type: "fail", value, error: "no-such-account" };
    if (balanceFrom < amount) return { type: "fail", value, error: "insufficient-funds" };
    const newFrom = { balance: balanceFrom - amount, writeId };
    const newTo = { balance: balanceTo + amount, writeId };
    await write(from, newFrom);
    await write(to, newTo);
    return {
      type: "ok",
      value: [
        ["r", from, rowFrom],
        ["r", to, rowTo],
        ["w", from, newFrom],
        ["w", to, newTo],
      ],
    };
  });
}

/** `take-off-call {doctors: [a, b], doctor, writeId}`: see workloads/rows.ts. */
function takeOffCall(db: Database, value: unknown): Promise<Completion> {
  const v = value as { doctors?: unknown; doctor?: unknown; writeId?: unknown } | null;
  const doctors = typeof v === "object" && v !== null ? v.doctors : undefined;
  if (
    !Array.isArray(doctors) ||
    doctors.length !== 2 ||
    !isKey(doctors[0]) ||
    !isKey(doctors[1]) ||
    !doctors.includes(v!.doctor) ||
    typeof v!.writeId !== "number"
  ) {
    const error = `take-off-call expects {doctors: [a, b], doctor, writeId}, got ${JSON.stringify(value)}`;
    return Promise.resolve({ type: "fail", value, error });
  }
  const [a, b] = doctors as [Key, Key];
  const doctor = v!.doctor as Key;
  const writeId = v!.writeId as number;
  return interactive(db, value, async (read, write) => {
    const rowA = await read(a);
    const rowB = await read(b);
    const executed: unknown[] = [
      ["r", a, rowA],
      ["r", b, rowB],
    ];
    if (isOnCall(rowA) && isOnCall(rowB)) {
      const written = { onCall: false, writeId };
      await write(doctor, written);
      executed.push(["w", doctor, written]);
    }
    return { type: "ok", value: executed };
  });
}
