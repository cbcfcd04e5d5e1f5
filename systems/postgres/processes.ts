/**
 * Small facts about OS processes that the server lifecycle needs beyond /proc's (procfs.ts: is a
 * process still running, its children, wait until gone): a process's name, signal a server and
 * every process it started, run a program with its output on a file. Every wait has a bound; signals to a process that is
 * already gone are not errors.
 */
import { readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { childrenOf, processAlive } from "../../harness/runtime/process/procfs.ts";

/** The command name of a live process, or undefined. */
export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Sends `signal` to `pid` and to the process group it leads; false when it was gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  let reached = false;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
      reached = true;
    } catch {
      // No such group (the process is not a leader) or no such process.
    }
  }
  return reached;
}

/**
 * Signals a server: its postmaster and every process the postmaster started. PostgreSQL puts each
 * child in its own process group (so the postmaster can signal a child's group), so the
 * postmaster's group holds the postmaster alone; the children are found by their parent pid. The
 * postmaster is stopped first, so it cannot start a child while the list is read, and (unless the
 * signal is SIGSTOP) it gets `signal` last. Returns every pid signalled.
 */
export function signalServer(postmasterPid: number, signal: NodeJS.Signals): number[] {
  if (!processAlive(postmasterPid)) return [];
  signalProcess(postmasterPid, "SIGSTOP");
  const children = childrenOf(postmasterPid);
  for (const child of children) signalProcess(child, signal);
  if (signal !== "SIGSTOP") signalProcess(postmasterPid, signal);
  return [postmasterPid, ...children];
}

export interface ProgramResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
}

/**
 * Runs a program with its stdout and stderr on an open file (`outputFd`) and waits for it to exit,
 * killing it (SIGKILL) after `timeoutMs`. Unlike a piped child, a program that leaves a process
 * behind holding its output (`pg_ctl start` leaves the postmaster) is done when it exits: nothing
 * waits for the file to close. (execa waits for such descendants, so it is not used here.)
 */
export function runProgram(
  command: string,
  args: readonly string[],
  outputFd: number | "ignore",
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", outputFd, outputFd], env });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, timedOut });
    });
  });
}
