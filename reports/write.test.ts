import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { syntheticRun } from "./syntheticRun.ts";
import { writeReports } from "./write.ts";

describe("writeReports", () => {
  it("writes report.txt (no colour), report.html, junit.xml and results.json", async () => {
    const root = await mkdtemp(join(tmpdir(), "faultline-write-"));
    try {
      const dir = join(root, "store", "register", "run");
      const input = syntheticRun({ ops: 500, seed: 2 });
      writeReports(dir, input);
      const text = await readFile(join(dir, "report.txt"), "utf8");
      expect(text).toContain("Verdict: INVALID");
      // eslint-disable-next-line no-control-regex
      expect(text).not.toMatch(/\u001b/);
      expect(await readFile(join(dir, "report.html"), "utf8")).toMatch(/^<!doctype html>/);
      expect(await readFile(join(dir, "junit.xml"), "utf8")).toContain("<testsuites ");
      expect(JSON.parse(await readFile(join(dir, "results.json"), "utf8"))).toEqual(input.results);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
