import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { composeResults, exitCodeFor, worstExitCode, worstVerdict, type Verdict } from "./results.ts";

const verdict = fc.constantFrom<Verdict>(true, false, "unknown");

describe("verdict composition", () => {
  it("false outranks unknown, which outranks true", () => {
    expect(worstVerdict([true, "unknown", true])).toBe("unknown");
    expect(worstVerdict(["unknown", false, true])).toBe(false);
    expect(worstVerdict([])).toBe(true);
    expect(composeResults({ a: { valid: true }, b: { valid: "unknown", reason: "budget" } }).valid).toBe(
      "unknown",
    );
  });

  it("is order-independent and idempotent", () => {
    fc.assert(
      fc.property(fc.array(verdict), (vs) => {
        const w = worstVerdict(vs);
        expect(worstVerdict([...vs].reverse())).toBe(w);
        expect(worstVerdict([...vs, w])).toBe(w);
      }),
    );
  });

  it("maps verdicts to Jepsen's exit codes and keeps the worst", () => {
    expect([true, false, "unknown"].map((v) => exitCodeFor(v as Verdict))).toEqual([0, 1, 2]);
    expect(worstExitCode([0, 2, 1])).toBe(1);
    expect(worstExitCode([0, 254, 1])).toBe(254);
    expect(worstExitCode([255, 254])).toBe(255);
  });
});
