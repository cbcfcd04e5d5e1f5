import { describe, expect, it } from "vitest";
import { nemesisRegistry } from "./index.ts";
import type { BuildConfig } from "../harness/testConfig.ts";
import { simulate } from "../harness/generator/simulate.ts";

const config: BuildConfig = {
  seed: 1,
  nodes: 5,
  concurrency: 5,
  timeLimitNs: 20e9,
  ratePerS: 100,
  nemesisIntervalNs: 2e9,
  replication: "quorum",
  isolation: "serializable",
  readFrom: "writer",
  leases: false,
  bugs: [],
};

describe("nemesis registry", () => {
  it("builds every package, each handling its start-/stop- pair and healing with its stop", () => {
    for (const kind of ["partition", "crash", "pause", "clock", "packet", "disk"]) {
      const pkg = nemesisRegistry[kind]!(config);
      expect(pkg.nemesis.fs).toEqual(expect.arrayContaining([`start-${kind}`, `stop-${kind}`]));
      expect(pkg.nemesis.healInvocations()).toEqual([{ f: `stop-${kind}`, value: null }]);
      const fs = simulate(pkg.generator, { seed: 1, clientThreads: 0, nemesis: true, maxTimeNs: 30e9 })
        .history.filter((op) => op.type === "invoke")
        .map((op) => op.f);
      expect(fs).toContain(`start-${kind}`);
      expect(fs.every((f) => pkg.nemesis.fs.includes(f))).toBe(true);
    }
  });

  it("has `all`: every package's ops through one nemesis, every package's heal", () => {
    const all = nemesisRegistry["all"]!(config);
    expect(all.nemesis.name).toBe("all");
    expect(all.nemesis.healInvocations().map((i) => i.f)).toEqual([
      "stop-partition",
      "stop-crash",
      "stop-pause",
      "stop-clock",
      "stop-packet",
    ]);
    const fs = new Set(
      simulate(all.generator, { seed: 2, clientThreads: 0, nemesis: true, maxTimeNs: 60e9 }).history.map(
        (op) => op.f,
      ),
    );
    for (const kind of ["partition", "crash", "pause", "clock", "packet"])
      expect(fs).toContain(`start-${kind}`);
  });
});
