/**
 * Epochs and the timeline: what fences a deposed writer and what tells a node which part of its
 * log to throw away. Every promotion starts a new epoch at a log position (its `startLsn`); the
 * history of promotions is the timeline (PostgreSQL's timeline history, Raft's terms). A node's
 * log written under epoch `e` agrees with the current log only below the start of every later
 * epoch, so on rejoining it cuts its log at the smallest such start. Each node persists the
 * highest epoch it has seen (so a restart cannot un-fence it) and the epoch of its log.
 */
import type { Disk } from "../../../harness/runtime/types.ts";
import type { Durability } from "../durability.ts";

export interface EpochStart {
  readonly epoch: number;
  readonly writer: string;
  /** The log position (byte offset) where this epoch's writer began writing. */
  readonly startLsn: number;
}

export type History = readonly EpochStart[];

export interface NodeMeta {
  /** Highest epoch this node has seen; it rejects messages of older epochs. */
  readonly epoch: number;
  /** The epoch of the writer whose log this node's log follows. */
  readonly logEpoch: number;
}

/** Where a log written under `logEpoch` must be cut to agree with `history`; undefined: nowhere. */
export function cutPoint(history: History, logEpoch: number): number | undefined {
  let cut: number | undefined;
  for (const entry of history) {
    if (entry.epoch > logEpoch && (cut === undefined || entry.startLsn < cut)) cut = entry.startLsn;
  }
  return cut;
}

/**
 * Per frozen history, per epoch asked: its `cutPoint` (undefined when nothing cuts). A storage
 * replica asks for every record it holds each time it learns a timeline (and for every record it
 * keeps), so the answer per epoch is remembered; a frozen history never changes, so neither does it.
 */
const cutPoints = new WeakMap<History, Map<number, number | undefined>>();

/**
 * The last answer of `cutPoints` that `superseded` used, by frozen history and epoch: records come
 * in long runs of one epoch under one timeline (a segment read back, an append's records, a
 * recovery's listing), so nearly every call asks what the one before it asked.
 */
let lastCut: { history: History; epoch: number; cut: number | undefined } | undefined;

/** True when a record at `lsn` written under `epoch` was superseded by a later epoch of `history`. */
export function superseded(history: History, epoch: number, lsn: number): boolean {
  // Some later epoch starts at or below `lsn` exactly when the smallest such start does.
  let cut: number | undefined;
  if (lastCut !== undefined && lastCut.history === history && lastCut.epoch === epoch) cut = lastCut.cut;
  else if (Object.isFrozen(history)) {
    let byEpoch = cutPoints.get(history);
    if (byEpoch === undefined) cutPoints.set(history, (byEpoch = new Map()));
    if (byEpoch.has(epoch)) cut = byEpoch.get(epoch);
    else byEpoch.set(epoch, (cut = cutPoint(history, epoch)));
    lastCut = { history, epoch, cut };
  } else cut = cutPoint(history, epoch);
  return cut !== undefined && lsn >= cut;
}

/** The longer (newer) of two histories; histories only grow. The result is frozen (`freezeHistory`). */
export function newerHistory(a: History, b: History): History {
  const lastA = a.at(-1)?.epoch ?? 0;
  const lastB = b.at(-1)?.epoch ?? 0;
  return freezeHistory(lastB > lastA ? b : a);
}

/**
 * Freezes a history (its entries and itself) and returns it. A history is never changed, only
 * replaced; frozen, it travels in every append and heartbeat without a copy (the simulated
 * network shares frozen values).
 */
export function freezeHistory(history: History): History {
  if (Object.isFrozen(history)) return history;
  for (const entry of history) Object.freeze(entry);
  return Object.freeze(history);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Writes a small JSON file atomically and durably: write a temporary file, fsync it, rename it into
 * place, fsync the directory (bug `no-dir-fsync` skips that: a crash may undo the rename).
 */
export async function writeJsonFile(durability: Durability, file: string, value: unknown): Promise<void> {
  const disk = durability.disk;
  const tmp = `${file}.tmp`;
  const files = await disk.list();
  if (files.includes(tmp)) await disk.remove(tmp);
  await disk.write(tmp, 0, encoder.encode(JSON.stringify(value)));
  await durability.fsync(tmp);
  await durability.renameIntoPlace(tmp, file);
}

/** Reads a JSON file written by `writeJsonFile`; undefined when absent or unreadable. */
export async function readJsonFile(disk: Disk, file: string): Promise<unknown> {
  const bytes = await disk.read(file);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}

/** Serialises async work (one at a time, in order), with a bound on the queue. */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(private readonly maxQueued: number) {}

  /** Runs `work` after everything queued before it; undefined (not run) when the queue is full. */
  run<T>(work: () => Promise<T>): Promise<T | undefined> {
    if (this.queued >= this.maxQueued) return Promise.resolve(undefined);
    this.queued++;
    const result = this.tail.then(work);
    this.tail = result.then(
      () => {
        this.queued--;
      },
      () => {
        this.queued--;
      },
    );
    return result;
  }
}
