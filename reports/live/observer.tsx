/**
 * The runner's window on the screen: `createLiveObserver` picks the Ink dashboard for an
 * interactive terminal and the plain progress printer otherwise (CI=true, or output piped). Both
 * swallow their own errors, so a broken terminal never breaks a run.
 *
 * The dashboard redraws itself in place, which works only while it fits on the screen. Ink, when
 * a frame is as tall as the terminal, clears the whole screen and its scrollback on every frame,
 * and on a terminal that reports no size (0×0) it lays the frame out one character wide. So the
 * dashboard is used only on a terminal that reports its size, every frame is measured before it
 * is drawn (`renderToString` at the terminal's width), and when a frame would not fit, now or
 * after a resize, the view falls back to plain lines for the rest of the run. Ink itself is told
 * the terminal is taller than any frame, so it never takes its clear-the-screen path.
 */
import { render, renderToString, type Instance } from "ink";
import type { ReactElement } from "react";
import type { RunProgress, RunStartInfo } from "../../harness/runner/events.ts";
import type { Results } from "../../harness/results.ts";
import { Dashboard } from "./Dashboard.tsx";
import {
  dashboardWanted,
  plainObserver,
  terminalSizeOf,
  type LiveObserver,
  type LiveObserverOptions,
} from "./terminal.ts";

export { ciFromEnv, terminalSizeOf, type LiveObserver, type LiveObserverOptions } from "./terminal.ts";

/** Rows a frame leaves free at the bottom of the screen (the cursor's line, and one to spare). */
const spareRows = 2;

export function createLiveObserver(options: LiveObserverOptions): LiveObserver {
  const plain = (): LiveObserver => plainObserver(options);
  if (!dashboardWanted(options)) return plain();
  return createInkDashboard(options.stdout, plain);
}

/**
 * `stdout` as Ink sees it: the same stream, but a terminal taller than any frame, so that Ink's
 * clear-the-screen path (taken when a frame is as tall as the terminal) is never taken; the
 * dashboard keeps its frames shorter than the real terminal itself.
 */
function withoutHeight(stdout: NodeJS.WriteStream): NodeJS.WriteStream {
  return new Proxy(stdout, {
    get(target, property) {
      if (property === "rows") return Number.MAX_SAFE_INTEGER;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function createInkDashboard(stdout: NodeJS.WriteStream, plain: () => LiveObserver): LiveObserver {
  let instance: Instance | undefined;
  let start: RunStartInfo | undefined;
  let progress: RunProgress | undefined;
  let results: Results | undefined;
  let ended = false;
  let closed = false;
  /** Set once the dashboard no longer fits: everything goes to plain lines from then on. */
  let fallback: LiveObserver | undefined;

  const tree = (): ReactElement => (
    <Dashboard start={start} progress={progress} ended={ended} results={results} />
  );
  const fits = (element: ReactElement): boolean => {
    const size = terminalSizeOf(stdout);
    if (size === undefined) return false;
    const height = renderToString(element, { columns: size.columns }).split("\n").length;
    return height <= size.rows - spareRows;
  };
  /** Leaves the dashboard's last frame on screen and goes on in plain lines. */
  const fallBack = (): LiveObserver => {
    if (fallback !== undefined) return fallback;
    stdout.off("resize", onResize);
    try {
      instance?.unmount();
    } catch {
      // Already gone: nothing to leave on screen.
    }
    instance = undefined;
    fallback = plain();
    if (start !== undefined) fallback.onStart?.(start);
    return fallback;
  };
  const draw = (): void => {
    if (closed || fallback !== undefined) return;
    try {
      const element = tree();
      if (!fits(element)) {
        const to = fallBack();
        if (ended) to.onEnd?.(results, progress!);
        else if (progress !== undefined) to.onProgress?.(progress);
        return;
      }
      if (instance === undefined) {
        instance = render(element, {
          stdout: withoutHeight(stdout),
          patchConsole: false,
          exitOnCtrlC: false,
          maxFps: 10,
        });
      } else {
        instance.rerender(element);
      }
    } catch {
      // Never throw into the runner.
    }
  };
  // Checked before Ink redraws for the new size (its own listener comes later).
  const onResize = (): void => {
    try {
      if (instance !== undefined && !fits(tree())) fallBack();
    } catch {
      // Never throw into the runner.
    }
  };
  stdout.prependListener("resize", onResize);
  return {
    onStart(info) {
      start = info;
      draw();
    },
    onProgress(p) {
      progress = p;
      if (fallback !== undefined) fallback.onProgress?.(p);
      else draw();
    },
    onEnd(r, p) {
      results = r;
      progress = p;
      ended = true;
      if (fallback !== undefined) fallback.onEnd?.(r, p);
      else draw();
    },
    async close() {
      if (closed) return;
      closed = true;
      stdout.off("resize", onResize);
      await fallback?.close();
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
