/**
 * Whole transactions as one call: what clients of the engine use (`Database.transact`,
 * `register` and `runTransaction` hand on to these).
 *
 * Each runs a body of statements as one transaction and commits it. `ok` carries the result once
 * the commit is durable; `fail` means the transaction certainly did not commit (it was rolled
 * back, with the reason). Any error other than an abort also rolls back and is rethrown: the
 * caller cannot know more than that it did not commit here.
 */
import type { Key, MicroOp } from "../../harness/history/op.ts";
import {
  TxnAbortedError,
  type IsolationLevel,
  type Transaction,
  type TransactionResult,
} from "./transactions.ts";

/** The statements a whole transaction is run with (the database provides them). */
export interface TransactionApi {
  begin(isolation?: IsolationLevel): Transaction;
  read(txn: Transaction, key: Key): Promise<unknown>;
  write(txn: Transaction, key: Key, value: unknown): Promise<void>;
  append(txn: Transaction, key: Key, element: unknown): Promise<void>;
  update(txn: Transaction, key: Key, compute: (current: unknown) => unknown): Promise<void>;
  commit(txn: Transaction): Promise<void>;
  abort(txn: Transaction): void;
}

export type TxnResult = TransactionResult<MicroOp[]>;

export type RegisterResult = TransactionResult<unknown>;

/** Runs `body` as one transaction and commits it. */
export async function runTransaction<T>(
  db: TransactionApi,
  body: (txn: Transaction) => Promise<T>,
  isolation?: IsolationLevel,
): Promise<TransactionResult<T>> {
  const txn = db.begin(isolation);
  try {
    const value = await body(txn);
    await db.commit(txn);
    return { type: "ok", value };
  } catch (error) {
    db.abort(txn);
    if (error instanceof TxnAbortedError) {
      return error.detail === undefined
        ? { type: "fail", error: error.reason }
        : { type: "fail", error: error.reason, detail: error.detail };
    }
    throw error;
  }
}

/**
 * Runs micro-ops `["r", k, null]`, `["w", k, v]`, `["append", k, v]` as one transaction. `ok`
 * carries the ops with reads filled in.
 */
export async function transact(
  db: TransactionApi,
  ops: readonly MicroOp[],
  isolation?: IsolationLevel,
): Promise<TxnResult> {
  return runTransaction(
    db,
    async (txn) => {
      const out: MicroOp[] = [];
      for (const op of ops) {
        const [kind, key, value] = op;
        if (typeof key !== "string" && typeof key !== "number") {
          throw new TxnAbortedError("invalid-op", `key must be a string or integer: ${JSON.stringify(op)}`);
        }
        if (kind === "r") out.push(["r", key, await db.read(txn, key)]);
        else if (kind === "w") {
          await db.write(txn, key, value);
          out.push(op);
        } else if (kind === "append") {
          await db.append(txn, key, value);
          out.push(op);
        } else throw new TxnAbortedError("invalid-op", `unknown micro-op ${JSON.stringify(op)}`);
      }
      return out;
    },
    isolation,
  );
}

/**
 * A register operation as one transaction: `read` (value ignored) returns the value; `write`
 * sets it; `cas` with `[expected, next]` sets `next` if the value is `expected`, else fails
 * with `cas-mismatch`.
 */
export async function register(
  db: TransactionApi,
  f: "read" | "write" | "cas",
  key: Key,
  value: unknown,
  isolation?: IsolationLevel,
): Promise<RegisterResult> {
  return runTransaction(
    db,
    async (txn) => {
      if (f === "read") return db.read(txn, key);
      if (f === "write") await db.write(txn, key, value);
      else if (f === "cas") {
        if (!Array.isArray(value) || value.length !== 2) {
          throw new TxnAbortedError("invalid-op", "cas takes [expected, next]");
        }
        const [expected, next] = value as [unknown, unknown];
        await db.update(txn, key, (current) => {
          if (JSON.stringify(current) !== JSON.stringify(expected)) {
            throw new TxnAbortedError("cas-mismatch", `value is ${JSON.stringify(current)}`);
          }
          return next;
        });
      } else throw new TxnAbortedError("invalid-op", `unknown register op ${String(f)}`);
      return value;
    },
    isolation,
  );
}
