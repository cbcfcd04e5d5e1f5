/**
 * What a running test tells the outside while it runs: the contract between the runner and the
 * live dashboard (Ink in a terminal, plain progress lines in CI). The runner calls the observer;
 * the observer must be cheap and must never throw into the runner.
 */
import type { Op } from "../history/op.ts";
import type { Results } from "../results.ts";

export interface RunStartInfo {
  readonly testName: string;
  readonly seed: number;
  readonly mode: "sim" | "real" | "process";
  /** The generator's time limit, ns of test time (virtual in simulation). */
  readonly timeLimitNs: number;
  readonly storeDir: string;
  /** The one command line that reproduces the run. */
  readonly reproduceCommand: string;
}

export interface OpCounts {
  readonly invoke: number;
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
}

export interface NodeStatus {
  readonly name: string;
  readonly up: boolean;
  readonly paused: boolean;
  readonly role: string;
  readonly epoch?: number;
  readonly zone?: string;
  readonly clockOffsetNs: number;
  /** Endpoints whose messages this node drops now. */
  readonly cutOffFrom: readonly string[];
}

export interface RunProgress {
  /** Test time, ns (virtual in simulation). */
  readonly testTimeNs: number;
  /** Real time since the run started, ms. */
  readonly realElapsedMs: number;
  /** Client operations completed per second of test time, over the run so far. */
  readonly opsPerSecond: number;
  /** Counts per `f`. */
  readonly counts: Readonly<Record<string, OpCounts>>;
  readonly nodes: readonly NodeStatus[];
  /** Human-readable descriptions of the faults active now ("partition n1 | n2 n3", "n2 paused"). */
  readonly activeFaults: readonly string[];
  /** "running", "healing", "final reads", "checking" */
  readonly phase: string;
}

export interface RunObserver {
  onStart?(info: RunStartInfo): void;
  /** Called at a bounded rate (a few times per real second at most). */
  onProgress?(progress: RunProgress): void;
  onOp?(op: Op): void;
  onEnd?(results: Results | undefined, progress: RunProgress): void;
}
