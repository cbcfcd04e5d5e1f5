/**
 * A history read whole (EDN, Jepsen JSON, the logs) is bounded in characters (`HistorySource.text`,
 * at most V8's longest string by default). Before, a longer text ended `faultline check` in an
 * internal error ("Invalid string length", exit 255); now it is bad input naming the file and the
 * line where the text passed the bound. The bound is given small here; the default is
 * `historyTextCharsMax`.
 */
import { writeFileSync } from "node:fs";
import { constants } from "node:buffer";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../testkit.ts";
import { HistorySource, historyTextCharsMax } from "./source.ts";
import { HistoryFormatError } from "./validate.ts";

const scratch = scratchFolders("history-source");

async function textOf(content: string, charsMax: number): Promise<string> {
  const path = join(scratch(), "history.edn");
  writeFileSync(path, content);
  const source = HistorySource.open(path);
  try {
    return await source.text(charsMax);
  } finally {
    source.close();
  }
}

describe("HistorySource.text", () => {
  it("gives a text within the bound, and names the line where a longer one passes it", async () => {
    const line = "x".repeat(29) + "\n"; // 30 characters a line
    expect(await textOf(line.repeat(3), 90)).toBe(line.repeat(3));
    const refused = textOf(line.repeat(5), 100);
    await expect(refused).rejects.toThrow(HistoryFormatError);
    await expect(refused).rejects.toThrow(
      /history\.edn:4: expected a history of at most 100 characters in this format, which is read whole \(JSONL is read a line at a time\); the text is longer$/,
    );
    expect(historyTextCharsMax).toBe(constants.MAX_STRING_LENGTH);
  });

  it("property: the text when it fits, else the line holding its first character past the bound", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: fc.constantFrom("a", "é", "\n", "😀"), maxLength: 60 }),
        fc.nat(80),
        async (text, charsMax) => {
          const read = textOf(text, charsMax);
          if (text.length <= charsMax) {
            expect(await read).toBe(text);
            return;
          }
          const line = text.slice(0, charsMax).split("\n").length;
          await expect(read).rejects.toThrow(
            new RegExp(`history\\.edn:${line}: expected a history of at most`),
          );
        },
      ),
      { numRuns: 100 },
    );
  });
});
