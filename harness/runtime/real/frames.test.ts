import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeFrame, FrameDecoder } from "./frames.ts";

describe("frames", () => {
  it("property: frames split at any points decode to the values sent, in order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (values, cuts) => {
          const stream = Buffer.concat(values.map((v) => encodeFrame(v)));
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const decoder = new FrameDecoder();
          const out: unknown[] = [];
          let start = 0;
          for (const point of [...points, stream.length]) {
            out.push(...decoder.push(stream.subarray(start, point)));
            start = point;
          }
          expect(out).toEqual(values.map((v) => JSON.parse(JSON.stringify(v)) as unknown));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("rejects an oversized frame header instead of buffering forever", () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffffffff, 0);
    expect(() => new FrameDecoder().push(header)).toThrow(/exceeds/);
  });
});
