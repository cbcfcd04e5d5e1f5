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
      if (
        !Array.isArray(mop) ||
        mop.length !== 3 ||
        !["r", "w", "append"].includes(mop[0]) ||
        !isKey(mop[1])
      ) {
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
      return {
        type: "fail",
        value,
        error: `transfer expects {from, to, amount, writeId} with distinct keys, got ${JSON.stringify(value)}`,
      };
    }
    const { from, to, amount, writeId } = v as { from: Key; to: Key; amount: number; writeId: number };
    const rowFrom = this.row(from);
    const rowTo = this.row(to);
    const balanceFrom = balanceOf(rowFrom);
    const balanceTo = balanceOf(rowTo);
    if (balanceFrom === undefined || balanceTo === undefined) {
      return { type: "fail", value, error: "no-such-account" };
    }
    if (balanceFrom < amount) return { type: "fail", value, error: "insufficient-funds" };
    const newFrom = { balance: balanceFrom - amount, writeId };
    const newTo = { balance: balanceTo + amount, writeId };
    this.txnValues.set(from, newFrom);
    this.txnValues.set(to, newTo);
    return {
      type: "ok",
      value: [
        ["r", from, rowFrom],
        ["r", to, rowTo],
        ["w", from, newFrom],
        ["w", to, newTo],
      ],
    };
  }

  private takeOffCall(value: unknown): Completion {
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
      return {
        type: "fail",
        value,
        error: `take-off-call expects {doctors: [a, b], doctor, writeId}, got ${JSON.stringify(value)}`,
      };
    }
    const [a, b] = doctors as [Key, Key];
    const doctor = v!.doctor as Key;
    const rowA = this.row(a);
    const rowB = this.row(b);
    const executed: unknown[] = [
      ["r", a, rowA],
      ["r", b, rowB],
    ];
    if (isOnCall(rowA) && isOnCall(rowB)) {
      const written = { onCall: false, writeId: v!.writeId };
      this.txnValues.set(doctor, written);
      executed.push(["w", doctor, written]);
    }
    return { type: "ok", value: executed };
  }
}

function balanceOf(row: unknown): number | undefined {
  if (typeof row !== "object" || row === null) return undefined;
  const balance = (row as { balance?: unknown }).balance;
  return typeof balance === "number" ? balance : undefined;
}

function isOnCall(row: unknown): boolean {
  return typeof row === "object" && row !== null && (row as { onCall?: unknown }).onCall === true;
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
