import { describe, expect, it } from "vitest";
import { nodeErrorsResult } from "./execute.ts";

describe("the node-errors result", () => {
  it("is absent when no node process died, and false with every death listed when some did", () => {
    expect(nodeErrorsResult({ errors: [], count: 0 })).toBeUndefined();
    const r = nodeErrorsResult({
      errors: [
        { node: "n2", incarnation: 3, timeNs: 4_484_000_000, message: "RecoveryError: undo of 22" },
        { node: "n1", incarnation: 0, timeNs: 5e9, message: "Error: assertion" },
      ],
      count: 7,
    });
    expect(r?.valid).toBe(false);
    expect(r?.reason).toMatch(/^7 node processes died .*\(n1, n2\)/);
    expect(r?.anomalyCounts).toEqual({ "process-died": 7 });
    expect(r?.anomalies?.["process-died"]?.[0]?.explanation).toBe(
      "n2 (incarnation 3) at 4.484 s: RecoveryError: undo of 22",
    );
  });
});
