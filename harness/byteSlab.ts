/**
 * Short byte arrays cut from shared slabs. A typed array longer than V8 keeps on its heap (64
 * bytes) gets a buffer of its own from the allocator, which costs several times writing its bytes,
 * and a finaliser at collection: code that makes many short arrays (the engine's log frames and
 * segment lines, the simulated disk's private copies of writes) cuts them from a slab instead.
 */

/**
 * Fresh bytes for short arrays, cut one after another from a shared slab. Each run is handed out
 * once and starts zeroed; a slab lives as long as any run cut from it, so one slab is for bytes of
 * about the same lifetime. Longer lengths get a buffer of their own.
 */
export class ByteSlab {
  private slab = new Uint8Array(0);
  private usedBytes = 0;

  constructor(
    private readonly slabBytes = 1 << 16,
    private readonly maxRunBytes = 4096,
  ) {}

  /** `length` zeroed bytes that nothing else is given. */
  take(length: number): Uint8Array {
    if (length > this.maxRunBytes) return new Uint8Array(length);
    if (this.usedBytes + length > this.slab.length) {
      this.slab = new Uint8Array(this.slabBytes);
      this.usedBytes = 0;
    }
    const run = this.slab.subarray(this.usedBytes, this.usedBytes + length);
    this.usedBytes += length;
    return run;
  }
}
