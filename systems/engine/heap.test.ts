/**
 * The heap's changes keep a page's cached tuple images honest: after any sequence of updates,
 * appends (whose list JSON is made from the list before), compensations and vacuums (each flushed
 * in between, so images are cached and then changed), a page's image is byte for byte the image
 * of the same page encoded from scratch, and each tuple's `encodedBytes` is its size counted from
 * scratch.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Durability } from "./durability.ts";
import { Heap } from "./heap.ts";
import { emptyPage, encodePage, keyId, PagePool, tupleSize, type Page } from "./pages.ts";
import type { Wal } from "./wal.ts";

const pageSizeBytes = 65536;

/** The page with no cached images: what an encoding from scratch sees. */
function fresh(page: Page): Page {
  const copy = emptyPage(page.id);
  copy.pageLsn = page.pageLsn;
  for (const [kid, t] of page.tuples) {
    copy.tuples.set(kid, {
      key: t.key,
      versions: t.versions.map((v) => ({ ...v })),
      encodedBytes: t.encodedBytes,
    });
  }
  return copy;
}

const step = fc.oneof(
  fc.record({
    kind: fc.constant("update" as const),
    key: fc.constantFrom("a", "b", 3),
    value: fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer(), { maxLength: 3 })),
  }),
  fc.record({
    kind: fc.constant("append" as const),
    key: fc.constantFrom("a", "b", 3),
    element: fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.constantFrom(undefined, -0, 1e21, 5e-7, NaN, -Infinity),
      fc.array(fc.integer(), { maxLength: 2 }),
    ),
  }),
  fc.record({ kind: fc.constant("undo" as const), key: fc.constantFrom("a", "b", 3) }),
  fc.record({ kind: fc.constant("vacuum" as const), key: fc.constantFrom("a", "b", 3), count: fc.nat(3) }),
  fc.constant({ kind: "flush" as const }),
);

describe("heap", () => {
  it("every change makes the page's image again: cached tuple images never go stale", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        // Only the pool's dirty table and the page map are used by these changes.
        const pool = new PagePool(undefined as unknown as Durability, { pageSizeBytes, tornPageBug: false });
        const heap = new Heap(pool, undefined as unknown as Wal, pageSizeBytes);
        const page = pool.page(0);
        let xid = 1;
        let lsn = 0;
        for (const s of steps) {
          const tuple = s.kind === "flush" ? undefined : page.tuples.get(keyId(s.key));
          if (s.kind === "update") heap.applyUpdate(page, s.key, xid++, s.value, lsn++);
          else if (s.kind === "append") {
            // As redo appends: to the newest version's list, or to none.
            const base = tuple?.versions.at(-1)?.value;
            const list = Array.isArray(base) ? base : [];
            heap.applyUpdate(page, s.key, xid++, [...list, s.element], lsn++, { element: s.element });
          } else if (s.kind === "undo" && tuple !== undefined && tuple.versions.length > 0) {
            heap.applyCompensation(page, s.key, tuple.versions.at(-1)!.xmin, lsn++);
          } else if (s.kind === "vacuum" && tuple !== undefined && s.count < tuple.versions.length) {
            heap.applyVacuum(page, s.key, s.count, lsn++);
          } else if (s.kind === "flush") {
            encodePage(page, pageSizeBytes, true); // caches every tuple's image
          }
          // Buffer.equals, not toEqual: a deep comparison of two 64 KiB arrays element by element
          // took the property minutes.
          const cached = Buffer.from(encodePage(page, pageSizeBytes, true));
          const scratch = Buffer.from(encodePage(fresh(page), pageSizeBytes, true));
          if (!cached.equals(scratch)) expect(cached.toString("hex")).toBe(scratch.toString("hex"));
          for (const t of page.tuples.values()) {
            const copies = t.versions.map((v) => ({ ...v })); // not cached: sized from scratch
            expect(t.encodedBytes).toBe(tupleSize(t.key, copies));
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
