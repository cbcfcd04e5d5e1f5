/**
 * Process control for process mode: start a program in its own process group with its output
 * in a log file, and kill -9, freeze (SIGSTOP) and thaw (SIGCONT) that whole group, so a program
 * that forks (PostgreSQL's postmaster and backends) is hit as one. Nothing here assumes the
 * program is our engine: any executable works; `ipc: true` adds a Node IPC channel for programs
 * that are Node scripts.
 *
 * No orphans, on every way the harness can end:
 * - `ProcessSupervisor.close()` kills every group it started and waits for them (a run's end);
 * - an `exit` hook kills every live group synchronously (process.exit, an uncaught error);
 * - a reaper, one small detached Node process per supervisor, holds a pipe from the harness and
 *   the list of process groups; when the pipe closes (the harness died, even by SIGKILL or an
 *   unhandled SIGINT) it SIGKILLs every group still listed, then removes the folders a system
 *   asked it to (`removeIfHarnessDies`: data its teardown would have removed). SIGKILL also ends a group frozen by
 *   SIGSTOP, which could not notice anything by itself. Programs that can (our node host) also
 *   watch their own IPC channel and exit when it closes.
 *
 * Groups are signalled only while their leader is known to be alive, so a recycled process id is
 * never hit.
 */
import type { ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname, isAbsolute } from "node:path";
import { execa, type ResultPromise } from "execa";

export interface ProcessSpec {
  /** Who this is, for messages ("n1", "postgres-2"). */
  readonly name: string;
  /** The executable. */
  readonly file: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  /** Added to the harness's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** stdout and stderr are appended here (created with its folder if missing). */
  readonly logFile: string;
  /** A Node IPC channel (JSON messages): only for programs that are Node scripts. */
  readonly ipc?: boolean;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: string | null;
}

/**
 * Runs in a detached Node process: kills every listed process group when stdin closes, then (a
 * fifth of a second later, once they are dead) removes every listed folder. Lines: \`+ PGID\`,
 * \`- PGID\`, \`rm DIR\` (remove if the harness dies), \`clear\` (the harness closed on purpose).
 */
const reaperSource = `
const groups = new Set();
const folders = new Set();
let pending = "";
let reaping = false;
const reap = () => {
  if (reaping) return;
  reaping = true;
  for (const group of groups) { try { process.kill(-group, "SIGKILL"); } catch {} }
  if (folders.size === 0) process.exit(0);
  setTimeout(() => {
    const { rmSync } = require("node:fs");
    for (const folder of folders) { try { rmSync(folder, { recursive: true, force: true, maxRetries: 3 }); } catch {} }
    process.exit(0);
  }, 200);
};
for (const signal of ["SIGINT", "SIGHUP", "SIGQUIT"]) process.on(signal, () => {});
process.on("SIGTERM", reap);
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  pending += chunk;
  for (let end = pending.indexOf("\\n"); end >= 0; end = pending.indexOf("\\n")) {
    const line = pending.slice(0, end);
    pending = pending.slice(end + 1);
    const space = line.indexOf(" ");
    const op = space < 0 ? line : line.slice(0, space);
    const id = space < 0 ? "" : line.slice(space + 1);
    if (op === "rm") { if (id.startsWith("/") && id !== "/") folders.add(id); continue; }
    if (op === "clear") { groups.clear(); folders.clear(); continue; }
    const group = Number(id);
    if (!Number.isInteger(group) || group <= 1) continue;
    if (op === "+") groups.add(group); else if (op === "-") groups.delete(group);
  }
});
process.stdin.on("end", reap);
process.stdin.on("close", reap);
process.stdin.on("error", reap);
`;

/**
 * What a ManagedProcess uses of the child process it was started as (execa's): named through
 * Node's own type rather than execa's, so the package's declarations name no execa type and a
 * user's type check of faultline never loads execa's declarations.
 */
export type ManagedSubprocess = Pick<ChildProcess, "pid" | "connected" | "once" | "on" | "send"> & {
  catch(onRejected: () => void): unknown;
};

/** One program in its own process group. */
export class ManagedProcess {
  readonly name: string;
  /** The leader's process id, which is also the process group id. */
  readonly pid: number;
  /** Resolves when the leader exits. */
  readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | undefined;
  private frozen = false;

  constructor(
    spec: ProcessSpec,
    private readonly subprocess: ManagedSubprocess,
    onExit: (process: ManagedProcess) => void,
  ) {
    this.name = spec.name;
    if (subprocess.pid === undefined) throw new Error(`${spec.name}: the process did not start`);
    this.pid = subprocess.pid;
    this.exited = new Promise<ProcessExit>((resolve) => {
      subprocess.once("exit", (code, signal) => {
        this.exit = { code, signal };
        onExit(this);
        resolve(this.exit);
      });
    });
    // execa's result promise settles with the same exit; only its rejection must not go unhandled.
    subprocess.catch(() => {});
  }

  /** True until the leader has exited. */
  get running(): boolean {
    return this.exit === undefined;
  }

  /** True between `pause` and `resume`. */
  get paused(): boolean {
    return this.frozen && this.running;
  }

  get exitStatus(): ProcessExit | undefined {
    return this.exit;
  }

  /** Sends `signal` to the whole process group; false when the group is already gone. */
  signal(signal: NodeJS.Signals): boolean {
    if (!this.running) return false;
    try {
      process.kill(-this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** kill -9 of the whole group: nothing runs after it, no handler, no flush. */
  kill(): void {
    this.signal("SIGKILL");
  }

  /** SIGSTOP to the group: it stops at once, its sockets and timers frozen with it. */
  pause(): void {
    if (this.signal("SIGSTOP")) this.frozen = true;
  }

  /** SIGCONT to the group. */
  resume(): void {
    this.frozen = false;
    this.signal("SIGCONT");
  }

  /** SIGTERM (after SIGCONT, so a frozen group can act on it), then SIGKILL after `graceMs`. */
  async terminate(graceMs = 2000): Promise<ProcessExit> {
    if (this.running) {
      this.resume();
      this.signal("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([this.exited, late]);
      clearTimeout(timer);
      this.kill();
    }
    return await this.exited;
  }

  /** Sends one JSON message on the IPC channel; false when there is none or it is closed. */
  send(message: unknown): boolean {
    if (!this.running || !this.subprocess.connected) return false;
    try {
      // With a callback, a channel that closed meanwhile reports to it instead of emitting an
      // unhandled 'error' event.
      this.subprocess.send(message as never, undefined, undefined, () => {});
      return true;
    } catch {
      return false;
    }
  }

  /** Receives every IPC message. */
  onMessage(handler: (message: unknown) => void): void {
    this.subprocess.on("message", handler);
  }
}

const liveSupervisors = new Set<ProcessSupervisor>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const supervisor of liveSupervisors) supervisor.killAllSync();
  });
}

/** Starts programs, remembers them, and makes sure none outlives the harness. */
export class ProcessSupervisor {
  private readonly live = new Set<ManagedProcess>();
  private reaper: ResultPromise | undefined;
  private closed = false;

  constructor() {
    liveSupervisors.add(this);
    installExitHook();
  }

  private tellReaper(line: string): void {
    if (this.reaper === undefined) {
      this.reaper = execa(process.execPath, ["-e", reaperSource], {
        detached: true,
        cleanup: false,
        reject: false,
        buffer: false,
        stdin: "pipe",
        stdout: "ignore",
        stderr: "ignore",
      });
      this.reaper.catch(() => {});
      this.reaper.unref();
      this.reaper.stdin?.on("error", () => {});
      (this.reaper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    }
    this.reaper.stdin?.write(`${line}\n`);
  }

  /** Starts `spec` in a new process group. Throws when the executable cannot be started. */
  start(spec: ProcessSpec): ManagedProcess {
    if (this.closed) throw new Error(`${spec.name}: the process supervisor is closed`);
    mkdirSync(dirname(spec.logFile), { recursive: true });
    // A file descriptor, not execa's `{ file }` (which pipes through this process): the program
    // writes its log itself, so its output outlives the harness. execa's types list only fds 3–9.
    const logFd = openSync(spec.logFile, "a") as 3;
    let subprocess: ResultPromise;
    try {
      subprocess = execa(spec.file, [...(spec.args ?? [])], {
        detached: true,
        cleanup: false,
        reject: false,
        buffer: false,
        stdin: "ignore",
        stdout: logFd,
        stderr: logFd,
        ipc: spec.ipc === true,
        serialization: "json",
        cwd: spec.cwd,
        env: spec.env,
      });
    } finally {
      closeSync(logFd);
    }
    if (subprocess.pid === undefined) {
      subprocess.catch(() => {});
      throw new Error(`${spec.name}: could not start ${spec.file}; see ${spec.logFile}`);
    }
    const managed = new ManagedProcess(spec, subprocess, (ended) => {
      this.live.delete(ended);
      if (this.reaper !== undefined) this.tellReaper(`- ${ended.pid}`);
    });
    this.live.add(managed);
    this.tellReaper(`+ ${managed.pid}`);
    return managed;
  }

  /**
   * Removes `dir` (an absolute path) if the harness dies without closing this supervisor, once its
   * processes are killed: data a system keeps only for the length of a run (etcd preallocates
   * about 80 MB a member), which its teardown would have removed.
   */
  removeIfHarnessDies(dir: string): void {
    if (this.closed) return;
    if (!isAbsolute(dir) || dir.includes("\n"))
      throw new Error(`removeIfHarnessDies: not an absolute path: ${dir}`);
    this.tellReaper(`rm ${dir}`);
  }

  /** Processes started and not yet exited. */
  running(): ManagedProcess[] {
    return [...this.live];
  }

  /** SIGKILL to every live group, synchronously (for exit hooks). */
  killAllSync(): void {
    for (const managed of this.live) managed.kill();
  }

  /** Kills every live group, waits for each, and ends the reaper. */
  async close(): Promise<void> {
    this.closed = true;
    const live = [...this.live];
    for (const managed of live) managed.kill();
    await Promise.all(live.map((managed) => managed.exited));
    liveSupervisors.delete(this);
    if (this.reaper !== undefined) {
      // Closed on purpose: every group is dead, and a registered folder is the system's to keep.
      this.reaper.stdin?.end("clear\n");
      this.reaper = undefined;
    }
  }
}
