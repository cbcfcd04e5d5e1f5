/**
 * Lowe's memoisation for the Wing–Gong search: the set of configurations already explored. A
 * configuration is the set of operations linearized so far plus the model state reached (an
 * interned state id); reaching one a second time by another order leads nowhere new, so the
 * search skips it. This is what turns the factorial search into one that is usually polynomial.
 *
 * The table is open addressing (linear probing) over typed arrays: each entry keeps the full
 * 32-bit hash, the state id and an offset into one pool of words holding the entry's key, so a
 * hit is confirmed by comparing the keys themselves: a hash collision costs time, never a wrong
 * answer. The set's hash is Zobrist's: each operation has a random 32-bit code and a set's hash is
 * the XOR of its members' codes, so the search updates it in O(1) as it sets and clears bits.
 *
 * Keys are compact, so that memory grows with a history's concurrency, not with the square of its
 * length: the search writes a key that names the set exactly but only through the part that can
 * still change (see the `Search` class in search.ts): a strictly sequential history of a million
 * operations keeps a few words per configuration, not a million bits. The search writes each key
 * straight into the pool, where it stays if the configuration is new: no copy, no allocation.
 */

/** Deterministic pseudo-random 32-bit codes, one per operation (splitmix32 from a fixed seed). */
export function zobristCodes(count: number, seed = 0x5eed1234): Uint32Array {
  const codes = new Uint32Array(count);
  let s = seed | 0;
  for (let i = 0; i < count; i++) {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    codes[i] = (z ^ (z >>> 16)) >>> 0;
  }
  return codes;
}

/** Mixes the set's Zobrist hash with the state's key into the table hash. */
function configurationHash(bitsHash: number, stateKey: number): number {
  let h = (bitsHash ^ Math.imul(stateKey + 1, 0x9e3779b1)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Whether two state ids are equal states. */
export interface StateEquality {
  same(a: number, b: number): boolean;
}

export class ConfigurationCache {
  /** Slot → entry number + 1; 0 is an empty slot. Kept at most half full. */
  private slots: Int32Array;
  private hashes: Uint32Array;
  private stateIds: Int32Array;
  /** Entry e's key is pool[keyStart[e] … keyStart[e + 1]). */
  private keyStart: Int32Array;
  private pool: Uint32Array;
  private poolUsed = 0;
  private entryCapacity: number;
  private count = 0;

  /**
   * @param states tells whether two state ids are equal states (ids need not be unique per state: a
   *   hit with another id of an equal state is a hit).
   */
  constructor(
    // An object with a method, not a closure: every search's cache then calls the same function,
    // and the optimised code that calls it serves them all.
    private readonly states: StateEquality,
    initialEntries = 1024,
    initialPoolWords = 4096,
  ) {
    this.entryCapacity = Math.max(16, initialEntries);
    this.slots = new Int32Array(this.entryCapacity * 2);
    this.hashes = new Uint32Array(this.entryCapacity);
    this.stateIds = new Int32Array(this.entryCapacity);
    this.keyStart = new Int32Array(this.entryCapacity + 1);
    this.pool = new Uint32Array(Math.max(64, initialPoolWords));
    this.countBytes();
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the table's arrays (outside the JS heap, so the budget counts them here). */
  bytes = 0;

  private countBytes(): void {
    this.bytes =
      this.slots.byteLength +
      this.hashes.byteLength +
      this.stateIds.byteLength +
      this.keyStart.byteLength +
      this.pool.byteLength;
  }

  /**
   * Room for a key of `length` words at the end of the pool: the caller writes the key at
   * `pool[keyAt …]` (the array this returns, and `keyAt` as it stands after the call), then calls
   * `add`. Writing the key in place spares a copy on every new configuration.
   */
  keySpace(length: number): Uint32Array {
    if (this.poolUsed + length > this.pool.length) this.growPool(this.poolUsed + length);
    return this.pool;
  }

  /** Where the next key is written (see `keySpace`). */
  get keyAt(): number {
    return this.poolUsed;
  }

  /**
   * Adds the configuration whose set has Zobrist hash `bitsHash` and compact key
   * `pool[keyAt … keyAt + keyLength)` (written there after `keySpace`), in state `stateId`, whose
   * key (equal for equal states) is `stateKey`. True if it was new (the key is kept); false if it
   * was already there (the space is free again).
   */
  add(bitsHash: number, stateKey: number, stateId: number, keyLength: number): boolean {
    const h = configurationHash(bitsHash, stateKey);
    const mask = this.slots.length - 1;
    const { slots, hashes, stateIds, keyStart, pool } = this;
    const at = this.poolUsed;
    let slot = h & mask;
    for (let e = slots[slot]! - 1; e >= 0; e = slots[slot]! - 1) {
      if (hashes[e] === h) {
        const base = keyStart[e]!;
        if (
          keyStart[e + 1]! - base === keyLength &&
          sameWords(pool, base, at, keyLength) &&
          (stateIds[e] === stateId || this.states.same(stateIds[e]!, stateId))
        )
          return false;
      }
      slot = (slot + 1) & mask;
    }
    if (this.count === this.entryCapacity) this.growEntries();
    const e = this.count++;
    this.hashes[e] = h;
    this.stateIds[e] = stateId;
    this.poolUsed = at + keyLength;
    this.keyStart[e + 1] = this.poolUsed;
    if (this.count * 2 > this.slots.length) {
      this.rehash(this.slots.length * 2);
    } else {
      this.slots[slot] = e + 1;
    }
    return true;
  }

  private growEntries(): void {
    const capacity = this.entryCapacity * 2;
    const hashes = new Uint32Array(capacity);
    hashes.set(this.hashes);
    const stateIds = new Int32Array(capacity);
    stateIds.set(this.stateIds);
    const keyStart = new Int32Array(capacity + 1);
    keyStart.set(this.keyStart);
    this.hashes = hashes;
    this.stateIds = stateIds;
    this.keyStart = keyStart;
    this.entryCapacity = capacity;
    this.countBytes();
  }

  private growPool(words: number): void {
    let size = this.pool.length * 2;
    while (size < words) size *= 2;
    const pool = new Uint32Array(size);
    pool.set(this.pool.subarray(0, this.poolUsed));
    this.pool = pool;
    this.countBytes();
  }

  private rehash(slotCount: number): void {
    const slots = new Int32Array(slotCount);
    const mask = slotCount - 1;
    for (let e = 0; e < this.count; e++) {
      let slot = this.hashes[e]! & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = e + 1;
    }
    this.slots = slots;
    this.countBytes();
  }
}

function sameWords(pool: Uint32Array, base: number, at: number, length: number): boolean {
  for (let w = 0; w < length; w++) if (pool[base + w] !== pool[at + w]) return false;
  return true;
}
