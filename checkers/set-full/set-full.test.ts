import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Op, OpType, Process } from "../../harness/history/op.ts";
import { checkSetFullHistory } from "./index.ts";

type Row = readonly [Process, OpType, string, unknown];
/** Times are 1 s per row, so the explanations read easily. */
const history = (rows: readonly Row[]): Op[] =>
  rows.map(([process, type, f, value], index) => ({ index, time: index * 1e9, process, type, f, value }));

const add = (p: number, x: number, outcome: OpType = "ok"): Row[] => [
  [p, "invoke", "add", x],
  [p, outcome, "add", x],
];
const read = (p: number, xs: number[]): Row[] => [
  [p, "invoke", "read-set", null],
  [p, "ok", "read-set", xs],
];

describe("set-full checker", () => {
  it("calls elements present in every later read stable", () => {
    const r = checkSetFullHistory(
      history([...add(0, 1), ...add(1, 2), ...read(0, [1, 2]), ...read(1, [1, 2])]),
    );
    expect(r).toMatchObject({ valid: true, stableCount: 2, lostCount: 0, acknowledgedCount: 2 });
  });

  it("finds a lost element: acknowledged, seen, then absent from every read from some point on", () => {
    const r = checkSetFullHistory(
      history([...add(0, 1), ...add(0, 2), ...read(1, [1, 2]), ...read(1, [1]), ...read(2, [1])]),
    );
    expect(r.valid).toBe(false);
    expect(r.anomalyCounts).toEqual({ lost: 1 });
    const lost = r.anomalies!.lost![0]!;
    expect(lost).toMatchObject({ element: 2, acknowledgedNs: 3e9, lastSeenNs: 5e9, absentReads: 2 });
    expect(lost.explanation).toMatch(/acknowledged: 3\.000 s.*last seen 5\.000 s/);
  });

  it("names an element of 1e400 (read as Infinity) as itself in its explanation, not as null", () => {
    // Before: "element null was known at …" beside "element null was read … but never added".
    const r = checkSetFullHistory(
      history([
        [0, "invoke", "add", Infinity],
        [0, "ok", "add", Infinity],
        [1, "invoke", "read-set", null],
        [1, "ok", "read-set", [null]],
      ]),
    );
    expect(r.anomalies!.lost![0]!.explanation).toMatch(/^element Infinity was known at/);
    expect(r.anomalies!.unexpected![0]!.explanation).toMatch(/^element null was read .* but never added/);
  });

  it("finds an element lost without ever being read", () => {
    const r = checkSetFullHistory(history([...add(0, 7), ...read(1, [])]));
    expect(r.anomalies!.lost![0]).toMatchObject({ element: 7, lastSeenNs: null });
  });

  it("finds a stale read (absent after acknowledgement, present later), an error only if linearizable", () => {
    const h = history([...add(0, 1), ...read(1, []), ...read(1, [1])]);
    const strict = checkSetFullHistory(h);
    expect(strict.valid).toBe(false);
    expect(strict.anomalyCounts).toEqual({ stale: 1 });
    const relaxed = checkSetFullHistory(h, { linearizable: false });
    expect(relaxed).toMatchObject({ valid: true, staleCount: 1 });
  });

  it("does not count a read that began before the add completed against it", () => {
    const h = history([
      [0, "invoke", "add", 1],
      [1, "invoke", "read-set", null],
      [0, "ok", "add", 1],
      [1, "ok", "read-set", []],
      ...read(1, [1]),
    ]);
    expect(checkSetFullHistory(h)).toMatchObject({ valid: true, stableCount: 1 });
  });

  it("is unknown, never valid or INVALID, when the history has no add at all", () => {
    // Nothing was at stake: another workload's history checked as a set, say, whose operations
    // are neither adds nor reads (it was "valid"), or whose reads return what no add explains.
    const others = history([
      [0, "invoke", "txn", [["append", 1, 1]]],
      [0, "ok", "txn", [["append", 1, 1]]],
    ]);
    const noReads = checkSetFullHistory(others);
    expect(noReads.valid).toBe("unknown");
    expect(noReads.reason).toBe(
      'no add ("add") among the 2 operations, so no element was at stake (0 reads ("read-set") completed): is this a set history?',
    );
    for (const xs of [[], [4, null]]) {
      const readsOnly = checkSetFullHistory(
        history([...read(0, xs as number[]), ...read(1, xs as number[])]),
      );
      expect(readsOnly.valid).toBe("unknown");
      expect(readsOnly.reason).toContain("2 reads");
    }
    // One add, even a failed one, makes it a set history again.
    expect(checkSetFullHistory(history([...add(0, 1, "fail"), ...read(1, [])])).valid).toBe(true);
  });

  it("refuses a read that completed without a list, quoting only the start of what it held", () => {
    // The whole value was quoted: a megabyte of input made a megabyte error line.
    const huge = "x".repeat(1_000_000);
    const h = history([...add(0, 1), [1, "invoke", "read-set", null], [1, "ok", "read-set", huge]]);
    let message = "";
    try {
      checkSetFullHistory(h);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^index 3: a read-set must complete with the list of elements, got "xxx+\.\.\.$/);
    expect(message.length).toBeLessThan(200);
  });

  it("names reads of text where numbers were added (a client answering BIGINT as text)", () => {
    // Still INVALID (the reads hold what was never added), but the verdict says why it likely is.
    const r = checkSetFullHistory(
      history([
        ...add(0, 1),
        ...add(0, 2),
        [1, "invoke", "read-set", null],
        [1, "ok", "read-set", ["1", "2"]],
      ]),
    );
    expect(r.valid).toBe(false);
    expect(r.anomalyCounts).toEqual({ lost: 2, unexpected: 2 });
    expect(r.reason).toBe(
      '2 lost, 2 unexpected of 4 elements (reads hold text where numbers were added, such as "1" for 1: does the client answer numbers as text?)',
    );
    expect(r.anomalies!.unexpected![0]!.explanation).toMatch(
      /never added \(the number 1 was added: text is not a number\)$/,
    );
    // No such hint when the text is no added number's.
    const other = checkSetFullHistory(history([...add(0, 1), ...read(1, [1, "7" as unknown as number])]));
    expect(other.reason).toBe("1 unexpected of 2 elements");
  });

  it("judges an element added more than once by its likeliest add", () => {
    // A failed add of it after one that committed made a read of it "unexpected": INVALID.
    const r = checkSetFullHistory(history([...add(0, 1), ...add(1, 1, "fail"), ...read(2, [1])]));
    expect(r).toMatchObject({ valid: true, stableCount: 1, acknowledgedCount: 1 });
    // Known from the first acknowledgement: a read begun after it that lacks the element finds it lost.
    const lost = checkSetFullHistory(
      history([...add(0, 1), ...read(2, []), ...add(1, 1, "info"), ...read(2, [])]),
    );
    expect(lost.anomalyCounts).toEqual({ lost: 1 });
    expect(lost.anomalies!.lost![0]).toMatchObject({ addOutcome: "ok", acknowledgedNs: 1e9 });
  });

  it("finds duplicated elements and elements that were never added or whose add failed", () => {
    const dup = checkSetFullHistory(history([...add(0, 1), ...read(1, [1, 1])]));
    expect(dup.valid).toBe(false);
    expect(dup.anomalies!.duplicated![0]).toMatchObject({ element: 1, copies: 2 });
    const unexpected = checkSetFullHistory(history([...add(0, 1, "fail"), ...read(1, [1, 9])]));
    expect(unexpected.valid).toBe(false);
    expect(unexpected.anomalyCounts).toEqual({ unexpected: 2 });
  });

  it("takes an object element for the same element whatever the order of its keys", () => {
    // A database may hand a document back with its keys in another order: not a lost element
    // and an unexpected one.
    const rows = (read: unknown): Row[] => [
      [0, "invoke", "add", { id: 1, tag: "x" }],
      [0, "ok", "add", { id: 1, tag: "x" }],
      [1, "invoke", "read-set", null],
      [1, "ok", "read-set", [read]],
    ];
    expect(checkSetFullHistory(history(rows({ tag: "x", id: 1 })))).toMatchObject({
      valid: true,
      stableCount: 1,
    });
    expect(checkSetFullHistory(history(rows({ tag: "y", id: 1 }))).valid).toBe(false);
  });

  it("never takes a string for the list or object whose text it is", () => {
    // A list added and the string "[1]" read back are two elements: the list lost, the string
    // never added. (Elements were keyed by their text, and the two were one.)
    const rows = (added: unknown, read: unknown): Row[] => [
      [0, "invoke", "add", added],
      [0, "ok", "add", added],
      [1, "invoke", "read-set", null],
      [1, "ok", "read-set", [read]],
    ];
    for (const [added, read] of [
      [[1], "[1]"],
      [{ a: 1 }, '{"a":1}'],
      ["[1]", [1]],
    ]) {
      const result = checkSetFullHistory(history(rows(added, read)));
      expect(result).toMatchObject({ valid: false, lostCount: 1, unexpectedCount: 1 });
    }
    expect(checkSetFullHistory(history(rows([1], [1]))).valid).toBe(true);
  });

  it("reports info adds that appear as recovered, and those that never appear as unknown outcomes", () => {
    const r = checkSetFullHistory(history([...add(0, 1, "info"), ...add(2, 2, "info"), ...read(1, [1])]));
    expect(r).toMatchObject({ valid: true, recoveredCount: 1, unknownOutcomeCount: 1 });
    expect((r.recovered as { element: unknown }[])[0]!.element).toBe(1);
  });

  it("is unknown when an acknowledged element was never read afterwards, or nothing was read", () => {
    const never = checkSetFullHistory(history([...read(1, []), ...add(0, 1)]));
    expect(never).toMatchObject({ valid: "unknown", neverReadCount: 1 });
    expect(checkSetFullHistory(history(add(0, 1))).valid).toBe("unknown");
  });

  it("rejects a read whose value is not a list, naming the index", () => {
    expect(() =>
      checkSetFullHistory(
        history([
          [0, "invoke", "read-set", null],
          [0, "ok", "read-set", 5],
        ]),
      ),
    ).toThrow(/index 1/);
  });

  it("property: when every acknowledged add appears in every later read, nothing is lost or stale", () => {
    // A random serial schedule of adds (ok or info, info ones applied or not) and reads of the true set.
    const step = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), info: fc.boolean(), applied: fc.boolean() }),
      fc.record({ kind: fc.constant("read" as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const rows: Row[] = [];
        const set: number[] = [];
        let next = 0;
        let acked = 0;
        for (const s of steps) {
          if (s.kind === "add") {
            const x = next++;
            const happened = !s.info || s.applied;
            if (happened) set.push(x);
            if (!s.info) acked += 1;
            rows.push(...add(0, x, s.info ? "info" : "ok"));
          } else rows.push(...read(1, [...set]));
        }
        rows.push(...read(1, [...set]));
        const r = checkSetFullHistory(history(rows));
        expect(r.lostCount).toBe(0);
        expect(r.staleCount).toBe(0);
        // With no add at all nothing was at stake: unknown (see above).
        expect(r.valid).toBe(next === 0 ? "unknown" : true);
        expect(r.stableCount).toBeGreaterThanOrEqual(acked);
      }),
      { numRuns: 200 },
    );
  });

  it("property: dropping an acknowledged element from the final reads always makes it lost", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.nat(), (n, pick) => {
        const victim = pick % n;
        const rows: Row[] = [];
        for (let x = 0; x < n; x++) rows.push(...add(0, x));
        const all = Array.from({ length: n }, (_, x) => x);
        rows.push(
          ...read(1, all),
          ...read(
            1,
            all.filter((x) => x !== victim),
          ),
        );
        const r = checkSetFullHistory(history(rows));
        expect(r.valid).toBe(false);
        expect(r.anomalies!.lost!.map((c) => c.element)).toEqual([victim]);
      }),
      { numRuns: 100 },
    );
  });
});
