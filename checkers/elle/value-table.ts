/**
 * A flat hash table from (key number, value) to a slot, for the millions of appended values of a
 * large list-append history: open addressing over one typed array, so it costs a few bytes per
 * value and nothing for the garbage collector to trace. Each slot's four integers sit side by side
 * (key, value, entry, position), so a lookup touches one cache line. Integer values (Jepsen's
 * usual: 1, 2, 3, … per key) are stored as they are; any other value is first given a number of its
 * own. Each slot carries two integers for its user: `entry` (here: writer and flags) and
 * `position` (here: where the value sits in its key's version order), both -1 until set.
 */
import { noArena, type Allocator } from "./arena.ts";
import { valueText } from "../../harness/history/valueText.ts";

const stride = 4; // key*4+tag (0 = empty), value, entry, position

export class ValueTable {
  private slots: Int32Array;
  private capacity: number;
  private used = 0;
  /** Whether the table grew, which moves its slots (sized for what it will hold, it does not). */
  grew = false;
  private readonly otherValues = new Map<unknown, number>();
  /** Lists and objects, by their text (valueText): an appended list is read back as a new one. */
  private readonly objectValues = new Map<string, number>();

  constructor(
    expected: number,
    private readonly allocate: Allocator = noArena,
  ) {
    let capacity = 1024;
    while (capacity < expected * 2) capacity *= 2;
    this.capacity = capacity;
    this.slots = this.emptySlots(capacity);
  }

  private emptySlots(capacity: number): Int32Array {
    const slots = this.allocate.int32(capacity * stride);
    for (let i = 0; i < slots.length; i += stride) {
      slots[i + 2] = -1;
      slots[i + 3] = -1;
    }
    return slots;
  }

  entry(slot: number): number {
    return this.slots[slot * stride + 2]!;
  }

  setEntry(slot: number, entry: number): void {
    this.slots[slot * stride + 2] = entry;
  }

  position(slot: number): number {
    return this.slots[slot * stride + 3]!;
  }

  setPosition(slot: number, position: number): void {
    this.slots[slot * stride + 3] = position;
  }

  /** The slot of (key, value); with `insert`, created if absent; else -1 if absent. */
  slotOf(key: number, value: unknown, insert: boolean): number {
    let tag: number;
    let v: number;
    if (typeof value === "number" && (value | 0) === value) {
      tag = 1;
      v = value;
    } else {
      const text = typeof value === "object" && value !== null ? valueText(value) : undefined;
      let id = text === undefined ? this.otherValues.get(value) : this.objectValues.get(text);
      if (id === undefined) {
        if (!insert) return -1;
        id = this.otherValues.size + this.objectValues.size;
        if (text === undefined) this.otherValues.set(value, id);
        else this.objectValues.set(text, id);
      }
      tag = 2;
      v = id;
    }
    // Keys fit: there are fewer than 2^29 of them.
    const stored = key * 4 + tag;
    const slots = this.slots;
    const mask = this.capacity - 1;
    let h = (Math.imul(key, 0x9e3779b1) ^ Math.imul(v + tag, 0x85ebca77)) & mask;
    while (true) {
      const k = slots[h * stride]!;
      if (k === 0) break;
      if (k === stored && slots[h * stride + 1] === v) return h;
      h = (h + 1) & mask;
    }
    if (!insert) return -1;
    if ((this.used + 1) * 2 > this.capacity) {
      this.grow();
      return this.slotOf(key, value, true);
    }
    slots[h * stride] = stored;
    slots[h * stride + 1] = v;
    this.used++;
    return h;
  }

  private grow(): void {
    this.grew = true;
    const old = this.slots;
    const oldCapacity = this.capacity;
    this.capacity *= 2;
    this.slots = this.emptySlots(this.capacity);
    const mask = this.capacity - 1;
    for (let i = 0; i < oldCapacity; i++) {
      const stored = old[i * stride]!;
      if (stored === 0) continue;
      const key = stored >> 2;
      const tag = stored & 3;
      const v = old[i * stride + 1]!;
      let h = (Math.imul(key, 0x9e3779b1) ^ Math.imul(v + tag, 0x85ebca77)) & mask;
      while (this.slots[h * stride] !== 0) h = (h + 1) & mask;
      this.slots.set(old.subarray(i * stride, i * stride + stride), h * stride);
    }
  }
}

/**
 * What `AppendIndex` lays its keys out by, per key: how many values were appended to it, the least
 * and the greatest, and whether any was not an int32 (irregular: the key is hashed). Gathered by
 * the caller, in the pass over the micro-ops it makes anyway (list-append.ts).
 */
export class AppendStats {
  readonly count: Int32Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly irregular: Uint8Array;

  constructor(keyCount: number, allocate: Allocator = noArena) {
    this.count = allocate.int32(keyCount);
    this.min = allocate.float64(keyCount).fill(Infinity);
    this.max = allocate.float64(keyCount).fill(-Infinity);
    this.irregular = allocate.uint8(keyCount);
  }
}

/**
 * The index list-append uses: most histories append small consecutive integers per key (1, 2, 3,
 * …), so a key whose appended values span a range not much wider than their number gets a dense
 * region of its own, addressed directly (value − the key's minimum), and the values of one key sit
 * together in memory. Keys with other values fall back to the hash table. Slots below `denseSize`
 * are dense, the rest hashed.
 */
export class AppendIndex {
  private readonly dense: Int32Array; // per dense slot: entry, position
  private readonly denseSize: number;
  private readonly keyBase: Int32Array; // -1: hashed
  private readonly keyMin: Float64Array;
  private readonly keyMax: Float64Array;
  private readonly hashed: ValueTable;

  /** The index of the appends `stats` describes (their values are inserted afterwards, by `slotOf`). */
  constructor(keyCount: number, stats: AppendStats, allocate: Allocator = noArena) {
    const { count, min, max, irregular } = stats;
    const keyBase = allocate.int32(keyCount).fill(-1);
    let size = 0;
    let hashedCount = 0;
    for (let k = 0; k < keyCount; k++) {
      if (count[k] === 0) continue;
      const span = max[k]! - min[k]! + 1;
      if (irregular[k] === 0 && span <= 2 * count[k]! + 16) {
        keyBase[k] = size;
        size += span;
      } else {
        hashedCount += count[k]!;
      }
    }
    this.dense = allocate.int32(size * 2).fill(-1);
    this.denseSize = size;
    this.keyBase = keyBase;
    this.keyMin = min;
    this.keyMax = max;
    this.hashed = new ValueTable(hashedCount, allocate);
  }

  /** The slot of (key, value); with `insert`, created if absent; else -1 if never inserted. */
  slotOf(key: number, value: unknown, insert: boolean): number {
    const base = this.keyBase[key]!;
    if (base === -1) {
      const slot = this.hashed.slotOf(key, value, insert);
      return slot === -1 ? -1 : this.denseSize + slot;
    }
    if (
      typeof value !== "number" ||
      value < this.keyMin[key]! ||
      value > this.keyMax[key]! ||
      (value | 0) !== value
    ) {
      return -1; // every value appended to this key is in range; anything else never was
    }
    const slot = base + value - this.keyMin[key]!;
    if (!insert && this.dense[slot * 2] === -1) return -1;
    return slot;
  }

  /** Whether a slot given before may have moved since (see ValueTable.grew). */
  get slotsMoved(): boolean {
    return this.hashed.grew;
  }

  entry(slot: number): number {
    return slot < this.denseSize ? this.dense[slot * 2]! : this.hashed.entry(slot - this.denseSize);
  }

  setEntry(slot: number, entry: number): void {
    if (slot < this.denseSize) this.dense[slot * 2] = entry;
    else this.hashed.setEntry(slot - this.denseSize, entry);
  }

  position(slot: number): number {
    return slot < this.denseSize ? this.dense[slot * 2 + 1]! : this.hashed.position(slot - this.denseSize);
  }

  setPosition(slot: number, position: number): void {
    if (slot < this.denseSize) this.dense[slot * 2 + 1] = position;
    else this.hashed.setPosition(slot - this.denseSize, position);
  }
}
