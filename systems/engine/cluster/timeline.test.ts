import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cutPoint, freezeHistory, newerHistory, superseded, type EpochStart } from "./timeline.ts";

const history = fc
  .array(fc.nat({ max: 10_000 }), { maxLength: 8 })
  .map((starts): EpochStart[] =>
    starts.map((startLsn, i) => ({ epoch: i + 1, writer: `n${i % 3}`, startLsn })),
  );

describe("timeline", () => {
  it("a record is superseded exactly when it lies at or above the cut point of its epoch", () => {
    fc.assert(
      fc.property(history, fc.nat({ max: 9 }), fc.nat({ max: 12_000 }), (h, epoch, lsn) => {
        const cut = cutPoint(h, epoch);
        expect(superseded(h, epoch, lsn)).toBe(cut !== undefined && lsn >= cut);
      }),
    );
  });

  it("a frozen history's remembered answers agree with the definition, asked again and again", () => {
    fc.assert(
      fc.property(
        history,
        fc.array(fc.tuple(fc.nat({ max: 9 }), fc.nat({ max: 12_000 })), { maxLength: 30 }),
        (h, asks) => {
          const frozen = freezeHistory(h);
          for (const [epoch, lsn] of [...asks, ...asks]) {
            const byDefinition = h.some((e) => e.epoch > epoch && lsn >= e.startLsn);
            expect(superseded(frozen, epoch, lsn)).toBe(byDefinition);
          }
        },
      ),
    );
  });

  it("answers by the history asked about when asks move between frozen histories (the last answer is remembered)", () => {
    fc.assert(
      fc.property(
        fc.array(history, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 9 }), fc.nat({ max: 12_000 })), { maxLength: 40 }),
        (histories, asks) => {
          // Unfrozen copies too: they are never remembered, and must not be answered from a frozen one.
          const all = histories.flatMap((h) => [freezeHistory(h.map((e) => ({ ...e }))), h.slice()]);
          for (const [which, epoch, lsn] of [...asks, ...asks]) {
            const h = all[which % all.length]!;
            const byDefinition = h.some((e) => e.epoch > epoch && lsn >= e.startLsn);
            expect(superseded(h, epoch, lsn)).toBe(byDefinition);
          }
        },
      ),
    );
  });

  it("cuts at the smallest start of any later epoch, not the next one", () => {
    const h: EpochStart[] = [
      { epoch: 1, writer: "n1", startLsn: 0 },
      { epoch: 2, writer: "n2", startLsn: 1000 },
      { epoch: 3, writer: "n3", startLsn: 900 },
    ];
    expect(cutPoint(h, 1)).toBe(900);
    expect(cutPoint(h, 2)).toBe(900);
    expect(cutPoint(h, 3)).toBeUndefined();
    expect(newerHistory(h.slice(0, 2), h)).toBe(h);
    expect(newerHistory(h, h.slice(0, 2))).toBe(h);
  });
});
