/**
 * The reference data model: one copy of everything, each operation applied atomically. Registers
 * (read, write, cas on keys), transactions of `r`/`w`/`append` micro-ops, and a set (add, read).
 * This is what every correct system must be indistinguishable from; the memory system serves it
 * directly, so it is linearizable and strict-serializable by construction.
 *
 * Operation shapes (DESIGN.md's history format):
 * - `read  [k, null]` → ok `[k, v]` (null if never written); `write [k, v]` → ok;
 *   `cas [k, [from, to]]` → ok when the register held `from`, else fail with `cas-mismatch`.
 * - `txn [[f, k, v], ...]` → ok with every `r` filled in (an appended key reads as an array).
 * - `add x` → ok; `read null` on the set (`f: "read-set"`) → ok with the sorted elements.
 * - `transfer {from, to, amount, writeId}` and `take-off-call {doctors: [a, b], doctor, writeId}`:
 *   transactions whose writes depend on their reads, over the same keys as `txn` (stamped rows;
 *   the exact shapes are documented in workloads/rows.ts). Each completes with the micro-ops it
 *   executed, so an rw-register checker can read it as a transaction.
 */
import {
  parseTakeOffCall,
  parseTransfer,
  planTakeOffCall,
  planTransfer,
  type Plan,
} from "../../harness/operations.ts";
import type { Completion, Invocation } from "../../harness/system.ts";

type Key = string | number;

export class MemoryState {
  private readonly registers = new Map<Key, unknown>();
  private readonly txnValues = new Map<Key, unknown>();
  private readonly set = new Set<unknown>();

  apply(invocation: Invocation): Completion {
    const { f, value } = invocation;
    switch (f) {
      case "read":
      case "write":
      case "cas":
        return this.register(f, value);
      case "txn":
        return this.txn(value);
      case "transfer":
        return this.transfer(value);
      case "take-off-call":
        return this.takeOffCall(value);
      case "add":
        this.set.add(value);
        return { type: "ok", value };
      case "read-set":
        return { type: "ok", value: [...this.set].sort(compareScalars) };
      default:
        return { type: "fail", value, error: `unknown operation "${f}"` };
    }
  }

  private register(f: "read" | "write" | "cas", value: unknown): Completion {
    if (!Array.isArray(value) || value.length !== 2 || !isKey(value[0])) {
      return { type: "fail", value, error: `expected [key, value], got ${JSON.stringify(value)}` };
    }
    const [key, arg] = value as [Key, unknown];
    const current = this.registers.has(key) ? this.registers.get(key) : null;
    if (f === "read") return { type: "ok", value: [key, current] };
    if (f === "write") {
      this.registers.set(key, arg);
      return { type: "ok", value };
    }
    if (!Array.isArray(arg) || arg.length !== 2) {
      return { type: "fail", value, error: `cas expects [key, [from, to]], got ${JSON.stringify(value)}` };
    }
    if (!sameValue(current, arg[0])) return { type: "fail", value, error: "cas-mismatch" };
    this.registers.set(key, arg[1]);
    return { type: "ok", value };
  }

  private txn(value: unknown): Completion {
    if (!Array.isArray(value)) return { type: "fail", value, error: "txn expects a list of micro-ops" };
    for (const mop of value) {
      if (!Array.isArray(mop) || mop.length !== 3 || !isMicroOpKind(mop[0]) || !isKey(mop[1])) {
        return { type: "fail", value, error: `bad micro-op ${JSON.stringify(mop)}` };
      }
    }
    const result = (value as [string, Key, unknown][]).map(([kind, key, arg]) => {
      if (kind === "r") {
        const v = this.txnValues.get(key);
        return [kind, key, v === undefined ? null : Array.isArray(v) ? v.slice() : v];
      }
      if (kind === "w") this.txnValues.set(key, arg);
      else {
        const list = this.txnValues.get(key);
        this.txnValues.set(key, Array.isArray(list) ? [...list, arg] : [arg]);
      }
      return [kind, key, arg];
    });
    return { type: "ok", value: result };
  }

  private row(key: Key): unknown {
    const v = this.txnValues.get(key);
    return v === undefined ? null : v;
  }

  private transfer(value: unknown): Completion {
    const parsed = parseTransfer(value);
    if ("error" in parsed) return { type: "fail", value, error: parsed.error };
    return this.carryOut(value, planTransfer(parsed, this.row(parsed.from), this.row(parsed.to)));
  }

  private takeOffCall(value: unknown): Completion {
    const parsed = parseTakeOffCall(value);
    if ("error" in parsed) return { type: "fail", value, error: parsed.error };
    const [a, b] = parsed.doctors;
    return this.carryOut(value, planTakeOffCall(parsed, this.row(a), this.row(b)));
  }

  /** Applies a plan atomically: its writes, or nothing when it failed. */
  private carryOut(value: unknown, plan: Plan): Completion {
    if ("error" in plan) return { type: "fail", value, error: plan.error };
    for (const [key, row] of plan.writes) this.txnValues.set(key, row);
    return { type: "ok", value: plan.executed };
  }
}

function isMicroOpKind(kind: unknown): boolean {
  return kind === "r" || kind === "w" || kind === "append";
}

function isKey(k: unknown): k is Key {
  return typeof k === "string" || typeof k === "number";
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function compareScalars(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}
