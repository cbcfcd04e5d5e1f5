/**
 * The segment file's lines, written and read as bytes: each line is `<crc32 hex> <JSON>\n` of the
 * stored record, exactly as a text encoder would write it; a line torn or rotted anywhere fails its
 * checksum and is dropped; and reading agrees with the plain text reading (decode the file, split
 * it at newlines, check each line's checksum over its JSON's UTF-8) for any damage to the file.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32 } from "../checksum.ts";
import type { WalRecord } from "../wal.ts";
import type { Runtime } from "../../../harness/runtime/types.ts";
import type { Durability } from "../durability.ts";
import { loadsResumed, parseSegment, segmentLines, StorageSegment, type Stored } from "./storageSegment.ts";
import type { History } from "./timeline.ts";

const encoder = new TextEncoder();

/** What `parseSegment` reads: the records and the count of bad lines (not where they came from). */
function read(bytes: Uint8Array): { stored: Stored[]; bad: number } {
  const { stored, bad } = parseSegment(bytes);
  return { stored, bad };
}

/** The reading of a segment as text, line by line (what `parseSegment` must agree with). */
function parseAsText(bytes: Uint8Array): { stored: unknown[]; bad: number } {
  const stored: unknown[] = [];
  let bad = 0;
  for (const line of new TextDecoder().decode(bytes).split("\n")) {
    if (line === "") continue;
    const json = line.slice(9);
    if (line[8] !== " " || crc32(encoder.encode(json)).toString(16).padStart(8, "0") !== line.slice(0, 8)) {
      bad++;
      continue;
    }
    try {
      stored.push(JSON.parse(json));
    } catch {
      bad++;
    }
  }
  return { stored, bad };
}

const value = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 4 }),
);
const stored: fc.Arbitrary<Stored> = fc
  .record({
    epoch: fc.nat({ max: 5 }),
    lsn: fc.nat({ max: 1e6 }),
    value,
    frozen: fc.boolean(),
  })
  .map(({ epoch, lsn, value, frozen }) => {
    const record = {
      kind: "update",
      xid: 7,
      txnPrevLsn: -1,
      pageId: 0,
      key: "k",
      value,
      lsn,
      prevLsn: -1,
      sizeBytes: 40,
    } as unknown as WalRecord;
    return { epoch, record: frozen ? Object.freeze(record) : record };
  });

describe("storage segment lines", () => {
  it("are the text encoder's bytes of `<crc32 hex> <JSON>\\n` and read back whole", () => {
    fc.assert(
      fc.property(fc.array(stored, { maxLength: 6 }), (all) => {
        // Twice: the second time from the memo of frozen records' lines.
        for (let round = 0; round < 2; round++) {
          const bytes = segmentLines(all);
          const text = all
            .map((s) => {
              const json = JSON.stringify(s);
              return `${crc32(encoder.encode(json)).toString(16).padStart(8, "0")} ${json}\n`;
            })
            .join("");
          expect(bytes).toEqual(encoder.encode(text));
          expect(read(bytes)).toEqual({ stored: JSON.parse(JSON.stringify(all)), bad: 0 });
        }
      }),
    );
  });

  it("a line under another epoch is not the memo's", () => {
    const record = Object.freeze({
      kind: "commit",
      xid: 1,
      txnPrevLsn: 0,
      lsn: 0,
      prevLsn: -1,
      sizeBytes: 9,
    });
    const r = record as unknown as WalRecord;
    const first = parseSegment(segmentLines([{ epoch: 1, record: r }]));
    const second = parseSegment(segmentLines([{ epoch: 2, record: r }]));
    expect(first.stored[0]?.epoch).toBe(1);
    expect(second.stored[0]?.epoch).toBe(2);
  });

  it("reads back a line of a frozen record as that record, and never takes other bytes for it", () => {
    const record = Object.freeze({
      kind: "commit",
      xid: 3,
      txnPrevLsn: 0,
      lsn: 100,
      prevLsn: 50,
      sizeBytes: 9,
    }) as unknown as WalRecord;
    const bytes = segmentLines([{ epoch: 2, record }]);
    const { stored } = parseSegment(bytes.slice());
    expect(stored).toEqual([{ epoch: 2, record }]);
    expect(stored[0]!.record).toBe(record);
    // One digit of the JSON changed, the checksum the line claims kept: it fails that checksum.
    const rotted = bytes.slice();
    rotted[new TextDecoder().decode(bytes).indexOf('"xid":3') + 6] = "4".charCodeAt(0);
    expect(read(rotted)).toEqual({ stored: [], bad: 1 });
    // A frozen record JSON would change (-0 writes 0) is parsed: what it reads is JSON's meaning.
    const odd = Object.freeze({ ...record, lsn: 200, value: -0 }) as unknown as WalRecord;
    const oddRead = parseSegment(segmentLines([{ epoch: 2, record: odd }])).stored[0]!;
    expect(oddRead.record).not.toBe(odd);
    expect(Object.is((oddRead.record as unknown as { value: number }).value, 0)).toBe(true);
  });

  it("reads a segment that begins with one read before (a restart, a peer's copy) as the text reading does", () => {
    fc.assert(
      fc.property(
        fc.array(stored, { minLength: 1, maxLength: 5 }),
        fc.array(stored, { maxLength: 5 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (first, more, cutAt, flipAt, flipTo) => {
          const before = segmentLines(first);
          const firstRead = parseSegment(before);
          const after = new Uint8Array([...before, ...segmentLines(more)]);
          expect(read(after)).toEqual(parseAsText(after));
          // Cut anywhere (a torn append), or with a byte rotted anywhere, after both were read.
          const cut = after.subarray(0, cutAt % (after.length + 1));
          expect(read(cut)).toEqual(parseAsText(cut));
          const rotted = after.slice();
          rotted[flipAt % rotted.length] = flipTo;
          expect(read(rotted)).toEqual(parseAsText(rotted));
          // The shorter one read again: the same records; a stored record that equals its JSON
          // round trip and holds no structured value is the very one read at first, frozen, the
          // others parsed again.
          const again = parseSegment(before);
          expect({ stored: again.stored, bad: again.bad }).toEqual({
            stored: firstRead.stored,
            bad: firstRead.bad,
          });
          for (const [i, s] of again.stored.entries()) {
            const structured = typeof (s.record as { value?: unknown }).value === "object";
            expect(Object.isFrozen(s)).toBe(Object.isFrozen(s.record));
            if (Object.isFrozen(s)) expect(s).toBe(firstRead.stored[i]);
            else {
              expect(structured).toBe(true);
              expect(s).not.toBe(firstRead.stored[i]);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads any damaged segment as the text reading does: torn lines and rotted bytes fail", () => {
    // Anywhere, but often at the very start or in the first line's checksum and separator.
    const where = fc.oneof(fc.constant(0), fc.nat({ max: 12 }), fc.nat());
    const damage = fc.oneof(
      // a byte flipped (rot at rest), possibly into a newline or a byte that is not UTF-8
      fc.record({ kind: fc.constant("flip" as const), at: where, to: fc.integer({ min: 0, max: 255 }) }),
      // the file cut short (a torn append)
      fc.record({ kind: fc.constant("cut" as const), at: where }),
      // bytes that are not UTF-8 (or a BOM) spliced in
      fc.record({
        kind: fc.constant("insert" as const),
        at: where,
        bytes: fc.constantFrom([0xff], [0xc3], [0xe2, 0x82], [0xef, 0xbb, 0xbf], [0x0a], [0x20]),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(stored, { minLength: 1, maxLength: 5 }),
        fc.array(damage, { maxLength: 3 }),
        (all, damages) => {
          let bytes = segmentLines(all);
          for (const d of damages) {
            const at = d.at % (bytes.length + 1);
            if (d.kind === "flip" && at < bytes.length) {
              bytes = bytes.slice();
              bytes[at] = d.to;
            } else if (d.kind === "cut") bytes = bytes.slice(0, at);
            else if (d.kind === "insert") {
              const grown = new Uint8Array(bytes.length + d.bytes.length);
              grown.set(bytes.subarray(0, at));
              grown.set(d.bytes, at);
              grown.set(bytes.subarray(at), at + d.bytes.length);
              bytes = grown;
            }
          }
          expect(read(bytes)).toEqual(parseAsText(bytes));
        },
      ),
      { numRuns: 300 },
    );
  });
});

/**
 * The log end as the segment computed it by walking the whole chain from LSN 0 whenever a record
 * below the log end was replaced (and the run from the old end otherwise): the reference the
 * segment's resumed walk (`strict`) must agree with, step by step.
 */
class WalkingEnds {
  readonly records = new Map<number, Stored>();
  endLsn = 0;

  constructor(private readonly history: () => History) {}

  keep(s: Stored): void {
    const have = this.records.get(s.record.lsn);
    if (have !== undefined && have.epoch >= s.epoch) return;
    if (this.isSuperseded(s.epoch, s.record.lsn)) return;
    this.records.set(s.record.lsn, s);
    if (have !== undefined && s.record.lsn < this.endLsn) this.walk(0);
    else this.walk(this.endLsn);
  }

  dropSuperseded(): void {
    let dropped = 0;
    for (const [lsn, s] of [...this.records]) {
      if (this.isSuperseded(s.epoch, lsn)) {
        this.records.delete(lsn);
        dropped++;
      }
    }
    if (dropped > 0) this.walk(0);
  }

  private isSuperseded(epoch: number, lsn: number): boolean {
    return this.history().some((h) => h.epoch > epoch && h.startLsn <= lsn);
  }

  private walk(from: number): void {
    let end = from;
    let prev = from === 0 ? -1 : undefined;
    for (let s = this.records.get(end); s !== undefined; s = this.records.get(end)) {
      if (prev !== undefined && s.record.prevLsn !== prev) break;
      prev = end;
      end = s.record.lsn + s.record.sizeBytes;
    }
    this.endLsn = end;
  }
}

describe("a segment's log end", () => {
  it("is the end the whole walk from LSN 0 finds, and the records are those it keeps, after resends, replacements and truncations", () => {
    // Records on a grid of 10-byte steps, 1 to 3 steps long, pointing back one or two steps (or
    // to nothing): chains that run, break, are resent under newer epochs and replaced.
    const keepStep = fc.record({
      kind: fc.constant("keep" as const),
      at: fc.nat({ max: 30 }),
      steps: fc.integer({ min: 1, max: 3 }),
      back: fc.integer({ min: 0, max: 2 }),
      epoch: fc.integer({ min: 1, max: 4 }),
    });
    const truncateStep = fc.record({
      kind: fc.constant("truncate" as const),
      epoch: fc.integer({ min: 2, max: 5 }),
      at: fc.nat({ max: 30 }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ arbitrary: keepStep, weight: 6 }, { arbitrary: truncateStep, weight: 1 })),
        (steps) => {
          let history: History = [{ epoch: 1, writer: "n1", startLsn: 0 }];
          const segment = new StorageSegment(
            {} as Runtime,
            {} as Durability,
            () => history,
            () => undefined,
          );
          const reference = new WalkingEnds(() => history);
          for (const step of steps) {
            if (step.kind === "keep") {
              const lsn = step.at * 10;
              const prevLsn = step.back === 0 || lsn === 0 ? -1 : Math.max(0, lsn - 10 * step.back);
              const record = {
                kind: "commit",
                xid: 1,
                txnPrevLsn: -1,
                lsn,
                prevLsn,
                sizeBytes: 10 * step.steps,
              };
              const stored = { epoch: step.epoch, record: record as unknown as WalRecord };
              segment.keep(stored);
              reference.keep(stored);
            } else {
              history = [...history, { epoch: step.epoch, writer: "n2", startLsn: step.at * 10 }];
              segment.dropSuperseded();
              reference.dropSuperseded();
            }
            expect(segment.endLsn).toBe(reference.endLsn);
            // The same records held, in the same order (a rewrite writes them in this order).
            expect([...segment.records.keys()]).toEqual([...reference.records.keys()]);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("loading a segment", () => {
  it("property: ends where keeping every record of the file from empty ends, whether it resumed from a remembered state or not, under timelines that grow or change", async () => {
    // Frozen flat records on a grid (so their lines are remembered and handed out as is), some at
    // the same LSN under several epochs with other contents (replacements, reported dropped).
    const recordAt = (at: number, steps: number, xid: number): WalRecord =>
      Object.freeze({
        kind: "commit",
        xid,
        txnPrevLsn: -1,
        lsn: at * 10,
        prevLsn: at === 0 ? -1 : at * 10 - 10,
        sizeBytes: 10 * steps,
      }) as unknown as WalRecord;
    const line = fc
      .record({
        at: fc.nat({ max: 12 }),
        steps: fc.integer({ min: 1, max: 2 }),
        xid: fc.integer({ min: 1, max: 2 }),
        epoch: fc.integer({ min: 1, max: 5 }),
      })
      .map(({ at, steps, xid, epoch }): Stored => ({ epoch, record: recordAt(at, steps, xid) }));
    // Timelines that grow (by an epoch starting inside the records, or above all of them: a
    // state kept under the shorter one still decides alike), and one that differs.
    const e1 = { epoch: 1, writer: "n1", startLsn: 0 };
    const histories: History[] = [
      [e1],
      [e1, { epoch: 2, writer: "n2", startLsn: 60 }],
      [e1, { epoch: 2, writer: "n2", startLsn: 60 }, { epoch: 3, writer: "n1", startLsn: 500 }],
      [e1, { epoch: 4, writer: "n2", startLsn: 500 }],
      [e1, { epoch: 4, writer: "n2", startLsn: 500 }, { epoch: 5, writer: "n1", startLsn: 30 }],
      [e1, { epoch: 2, writer: "n2", startLsn: 40 }],
    ];
    const resumedBefore = loadsResumed;
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { minLength: 1, maxLength: 24 }),
        fc.array(fc.record({ length: fc.nat(), history: fc.nat({ max: 5 }), torn: fc.boolean() }), {
          minLength: 1,
          maxLength: 6,
        }),
        async (lines, loads) => {
          // Loads of growing (or shrinking) prefixes of one segment, some with a torn last line.
          const whole = segmentLines(lines);
          const ends: number[] = [];
          for (let at = 0, i = 0; i < lines.length; i++) ends.push((at = whole.indexOf(0x0a, at) + 1));
          for (const load of loads) {
            const count = 1 + (load.length % lines.length);
            let bytes = whole.slice(0, ends[count - 1]);
            if (load.torn) bytes = bytes.slice(0, bytes.length - 3);
            const history = histories[load.history]!;
            const droppedLoaded: number[] = [];
            const loaded = new StorageSegment(
              { disk: { read: () => Promise.resolve(bytes) } } as unknown as Runtime,
              { ensureFiles: () => Promise.resolve() } as unknown as Durability,
              () => history,
              (lsn) => droppedLoaded.push(lsn),
            );
            await loaded.load();
            const droppedKept: number[] = [];
            const kept = new StorageSegment(
              {} as Runtime,
              {} as Durability,
              () => history,
              (lsn) => droppedKept.push(lsn),
            );
            for (const s of read(bytes).stored) kept.keep(s);
            kept.dropSuperseded();
            expect([...loaded.records.entries()]).toEqual([...kept.records.entries()]);
            expect(loaded.endLsn).toBe(kept.endLsn);
            expect(loaded.fsyncedEnd).toBe(kept.endLsn);
            expect(loaded.holdsPastGap).toBe(kept.holdsPastGap);
            expect(droppedLoaded).toEqual(droppedKept);
          }
        },
      ),
      { numRuns: 300 },
    );
    // The property met loads that resumed, not only loads that kept every record.
    expect(loadsResumed).toBeGreaterThan(resumedBefore);
  });
});
