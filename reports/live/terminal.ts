/**
 * What the run's window on the screen decides before it draws anything, without Ink: whether the
 * environment says CI, whether stdout is a terminal that reports its size, and so whether the
 * Ink dashboard (observer.tsx) is wanted at all. Ink and React take about half a second of CPU to
 * load, so a run whose output goes to a pipe or a file (CI, a gate row, `| tee`) never loads them:
 * `openLiveObserver` loads observer.tsx only for the dashboard.
 */
import type { RunObserver } from "../../harness/runner/events.ts";
import { createPlainProgress } from "./plainProgress.ts";

export interface LiveObserverOptions {
  /** Where to draw or print: process.stdout, usually. */
  readonly stdout: NodeJS.WriteStream;
  /** Whether stdout is an interactive terminal. */
  readonly isTTY: boolean;
  /** Whether we run under CI (CI=true): plain lines even on a TTY. */
  readonly ci: boolean;
  /** Least real time between plain progress lines, ms (plain mode only). */
  readonly plainIntervalMs?: number;
}

export type LiveObserver = RunObserver & { close(): Promise<void> };

/** Whether the environment says CI: CI set to anything but "", "0" or "false" (as is-in-ci reads it). */
export function ciFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env["CI"];
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

/** The terminal's size, or undefined when it reports none (0×0, or no numbers at all). */
export function terminalSizeOf(stdout: NodeJS.WriteStream): { rows: number; columns: number } | undefined {
  const { rows, columns } = stdout;
  if (typeof rows !== "number" || typeof columns !== "number" || !(rows > 0) || !(columns > 0))
    return undefined;
  return { rows, columns };
}

/** The plain progress printer with the options' interval. */
export function plainObserver(options: LiveObserverOptions): LiveObserver {
  return createPlainProgress((text) => options.stdout.write(text), {
    ...(options.plainIntervalMs === undefined ? {} : { intervalMs: options.plainIntervalMs }),
  });
}

/** Whether the options ask for the Ink dashboard: a terminal that reports its size, not under CI. */
export function dashboardWanted(options: LiveObserverOptions): boolean {
  return options.isTTY && !options.ci && terminalSizeOf(options.stdout) !== undefined;
}

/**
 * The observer `createLiveObserver` (observer.tsx) would pick, loading Ink only when it picks the
 * dashboard.
 */
export async function openLiveObserver(options: LiveObserverOptions): Promise<LiveObserver> {
  if (!dashboardWanted(options)) return plainObserver(options);
  return (await import("./observer.tsx")).createLiveObserver(options);
}
