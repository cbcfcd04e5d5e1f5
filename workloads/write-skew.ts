/**
 * The write-skew workload: the on-call doctors (Cahill, Röhm and Fekete's example). A hospital
 * needs at least one of two doctors on call; a doctor may go off call only if the other is still
 * on. Each `take-off-call` transaction reads both doctors' rows and, if both are on call, takes
 * its doctor off. Under serializability one of two concurrent requests must see the other's write;
 * under snapshot isolation both may read "both on call" from their snapshots and both write:
 * write skew, a G2-item cycle of two rw edges, and nobody on call.
 *
 * Races are staged in rounds, each over a fresh pair of doctors (keys 2r and 2r+1), one round every
 * `roundPeriodNs` = (takeOffsPerRound + 2) / rate (so the mean rate is the one asked for):
 * - at the round's start, a reset puts both on call:
 *   `txn [["w", a, {onCall: true, writeId}], ["w", b, {onCall: true, writeId}]]`;
 * - a quarter period later, `takeOffsPerRound` take-off requests at the same instant, alternating
 *   doctors: `take-off-call {doctors: [a, b], doctor, writeId}` (so the requests really race);
 * - three quarters in, a read `txn [["r", a, null], ["r", b, null]]` looks at the outcome.
 * Write ids are the operation's number n (0, 1, 2, …), so every row written is unique per key.
 * A round's ops may start late (no free thread); they never start early. Rows are stamped, see
 * rows.ts.
 *
 * Checkers: the invariant "at least one on call" on every observation of a pair (the reads, and the
 * reads inside each take-off-call), Elle's rw-register checker (which names the G2-item cycles),
 * and stats.
 */
import { checkElleHistory, elleAnomalyClasses } from "../checkers/elle/index.ts";
import { Budget } from "../harness/budget.ts";
import { statsChecker } from "../checkers/stats/index.ts";
import type { Checker } from "../harness/checker.ts";
import { timeLimit, type GenContext, type GenStep, type Generator } from "../harness/generator/index.ts";
import type { Key, Op } from "../harness/history/op.ts";
import { nothingToCheck } from "../harness/history/op.ts";
import type { AnomalyCase, CheckResult } from "../harness/results.ts";
import type { Workload } from "../harness/workload.ts";
import { resolveElleModel, type IsolationLevel } from "./elleModel.ts";
import { toRwRegisterHistory } from "./rows.ts";

export interface WriteSkewWorkloadOptions {
  readonly timeLimitNs: number;
  /** Client operations per second of test time, over all workers. */
  readonly ratePerS: number;
  readonly isolation: IsolationLevel;
  /** Elle model for the rw-register checker; default: what the isolation level promises. */
  readonly model?: string;
  /** Take-off requests raced in each round. Default 4. */
  readonly takeOffsPerRound?: number;
}

const isOnCall = (row: unknown): boolean =>
  typeof row === "object" && row !== null && (row as { onCall?: unknown }).onCall === true;

/**
 * The invariant: every `ok` observation of a pair of doctors (a `txn` of two reads, or the two
 * reads a `take-off-call` executed) shows at least one on call. A pair neither of whom was ever
 * written (both null) is not yet on the roster and is skipped.
 */
/** The one anomaly class the on-call checker reports: an observation with nobody on call. */
export const onCallAnomalyClasses = ["nobody-on-call"] as const;

export function checkOnCallHistory(history: readonly Op[], casesKept = 16, budget?: Budget): CheckResult {
  const empty = nothingToCheck(history);
  if (empty !== undefined) return { valid: "unknown", reason: empty, observations: 0 };
  let observations = 0;
  let violations = 0;
  const cases: AnomalyCase[] = [];
  for (const op of history) {
    budget?.step();
    if (op.type !== "ok" || op.process === "nemesis" || !Array.isArray(op.value)) continue;
    if (op.f !== "txn" && op.f !== "take-off-call") continue;
    const reads = (op.value as unknown[]).filter(
      (m): m is ["r", Key, unknown] => Array.isArray(m) && m.length === 3 && m[0] === "r",
    );
    if (reads.length !== 2) continue;
    if (op.f === "txn" && reads.length !== (op.value as unknown[]).length) continue;
    const [[, a, rowA], [, b, rowB]] = reads as [["r", Key, unknown], ["r", Key, unknown]];
    if (rowA === null && rowB === null) continue;
    observations += 1;
    if (isOnCall(rowA) || isOnCall(rowB)) continue;
    violations += 1;
    if (cases.length < casesKept) {
      cases.push({
        explanation: `the ${op.f} at index ${op.index} saw neither doctor ${String(a)} (${JSON.stringify(rowA)}) nor ${String(b)} (${JSON.stringify(rowB)}) on call`,
        index: op.index,
        timeNs: op.time,
        doctors: [a, b],
        rows: [rowA, rowB],
      });
    }
  }
  if (violations > 0) {
    return {
      valid: false,
      reason: `${violations} of ${observations} observations had nobody on call`,
      observations,
      anomalies: { "nobody-on-call": cases },
      anomalyCounts: { "nobody-on-call": violations },
    };
  }
  if (observations === 0) {
    return { valid: "unknown", reason: "no observation of doctors on the roster completed", observations };
  }
  return { valid: true, reason: `someone was on call in all ${observations} observations`, observations };
}

/** The op at position `position` of round `round`, numbered n; see the module header. */
function roundOp(
  round: number,
  position: number,
  takeOffs: number,
  n: number,
): { f: string; value: unknown } {
  const a = 2 * round;
  const b = 2 * round + 1;
  if (position === 0) {
    return {
      f: "txn",
      value: [
        ["w", a, { onCall: true, writeId: n }],
        ["w", b, { onCall: true, writeId: n }],
      ],
    };
  }
  if (position <= takeOffs) {
    return { f: "take-off-call", value: { doctors: [a, b], doctor: position % 2 === 1 ? a : b, writeId: n } };
  }
  return {
    f: "txn",
    value: [
      ["r", a, null],
      ["r", b, null],
    ],
  };
}

/**
 * The rounds as a persistent generator: its state is the number of the next op and the start time
 * of its round (fixed when the round's first op is emitted), so asking twice is harmless.
 */
class Rounds implements Generator {
  constructor(
    private readonly takeOffs: number,
    private readonly periodNs: number,
    private readonly n: number,
    private readonly roundStartNs: number | undefined,
  ) {}
  op(context: GenContext): GenStep {
    const thread = context.freeThreads[0];
    if (thread === undefined) return { kind: "pending", next: this };
    const size = this.takeOffs + 2;
    const round = Math.floor(this.n / size);
    const position = this.n % size;
    const startNs = position === 0 ? Math.max(context.timeNs, this.roundStartNs ?? 0) : this.roundStartNs!;
    const offsetNs =
      position === 0 ? 0 : position <= this.takeOffs ? this.periodNs / 4 : (3 * this.periodNs) / 4;
    const timeNs = Math.max(context.timeNs, Math.round(startNs + offsetNs));
    const { f, value } = roundOp(round, position, this.takeOffs, this.n);
    const nextStartNs = position === size - 1 ? Math.round(startNs + this.periodNs) : startNs;
    return {
      kind: "op",
      op: { f, value, process: context.processOf(thread), timeNs },
      next: new Rounds(this.takeOffs, this.periodNs, this.n + 1, nextStartNs),
    };
  }
  update(): Generator {
    return this;
  }
}

export function writeSkewWorkload(options: WriteSkewWorkloadOptions): Workload {
  const takeOffs = options.takeOffsPerRound ?? 4;
  if (!(Number.isInteger(takeOffs) && takeOffs >= 2)) {
    throw new RangeError(`write skew needs at least 2 take-off requests per round, got ${takeOffs}`);
  }
  const model = resolveElleModel(options.isolation, options.model);
  const periodNs = ((takeOffs + 2) * 1e9) / options.ratePerS;
  const main = timeLimit(options.timeLimitNs, new Rounds(takeOffs, periodNs, 0, undefined));
  return { name: "write-skew", generator: main, checkers: writeSkewCheckers({ model }) };
}

/**
 * The write-skew workload's checkers, for a run and for `faultline check --workload write-skew`:
 * the on-call invariant, Elle's rw-register checker on the stamped rows (each transaction reads
 * both doctors before it writes one, so writes follow reads), and stats.
 */
export function writeSkewCheckers(options: { readonly model: string }): Checker[] {
  const onCall: Checker = {
    name: "on-call",
    anomalyClasses: onCallAnomalyClasses,
    check: (history, context) =>
      checkOnCallHistory(history, 16, context.budget instanceof Budget ? context.budget : undefined),
  };
  const rwRegister: Checker = {
    name: "rw-register",
    anomalyClasses: elleAnomalyClasses,
    check: (history, context) =>
      checkElleHistory(toRwRegisterHistory(history), {
        workload: "rw-register",
        model: options.model,
        wfrKeys: true,
        ...(context.budget !== undefined ? { budget: context.budget } : {}),
      }),
  };
  return [onCall, rwRegister, statsChecker];
}
