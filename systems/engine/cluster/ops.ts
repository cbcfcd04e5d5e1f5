/**
 * The workloads' operations on one engine node: registers (`read`, `write`, `cas`), transactions
 * of `r`/`w`/`append` micro-ops, and the set (`add`, `read-set`; each element is its own key
 * `set/<x>`, read back from one snapshot). Shapes as in systems/memory/state.ts. `fail` here means
 * the engine rolled the transaction back; anything it threw is reported as `info` by the caller.
 */
import type { MicroOp } from "../../../harness/history/op.ts";
import type { Completion, Invocation } from "../../../harness/system.ts";
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
