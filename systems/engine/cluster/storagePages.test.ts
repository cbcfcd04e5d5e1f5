/**
 * The materialiser alone, over a log made by a real primary `Database` and a fake storage source:
 * it never applies past the safe end it is offered, its state at every LSN equals a model of the
 * transactions committed below that LSN, a crash and reopen resumes where it was, and records
 * replaced below the materialised point cut it back and rebuild the right state.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Key } from "../../../harness/history/op.ts";
import { Database } from "../database.ts";
import { MemoryDisk, testRuntime } from "../testkit.ts";
import type { WalRecord } from "../wal.ts";
import { sameRecord, StoragePages, type MaterialiseSource } from "./storagePages.ts";

type Step = { readonly key: Key; readonly value: number; readonly append: boolean };
type Txn = { readonly steps: readonly Step[]; readonly commit: boolean };

interface MadeLog {
  readonly records: readonly WalRecord[];
  /** [end of the commit record, the committed state after it], in log order. */
  readonly commits: readonly (readonly [number, ReadonlyMap<Key, unknown>])[];
}

const keys: readonly Key[] = ["a", "b", "c", 1, 2];

/** Runs `txns` one after another on a fresh primary; returns its log and the model's states. */
async function makeLog(txns: readonly Txn[], leaveOpen = false): Promise<MadeLog> {
  const db = await Database.open(testRuntime(), { background: false, pageSizeBytes: 512 });
  db.retainWalFrom(0);
  const model = new Map<Key, unknown>();
  const commits: [number, ReadonlyMap<Key, unknown>][] = [];
  for (const [i, txn] of txns.entries()) {
    const t = db.begin("read-committed");
    const next = new Map(model);
    try {
      for (const s of txn.steps) {
        if (s.append) {
          await db.append(t, s.key, s.value);
          const base = next.get(s.key);
          next.set(s.key, [...(Array.isArray(base) ? (base as unknown[]) : []), s.value]);
        } else {
          await db.write(t, s.key, s.value);
          next.set(s.key, s.value);
        }
      }
    } catch {
      db.abort(t); // type-mismatch (append to a number) or page-full: rolled back
      continue;
    }
    if (!txn.commit) {
      db.abort(t);
      continue;
    }
    await db.commit(t);
    for (const [k, v] of next) model.set(k, v);
    const last = db.wal.get(db.wal.lastLsn)!;
    commits.push([last.lsn + last.sizeBytes, new Map(model)]);
    if (i % 4 === 3) await db.checkpoint();
  }
  if (leaveOpen) {
    // An unfinished transaction at the end: its update is in the log, never visible.
    const t = db.begin("read-committed");
    await db.write(t, "a", -1);
    await db.checkpoint();
  }
  await db.close();
  const records = JSON.parse(JSON.stringify(db.walRecordsFrom(0, undefined, false))) as WalRecord[];
  return { records, commits };
}

/** The committed state of the log below `lsn`, per the model. */
function expectedAt(log: MadeLog, lsn: number): Map<Key, unknown> {
  let state: ReadonlyMap<Key, unknown> = new Map();
  for (const [end, s] of log.commits) if (end <= lsn) state = s;
  return new Map(state);
}

function stateOf(pages: StoragePages): Map<Key, unknown> {
  const read = pages.read(1000);
  expect(read.complete).toBe(true);
  return new Map(read.entries);
}

function sourceOf(records: readonly WalRecord[], safeEnd: () => number): MaterialiseSource {
  const byLsn = new Map(records.map((r) => [r.lsn, r]));
  return { record: (lsn) => byLsn.get(lsn), safeEnd };
}

const stepArb = fc.record({
  key: fc.constantFrom(...keys),
  value: fc.integer({ min: 0, max: 99 }),
  append: fc.boolean(),
});
const txnArb = fc.record({
  steps: fc.array(stepArb, { minLength: 1, maxLength: 4 }),
  commit: fc.boolean(),
});

describe("storage pages", () => {
  it("never passes the safe end, and its state at every point equals the committed model", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(txnArb, { minLength: 1, maxLength: 14 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        async (txns, advances, maxRecordsPerPass, leaveOpen) => {
          const log = await makeLog(txns, leaveOpen);
          const end = log.records.at(-1)!.lsn + log.records.at(-1)!.sizeBytes;
          let safe = 0;
          const source = sourceOf(log.records, () => safe);
          const pages = await StoragePages.open(
            testRuntime(),
            { isolation: "serializable", maxRecordsPerPass },
            source,
          );
          for (const advance of [...advances, end]) {
            safe = Math.min(end, safe + advance);
            const applied = await pages.pass(source);
            expect(applied).toBeLessThanOrEqual(maxRecordsPerPass);
            expect(pages.materialisedLsn).toBeLessThanOrEqual(safe);
            expect(stateOf(pages)).toEqual(expectedAt(log, pages.materialisedLsn));
          }
          for (let i = 0; i < log.records.length && pages.materialisedLsn < end; i++)
            await pages.pass(source);
          expect(pages.materialisedLsn).toBe(end);
          expect(stateOf(pages)).toEqual(expectedAt(log, end));
          expect(pages.stats()).toMatchObject({ cuts: 0, lastError: undefined });
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a crash loses nothing it applied: the reopened pages resume at the same point", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(txnArb, { minLength: 2, maxLength: 14 }),
        fc.integer({ min: 1, max: 40 }),
        async (txns, passesBeforeCrash) => {
          const log = await makeLog(txns);
          const end = log.records.at(-1)!.lsn + log.records.at(-1)!.sizeBytes;
          const source = sourceOf(log.records, () => end);
          const disk = new MemoryDisk();
          const options = { isolation: "serializable", maxRecordsPerPass: 2, pagesPerPass: 1 } as const;
          const pages = await StoragePages.open(testRuntime(disk), options, source);
          for (let i = 0; i < passesBeforeCrash; i++) await pages.pass(source);
          const before = pages.materialisedLsn;
          const applied = pages.stats().recordsApplied;
          disk.crash();
          const reopened = await StoragePages.open(testRuntime(disk), options, source);
          expect(reopened.stats()).toMatchObject({ resumedFromLsn: before, cuts: 0 });
          expect(reopened.stats().recordsRedoneAtOpen).toBeLessThanOrEqual(applied);
          expect(stateOf(reopened)).toEqual(expectedAt(log, before));
          for (let i = 0; i < log.records.length && reopened.materialisedLsn < end; i++)
            await reopened.pass(source);
          expect(stateOf(reopened)).toEqual(expectedAt(log, end));
        },
      ),
      { numRuns: 30 },
    );
  });

  it("records replaced below the materialised point cut it back, at runtime and at reopen", async () => {
    const shared: Txn[] = [
      { steps: [{ key: "a", value: 1, append: false }], commit: true },
      { steps: [{ key: "b", value: 2, append: true }], commit: true },
    ];
    const first = await makeLog([
      ...shared,
      { steps: [{ key: "a", value: 30, append: false }], commit: true },
      { steps: [{ key: "c", value: 40, append: false }], commit: true },
    ]);
    const second = await makeLog([
      ...shared,
      { steps: [{ key: "b", value: 5, append: true }], commit: true },
      { steps: [{ key: 1, value: 6, append: false }], commit: true },
    ]);
    const endOf = (log: MadeLog): number => log.records.at(-1)!.lsn + log.records.at(-1)!.sizeBytes;
    const divergence = second.records.find((r, i) => JSON.stringify(r) !== JSON.stringify(first.records[i]))!;
    expect(divergence.lsn).toBeGreaterThan(0);

    // At runtime: the storage tells the pages which LSN was dropped.
    const disk = new MemoryDisk();
    const a = sourceOf(first.records, () => endOf(first));
    const pages = await StoragePages.open(testRuntime(disk), { isolation: "serializable" }, a);
    await pages.pass(a);
    expect(stateOf(pages)).toEqual(expectedAt(first, endOf(first)));
    const b = sourceOf(second.records, () => endOf(second));
    pages.dropped(divergence.lsn);
    await pages.pass(b);
    expect(pages.stats()).toMatchObject({ cuts: 1, lastError: undefined });
    expect(stateOf(pages)).toEqual(expectedAt(second, endOf(second)));

    // At reopen: pages built on the first log, reopened over the second.
    const disk2 = new MemoryDisk();
    const old = await StoragePages.open(testRuntime(disk2), { isolation: "serializable" }, a);
    await old.pass(a);
    const reopened = await StoragePages.open(testRuntime(disk2), { isolation: "serializable" }, b);
    expect(reopened.stats().cuts).toBe(1);
    expect(reopened.materialisedLsn).toBe(divergence.lsn);
    expect(stateOf(reopened)).toEqual(expectedAt(second, divergence.lsn));
    await reopened.pass(b);
    expect(stateOf(reopened)).toEqual(expectedAt(second, endOf(second)));

    // Unnoticed (no `dropped` call): the chain no longer continues past what was applied, so the
    // next pass finds the difference and cuts anyway.
    const third = await makeLog([
      ...shared,
      { steps: [{ key: "b", value: 5, append: true }], commit: true },
      { steps: [{ key: 1, value: 6, append: false }], commit: true },
      { steps: [{ key: 2, value: 7, append: false }], commit: true },
      { steps: [{ key: "c", value: 8, append: true }], commit: true },
    ]);
    expect(endOf(third)).toBeGreaterThan(endOf(first));
    const disk3 = new MemoryDisk();
    const unnoticed = await StoragePages.open(testRuntime(disk3), { isolation: "serializable" }, a);
    await unnoticed.pass(a);
    const c = sourceOf(third.records, () => endOf(third));
    await unnoticed.pass(c);
    await unnoticed.pass(c);
    expect(unnoticed.stats()).toMatchObject({ cuts: 1, lastError: undefined });
    expect(stateOf(unnoticed)).toEqual(expectedAt(third, endOf(third)));
  });

  it("pages that cannot be recovered are rebuilt from LSN 0, and say so", async () => {
    const log = await makeLog([
      { steps: [{ key: "a", value: 1, append: false }], commit: true },
      { steps: [{ key: "b", value: 2, append: true }], commit: true },
    ]);
    const end = log.records.at(-1)!.lsn + log.records.at(-1)!.sizeBytes;
    const source = sourceOf(log.records, () => end);
    const disk = new MemoryDisk();
    const pages = await StoragePages.open(testRuntime(disk), { isolation: "serializable" }, source);
    await pages.pass(source);
    // A control file naming a checkpoint the log does not hold: recovery refuses it.
    await disk.write("control", 0, new TextEncoder().encode(JSON.stringify({ checkpointLsn: 7 })));
    await disk.fsync("control");
    const reopened = await StoragePages.open(testRuntime(disk), { isolation: "serializable" }, source);
    expect(reopened.stats().cuts).toBe(1);
    expect(reopened.stats().lastError).toMatch(/could not be opened/);
    expect(reopened.materialisedLsn).toBe(0);
    await reopened.pass(source);
    expect(reopened.stats().lastError).toBeUndefined();
    expect(stateOf(reopened)).toEqual(expectedAt(log, end));
  });
});

describe("sameRecord", () => {
  /** The definition: same position and size, and the same JSON for the rest of the record. */
  function byJson(a: WalRecord, b: WalRecord): boolean {
    const body = (r: WalRecord): string => {
      const { lsn: _l, prevLsn: _p, sizeBytes: _s, ...rest } = r;
      return JSON.stringify(rest);
    };
    return a.lsn === b.lsn && a.prevLsn === b.prevLsn && a.sizeBytes === b.sizeBytes && body(a) === body(b);
  }
  const leaf = fc.oneof(
    fc.integer({ min: 0, max: 2 }),
    fc.constantFrom("k", "l", NaN, -0, 0, null, undefined, true, Infinity),
  );
  const nested = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("array"), tie("object")),
    array: fc.array(tie("value"), { maxLength: 2 }),
    object: fc.dictionary(fc.constantFrom("a", "b"), tie("value"), { maxKeys: 2 }),
  })).value;
  const field = fc.oneof(
    leaf,
    fc.constant([1, 2]),
    fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }),
    nested,
    fc.constantFrom(new Date(0), new Date(1)),
    fc.constant(Object.assign(Object.create(null) as object, { a: 1 })),
  );
  const record = fc
    .tuple(
      fc.uniqueArray(fc.constantFrom("kind", "xid", "key", "value", "append"), { maxLength: 5 }),
      fc.array(field, { minLength: 5, maxLength: 5 }),
      fc.integer({ min: 0, max: 1 }),
    )
    .map(([names, values, lsn]) => {
      const r: Record<string, unknown> = {};
      names.forEach((name, i) => (r[name] = values[i]));
      return { ...r, lsn, prevLsn: -1, sizeBytes: 10 } as unknown as WalRecord;
    });

  const variants = ["copy", "moved", "reordered", "reorderedInside", "nulled", "any"] as const;
  /** `value` with every plain object's entries passed through `change`, all through. */
  function rebuilt(value: unknown, change: (entries: [string, unknown][]) => [string, unknown][]): unknown {
    if (Array.isArray(value)) return value.map((item: unknown) => rebuilt(item, change));
    if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype)
      return value;
    return Object.fromEntries(change(Object.entries(value).map(([k, v]) => [k, rebuilt(v, change)])));
  }

  it("agrees with comparing the records' JSON, for flat and nested fields in any order", () => {
    fc.assert(
      fc.property(record, record, fc.constantFrom(...variants), (a, b, how) => {
        // Often a copy of the same record (what a restarted replica compares), or one with its
        // position fields first (as its pages' log reads it back: the same JSON), or its fields
        // in another order, at the top or inside them, or with null for undefined all through
        // (other JSON, or the same), else any two.
        const copy = JSON.parse(JSON.stringify(a)) as WalRecord;
        const others: Record<(typeof variants)[number], unknown> = {
          copy,
          moved: Object.fromEntries([
            ["lsn", a.lsn],
            ["prevLsn", a.prevLsn],
            ...Object.entries(copy).filter(([k]) => k !== "lsn" && k !== "prevLsn"),
          ]),
          reordered: Object.fromEntries(Object.entries(a).reverse()),
          reorderedInside: Object.fromEntries(
            Object.entries(a).map(([k, v]) => [k, rebuilt(v, (entries) => entries.reverse())]),
          ),
          nulled: rebuilt(a, (entries) => entries.map(([k, v]) => [k, v === undefined ? null : v])),
          any: b,
        };
        const other = others[how] as WalRecord;
        expect(sameRecord(a, other)).toBe(byJson(a, other));
      }),
      { numRuns: 2000 },
    );
  });

  it("compares what is not plain data by its JSON", () => {
    const at = { lsn: 0, prevLsn: -1, sizeBytes: 10 };
    const record = (value: unknown): WalRecord => ({ kind: "update", value, ...at }) as unknown as WalRecord;
    // Objects that are not plain have no own keys to compare: only their JSON tells them apart.
    expect(sameRecord(record(new Date(0)), record(new Date(1)))).toBe(false);
    expect(sameRecord(record(Object(1) as unknown), record(Object(2) as unknown))).toBe(false);
    expect(sameRecord(record([Object(1)]), record([Object(2)]))).toBe(false);
    expect(sameRecord(record(new Date(0)), record(new Date(0)))).toBe(true);
    expect(sameRecord(record({ toJSON: () => 1 }), record({ toJSON: () => 2 }))).toBe(false);
    const listWritten = (json: number): unknown => Object.assign([0], { toJSON: () => json });
    expect(sameRecord(record(listWritten(1)), record(listWritten(2)))).toBe(false);
    expect(sameRecord(record([NaN, undefined]), record([null, null]))).toBe(true);
  });

  it("answers again for frozen records it found the same, and sees a change under a shallow freeze", () => {
    const at = { lsn: 0, prevLsn: -1, sizeBytes: 10 };
    const frozen = (value: unknown): WalRecord =>
      Object.freeze({ kind: "update", value, ...at }) as unknown as WalRecord;
    // Flat frozen records: the answer is remembered for the pair, and only for that pair.
    const a = frozen(1);
    const b = Object.freeze({ ...at, kind: "update", value: 1 }) as unknown as WalRecord;
    const c = frozen(2);
    expect(sameRecord(a, b)).toBe(true);
    expect(sameRecord(a, b)).toBe(true);
    expect(sameRecord(a, c)).toBe(false);
    expect(sameRecord(c, b)).toBe(false);
    // A frozen record holding an object is not immutable all through: compared again each time.
    const list = [1, 2];
    const shallow = frozen(list);
    const other = frozen([1, 2]);
    expect(sameRecord(shallow, other)).toBe(true);
    list.push(3);
    expect(sameRecord(shallow, other)).toBe(false);
  });
});
