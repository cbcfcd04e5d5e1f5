/**
 * A JSONL history whose last line is torn (no line break after it, and not JSON: a writer killed
 * mid-line) is checked as the lines before it, saying which line was left out. Before, it was
 * refused whole (`line N: expected one JSON object per line`, exit 254), though a killed run's
 * history is documented as a checkable prefix and `faultline report` tells the user to check it.
 * Both readers are held to it: the streamed one (Elle's list-append inferred from content) and
 * the ordinary one.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../harness/testkit.ts";
import { checkFile, parseCheckArgs } from "./check.ts";

const scratch = scratchFolders("torn-line");

const entry = (index: number, process: number, type: string, value: unknown): string =>
  JSON.stringify({ index, time: index * 10, process, type, f: "txn", value });

/** Appends to x by process 0, then a read by process 1 that sees them: valid; `stale` makes the read miss the last append. */
function appendHistory(appends: number, stale = false): string[] {
  const lines: string[] = [];
  for (let i = 1; i <= appends; i++) {
    lines.push(entry(lines.length, 0, "invoke", [["append", "x", i]]));
    lines.push(entry(lines.length, 0, "ok", [["append", "x", i]]));
  }
  const seen = Array.from({ length: stale ? appends - 1 : appends }, (_, i) => i + 1);
  lines.push(entry(lines.length, 1, "invoke", [["r", "x", null]]));
  lines.push(entry(lines.length, 1, "ok", [["r", "x", seen]]));
  return lines;
}

async function check(text: string, ordinaryOnly: boolean, ...flags: string[]) {
  const file = join(scratch(), "history.jsonl");
  writeFileSync(file, text);
  const outcome = await checkFile(file, await parseCheckArgs([file, "--quiet", ...flags]), ordinaryOnly);
  return { ...outcome, file };
}

const paths = [
  ["streamed", false],
  ["ordinary", true],
] as const;

describe.each(paths)("a torn last line (%s reader)", (_, ordinaryOnly) => {
  it("is left out and named; the verdict is the prefix's, valid or not", async () => {
    for (const stale of [false, true]) {
      const lines = appendHistory(3, stale);
      const whole = await check(lines.join("\n") + "\n", ordinaryOnly);
      // A later append's invocation, cut in the middle: the prefix is the whole history above.
      const torn = await check(
        lines.join("\n") + "\n" + entry(lines.length, 2, "invoke", [["append", "x", 9]]).slice(0, 30),
        ordinaryOnly,
      );
      expect(torn.exitCode, torn.line).toBe(whole.exitCode);
      expect(torn.exitCode).toBe(stale ? 1 : 0);
      expect(torn.line).toContain(`; line ${lines.length + 1} left out: torn`);
      expect(torn.json["tornLastLine"]).toBe(lines.length + 1);
      expect(torn.json["valid"]).toEqual(whole.json["valid"]);
    }
  });

  it("property: cut anywhere inside its last line, a history checks as its lines before it", async () => {
    const lines = appendHistory(4, true);
    const prefix = lines.slice(0, -1);
    const last = lines[lines.length - 1]!;
    const expected = await check(prefix.join("\n") + "\n", ordinaryOnly);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: last.length - 1 }), async (cut) => {
        const torn = await check(prefix.join("\n") + "\n" + last.slice(0, cut), ordinaryOnly);
        expect(torn.exitCode, torn.line).toBe(expected.exitCode);
        expect(torn.json["valid"]).toEqual(expected.json["valid"]);
        expect(torn.json["tornLastLine"]).toBe(lines.length);
      }),
      { numRuns: 15 },
    );
  });

  it("is named when it was the only line, or all before it were nemesis ops (nothing to check)", async () => {
    // Before, the verdict line said only "the history is empty" when check was not told what the
    // history is (no --workload or --model): the line left out went unsaid, and out of the JSON.
    const nemesis = JSON.stringify({
      index: 0,
      time: 0,
      process: "nemesis",
      type: "info",
      f: "kill",
      value: null,
    });
    for (const [text, line] of [
      ['{"index":0,"time":0,"process":0,"type":"inv', 1],
      [nemesis + "\n" + '{"index":1,"time":5,"pro', 2],
    ] as const) {
      const r = await check(text, ordinaryOnly);
      expect(r.exitCode, r.line).toBe(2);
      expect(r.line).toContain(`; line ${line} left out: torn`);
      expect(r.json["tornLastLine"]).toBe(line);
    }
  });

  it("stays an error when the line is not the last, or is JSON, or ends with a line break", async () => {
    const lines = appendHistory(2);
    const cut = lines[1]!.slice(0, 25);
    const cases = [
      [...lines.slice(0, 1), cut, ...lines.slice(2)].join("\n") + "\n", // torn in the middle
      lines.join("\n") + "\n" + cut + "\n", // torn, but a line break follows it
      lines.join("\n") + "\n" + '{"index":0}', // JSON, no operation: bad input, not a torn line
    ];
    for (const text of cases) {
      const r = await check(text, ordinaryOnly);
      expect(r.exitCode, r.line).toBe(254);
      expect(r.json["tornLastLine"]).toBeUndefined();
    }
    // A last line without a line break that is whole is read as any other.
    const whole = await check(lines.join("\n"), ordinaryOnly);
    expect(whole.exitCode, whole.line).toBe(0);
    expect(whole.json["tornLastLine"]).toBeUndefined();
  });
});
