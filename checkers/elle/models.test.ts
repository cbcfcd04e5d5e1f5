import { describe, expect, it } from "vitest";
import { anomaliesForbiddenBy, canonicalModelName, modelBoundary, modelNames } from "./models.ts";

describe("the consistency-model lattice", () => {
  it("knows Elle's models and aliases", () => {
    for (const m of [
      "read-uncommitted",
      "read-committed",
      "repeatable-read",
      "snapshot-isolation",
      "serializable",
      "strong-session-snapshot-isolation",
      "strong-snapshot-isolation",
      "strong-session-serializable",
      "strict-serializable",
    ]) {
      expect(modelNames).toContain(m);
    }
    expect(canonicalModelName("PL-SI")).toBe("snapshot-isolation");
    expect(canonicalModelName("strong-serializable")).toBe("strict-serializable");
    expect(canonicalModelName("nonsense")).toBeUndefined();
  });

  it("stronger models forbid everything weaker ones forbid", () => {
    const si = anomaliesForbiddenBy("snapshot-isolation");
    const serializable = anomaliesForbiddenBy("serializable");
    const strict = anomaliesForbiddenBy("strict-serializable");
    for (const a of si) expect(serializable.has(a)).toBe(true);
    for (const a of serializable) expect(strict.has(a)).toBe(true);
    expect(si.has("G2-item")).toBe(false);
    expect(si.has("G-single-item")).toBe(true);
    expect(si.has("lost-update")).toBe(true);
    expect(serializable.has("G2-item")).toBe(true);
    expect(serializable.has("G-single-item-realtime")).toBe(false);
    expect(strict.has("G-single-item-realtime")).toBe(true);
    expect(anomaliesForbiddenBy("read-committed").has("G1a")).toBe(true);
    expect(anomaliesForbiddenBy("read-uncommitted").has("G1a")).toBe(false);
  });

  it("gives Elle's boundary: the weakest models ruled out, and the stronger ones", () => {
    expect(modelBoundary(["G2-item"])).toEqual({
      not: ["repeatable-read"],
      alsoNot: ["serializable", "strict-serializable", "strong-session-serializable"],
    });
    expect(modelBoundary(["G-single-item"]).not).toEqual(["consistent-view", "repeatable-read"]);
    expect(modelBoundary(["G0"]).not).toEqual(["read-uncommitted"]);
    expect(modelBoundary([])).toEqual({ not: [], alsoNot: [] });
  });
});
