import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeHtml, escapeXml } from "./escape.ts";
import { rawControls } from "./syntheticRun.ts";

const unescape = (s: string): string =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");

describe("escape", () => {
  it("escapes markup characters", () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
    );
  });

  it("shows controls as escapes in XML, and replaces what XML 1.0 cannot hold", () => {
    expect(escapeXml("a\u0000b\u001bc\ud800d\n\t")).toBe("a\\x00b\\x1bc\ufffdd\n\t");
    expect(escapeXml("😀")).toBe("😀");
  });

  it("shows NUL, controls and bidirectional overrides as escapes in HTML, keeps tab and newline", () => {
    expect(escapeHtml("nul\u0000 esc\u001b[2J bell\u0007 csi\u009b")).toBe(
      "nul\\x00 esc\\x1b[2J bell\\x07 csi\\x9b",
    );
    expect(escapeHtml("evil\u202etxt.exe \u2066iso\u2069 \u200f")).toBe(
      "evil\\u202etxt.exe \\u2066iso\\u2069 \\u200f",
    );
    expect(escapeHtml("a\tb\nc")).toBe("a\tb\nc");
  });

  it("property: no control or bidirectional character survives escaping", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 40 }),
        (s) => !rawControls.test(escapeHtml(s)) && !rawControls.test(escapeXml(s)),
      ),
      { numRuns: 200 },
    );
  });

  it("property: escaped text holds no markup character and round-trips", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("<", ">", "&", '"', "'", ";", "#", "a", "é", "\n", "😀") }),
        (s) => {
          const escaped = escapeHtml(s);
          return (
            !/[<>"']/.test(escaped) &&
            !escaped.replace(/&(amp|lt|gt|quot|#39);/g, "").includes("&") &&
            unescape(escaped) === s
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
