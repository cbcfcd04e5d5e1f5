/**
 * One large buffer for a check's typed arrays. V8 counts every ArrayBuffer against an external
 * memory budget and, each time the budget grows by a few tens of megabytes, marks the whole heap,
 * which for a history of a million transactions (gigabytes of small objects) takes seconds. Carving
 * the checker's many typed arrays out of a few large chunks, sized from the history up front,
 * turns dozens of such pauses into one or two. Arrays come zeroed and are never freed one by one;
 * the arena is dropped with the check.
 */
export class Arena {
  private chunk: ArrayBuffer;
  private used = 0;

  constructor(private readonly chunkBytes: number) {
    this.chunk = new ArrayBuffer(chunkBytes);
  }

  private take(bytes: number): [ArrayBuffer, number] {
    const aligned = (bytes + 7) & ~7;
    if (aligned > this.chunkBytes / 4) return [new ArrayBuffer(aligned), 0];
    if (this.used + aligned > this.chunkBytes) {
      this.chunk = new ArrayBuffer(this.chunkBytes);
      this.used = 0;
    }
    const at = this.used;
    this.used += aligned;
    return [this.chunk, at];
  }

  int32(length: number): Int32Array {
    const [buffer, at] = this.take(length * 4);
    return new Int32Array(buffer, at, length);
  }

  uint8(length: number): Uint8Array {
    const [buffer, at] = this.take(length);
    return new Uint8Array(buffer, at, length);
  }

  float64(length: number): Float64Array {
    const [buffer, at] = this.take(length * 8);
    return new Float64Array(buffer, at, length);
  }
}

/** For callers that do not care: plain allocation. */
export const noArena = {
  int32: (length: number): Int32Array => new Int32Array(length),
  uint8: (length: number): Uint8Array => new Uint8Array(length),
  float64: (length: number): Float64Array => new Float64Array(length),
};

export type Allocator = Pick<Arena, "int32" | "uint8" | "float64">;
