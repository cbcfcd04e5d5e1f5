import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppendIndex, AppendStats, ValueTable } from "./value-table.ts";

/** The index of appends `appendKey`/`appendValue` list once each (value NaN: not a number). */
function appendIndexOf(
  keyCount: number,
  appendKey: Int32Array,
  appendValue: Float64Array,
  appendCount: number,
): AppendIndex {
  const stats = new AppendStats(keyCount);
  const { count, min, max, irregular } = stats;
  for (let i = 0; i < appendCount; i++) {
    const k = appendKey[i]!;
    const v = appendValue[i]!;
    count[k]!++;
    if (!((v | 0) === v)) irregular[k] = 1;
    else {
      if (v < min[k]!) min[k] = v;
      if (v > max[k]!) max[k] = v;
    }
  }
  return new AppendIndex(keyCount, stats);
}

const value = fc.oneof(fc.integer({ min: -50, max: 50 }), fc.constantFrom("a", "b", 2.5, 1e12));
const pairs = fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), value), { maxLength: 300 });

describe("value tables agree with a Map", () => {
  it("ValueTable: slots are stable, distinct per pair, and absent pairs are -1", () => {
    fc.assert(
      fc.property(pairs, pairs, (inserted, probes) => {
        const table = new ValueTable(4); // small, so it must grow
        const reference = new Map<string, number>();
        for (const [k, v] of inserted) {
          const slot = table.slotOf(k, v, true);
          const id = `${k}/${typeof v}/${String(v)}`;
          if (!reference.has(id)) {
            table.setEntry(slot, reference.size);
            reference.set(id, reference.size);
          }
        }
        for (const [k, v] of [...inserted, ...probes]) {
          const slot = table.slotOf(k, v, false);
          const expected = reference.get(`${k}/${typeof v}/${String(v)}`);
          expect(slot === -1 ? undefined : table.entry(slot)).toBe(expected);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("ValueTable: says when it grew (its slots moved)", () => {
    const table = new ValueTable(600);
    for (let v = 0; v < 600; v++) table.slotOf(1, `v${v}`, true);
    expect(table.grew).toBe(false);
    for (let v = 600; v < 2000; v++) table.slotOf(1, `v${v}`, true);
    expect(table.grew).toBe(true);
  });

  it("AppendIndex: dense and hashed keys behave alike", () => {
    fc.assert(
      fc.property(pairs, pairs, (inserted, probes) => {
        const keys = Int32Array.from(inserted.map(([k]) => k));
        const values = Float64Array.from(inserted.map(([, v]) => (typeof v === "number" ? v : NaN)));
        const index = appendIndexOf(8, keys, values, inserted.length);
        const reference = new Map<string, number>();
        for (const [k, v] of inserted) {
          const slot = index.slotOf(k, v, true);
          const id = `${k}/${typeof v}/${String(v)}`;
          if (!reference.has(id)) {
            index.setEntry(slot, reference.size);
            index.setPosition(slot, 1000 + reference.size);
            reference.set(id, reference.size);
          }
        }
        for (const [k, v] of [...inserted, ...probes]) {
          const slot = index.slotOf(k, v, false);
          const expected = reference.get(`${k}/${typeof v}/${String(v)}`);
          expect(slot === -1 ? undefined : index.entry(slot)).toBe(expected);
          if (slot !== -1) expect(index.position(slot)).toBe(1000 + expected!);
        }
        // Sized for the appends it was given, it never grew: the slots given as they were
        // inserted stand (list-append keeps them).
        expect(index.slotsMoved).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});
