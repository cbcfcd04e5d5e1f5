import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeHtml, escapeXml } from "./escape.ts";

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

  it("replaces characters XML 1.0 cannot hold", () => {
    expect(escapeXml("a\u0000b\u001bc\ud800d\n\t")).toBe("a\ufffdb\ufffdc\ufffdd\n\t");
    expect(escapeXml("😀")).toBe("😀");
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
