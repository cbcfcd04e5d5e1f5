/**
 * Shared by the disk property tests (the simulated disk against its crash model, the buffered real
 * disk against the simulated one): the disk operations they generate, and one fast-check arbitrary
 * of them whose sizes and weights each test picks, so each keeps its own distribution.
 */
import fc from "fast-check";

/** One disk operation over named files, with bytes as plain numbers (readable when shrunk). */
export type DiskOp =
  | { kind: "write"; file: string; offset: number; data: number[] }
  | { kind: "append"; file: string; data: number[] }
  | { kind: "truncate"; file: string; size: number }
  | { kind: "fsync"; file: string }
  | { kind: "rename"; from: string; to: string }
  | { kind: "remove"; file: string }
  | { kind: "fsyncDir" };

export interface DiskOpShape {
  files: readonly string[];
  /** The smallest byte value written (1 keeps written bytes apart from the zeros of a gap). */
  minByte: number;
  maxDataBytes: number;
  maxOffset: number;
  maxTruncateSize: number;
  /** Relative weight of each kind; 1 each unless given. */
  weights?: Partial<Record<DiskOp["kind"], number>>;
}

/** An arbitrary of disk operations of the given shape. */
export function diskOpArbitrary(shape: DiskOpShape): fc.Arbitrary<DiskOp> {
  const file = fc.constantFrom(...shape.files);
  const data = fc.array(fc.integer({ min: shape.minByte, max: 255 }), {
    minLength: 1,
    maxLength: shape.maxDataBytes,
  });
  const weighted = (kind: DiskOp["kind"], arbitrary: fc.Arbitrary<DiskOp>) => ({
    weight: shape.weights?.[kind] ?? 1,
    arbitrary,
  });
  return fc.oneof(
    weighted(
      "write",
      fc.record({ kind: fc.constant("write" as const), file, offset: fc.nat(shape.maxOffset), data }),
    ),
    weighted("append", fc.record({ kind: fc.constant("append" as const), file, data })),
    weighted(
      "truncate",
      fc.record({ kind: fc.constant("truncate" as const), file, size: fc.nat(shape.maxTruncateSize) }),
    ),
    weighted("fsync", fc.record({ kind: fc.constant("fsync" as const), file })),
    weighted("rename", fc.record({ kind: fc.constant("rename" as const), from: file, to: file })),
    weighted("remove", fc.record({ kind: fc.constant("remove" as const), file })),
    weighted("fsyncDir", fc.record({ kind: fc.constant("fsyncDir" as const) })),
  );
}
