/**
 * Model-based crash tests: fast-check commands drive the engine and a sequential model (a map of
 * committed values) side by side. Commands run transactions at every isolation level, leave one
 * transaction open, roll one back, checkpoint, flush pages, vacuum, and crash: at rest, in the
 * middle of a commit, page flush or checkpoint (the disk freezes after a chosen number of
 * operations), and again in the middle of recovery. Each crash is drawn from the simulated disk's
 * model with generated parameters: any subset of the unsynced writes reaches the disk, in any
 * order, each possibly torn at a sector boundary (sectors of 1 to 512 bytes), and unsynced
 * directory changes (creations, renames, removes) survive as a prefix or not at all. After each
 * recovery the visible state must equal exactly the committed transactions: every acknowledged
 * commit present, nothing uncommitted visible (an unacknowledged commit may go either way). Disk
 * faults in the middle of a commit (a failed fsync, a full disk) end the database, and reopening
 * it from the disk must give the same.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Key, MicroOp } from "../../harness/history/op.ts";
import {
  Database,
  type EngineOptions,
  type IsolationLevel,
  type Transaction,
  type TxnResult,
} from "./database.ts";
import { SeededRandom } from "../../harness/runtime/random.ts";
import type { CrashModel } from "../../harness/runtime/sim/disk.ts";
import { canonical, MemoryDisk, stateOf, testRuntime, type TestRuntime } from "./testkit.ts";
import { readLog } from "./wal.ts";

type Model = { committed: Map<Key, unknown>; openTxn: boolean };

export interface Real {
  rt: TestRuntime;
  disk: MemoryDisk;
  db: Database;
  open: Transaction | undefined;
  options: EngineOptions;
}

const registerKeys: Key[] = ["r0", "r1", 1, 2];
const listKeys: Key[] = ["l0", "l1", 3];
const uncommittedKeys: Key[] = ["u0", "u1", 4];

const tick = (): Promise<void> => new Promise((r) => globalThis.setImmediate(r));

/** Applies a transaction's writes to a copy of the committed state and returns the reads it must see. */
function applyOps(
  committed: ReadonlyMap<Key, unknown>,
  ops: readonly MicroOp[],
): { after: Map<Key, unknown>; reads: unknown[] } {
  const after = new Map(committed);
  const reads: unknown[] = [];
  for (const [kind, key, value] of ops) {
    if (kind === "r") reads.push(after.get(key) ?? null);
    else if (kind === "w") after.set(key, value);
    else after.set(key, [...((after.get(key) as unknown[] | undefined) ?? []), value]);
  }
  return { after, reads };
}

const microOp: fc.Arbitrary<MicroOp> = fc.oneof(
  fc.tuple(
    fc.constant("r" as const),
    fc.constantFrom(...registerKeys, ...listKeys, ...uncommittedKeys),
    fc.constant(null),
  ),
  fc.tuple(fc.constant("w" as const), fc.constantFrom(...registerKeys), fc.integer({ min: 0, max: 999 })),
  fc.tuple(fc.constant("append" as const), fc.constantFrom(...listKeys), fc.integer({ min: 0, max: 999 })),
);
const level = fc.constantFrom<IsolationLevel>("read-committed", "snapshot", "serializable");
/** A crash: the model's parameters and the seed that draws what survives. */
export interface Crash {
  readonly model: CrashModel;
  readonly seed: number;
}

export const crashArbitrary: fc.Arbitrary<Crash> = fc.record({
  model: fc.record({
    writeSurvivalProbability: fc.constantFrom(0, 0.5, 1),
    tornWriteProbability: fc.constantFrom(0, 0.5, 1),
    sectorBytes: fc.constantFrom(1, 16, 64, 512),
    directoryChangesMaySurvive: fc.boolean(),
  }),
  seed: fc.nat(),
});

const tear = crashArbitrary;

async function reopen(real: Real, crash: Crash): Promise<void> {
  real.disk.crash(crash.model, new SeededRandom(crash.seed, "crash"));
  real.open = undefined;
  real.rt = testRuntime(real.disk);
  real.db = await Database.open(real.rt, real.options);
}

/** Tiny pages may not hold a long version chain: a definite failure that leaves no trace. */
function tinyPageFull(result: TxnResult, real: Real): boolean {
  return result.type === "fail" && result.error === "page-full" && real.options.pageSizeBytes! < 4096;
}

class TxnCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly ops: MicroOp[],
    readonly isolation: IsolationLevel,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const expected = applyOps(model.committed, this.ops);
    const result = await real.db.transact(this.ops, this.isolation);
    if (tinyPageFull(result, real)) {
      expect(stateOf(real.db)).toBe(canonical(model.committed));
      return;
    }
    expect(result).toMatchObject({ type: "ok" });
    if (result.type !== "ok") return;
    const reads = result.value.filter(([k]) => k === "r").map(([, , v]) => v);
    expect(reads).toEqual(expected.reads);
    model.committed = expected.after;
  }
  toString = (): string => `txn(${this.isolation}, ${JSON.stringify(this.ops)})`;
}

/** Several transactions on disjoint keys at once: they share group-commit fsyncs. */
class ConcurrentCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly values: number[]) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const ops = this.values.map((v, i): MicroOp[] => [["w", registerKeys[i % registerKeys.length]!, v]]);
    const results = await Promise.all(ops.map((o) => real.db.transact(o, "snapshot")));
    results.forEach((r, i) => {
      if (tinyPageFull(r, real)) return;
      expect(r.type).toBe("ok");
      model.committed = applyOps(model.committed, ops[i]!).after;
    });
  }
  toString = (): string => `concurrent(${JSON.stringify(this.values)})`;
}

/** Leaves a transaction open with writes to keys nobody else writes: a loser at the next crash. */
class OpenCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly writes: [Key, number][]) {}
  check = (m: Readonly<Model>): boolean => !m.openTxn;
  async run(model: Model, real: Real): Promise<void> {
    const t = real.db.begin("snapshot");
    for (const [k, v] of this.writes) await real.db.write(t, k, v);
    real.open = t;
    model.openTxn = true;
  }
  toString = (): string => `open(${JSON.stringify(this.writes)})`;
}

class AbortOpenCommand implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>): boolean => m.openTxn;
  async run(model: Model, real: Real): Promise<void> {
    if (real.open !== undefined) real.db.abort(real.open);
    real.open = undefined;
    model.openTxn = false;
    expect(stateOf(real.db)).toBe(canonical(model.committed));
  }
  toString = (): string => "abortOpen";
}

class MaintenanceCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly what: "checkpoint" | "flush" | "vacuum",
    readonly n: number,
  ) {}
  check = (): boolean => true;
  async run(_model: Model, real: Real): Promise<void> {
    if (this.what === "checkpoint") await real.db.checkpoint();
    else if (this.what === "flush") await real.db.flushDirtyPages(this.n);
    else real.db.vacuum(this.n);
  }
  toString = (): string => `${this.what}(${this.n})`;
}

class CrashCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly crash: Crash) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    await reopen(real, this.crash);
    model.openTxn = false;
    expect(stateOf(real.db)).toBe(canonical(model.committed));
  }
  toString = (): string => `crash(${JSON.stringify(this.crash)})`;
}

/** Starts a commit (or a page flush, or a checkpoint) and crashes after `diskOps` disk operations. */
class CrashMidwayCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly during: "commit" | "commit+checkpoint" | "flush" | "checkpoint",
    readonly ops: MicroOp[],
    readonly diskOps: number,
    readonly crash: Crash,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const writes = this.ops.filter(([k]) => k !== "r");
    const withTxn = applyOps(model.committed, writes).after;
    let acked = false;
    if (this.during === "commit" || this.during === "commit+checkpoint") {
      real.disk.freezeAfter(this.diskOps);
      if (this.during === "commit+checkpoint") {
        // A checkpoint taken while the commit waits for the fsync of its commit record.
        const db = real.db;
        const off = db.wal.onAppend((r) => {
          if (r.kind !== "commit") return;
          off();
          queueMicrotask(() => void db.checkpoint());
        });
      }
      void real.db.transact(writes, "serializable").then((r) => (acked = r.type === "ok"));
    } else {
      const done = await real.db.transact(writes, "snapshot");
      if (!tinyPageFull(done, real)) {
        expect(done.type).toBe("ok");
        model.committed = withTxn;
      }
      real.disk.freezeAfter(this.diskOps);
      void (this.during === "flush" ? real.db.flushDirtyPages(100) : real.db.checkpoint());
    }
    await tick();
    await reopen(real, this.crash);
    model.openTxn = false;
    const state = stateOf(real.db);
    const racing = this.during === "commit" || this.during === "commit+checkpoint";
    if (racing && !acked && state === canonical(model.committed)) return;
    if (racing) model.committed = withTxn;
    expect(state).toBe(canonical(model.committed));
  }
  toString = (): string =>
    `crashDuring(${this.during}, ${JSON.stringify(this.ops)}, after ${this.diskOps} ops, ${JSON.stringify(this.crash)})`;
}

/** Crashes, then crashes again in the middle of recovery, then recovers fully. */
class CrashInRecoveryCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly diskOps: number,
    readonly crash: Crash,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    real.disk.crash(this.crash.model, new SeededRandom(this.crash.seed, "first crash"));
    real.disk.freezeAfter(this.diskOps);
    void Database.open(testRuntime(real.disk), real.options).catch(() => undefined);
    await tick();
    await reopen(real, this.crash);
    model.openTxn = false;
    expect(stateOf(real.db)).toBe(canonical(model.committed));
  }
  toString = (): string => `crashInRecovery(after ${this.diskOps} ops, ${JSON.stringify(this.crash)})`;
}

/**
 * A disk fault in the middle of a commit: its fsync fails (EIO: what it covered is gone), or the
 * disk is full (ENOSPC: the log append writes nothing). The commit answers an error, never `ok`;
 * the database fails (it refuses to go on); reopened from the disk, after the fault is healed
 * and with or without a crash first, it holds exactly the committed state.
 */
class DiskFaultCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly fault: "fsync-eio" | "disk-full",
    readonly ops: MicroOp[],
    readonly crash: Crash | undefined,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const writes = this.ops.filter(([k]) => k !== "r");
    real.disk.setFaults(this.fault === "fsync-eio" ? { fsyncFails: "once" } : { full: true });
    const outcome = await real.db.transact(writes, "snapshot").then(
      (r) => r.type,
      () => "error",
    );
    if (writes.length > 0 && outcome !== "fail") {
      expect(outcome).toBe("error");
      expect(real.db.failure).toBeDefined();
    }
    if (this.fault === "disk-full" && real.db.failure !== undefined) {
      // While the disk is full the database cannot even recover (it must write to do so).
      await expect(Database.open(testRuntime(real.disk), real.options)).rejects.toThrow(/ENOSPC/);
    }
    real.disk.setFaults({});
    if (this.crash !== undefined)
      real.disk.crash(this.crash.model, new SeededRandom(this.crash.seed, "fault"));
    real.open = undefined;
    real.rt = testRuntime(real.disk);
    real.db = await Database.open(real.rt, real.options);
    model.openTxn = false;
    expect(stateOf(real.db)).toBe(canonical(model.committed));
  }
  toString = (): string => `${this.fault}(${JSON.stringify(this.ops)}, crash=${JSON.stringify(this.crash)})`;
}

export const engineCommands = [
  fc
    .tuple(fc.array(microOp, { minLength: 1, maxLength: 6 }), level)
    .map(([ops, l]) => new TxnCommand(ops, l)),
  fc
    .array(fc.integer({ min: 0, max: 999 }), { minLength: 2, maxLength: 4 })
    .map((v) => new ConcurrentCommand(v)),
  fc
    .array(fc.tuple(fc.constantFrom(...uncommittedKeys), fc.integer({ min: 0, max: 999 })), {
      minLength: 1,
      maxLength: 3,
    })
    .map((w) => new OpenCommand(w)),
  fc.constant(new AbortOpenCommand()),
  fc
    .tuple(
      fc.constantFrom("checkpoint" as const, "flush" as const, "vacuum" as const),
      fc.integer({ min: 1, max: 8 }),
    )
    .map(([w, n]) => new MaintenanceCommand(w, n)),
  tear.map((t) => new CrashCommand(t)),
  fc
    .tuple(
      fc.constantFrom(
        "commit" as const,
        "commit+checkpoint" as const,
        "flush" as const,
        "checkpoint" as const,
      ),
      fc.array(microOp, { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 0, max: 12 }),
      tear,
    )
    .map(([d, ops, n, t]) => new CrashMidwayCommand(d, ops, n, t)),
  fc.tuple(fc.integer({ min: 0, max: 12 }), tear).map(([n, t]) => new CrashInRecoveryCommand(n, t)),
  fc
    .tuple(
      fc.constantFrom("fsync-eio" as const, "disk-full" as const),
      fc.array(microOp, { minLength: 1, maxLength: 4 }),
      fc.option(crashArbitrary, { nil: undefined }),
    )
    .map(([f, ops, c]) => new DiskFaultCommand(f, ops, c)),
];

export async function freshReal(options: EngineOptions): Promise<Real> {
  const disk = new MemoryDisk();
  const rt = testRuntime(disk);
  const db = await Database.open(rt, options);
  return { rt, disk, db, open: undefined, options };
}

describe("crash recovery against a sequential model", () => {
  it("after every crash the state is exactly the committed transactions", async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(engineCommands, { maxCommands: 30, size: "max" }), async (cmds) => {
        const real = await freshReal({ background: false, pageSizeBytes: 4096 });
        await fc.asyncModelRun(() => ({ model: { committed: new Map(), openTxn: false }, real }), cmds);
      }),
      { numRuns: 1500 },
    );
  });

  it("the same with tiny pages, so version chains move between pages", async () => {
    let moves = 0;
    await fc.assert(
      fc.asyncProperty(fc.commands(engineCommands, { maxCommands: 60, size: "max" }), async (cmds) => {
        const real = await freshReal({ background: false, pageSizeBytes: 160 });
        await fc.asyncModelRun(() => ({ model: { committed: new Map(), openTxn: false }, real }), cmds);
        moves += (await readLog(real.disk)).filter((r) => r.kind === "move").length;
      }),
      { numRuns: 500 },
    );
    expect(moves).toBeGreaterThan(0);
  });
});

describe("a version chain that moves pages", () => {
  for (const ending of ["abort", "crash"] as const) {
    it(`is rolled back on its new page (${ending})`, async () => {
      const disk = new MemoryDisk();
      const options: EngineOptions = { background: false, pageSizeBytes: 512 };
      let db = await Database.open(testRuntime(disk), options);
      await db.transact([
        ["append", "l", 0],
        ["w", "a", "n".repeat(200)], // shares l's page, so l's growth must move it
      ]);
      const t = db.begin("snapshot");
      for (let i = 1; i <= 14; i++) await db.append(t, "l", i);
      const moves = db.wal.recordsFrom(0).filter((r) => r.kind === "move");
      expect(moves.length).toBeGreaterThan(0);
      await db.checkpoint(); // the moves and the uncommitted appends are durable
      await db.flushDirtyPages(10);
      if (ending === "abort") db.abort(t);
      else {
        disk.crash();
        db = await Database.open(testRuntime(disk), options);
        expect(db.recovery?.losersUndone).toBe(1);
      }
      expect(stateOf(db)).toBe(
        canonical(
          new Map<Key, unknown>([
            ["a", "n".repeat(200)],
            ["l", [0]],
          ]),
        ),
      );
      disk.crash();
      expect(stateOf(await Database.open(testRuntime(disk), options))).toBe(stateOf(db));
    });
  }
});
