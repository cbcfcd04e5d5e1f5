/**
 * Test helper: a workload's generator run against imaginary clients (harness/generator/simulate.ts),
 * its schedule then executed on a toy transactional store at a chosen isolation level, so tests can
 * show that each workload's checkers catch exactly what that level allows:
 *
 * - `serializable`: each operation takes effect atomically at its completion (strict serializable);
 * - `snapshot`: reads come from a snapshot taken at invocation; writes commit at completion under
 *   first-committer-wins (a write to a key committed by another since the snapshot aborts: `fail`
 *   with `conflict`). Lost updates are impossible, write skew is not;
 * - `read-committed`: a read-only transaction reads its first half of keys at invocation and the
 *   rest at completion (a fresh snapshot per statement: read skew); transactions that write run
 *   atomically at completion (as row locks would make them).
 *
 * Operations: `txn` (r, w), `transfer` and `take-off-call` (shapes in rows.ts). Used by tests only.
 */
import type { Key, Op } from "../harness/history/op.ts";
import { simulate } from "../harness/generator/simulate.ts";
import type { Generator } from "../harness/generator/index.ts";

export type ToyIsolation = "serializable" | "snapshot" | "read-committed";

interface Version {
  readonly value: unknown;
  readonly seq: number;
}

type Outcome =
  { readonly ok: true; readonly mops: unknown[][] } | { readonly ok: false; readonly error: string };

const balanceOf = (row: unknown): number | undefined =>
  typeof row === "object" && row !== null && typeof (row as { balance?: unknown }).balance === "number"
    ? (row as { balance: number }).balance
    : undefined;
const onCall = (row: unknown): boolean =>
  typeof row === "object" && row !== null && (row as { onCall?: unknown }).onCall === true;

/** What an operation reads and writes, given how it reads. */
function execute(f: string, value: unknown, read: (key: Key, position: number) => unknown): Outcome {
  if (f === "transfer") {
    const v = value as { from: Key; to: Key; amount: number; writeId: number };
    const [rowFrom, rowTo] = [read(v.from, 0), read(v.to, 1)];
    const [bFrom, bTo] = [balanceOf(rowFrom), balanceOf(rowTo)];
    if (bFrom === undefined || bTo === undefined) return { ok: false, error: "no-such-account" };
    if (bFrom < v.amount) return { ok: false, error: "insufficient-funds" };
    return {
      ok: true,
      mops: [
        ["r", v.from, rowFrom],
        ["r", v.to, rowTo],
        ["w", v.from, { balance: bFrom - v.amount, writeId: v.writeId }],
        ["w", v.to, { balance: bTo + v.amount, writeId: v.writeId }],
      ],
    };
  }
  if (f === "take-off-call") {
    const v = value as { doctors: [Key, Key]; doctor: Key; writeId: number };
    const [a, b] = v.doctors;
    const [rowA, rowB] = [read(a, 0), read(b, 1)];
    const mops: unknown[][] = [
      ["r", a, rowA],
      ["r", b, rowB],
    ];
    if (onCall(rowA) && onCall(rowB)) mops.push(["w", v.doctor, { onCall: false, writeId: v.writeId }]);
    return { ok: true, mops };
  }
  const mops = (value as [string, Key, unknown][]).map(([kind, key, v], i) =>
    kind === "r" ? [kind, key, read(key, i)] : [kind, key, v],
  );
  return { ok: true, mops };
}

export function runOnToyStore(
  generator: Generator,
  isolation: ToyIsolation,
  options: { readonly seed: number; readonly clientThreads?: number },
): Op[] {
  const schedule = simulate(generator, {
    seed: options.seed,
    clientThreads: options.clientThreads ?? 6,
    failChance: 0,
    infoChance: 0,
  });
  const committed = new Map<Key, Version>();
  let seq = 0;
  const snapshots = new Map<unknown, { readonly state: Map<Key, Version>; readonly seq: number }>();
  const invocations = new Map<unknown, Op>();
  const latest = (key: Key): unknown => committed.get(key)?.value ?? null;
  return schedule.history.map((op): Op => {
    if (op.type === "invoke") {
      invocations.set(op.process, op);
      snapshots.set(op.process, { state: new Map(committed), seq });
      return op;
    }
    const invoke = invocations.get(op.process)!;
    const snapshot = snapshots.get(op.process)!;
    const fromSnapshot = (key: Key): unknown => snapshot.state.get(key)?.value ?? null;
    const mopCount = Array.isArray(invoke.value) ? invoke.value.length : 2;
    const readOnly =
      invoke.f === "txn" && (invoke.value as unknown[][]).every((m) => Array.isArray(m) && m[0] === "r");
    const read =
      isolation === "snapshot"
        ? fromSnapshot
        : isolation === "read-committed" && readOnly
          ? (key: Key, position: number) => (position < mopCount / 2 ? fromSnapshot(key) : latest(key))
          : latest;
    const outcome = execute(invoke.f, invoke.value, read);
    if (!outcome.ok) return { ...op, type: "fail", value: invoke.value, error: outcome.error };
    const writes = outcome.mops.filter((m) => m[0] === "w");
    if (
      isolation === "snapshot" &&
      writes.some((m) => (committed.get(m[1] as Key)?.seq ?? 0) > snapshot.seq)
    ) {
      return { ...op, type: "fail", value: invoke.value, error: "conflict" };
    }
    if (writes.length > 0) seq += 1;
    for (const m of writes) committed.set(m[1] as Key, { value: m[2], seq });
    return { ...op, type: "ok", value: outcome.mops };
  });
}
