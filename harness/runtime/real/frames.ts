/**
 * Length-prefixed JSON frames, the real runtime's wire format: a 4-byte big-endian byte length,
 * then that many bytes of UTF-8 JSON. TCP is a byte stream, so the decoder accepts chunks split
 * anywhere and yields whole frames; a frame longer than the limit is an error (a bound, not a hang).
 */

export const MAX_FRAME_BYTES = 64 * 2 ** 20;

export function encodeFrame(value: unknown): Buffer {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError("frame value is not JSON");
  const body = Buffer.from(json, "utf8");
  if (body.length > MAX_FRAME_BYTES)
    throw new RangeError(`frame of ${body.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  /** Feeds a chunk; returns the values of every frame it completes. Throws on a bad frame. */
  push(chunk: Buffer): unknown[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const values: unknown[] = [];
    while (this.buffered.length >= 4) {
      const length = this.buffered.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES)
        throw new RangeError(`incoming frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`);
      if (this.buffered.length < 4 + length) break;
      const body = this.buffered.subarray(4, 4 + length).toString("utf8");
      this.buffered = this.buffered.subarray(4 + length);
      values.push(JSON.parse(body));
    }
    return values;
  }
}
