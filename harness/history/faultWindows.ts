/**
 * Fault windows: the spans of test time during which a fault was active, read back from the
 * nemesis operations of a history (process "nemesis"). Reports shade these spans on every plot and
 * split availability into "during faults" and "outside faults".
 *
 * The rule, lenient on purpose because nemeses from elsewhere (Jepsen's, ours) spell things a
 * little differently:
 * - A nemesis `invoke` and the next nemesis completion with the same `f` are one event, timed at
 *   the invocation. A lone invocation or a lone completion is an event on its own. An event whose
 *   completion is `fail` did not happen and is ignored.
 * - An event opens a window of a kind when its `f` is `start-X` (kind X), or one of the openers
 *   below (`crash`/`kill` → crash, `pause` → pause, `bump-clock`/`strobe-clock` → clock,
 *   `partition`/`isolate` → partition). It closes every open window of that kind when its `f` is
 *   `stop-X`, or a closer (`restart`/`recover` → crash, `resume` → pause, `reset-clock` → clock,
 *   `heal` → partition; `start` closes an open crash window, as in Jepsen's kill/start nemesis).
 * - Opening a kind that is already open extends the same window (its label gathers the values).
 *   A window still open when the history ends is closed at the history's last time and marked
 *   `openAtEnd`. Nemesis ops that neither open nor close (say "info" notes) are ignored.
 */
import type { Op } from "./op.ts";
import { compareNames } from "../compareNames.ts";

export interface FaultWindow {
  /** The fault's kind: "partition", "crash", "pause", "clock", or X of `start-X`. */
  readonly kind: string;
  readonly startNs: number;
  readonly endNs: number;
  /** Short descriptions of what the opening events said (their f and value), in order. */
  readonly details: readonly string[];
  readonly openAtEnd: boolean;
}

const openers: Readonly<Record<string, string>> = {
  crash: "crash",
  kill: "crash",
  pause: "pause",
  "bump-clock": "clock",
  "strobe-clock": "clock",
  partition: "partition",
  isolate: "partition",
};
const closers: Readonly<Record<string, string>> = {
  restart: "crash",
  recover: "crash",
  resume: "pause",
  "reset-clock": "clock",
  heal: "partition",
};

/** The kind of fault an `f` opens, or undefined. */
export function openedKind(f: string): string | undefined {
  if (f.startsWith("start-") && f.length > "start-".length) return f.slice("start-".length);
  return openers[f];
}

/** The kind of fault an `f` closes, or undefined. Bare `start` closes a crash (Jepsen kill/start). */
export function closedKind(f: string): string | undefined {
  if (f.startsWith("stop-") && f.length > "stop-".length) return f.slice("stop-".length);
  if (f === "start") return "crash";
  return closers[f];
}

/** At most this many characters of a nemesis value go into a window's details. */
const detailMaxChars = 160;
/** At most this many opening events are described per window; the rest are counted. */
const detailsMaxPerWindow = 8;

function describe(op: Op): string {
  let value: string;
  try {
    value = op.value === undefined || op.value === null ? "" : JSON.stringify(op.value);
  } catch {
    value = String(op.value);
  }
  const text = value === "" ? op.f : `${op.f} ${value}`;
  return text.length > detailMaxChars ? text.slice(0, detailMaxChars - 1) + "…" : text;
}

interface NemesisEvent {
  readonly f: string;
  readonly timeNs: number;
  readonly op: Op;
}

/** Collapses nemesis invoke/completion pairs into single events (see the module header). */
function nemesisEvents(history: readonly Op[]): NemesisEvent[] {
  const events: NemesisEvent[] = [];
  let pending: Op | undefined;
  const flush = (): void => {
    if (pending !== undefined) events.push({ f: pending.f, timeNs: pending.time, op: pending });
    pending = undefined;
  };
  for (const op of history) {
    if (op.process !== "nemesis") continue;
    if (op.type === "invoke") {
      flush();
      pending = op;
    } else if (pending !== undefined && pending.f === op.f) {
      const invoked = pending;
      pending = undefined;
      if (op.type === "fail") continue;
      // The completion's value usually says more (which nodes were actually cut off).
      events.push({ f: op.f, timeNs: invoked.time, op: op.value === undefined ? invoked : op });
    } else {
      flush();
      if (op.type !== "fail") events.push({ f: op.f, timeNs: op.time, op });
    }
  }
  flush();
  return events;
}

/** The fault windows of a history, ordered by start time. */
export function faultWindows(history: readonly Op[]): FaultWindow[] {
  const lastTimeNs = history.reduce((max, op) => (op.time > max ? op.time : max), 0);
  return faultWindowsOf(history, lastTimeNs);
}

/**
 * The fault windows of a history given by its nemesis operations (others are ignored) and its
 * latest time (0 at least), where a window still open at the end closes: for a history that was
 * streamed rather than held.
 */
export function faultWindowsOf(nemesisOps: readonly Op[], lastTimeNs: number): FaultWindow[] {
  const open = new Map<string, { startNs: number; details: string[]; more: number }>();
  const windows: FaultWindow[] = [];
  const close = (kind: string, endNs: number, openAtEnd: boolean): void => {
    const w = open.get(kind);
    if (w === undefined) return;
    open.delete(kind);
    const details = w.more > 0 ? [...w.details, `… and ${w.more} more`] : w.details;
    windows.push({ kind, startNs: w.startNs, endNs: Math.max(endNs, w.startNs), details, openAtEnd });
  };
  for (const event of nemesisEvents(nemesisOps)) {
    const closes = closedKind(event.f);
    if (closes !== undefined) {
      close(closes, event.timeNs, false);
      continue;
    }
    const opens = openedKind(event.f);
    if (opens === undefined) continue;
    const w = open.get(opens);
    if (w === undefined) {
      open.set(opens, { startNs: event.timeNs, details: [describe(event.op)], more: 0 });
    } else if (w.details.length < detailsMaxPerWindow) {
      w.details.push(describe(event.op));
    } else {
      w.more += 1;
    }
  }
  for (const kind of [...open.keys()]) close(kind, lastTimeNs, true);
  return windows.sort((a, b) => a.startNs - b.startNs || compareNames(a.kind, b.kind));
}

/** Whether a time falls inside any of the windows (inclusive at both ends). */
export function inAnyWindow(windows: readonly FaultWindow[], timeNs: number): boolean {
  for (const w of windows) if (timeNs >= w.startNs && timeNs <= w.endNs) return true;
  return false;
}
