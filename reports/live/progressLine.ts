/**
 * Pieces of the live view both the Ink dashboard and the plain printer use: the progress bar, the
 * totals over all operation kinds, a node's state in a few words.
 */
import { throughputSpanMinNs } from "../../harness/history/historyStats.ts";
import type { NodeStatus, OpCounts, RunProgress } from "../../harness/runner/events.ts";
import { formatDurationNs, formatRate } from "../format.ts";

/**
 * The rate so far, "1,235 ops/s"; "— ops/s" until the test has run for `throughputSpanMinNs` (1 s,
 * the stats checker's floor): before, a report in the test's first second gave a rate over however
 * little of it had passed ("0.0 ops/s" 349 ms into a process-mode run, before its first completion).
 */
export function formatOpsRate(progress: RunProgress): string {
  return progress.testTimeNs < throughputSpanMinNs ? "— ops/s" : `${formatRate(progress.opsPerSecond)} ops/s`;
}

/** A bar of `width` cells, filled for the fraction done (clamped to [0, 1]). */
export function progressBar(fraction: number, width: number): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(f * width);
  return "█".repeat(filled) + "░".repeat(width - filled);
}

export function fractionDone(progress: RunProgress, timeLimitNs: number | undefined): number {
  if (timeLimitNs === undefined || timeLimitNs <= 0) return 0;
  return Math.min(1, Math.max(0, progress.testTimeNs / timeLimitNs));
}

export function totalCounts(counts: Readonly<Record<string, OpCounts>>): OpCounts {
  let invoke = 0;
  let ok = 0;
  let fail = 0;
  let info = 0;
  for (const c of Object.values(counts)) {
    invoke += c.invoke;
    ok += c.ok;
    fail += c.fail;
    info += c.info;
  }
  return { invoke, ok, fail, info };
}

/** "up", "crashed", "paused": a node's liveness in a word. */
export function nodeState(node: NodeStatus): "up" | "crashed" | "paused" {
  return !node.up ? "crashed" : node.paused ? "paused" : "up";
}

export function formatOffsetNs(offsetNs: number): string {
  return offsetNs === 0 ? "±0" : `${offsetNs > 0 ? "+" : ""}${formatDurationNs(offsetNs)}`;
}

/** One line per node for plain output: "n1 up leader epoch 3 clock +5.00 ms cut off from n2,n3". */
export function describeNode(node: NodeStatus): string {
  const parts = [node.name, nodeState(node), node.role];
  if (node.epoch !== undefined) parts.push(`epoch ${node.epoch}`);
  if (node.zone !== undefined) parts.push(`zone ${node.zone}`);
  if (node.clockOffsetNs !== 0) parts.push(`clock ${formatOffsetNs(node.clockOffsetNs)}`);
  if (node.cutOffFrom.length > 0) parts.push(`cut off from ${node.cutOffFrom.join(",")}`);
  return parts.join(" ");
}
