/**
 * Hermitage's classic interleavings (github.com/ept/hermitage), run against the engine at each
 * isolation level. PostgreSQL's behaviour is the reference: read-committed prevents G0, G1a, G1b,
 * G1c and OTV but allows PMP, P4 (lost update), G-single (read skew), G2-item and G2; snapshot
 * (PostgreSQL's repeatable read) prevents all but G2-item and G2; serializable prevents all.
 * Each scenario returns whether the anomaly happened, so every expectation can fail either way.
 */
import { describe, expect, it } from "vitest";
import { Database, TxnAbortedError, type IsolationLevel, type Transaction } from "./database.ts";
import { testRuntime } from "./testkit.ts";

async function setup(): Promise<Database> {
  const db = await Database.open(testRuntime(), { background: false });
  const init = await db.transact([
    ["w", "x", 10],
    ["w", "y", 20],
  ]);
  expect(init.type).toBe("ok");
  return db;
}

/** Resolves to "ok" or the abort reason. */
async function attempt(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (error) {
    if (error instanceof TxnAbortedError) return error.reason;
    throw error;
  }
}

/** Starts a statement that should block; proves it is still pending after the event loop turns. */
async function blocked<T>(p: Promise<T>): Promise<{ readonly done: Promise<T> }> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => globalThis.setImmediate(r));
  expect(settled).toBe(false);
  return { done: p };
}

type Scenario = (db: Database, level: IsolationLevel) => Promise<boolean>;

/** A read, or the marker ABORTED when the engine aborts the reader (serializable may). */
const ABORTED = Symbol("aborted");
const read = async (db: Database, t: Transaction, k: string): Promise<unknown> => {
  try {
    return await db.read(t, k);
  } catch (error) {
    if (error instanceof TxnAbortedError) return ABORTED;
    throw error;
  }
};

const scenarios: Record<string, Scenario> = {
  // Write cycles: T1 and T2 write x and y in opposite orders; a mix of their writes is G0.
  G0: async (db, level) => {
    const t1 = db.begin(level);
    const t2 = db.begin(level);
    await db.write(t1, "x", 11);
    const t2x = await blocked(db.write(t2, "x", 12));
    await db.write(t1, "y", 21);
    await db.commit(t1);
    if ((await attempt(t2x.done)) === "ok") {
      await db.write(t2, "y", 22);
      await db.commit(t2);
    }
    const final = db.dump();
    return !(
      (final.get("x") === 11 && final.get("y") === 21) ||
      (final.get("x") === 12 && final.get("y") === 22)
    );
  },
  // Aborted read: T2 sees a value T1 later rolls back.
  G1a: async (db, level) => {
    const t1 = db.begin(level);
    const t2 = db.begin(level);
    await db.write(t1, "x", 101);
    const before = await read(db, t2, "x");
    db.abort(t1);
    const after = await read(db, t2, "x");
    await db.commit(t2);
    return before === 101 || after === 101;
  },
  // Intermediate read: T2 sees a value T1 overwrote before committing.
  G1b: async (db, level) => {
    const t1 = db.begin(level);
    const t2 = db.begin(level);
    await db.write(t1, "x", 101);
    const seen = [await read(db, t2, "x")];
    await db.write(t1, "x", 11);
    await db.commit(t1);
    seen.push(await read(db, t2, "x"));
    await db.commit(t2);
    return seen.includes(101);
  },
  // Circular information flow: each sees the other's write.
  G1c: async (db, level) => {
    const t1 = db.begin(level);
    const t2 = db.begin(level);
    await db.write(t1, "x", 11);
    await db.write(t2, "y", 22);
    const t1y = await read(db, t1, "y");
    const t2x = await read(db, t2, "x");
    await attempt(db.commit(t1));
    await attempt(db.commit(t2));
    return t1y === 22 && t2x === 11;
  },
  // Observed transaction vanishes: T3 sees T2's write to x, then T1's (overwritten) write to y.
  OTV: async (db, level) => {
    const t1 = db.begin(level);
    const t2 = db.begin(level);
    const t3 = db.begin(level);
    await db.write(t1, "x", 11);
    await db.write(t1, "y", 19);
    const t2x = await blocked(db.write(t2, "x", 12));
    await db.commit(t1);
    const t2ok = (await attempt(t2x.done)) === "ok";
    const reads: unknown[] = [await read(db, t3, "x")];
    if (t2ok) {
      await db.write(t2, "y", 18);
      reads.push(await read(db, t3, "y"));
      await db.commit(t2);
    }
    reads.push(await read(db, t3, "x"), await read(db, t3, "y"));
    await db.commit(t3);
    // After seeing T2's x (12), seeing T1's y (19) means T2 vanished.
    const sawT2 = reads.findIndex((v, i) => v === 12 && i !== 1);
    return sawT2 >= 0 && reads.slice(sawT2 + 1).includes(19);
  },
  // Predicate-many-preceders, keyed: T1 reads z absent, T2 inserts z and commits, T1 sees it.
  PMP: async (db, level) => {
    const t1 = db.begin(level);
    const t2 = db.begin(level);
    const first = await read(db, t1, "z");
    await db.write(t2, "z", 30);
    await db.commit(t2);
    const second = await read(db, t1, "z");
    await attempt(db.commit(t1));
    return first !== second;
  },
  // Lost update: both increment x from the same read; both commit.
  P4: async (db, level) => {
    const t1 = db.begin(level);
    const t2 = db.begin(level);
    const a = (await read(db, t1, "x")) as number;
    const b = (await read(db, t2, "x")) as number;
    await db.write(t1, "x", a + 1);
    const t2w = await blocked(db.write(t2, "x", b + 1));
    await db.commit(t1);
    const t2ok = (await attempt(t2w.done)) === "ok" && (await attempt(db.commit(t2))) === "ok";
    return t2ok && db.dump().get("x") === 11;
  },
  // Read skew: T1 reads x before and y after T2 moves 2 from... x+y stays 30 in every snapshot.
  "G-single": async (db, level) => {
    const t1 = db.begin(level);
    const t2 = db.begin(level);
    const x = (await read(db, t1, "x")) as number;
    await read(db, t2, "x");
    await read(db, t2, "y");
    await db.write(t2, "x", 12);
    await db.write(t2, "y", 18);
    await db.commit(t2);
    const y = (await read(db, t1, "y")) as number;
    await attempt(db.commit(t1));
    return x + y !== 30;
  },
  // Write skew: both read x and y, each writes one; both commit.
  "G2-item": async (db, level) => {
    const t1 = db.begin(level);
    const t2 = db.begin(level);
    for (const t of [t1, t2]) {
      await read(db, t, "x");
      await read(db, t, "y");
    }
    const r1 = await attempt(db.write(t1, "x", 11));
    const r2 = await attempt(db.write(t2, "y", 21));
    const c1 = r1 === "ok" ? await attempt(db.commit(t1)) : r1;
    const c2 = r2 === "ok" ? await attempt(db.commit(t2)) : r2;
    return c1 === "ok" && c2 === "ok";
  },
  // Anti-dependency cycle over reads of absent keys (PostgreSQL's predicate G2, keyed) and
  // a three-transaction rw cycle: T1 r a w b, T2 r b w c, T3 r c w a.
  G2: async (db, level) => {
    const t1 = db.begin(level);
    const t2 = db.begin(level);
    const t3 = db.begin(level);
    const steps: [Transaction, "r" | "w", string][] = [
      [t1, "r", "a"],
      [t2, "r", "b"],
      [t3, "r", "c"],
      [t1, "w", "b"],
      [t2, "w", "c"],
      [t3, "w", "a"],
    ];
    const outcome = new Map<Transaction, string>([
      [t1, "ok"],
      [t2, "ok"],
      [t3, "ok"],
    ]);
    for (const [t, kind, key] of steps) {
      if (outcome.get(t) !== "ok") continue;
      const r = await attempt(kind === "r" ? db.read(t, key) : db.write(t, key, t.xid));
      outcome.set(t, r);
    }
    for (const t of [t1, t2, t3]) if (outcome.get(t) === "ok") outcome.set(t, await attempt(db.commit(t)));
    return [...outcome.values()].every((r) => r === "ok");
  },
};

const allowed: Record<IsolationLevel, readonly string[]> = {
  "read-committed": ["PMP", "P4", "G-single", "G2-item", "G2"],
  snapshot: ["G2-item", "G2"],
  serializable: [],
};

describe("Hermitage", () => {
  for (const level of ["read-committed", "snapshot", "serializable"] as const) {
    describe(level, () => {
      for (const [name, scenario] of Object.entries(scenarios)) {
        const expected = allowed[level].includes(name);
        it(`${expected ? "allows" : "prevents"} ${name}`, async () => {
          const db = await setup();
          expect(await scenario(db, level)).toBe(expected);
        });
      }
    });
  }
});
