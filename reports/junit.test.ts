import { describe, expect, it } from "vitest";
import { renderJunit } from "./junit.ts";
import { hostileMarkup, rawControls, syntheticRun } from "./syntheticRun.ts";

describe("renderJunit", () => {
  it("has one test case per checker: failure for invalid, error for unknown, pass for valid", () => {
    const xml = renderJunit(syntheticRun({ ops: 200, seed: 3 }));
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(xml.match(/<testcase /g)).toHaveLength(3);
    expect(xml).toContain('<testsuites name="faultline" tests="3" failures="1" errors="1">');
    expect(xml).toMatch(
      /<testcase [^>]*name="elle"[^>]*>\s*<failure message="G2-item ×9, lost-update ×1; G2-item: anti-dependency cycles" type="invalid">/,
    );
    expect(xml).toMatch(
      /<testcase [^>]*name="linearizable"[^>]*>\s*<error message="search budget[^"]*" type="unknown">/,
    );
    expect(xml).toMatch(/<testcase [^>]*name="timeline"[^>]*><\/testcase>/);
    expect(xml).toContain('<property name="seed" value="3"/>');
    expect(xml).toContain("T1 &lt; T2");
  });

  it("escapes hostile values", () => {
    const xml = renderJunit(syntheticRun({ ops: 200, hostile: true }));
    expect(xml).not.toContain(hostileMarkup);
    expect(xml).not.toContain("<script");
    expect(xml).toContain("&lt;script&gt;");
    expect(xml).not.toMatch(rawControls);
    expect(xml).toContain("rlo\\u202etxt.exe");
    // Every tag in the document is one of ours.
    const tags = new Set([...xml.matchAll(/<\/?([a-zA-Z?]+)/g)].map((m) => m[1]));
    expect([...tags].sort()).toEqual(
      ["?xml", "error", "failure", "properties", "property", "testcase", "testsuite", "testsuites"].sort(),
    );
  });
});
