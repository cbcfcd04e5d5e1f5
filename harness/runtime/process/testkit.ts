/**
 * Helpers for tests that must prove no process outlived them: whether a process id is gone (a
 * zombie, dead and waiting for its parent to reap it, counts as gone), and waiting, bounded, until
 * a set of them is.
 */
import { readdirSync, readFileSync } from "node:fs";

/** The state letter of /proc/<pid>/stat ("R", "S", "T" stopped, "Z" zombie), or undefined if gone. */
export function processState(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces; the state follows the last ")".
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
}

export function processGone(pid: number): boolean {
  const state = processState(pid);
  return state === undefined || state === "Z" || state === "X";
}

/**
 * Waits until every pid is gone or `timeoutMs` passed; returns the pids still alive. The bound is
 * generous (a loaded machine can take seconds to schedule a dying process): it returns as soon as
 * they are gone, and only a process that really outlives its end waits it out.
 */
export async function waitUntilGone(pids: readonly number[], timeoutMs = 30_000): Promise<number[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter((pid) => !processGone(pid));
    if (alive.length === 0 || performance.now() > deadline) return alive;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Every live process whose process group is `pgid` (from /proc). */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return members;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the state: ppid, pgrp.
    if (Number(fields[2]) === pgid && fields[0] !== "Z") members.push(Number(entry));
  }
  return members;
}

/**
 * Every live descendant of `pid` (its children, theirs, and so on), from /proc: what a test must
 * see gone once `pid` has ended, whatever started them (node hosts, the reaper, a compiler's
 * service process).
 */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") continue;
    const parent = Number(fields[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
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
