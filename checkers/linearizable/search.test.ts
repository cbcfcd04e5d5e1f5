/**
 * Properties of the search. A history made from a sequential execution, each operation given a
 * random interval around its place in that execution, some outcomes made unknown (info, or no
 * completion), is always linearizable; changing one completed read to a value never written
 * always makes it not linearizable. For a cas-register and for a kv store (split by key and
 * unsplit, which must agree).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Op, OpType } from "../../harness/history/op.ts";
import { checkLinearizableHistory } from "./index.ts";
import { hasKnownResult } from "./testHistory.ts";

interface Planned {
  readonly f: string;
  readonly invokeValue: unknown;
  readonly completeValue: unknown;
  readonly type: OpType;
  readonly error?: string;
  readonly key?: string;
  readonly isRead: boolean;
}

/** How each planned operation ends: as it happened, info, or never completed. */
const endings = fc.constantFrom("as-run", "as-run", "as-run", "as-run", "info", "open");

/** A random interval around each op's place in the sequential run; events in time order. */
function toHistory(
  planned: readonly Planned[],
  widths: readonly [number, number][],
  ends: readonly string[],
): Op[] {
  const events: { time: number; op: Omit<Op, "index" | "time"> }[] = [];
  planned.forEach((p, i) => {
    const at = 10 * i + 5; // the op's linearization point
    const [before, after] = widths[i]!;
    const extra = p.key === undefined ? {} : { key: p.key };
    events.push({
      time: at - before - 0.25,
      op: { process: i, type: "invoke", f: p.f, value: p.invokeValue, ...extra },
    });
    const end = ends[i];
    if (end === "open") return;
    const completion =
      end === "info"
        ? { process: i, type: "info" as const, f: p.f, value: p.invokeValue, ...extra }
        : {
            process: i,
            type: p.type,
            f: p.f,
            value: p.completeValue,
            ...extra,
            ...(p.error === undefined ? {} : { error: p.error }),
          };
    events.push({ time: at + after + 0.25, op: completion });
  });
  events.sort((a, b) => a.time - b.time);
  return events.map((e, index) => ({ ...e.op, index, time: index }) as Op);
}

/** A cas-register run from null over values 0..3. */
const casRun = fc
  .array(
    fc.tuple(
      fc.constantFrom("read", "write", "cas"),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 3 }),
      fc.boolean(),
    ),
    {
      minLength: 1,
      maxLength: 14,
    },
  )
  .map((steps) => {
    let state: number | null = null;
    return steps.map(([f, a, b, etcdStyle]): Planned => {
      if (f === "read") return { f, invokeValue: null, completeValue: state, type: "ok", isRead: true };
      if (f === "write") {
        state = a;
        return { f, invokeValue: a, completeValue: a, type: "ok", isRead: false };
      }
      if (state === a) {
        state = b;
        return { f, invokeValue: [a, b], completeValue: [a, b], type: "ok", isRead: false };
      }
      // A CAS that found another value: etcd reports it as a completed failure, Jepsen as a fail.
      return etcdStyle
        ? { f, invokeValue: [a, b], completeValue: [a, b], type: "fail", error: "cas-mismatch", isRead: true }
        : { f, invokeValue: [a, b], completeValue: [a, b], type: "fail", isRead: false };
    });
  });

/** A kv run over keys a and b: puts and appends of unique strings, gets. */
const kvRun = fc
  .array(fc.tuple(fc.constantFrom("get", "put", "append"), fc.constantFrom("a", "b")), {
    minLength: 1,
    maxLength: 14,
  })
  .map((steps) => {
    const store = new Map<string, string>();
    return steps.map(([f, key], i): Planned => {
      const current = store.get(key) ?? "";
      if (f === "get") return { f, key, invokeValue: null, completeValue: current, type: "ok", isRead: true };
      const v = `<${i}>`;
      store.set(key, f === "put" ? v : current + v);
      return { f, key, invokeValue: v, completeValue: v, type: "ok", isRead: false };
    });
  });

function scenario(run: fc.Arbitrary<Planned[]>) {
  return run.chain((planned) =>
    fc.record({
      planned: fc.constant(planned),
      widths: fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 })), {
        minLength: planned.length,
        maxLength: planned.length,
      }),
      ends: fc.array(endings, { minLength: planned.length, maxLength: planned.length }),
      pick: fc.nat(),
    }),
  );
}

/** The history with one completed ok read changed to `never`; undefined if it has none. */
function withOneBadRead(
  h: Op[],
  isRead: (op: Op) => boolean,
  pick: number,
  never: unknown,
): Op[] | undefined {
  const reads = h.filter((op) => op.type === "ok" && isRead(op));
  if (reads.length === 0) return undefined;
  const target = reads[pick % reads.length]!;
  return h.map((op) => (op === target ? { ...op, value: never } : op));
}

const runs = { numRuns: 300 };

describe("histories from a sequential run", () => {
  it("are linearizable (cas-register)", () => {
    fc.assert(
      fc.property(scenario(casRun), ({ planned, widths, ends }) => {
        const h = toHistory(planned, widths, ends);
        const want = hasKnownResult(h) ? true : "unknown";
        expect(checkLinearizableHistory(h, { model: "cas-register" }).valid).toBe(want);
      }),
      runs,
    );
  });

  it("are not, once one read returns a value never written (cas-register)", () => {
    fc.assert(
      fc.property(scenario(casRun), ({ planned, widths, ends, pick }) => {
        const bad = withOneBadRead(toHistory(planned, widths, ends), (op) => op.f === "read", pick, 99);
        fc.pre(bad !== undefined);
        const result = checkLinearizableHistory(bad!, { model: "cas-register" });
        expect(result.valid).toBe(false);
        expect(result.anomalies!["nonlinearizable"]!.length).toBe(1);
      }),
      runs,
    );
  });

  it("are linearizable (kv), split by key and unsplit", () => {
    fc.assert(
      fc.property(scenario(kvRun), ({ planned, widths, ends }) => {
        const h = toHistory(planned, widths, ends);
        const want = hasKnownResult(h) ? true : "unknown";
        expect(checkLinearizableHistory(h, { model: "kv" }).valid).toBe(want);
        expect(checkLinearizableHistory(h, { model: "kv", partition: false }).valid).toBe(want);
      }),
      runs,
    );
  });

  it("are not, once one get returns a value never written (kv), split by key and unsplit", () => {
    fc.assert(
      fc.property(scenario(kvRun), ({ planned, widths, ends, pick }) => {
        const bad = withOneBadRead(toHistory(planned, widths, ends), (op) => op.f === "get", pick, "<never>");
        fc.pre(bad !== undefined);
        expect(checkLinearizableHistory(bad!, { model: "kv" }).valid).toBe(false);
        expect(checkLinearizableHistory(bad!, { model: "kv", partition: false }).valid).toBe(false);
      }),
      runs,
    );
  });
});
