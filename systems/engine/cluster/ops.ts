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
import {
  parseTakeOffCall,
  parseTransfer,
  planTakeOffCall,
  planTransfer,
  type Plan,
} from "../../../harness/operations.ts";
import type { Database } from "../database.ts";

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

/**
 * Engine abort reasons that say only "rolled back, nothing happened", whatever the data: such a
 * `fail` may be answered at once. Any other `fail` (cas-mismatch, insufficient-funds, a refused
 * take-off-call, ...) reports what the transaction read, so it is a read: the writer must confirm
 * that state like any read before answering, or a failover could show it never existed.
 */
const dataFreeAborts: ReadonlySet<string> = new Set([
  "serialization-failure",
  "write-conflict",
  "lock-timeout",
  "deadlock",
  "page-full",
  "invalid-op",
  "read-only",
]);

/** Whether a completion's answer depends on the data it read (then it needs a read's confirmation). */
export function answerDependsOnReads(completion: Completion): boolean {
  if (completion.type !== "fail") return false;
  return typeof completion.error !== "string" || !dataFreeAborts.has(completion.error);
}

/**
 * The keys whose values an invocation's answer may depend on, or undefined when that is not a
 * fixed set (`read-set` scans every element): the writer then waits for its whole log instead.
 */
export function keysReadBy(invocation: Invocation): Key[] | undefined {
  const { f, value } = invocation;
  switch (f) {
    case "read":
    case "write":
    case "cas":
      return Array.isArray(value) && isKey(value[0]) ? [value[0]] : [];
    case "txn":
      return Array.isArray(value)
        ? value.flatMap((m) => (Array.isArray(m) && isKey(m[1]) ? [m[1] as Key] : []))
        : [];
    case "transfer": {
      const t = parseTransfer(value);
      return "error" in t ? [] : [t.from, t.to];
    }
    case "take-off-call": {
      const t = parseTakeOffCall(value);
      return "error" in t ? [] : [...t.doctors];
    }
    case "add":
      return [];
    default:
      return undefined;
  }
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

/** A business refusal (insufficient funds): the transaction rolls back and the op fails. */
class Refused extends Error {}

/**
 * Reads the rows an operation needs, asks its plan what to do, and writes that, all in one
 * transaction; a refused plan rolls back. The decision is the shared one of harness/operations.ts.
 */
async function readPlanWrite(
  db: Database,
  value: unknown,
  keys: readonly Key[],
  plan: (rows: unknown[]) => Plan,
): Promise<Completion> {
  try {
    const r = await db.runTransaction(async (txn) => {
      const rows: unknown[] = [];
      for (const key of keys) rows.push(await db.read(txn, key));
      const decided = plan(rows);
      if ("error" in decided) throw new Refused(decided.error);
      for (const [key, row] of decided.writes) await db.write(txn, key, row);
      return decided.executed;
    });
    return r.type === "ok" ? { type: "ok", value: r.value } : { type: "fail", value, error: r.error };
  } catch (error) {
    if (error instanceof Refused) return { type: "fail", value, error: error.message };
    throw error;
  }
}

function transfer(db: Database, value: unknown): Promise<Completion> {
  const t = parseTransfer(value);
  if ("error" in t) return Promise.resolve({ type: "fail", value, error: t.error });
  return readPlanWrite(db, value, [t.from, t.to], ([rowFrom, rowTo]) => planTransfer(t, rowFrom, rowTo));
}

function takeOffCall(db: Database, value: unknown): Promise<Completion> {
  const t = parseTakeOffCall(value);
  if ("error" in t) return Promise.resolve({ type: "fail", value, error: t.error });
  return readPlanWrite(db, value, t.doctors, ([rowA, rowB]) => planTakeOffCall(t, rowA, rowB));
}
