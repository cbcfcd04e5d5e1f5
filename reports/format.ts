/**
 * Small formatters every report shares: durations with their unit, percentages, counts, verdict
 * words, and the scrubbing of control characters out of text that came from a history (so a
 * hostile value cannot move the cursor or recolour a terminal).
 */
import type { Verdict } from "../harness/results.ts";

/** A duration in nanoseconds, in the largest unit that keeps it readable: "850 ns", "1.25 ms". */
export function formatDurationNs(durationNs: number): string {
  if (!Number.isFinite(durationNs)) return String(durationNs);
  const sign = durationNs < 0 ? "-" : "";
  const ns = Math.abs(durationNs);
  if (ns < 1e3) return `${sign}${Math.round(ns)} ns`;
  if (ns < 1e6) return `${sign}${(ns / 1e3).toFixed(ns < 1e4 ? 2 : ns < 1e5 ? 1 : 0)} µs`;
  if (ns < 1e9) return `${sign}${(ns / 1e6).toFixed(ns < 1e7 ? 2 : ns < 1e8 ? 1 : 0)} ms`;
  if (ns < 60e9) return `${sign}${(ns / 1e9).toFixed(2)} s`;
  const totalS = Math.round(ns / 1e9);
  const hours = Math.floor(totalS / 3600);
  const minutes = Math.floor((totalS % 3600) / 60);
  const seconds = totalS % 60;
  return hours > 0 ? `${sign}${hours}h ${minutes}m ${seconds}s` : `${sign}${minutes}m ${seconds}s`;
}

export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "—";
  const percent = fraction * 100;
  return `${percent === 100 || percent === 0 ? percent.toFixed(0) : percent.toFixed(1)}%`;
}

/** An integer with thousands separators, independent of the locale: 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

export function formatRate(perSecond: number): string {
  return perSecond >= 100 ? formatCount(perSecond) : perSecond.toFixed(1);
}

/**
 * A throughput as a report says it: "12.5 ok/s over 30.00 s"; with no rate (too short a span, see
 * historyStats.ts), the ok count and the span instead, never a figure made up from them.
 */
export function formatThroughput(stats: {
  readonly byF: Readonly<Record<string, { readonly ok: number }>>;
  readonly throughputPerS: number | null;
  readonly throughputSpanNs?: number;
}): string {
  const span = stats.throughputSpanNs;
  if (stats.throughputPerS !== null)
    return `${formatRate(stats.throughputPerS)} ok/s${span !== undefined ? ` over ${formatDurationNs(span)}` : ""}`;
  const ok = Object.values(stats.byF).reduce((sum, s) => sum + s.ok, 0);
  return `— (${formatCount(ok)} ok in ${formatDurationNs(span ?? 0)}: too short a span for a rate)`;
}

export function verdictWord(v: Verdict): "valid" | "invalid" | "unknown" {
  return v === true ? "valid" : v === false ? "invalid" : "unknown";
}

// C0 controls except tab and newline, DEL, and C1 controls (which include CSI, 0x9b).
// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// Unicode's Bidi_Control characters: embeddings, overrides and isolates (U+202E turns the text
// after it around, so "evil\u202etxt.exe" reads "evilexe.txt"), and the three marks.
const bidiControls = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text with terminal control characters and bidirectional controls shown as escapes (`\x1b`,
 * `\u202e`) instead of acting: a value from a history cannot move the cursor, recolour the
 * terminal, clear the screen or turn the text around it. Tab and newline stay.
 */
export function scrubControls(text: string): string {
  return text
    .replace(controlCharacters, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)
    .replace(bidiControls, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Cuts text to at most maxChars, saying how much was left out. */
export function truncate(text: string, maxChars: number, where: string): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}… (${formatCount(text.length - maxChars)} more characters in ${where})`;
}

/** JSON for display; values JSON cannot hold (cycles, BigInt) fall back to String. */
export function showValue(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text;
  } catch {
    return String(value);
  }
}
