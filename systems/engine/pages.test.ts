import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Durability } from "./durability.ts";
import {
  PagePool,
  decodePage,
  encodePage,
  encodeTuple,
  emptyPage,
  grownTupleSize,
  keyId,
  PageCorruptionError,
  tupleSize,
  type Version,
} from "./pages.ts";
import { MemoryDisk } from "./testkit.ts";

const versions = fc.array(
  fc.record({ xmin: fc.nat(1000), xmax: fc.nat(1000), value: fc.jsonValue({ maxDepth: 2 }) }),
  { minLength: 1, maxLength: 4 },
);

describe("keyId", () => {
  it("property: is `n` and the number for a number key, `s` and the text for a string, asked once or again", () => {
    const key = fc.oneof(
      fc.nat({ max: 70_000 }),
      fc.integer(),
      fc.double(),
      fc.constantFrom(-0, 65_535, 65_536, 0.5, -1, Number.MAX_SAFE_INTEGER, NaN, Infinity),
      fc.string(),
    );
    fc.assert(
      fc.property(fc.array(key, { maxLength: 20 }), (keys) => {
        for (const k of [...keys, ...keys]) expect(keyId(k)).toBe(typeof k === "number" ? `n${k}` : `s${k}`);
      }),
    );
    expect(keyId(1)).not.toBe(keyId("1"));
  });
});

describe("pages", () => {
  it("encode/decode round-trips any page that fits", () =>
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(fc.string(), fc.integer()), versions), { maxLength: 8 }),
        (tuples) => {
          const page = emptyPage(3);
          page.pageLsn = 1234;
          for (const [key, vs] of tuples) {
            const copy = JSON.parse(JSON.stringify(vs)) as Version[];
            page.tuples.set(keyId(key), { key, versions: copy, encodedBytes: tupleSize(key, copy) });
          }
          const decoded = decodePage(3, encodePage(page, 65536, true), true)!;
          expect(decoded.pageLsn).toBe(1234);
          expect([...decoded.tuples.entries()].map(([k, t]) => [k, t.key, t.versions])).toEqual(
            [...page.tuples.entries()].map(([k, t]) => [k, t.key, t.versions]),
          );
        },
      ),
      { numRuns: 200 },
    ));

  it("an image encoded into a reused buffer is byte for byte the freshly allocated one", () => {
    const pageOf = (
      tuples: readonly (readonly [string | number, Version[]])[],
    ): ReturnType<typeof emptyPage> => {
      const page = emptyPage(7);
      page.pageLsn = 99;
      for (const [key, vs] of tuples) {
        const copy = JSON.parse(JSON.stringify(vs)) as Version[];
        page.tuples.set(keyId(key), { key, versions: copy, encodedBytes: tupleSize(key, copy) });
      }
      return page;
    };
    const tuples = fc.array(fc.tuple(fc.oneof(fc.string(), fc.integer()), versions), { maxLength: 8 });
    fc.assert(
      fc.property(tuples, tuples, fc.boolean(), (first, second, withChecksum) => {
        const reused = new Uint8Array(65536);
        // The buffer holds an earlier, possibly longer, image: none of it may leak into the next.
        encodePage(pageOf(first), 65536, withChecksum, reused);
        const image = encodePage(pageOf(second), 65536, withChecksum, reused);
        expect(image).toBe(reused);
        // Buffer.equals, not toEqual, whose element-by-element walk of 64 KiB arrays costs seconds.
        expect(Buffer.from(image).equals(Buffer.from(encodePage(pageOf(second), 65536, withChecksum)))).toBe(
          true,
        );
      }),
      { numRuns: 100 },
    );
    expect(() => encodePage(emptyPage(1), 4096, true, new Uint8Array(8192))).toThrow(RangeError);
  });

  it("a torn write over an older image fails the checksum", () => {
    const page = emptyPage(0);
    page.tuples.set(keyId("k"), {
      key: "k",
      versions: [{ xmin: 1, xmax: 0, value: "old" }],
      encodedBytes: 0,
    });
    const old = encodePage(page, 4096, true);
    page.pageLsn = 99;
    const tuple = page.tuples.get(keyId("k"))!;
    tuple.versions = [{ xmin: 2, xmax: 0, value: "a much newer value" }];
    tuple.image = undefined; // changed: its image must be made again
    const next = encodePage(page, 4096, true);
    expect(next.subarray(24)).not.toEqual(old.subarray(24));
    for (let keep = 1; keep < 60; keep++) {
      const torn = old.slice();
      torn.set(next.subarray(0, keep));
      if (torn.every((b, i) => b === next[i])) continue;
      expect(() => decodePage(0, torn, true)).toThrow(PageCorruptionError);
    }
  });

  it("an all-zero page is a page never written", () => {
    expect(decodePage(0, new Uint8Array(4096), true)).toBeUndefined();
  });

  it("tuple sizes, cached and grown, equal the encoded size", () =>
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.integer()),
        versions,
        fc.integer({ min: 1, max: 10 ** 9 }),
        fc.jsonValue({ maxDepth: 2 }),
        (key, raw, xid, value) => {
          const chain = JSON.parse(JSON.stringify(raw)) as Version[];
          const plain = (): string => JSON.stringify([key, chain.map((v) => [v.xmin, v.xmax, v.value])]);
          expect(Buffer.from(encodeTuple(key, chain)).toString()).toBe(plain());
          expect(tupleSize(key, chain)).toBe(4 + encodeTuple(key, chain).length);
          const grownExpected = (() => {
            const next = chain.map((v) => ({ ...v }));
            if (next.at(-1)!.xmax === 0) next.at(-1)!.xmax = xid;
            next.push({ xmin: xid, xmax: 0, value: JSON.parse(JSON.stringify(value ?? null)) as unknown });
            return 4 + encodeTuple(key, next).length;
          })();
          expect(grownTupleSize(key, chain, xid, JSON.parse(JSON.stringify(value ?? null)))).toBe(
            grownExpected,
          );
          chain[0]!.xmax = xid; // a cached size follows a changed xmax
          expect(Buffer.from(encodeTuple(key, chain)).toString()).toBe(plain());
          expect(tupleSize(key, chain)).toBe(Buffer.byteLength(plain()) + 4);
        },
      ),
      { numRuns: 300 },
    ));

  it("a flush writes the used part of the image in whole sectors, and the file holds what whole-page writes would", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(2), fc.array(fc.string({ maxLength: 300 }), { maxLength: 12 })), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.array(fc.nat(12), { maxLength: 2 }),
        async (flushes, restartsBefore) => {
          const size = 8192;
          const disk = new MemoryDisk();
          const openPool = async (): Promise<PagePool> => {
            const opened = new PagePool(new Durability(disk, new Set()), {
              pageSizeBytes: size,
              tornPageBug: false,
            });
            await opened.load();
            return opened;
          };
          let pool = await openPool();
          const usedMax = new Map<number, number>();
          let slotMax = 0;
          for (const [at, [id, values]] of flushes.entries()) {
            // A restarted pool learns from the files what earlier, longer images left there.
            if (restartsBefore.includes(at)) pool = await openPool();
            // Each flush gives the page a new set of tuples: images grow and shrink.
            const page = pool.page(id);
            page.tuples.clear();
            page.pageLsn += 1;
            values.forEach((value, i) => {
              const versions = [{ xmin: i + 1, xmax: 0, value }];
              page.tuples.set(keyId(i), { key: i, versions, encodedBytes: tupleSize(i, versions) });
            });
            pool.markDirty(id, page.pageLsn);
            expect(await pool.flushPage(id, async () => undefined)).toBe(true);
            const whole = encodePage(page, size, true);
            const used = Math.ceil((8 + new DataView(whole.buffer).getUint32(4)) / 512) * 512;
            usedMax.set(id, Math.max(usedMax.get(id) ?? 0, used));
            const file = (await disk.read("pages"))!;
            const slice = new Uint8Array(size);
            slice.set(file.subarray(id * size, Math.min(file.length, (id + 1) * size)));
            expect(Buffer.from(slice).equals(Buffer.from(whole))).toBe(true);
            const slot = (await disk.read("dwb"))!;
            // The slot file is as long as the longest image ever written there (zeros over the rest).
            slotMax = Math.max(slotMax, used);
            expect(slot.length).toBe(slotMax);
            const slotPage = new Uint8Array(size);
            slotPage.set(slot.subarray(0, size));
            expect(Buffer.from(slotPage).equals(Buffer.from(whole))).toBe(true);
          }
          // Each write covered the used part of its image, or of an earlier, longer one of its page.
          expect(await disk.size("pages")).toBe(
            Math.max(...[...usedMax].map(([id, used]) => id * size + used)),
          );
        },
      ),
      {
        numRuns: 60,
        // A long image, a restart, then a short image of the same page: the restarted pool must zero
        // the old image's tail it only knows of from the file.
        examples: [
          [
            [
              [0, Array.from({ length: 12 }, () => "x".repeat(300))],
              [0, []],
            ],
            [1],
          ],
        ],
      },
    ));
});
