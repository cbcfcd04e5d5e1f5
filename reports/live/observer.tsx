/**
 * The runner's window on the screen: `createLiveObserver` picks the Ink dashboard for an
 * interactive terminal and the plain progress printer otherwise (CI=true, or output piped). Both
 * swallow their own errors, so a broken terminal never breaks a run.
 */
import { render, type Instance } from "ink";
import type { RunObserver, RunProgress, RunStartInfo } from "../../harness/runner/events.ts";
import type { Results } from "../../harness/results.ts";
import { Dashboard } from "./Dashboard.tsx";
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

export function createLiveObserver(options: LiveObserverOptions): LiveObserver {
  if (!options.isTTY || options.ci) {
    return createPlainProgress((text) => options.stdout.write(text), {
      ...(options.plainIntervalMs === undefined ? {} : { intervalMs: options.plainIntervalMs }),
    });
  }
  return createInkDashboard(options.stdout);
}

function createInkDashboard(stdout: NodeJS.WriteStream): LiveObserver {
  let instance: Instance | undefined;
  let start: RunStartInfo | undefined;
  let progress: RunProgress | undefined;
  let results: Results | undefined;
  let ended = false;
  let closed = false;
  const draw = (): void => {
    if (closed) return;
    try {
      const tree = <Dashboard start={start} progress={progress} ended={ended} results={results} />;
      if (instance === undefined) {
        instance = render(tree, { stdout, patchConsole: false, exitOnCtrlC: false, maxFps: 10 });
      } else {
        instance.rerender(tree);
      }
    } catch {
      // Never throw into the runner.
    }
  };
  return {
    onStart(info) {
      start = info;
      draw();
    },
    onProgress(p) {
      progress = p;
      draw();
    },
    onEnd(r, p) {
      results = r;
      progress = p;
      ended = true;
      draw();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (instance === undefined) return;
      const current = instance;
      try {
        current.unmount();
        await current.waitUntilExit();
      } catch {
        // Already unmounted or the stream is gone: nothing left to close.
      }
    },
  };
}
