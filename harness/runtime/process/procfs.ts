/**
 * What /proc says about OS processes, for code that must know whether the processes it started
 * are gone: a server's lifecycle (PostgreSQL's postmaster and its children) and the tests that
 * prove no process outlived its run. A zombie (dead, waiting for its parent to reap it) counts as
 * gone everywhere here. Every wait has a bound; a process that ends while /proc is read is simply
 * not listed.
 */
import { readdirSync, readFileSync } from "node:fs";

/** A process as /proc/<pid>/stat describes it. */
export interface ProcStat {
  readonly pid: number;
  /** The state letter: "R", "S", "D", "T" stopped, "Z" zombie, "X" dead. */
  readonly state: string;
  readonly ppid: number;
  /** Its process group. */
  readonly pgrp: number;
}

function parseStat(pid: number, stat: string): ProcStat {
  // The command name is in parentheses and may hold spaces; state, ppid, pgrp follow the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { pid, state: fields[0] ?? "", ppid: Number(fields[1]), pgrp: Number(fields[2]) };
}

/** /proc/<pid>/stat, or undefined when the process is gone. */
export function procStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(pid, readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** A process's command line, its arguments joined by spaces, or undefined when it is gone. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trimEnd();
  } catch {
    return undefined;
  }
}

/** The state letter of a process ("R", "S", "T" stopped, "Z" zombie, …), or undefined if gone. */
export function processState(pid: number): string | undefined {
  return procStat(pid)?.state;
}

const isLive = (state: string): boolean => state !== "Z" && state !== "X";

/** True while `pid` names a live process (not a zombie). */
export function processAlive(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && isLive(state);
}

/** Every live process on the machine, from one read of /proc. */
export function liveProcesses(): ProcStat[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const live: ProcStat[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat !== undefined && isLive(stat.state)) live.push(stat);
  }
  return live;
}

/** The live children of `pid`. */
export function childrenOf(pid: number): number[] {
  return liveProcesses()
    .filter((p) => p.ppid === pid)
    .map((p) => p.pid);
}

/** Every live process whose process group is `pgid`. */
export function groupMembers(pgid: number): number[] {
  return liveProcesses()
    .filter((p) => p.pgrp === pgid)
    .map((p) => p.pid);
}

/**
 * Every live descendant of `pid` (its children, theirs, and so on): what must be gone once `pid`
 * has ended, whatever started them (node hosts, the reaper, a compiler's service process).
 */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of liveProcesses()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && found.length < 100_000) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/**
 * Waits until every pid is gone or `timeoutMs` passed; returns the pids still alive (empty when all
 * are gone). It returns as soon as they are gone, so a generous bound costs only a process that
 * really outlives its end (a loaded machine can take seconds to schedule a dying process).
 */
export async function waitUntilGone(pids: readonly number[], timeoutMs = 30_000): Promise<number[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(processAlive);
    if (alive.length === 0 || performance.now() > deadline) return alive;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
