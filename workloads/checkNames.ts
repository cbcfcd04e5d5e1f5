/**
 * The names `faultline check --workload` takes and the options those checks read, apart from the
 * checkers themselves (checking.ts), so the command line can validate its arguments without
 * loading a checker.
 */
import type { Key } from "../harness/history/op.ts";

export const checkWorkloadNames = [
  "append",
  "rw-register",
  "bank",
  "set",
  "write-skew",
  "register",
  "long-fork",
  "counter",
] as const;
export type CheckWorkloadName = (typeof checkWorkloadNames)[number];

/** The Elle model a transactional check uses when none is given: Elle's default. */
export const defaultCheckModel = "strict-serializable";

export interface WorkloadCheckOptions {
  /** Elle model (append, rw-register, bank, write-skew) or linearizability model (register). */
  readonly model?: string;
  /** register: the model's initial state (`hasInit` tells null from absent) and splitting by key. */
  readonly init?: unknown;
  readonly hasInit?: boolean;
  readonly partition?: boolean;
  /** rw-register: Elle's version-order assumptions, each off by default as in Elle. */
  readonly sequentialKeys?: boolean;
  readonly linearizableKeys?: boolean;
  readonly wfrKeys?: boolean;
  /** bank */
  readonly accounts?: readonly Key[];
  readonly total?: number;
  /** set: stale reads are errors (default false, as Jepsen's set-full). */
  readonly linearizable?: boolean;
  /** long-fork */
  readonly groupSize?: number;
}
