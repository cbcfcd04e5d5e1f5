/**
 * A seeded random source: xoshiro128** seeded through splitmix32 from a 64-bit-ish seed and a
 * label. Same seed, same stream, on every machine; `fork(label)` derives an independent stream
 * (one per node, one per generator) so that adding a consumer does not shift the others.
 */
export interface Random {
  /** Uniform in [0, 1). */
  float(): number;
  /** Uniform integer in [0, n), n ≥ 1. */
  int(n: number): number;
  /** Uniform integer in [lo, hi], inclusive. */
  intBetween(lo: number, hi: number): number;
  /** True with probability p. */
  bool(p?: number): boolean;
  /** One element, uniformly; the array must not be empty. */
  pick<T>(items: readonly T[]): T;
  /** A uniformly shuffled copy. */
  shuffle<T>(items: readonly T[]): T[];
  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number;
  /** An independent stream derived from this stream's seed and `label`. */
  fork(label: string): Random;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a over the label's UTF-16 code units: a stable 32-bit hash for deriving streams. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(
    readonly seed: number,
    private readonly label = "",
  ) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    const low = seed >>> 0;
    const high = Math.floor(seed / 2 ** 32) >>> 0;
    const next = splitmix32(low ^ Math.imul(high, 0x27d4eb2f) ^ hashLabel(label));
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  private nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  float(): number {
    // 53 random bits: exact doubles in [0, 1).
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  int(n: number): number {
    if (!(n >= 1)) throw new RangeError(`int(n) needs n >= 1, got ${n}`);
    return Math.floor(this.float() * n);
  }

  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  bool(p = 0.5): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty array");
    return items[this.int(items.length)]!;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }

  fork(label: string): Random {
    return new SeededRandom(this.seed, `${this.label}/${label}`);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
