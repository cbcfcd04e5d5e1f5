/**
 * The workloads' operations as SQL, in the shapes Jepsen uses for SQL databases. One statement per
 * micro-operation (so read committed takes a fresh snapshot for each, as it would for a real
 * application), one transaction per operation, values computed by the client from what it read:
 *
 * | workload   | table                                              | operations                                  |
 * | ---------- | -------------------------------------------------- | ------------------------------------------- |
 * | append     | `lists (k text primary key, val text)`             | `r`: SELECT; `append`: INSERT … ON CONFLICT DO UPDATE SET val = CONCAT(val, ',', v) |
 * | bank       | `accounts (k, balance bigint, write_id bigint)`    | `r`/`w` of rows; `transfer`: two SELECTs, two UPDATEs |
 * | write-skew | `doctors (k, on_call boolean, write_id bigint)`    | `r`/`w` of rows; `take-off-call`: two SELECTs, maybe one UPDATE |
 * | register   | `registers (k text primary key, val jsonb)`        | read: SELECT; write: upsert; cas: UPDATE … WHERE val = from |
 * | set        | `elements (v bigint not null)` (no key)            | add: INSERT; read-set: SELECT              |
 *
 * Keys are stored as their JSON text, so the number 1 and the string "1" stay distinct. Rows come
 * back stamped as the workloads wrote them (`{balance, writeId}`, `{onCall, writeId}`;
 * workloads/rows.ts). A `r` micro-op reads the table of the run's workload (bank rows for bank,
 * doctor rows for write-skew, lists otherwise), since a key alone does not say which.
 *
 * The transfer and take-off-call decisions are the shared ones (harness/operations.ts); a refusal
 * (insufficient funds) rolls back and fails with the shared error words.
 */
import {
  balanceOf,
  parseTakeOffCall,
  parseTransfer,
  planTakeOffCall,
  planTransfer,
  type Plan,
} from "../../harness/operations.ts";
import type { Completion, Invocation } from "../../harness/system.ts";

export const schemaStatements: readonly string[] = [
  "CREATE TABLE IF NOT EXISTS lists (k text PRIMARY KEY, val text NOT NULL)",
  "CREATE TABLE IF NOT EXISTS accounts (k text PRIMARY KEY, balance bigint NOT NULL, write_id bigint NOT NULL)",
  "CREATE TABLE IF NOT EXISTS doctors (k text PRIMARY KEY, on_call boolean NOT NULL, write_id bigint NOT NULL)",
  "CREATE TABLE IF NOT EXISTS registers (k text PRIMARY KEY, val jsonb)",
  "CREATE TABLE IF NOT EXISTS elements (v bigint NOT NULL)",
];

/** Which table `r` and `w` micro-ops of a `txn` act on. */
export type RowTable = "lists" | "accounts" | "doctors";

export function rowTableFor(workload: string | undefined): RowTable {
  if (workload === "bank") return "accounts";
  if (workload === "write-skew") return "doctors";
  return "lists";
}

export type Isolation = "read-committed" | "snapshot" | "serializable";

export const isolationSql: Readonly<Record<Isolation, string>> = {
  "read-committed": "READ COMMITTED",
  snapshot: "REPEATABLE READ",
  serializable: "SERIALIZABLE",
};

/** What runs the statements: one connection, knowing whether COMMIT has been sent. */
export interface Session {
  query(
    text: string,
    params?: readonly unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
  /** Marks the commit point (COMMIT, or an autocommit statement) as sent, then runs it. */
  commit(
    text: string,
    params?: readonly unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
}

/** A refusal decided on the data (or a malformed request): the transaction was rolled back. */
export class OperationRefused extends Error {
  override name = "OperationRefused";
}

type Key = string | number;
const isKey = (k: unknown): k is Key => typeof k === "string" || typeof k === "number";
const keyText = (k: Key): string => JSON.stringify(k);
const num = (v: unknown): number => (typeof v === "number" ? v : Number(v));

async function inTransaction<T>(session: Session, isolation: Isolation, body: () => Promise<T>): Promise<T> {
  await session.query(`BEGIN ISOLATION LEVEL ${isolationSql[isolation]}`);
  let result: T;
  try {
    result = await body();
  } catch (error) {
    if (error instanceof OperationRefused) await session.query("ROLLBACK");
    throw error;
  }
  await session.commit("COMMIT");
  return result;
}

// ---- rows -------------------------------------------------------------------------------------

async function readRow(session: Session, table: RowTable, key: Key): Promise<unknown> {
  const k = keyText(key);
  if (table === "lists") {
    const r = await session.query("SELECT val FROM lists WHERE k = $1", [k]);
    const val = r.rows[0]?.val;
    return typeof val === "string" ? val.split(",").map(Number) : null;
  }
  if (table === "accounts") {
    const r = await session.query("SELECT balance, write_id FROM accounts WHERE k = $1", [k]);
    const row = r.rows[0];
    return row === undefined ? null : { balance: num(row.balance), writeId: num(row.write_id) };
  }
  const r = await session.query("SELECT on_call, write_id FROM doctors WHERE k = $1", [k]);
  const row = r.rows[0];
  return row === undefined ? null : { onCall: row.on_call === true, writeId: num(row.write_id) };
}

async function writeRow(session: Session, table: RowTable, key: Key, value: unknown): Promise<void> {
  const k = keyText(key);
  const v = value as { balance?: unknown; onCall?: unknown; writeId?: unknown } | null;
  if (table === "accounts") {
    const balance = balanceOf(value);
    if (balance === undefined || typeof v?.writeId !== "number")
      throw new OperationRefused(`bank rows are {balance, writeId}, got ${JSON.stringify(value)}`);
    await session.query(
      "INSERT INTO accounts AS t (k, balance, write_id) VALUES ($1, $2, $3) ON CONFLICT (k) DO UPDATE SET balance = EXCLUDED.balance, write_id = EXCLUDED.write_id",
      [k, balance, v.writeId],
    );
    return;
  }
  if (table === "doctors") {
    if (typeof v?.onCall !== "boolean" || typeof v.writeId !== "number")
      throw new OperationRefused(`doctor rows are {onCall, writeId}, got ${JSON.stringify(value)}`);
    await session.query(
      "INSERT INTO doctors AS t (k, on_call, write_id) VALUES ($1, $2, $3) ON CONFLICT (k) DO UPDATE SET on_call = EXCLUDED.on_call, write_id = EXCLUDED.write_id",
      [k, v.onCall, v.writeId],
    );
    return;
  }
  throw new OperationRefused("a list-append txn cannot write (w) a key; use append");
}

async function append(session: Session, key: Key, element: unknown): Promise<void> {
  await session.query(
    "INSERT INTO lists AS t (k, val) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET val = CONCAT(t.val, ',', $2::text)",
    [keyText(key), String(element)],
  );
}

type MicroOp = [string, Key, unknown];

function validTxn(value: unknown, table: RowTable): MicroOp[] | string {
  if (!Array.isArray(value) || value.length === 0) return "txn expects a non-empty list of micro-ops";
  for (const mop of value) {
    if (!Array.isArray(mop) || mop.length !== 3 || !isKey(mop[1]))
      return `bad micro-op ${JSON.stringify(mop)}`;
    const [f, , v] = mop as unknown[];
    if (f === "append") {
      if (table !== "lists") return `append is for list keys, not ${table} rows`;
      if (!Number.isSafeInteger(v)) return `appended elements are integers here, got ${JSON.stringify(v)}`;
    } else if (f === "w") {
      if (table === "lists") return "a list-append txn cannot write (w) a key; use append";
    } else if (f !== "r") return `bad micro-op ${JSON.stringify(mop)}`;
  }
  return value as MicroOp[];
}

// ---- operations -------------------------------------------------------------------------------

export interface OperationContext {
  readonly isolation: Isolation;
  readonly table: RowTable;
}

/**
 * Runs one invocation. Resolves with its completion when PostgreSQL answered (`ok`, or `fail` for a
 * refusal decided on the data); throws the driver's error otherwise, for the caller to classify
 * with errors.ts.
 */
export async function runOperation(
  session: Session,
  invocation: Invocation,
  context: OperationContext,
): Promise<Completion> {
  const { f, value } = invocation;
  try {
    switch (f) {
      case "txn": {
        const mops = validTxn(value, context.table);
        if (typeof mops === "string") return { type: "fail", value, error: mops };
        const done = await inTransaction(session, context.isolation, async () => {
          const out: unknown[] = [];
          for (const [kind, key, arg] of mops) {
            if (kind === "r") out.push(["r", key, await readRow(session, context.table, key)]);
            else if (kind === "w") {
              await writeRow(session, context.table, key, arg);
              out.push(["w", key, arg]);
            } else {
              await append(session, key, arg);
              out.push(["append", key, arg]);
            }
          }
          return out;
        });
        return { type: "ok", value: done };
      }
      case "transfer": {
        const t = parseTransfer(value);
        if ("error" in t) return { type: "fail", value, error: t.error };
        const executed = await inTransaction(session, context.isolation, async () => {
          const from = await readRow(session, "accounts", t.from);
          const to = await readRow(session, "accounts", t.to);
          return carryOut(session, "accounts", planTransfer(t, from, to));
        });
        return { type: "ok", value: executed };
      }
      case "take-off-call": {
        const t = parseTakeOffCall(value);
        if ("error" in t) return { type: "fail", value, error: t.error };
        const executed = await inTransaction(session, context.isolation, async () => {
          const a = await readRow(session, "doctors", t.doctors[0]);
          const b = await readRow(session, "doctors", t.doctors[1]);
          return carryOut(session, "doctors", planTakeOffCall(t, a, b));
        });
        return { type: "ok", value: executed };
      }
      case "read":
      case "write":
      case "cas":
        return await register(session, f, value);
      case "add": {
        if (!Number.isSafeInteger(value))
          return {
            type: "fail",
            value,
            error: `set elements are integers here, got ${JSON.stringify(value)}`,
          };
        await session.commit("INSERT INTO elements (v) VALUES ($1)", [value]);
        return { type: "ok", value };
      }
      case "read-set": {
        const r = await session.commit("SELECT v FROM elements");
        return { type: "ok", value: r.rows.map((row) => num(row.v)).sort((a, b) => a - b) };
      }
      default:
        return { type: "fail", value, error: `unknown operation "${f}"` };
    }
  } catch (error) {
    if (error instanceof OperationRefused) return { type: "fail", value, error: error.message };
    throw error;
  }
}

async function carryOut(
  session: Session,
  table: "accounts" | "doctors",
  plan: Plan,
): Promise<readonly unknown[]> {
  if ("error" in plan) throw new OperationRefused(plan.error);
  for (const [key, row] of plan.writes) {
    const r = row as { balance?: number; onCall?: boolean; writeId: number };
    const result =
      table === "accounts"
        ? await session.query("UPDATE accounts SET balance = $2, write_id = $3 WHERE k = $1", [
            keyText(key),
            r.balance,
            r.writeId,
          ])
        : await session.query("UPDATE doctors SET on_call = $2, write_id = $3 WHERE k = $1", [
            keyText(key),
            r.onCall,
            r.writeId,
          ]);
    // The row was read a moment ago in this transaction; under read committed it may have been
    // deleted since, which no workload does, but a vanished row must not pass as written.
    if (result.rowCount !== 1)
      throw new OperationRefused(`no-such-${table === "accounts" ? "account" : "doctor"}`);
  }
  return plan.executed;
}

async function register(session: Session, f: "read" | "write" | "cas", value: unknown): Promise<Completion> {
  if (!Array.isArray(value) || value.length !== 2 || !isKey(value[0]))
    return { type: "fail", value, error: `expected [key, value], got ${JSON.stringify(value)}` };
  const [key, arg] = value as [Key, unknown];
  const k = keyText(key);
  if (f === "read") {
    const r = await session.commit("SELECT val FROM registers WHERE k = $1", [k]);
    const row = r.rows[0];
    return { type: "ok", value: [key, row === undefined ? null : (row.val ?? null)] };
  }
  if (f === "write") {
    await session.commit(
      "INSERT INTO registers (k, val) VALUES ($1, $2::jsonb) ON CONFLICT (k) DO UPDATE SET val = EXCLUDED.val",
      [k, JSON.stringify(arg)],
    );
    return { type: "ok", value };
  }
  if (!Array.isArray(arg) || arg.length !== 2)
    return { type: "fail", value, error: `cas expects [key, [from, to]], got ${JSON.stringify(value)}` };
  const [from, to] = arg as [unknown, unknown];
  const r =
    from === null
      ? await session.commit(
          "INSERT INTO registers (k, val) VALUES ($1, $2::jsonb) ON CONFLICT (k) DO NOTHING",
          [k, JSON.stringify(to)],
        )
      : await session.commit("UPDATE registers SET val = $3::jsonb WHERE k = $1 AND val = $2::jsonb", [
          k,
          JSON.stringify(from),
          JSON.stringify(to),
        ]);
  return r.rowCount === 1 ? { type: "ok", value } : { type: "fail", value, error: "cas-mismatch" };
}
