/**
 * Two operations with one `index`, in every format and on every reader path of `faultline check`,
 * are bad input naming the file and the line of the second (exit 254). faultline's JSONL refused
 * them (its indices count 0, 1, 2, …) on both of its paths, streamed and ordinary; Jepsen's EDN and
 * JSON took them (the index is the position in the file), so the same history was checked as
 * valid there (exit 0). A Jepsen history's indices may have gaps (a filtered history keeps its
 * numbers); a repeat, or one going back, is refused.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../harness/testkit.ts";
import { checkFile, parseCheckArgs } from "./check.ts";

const scratch = scratchFolders("duplicate-index");

type Row = readonly [index: number, process: number, type: string, value: unknown];

/** An append by process 0, then a read by process 1 that sees it; `indices` numbers the four. */
function rows(indices: readonly number[]): Row[] {
  const [a, b, c, d] = indices as [number, number, number, number];
  return [
    [a, 0, "invoke", [["append", "x", 1]]],
    [b, 0, "ok", [["append", "x", 1]]],
    [c, 1, "invoke", [["r", "x", null]]],
    [d, 1, "ok", [["r", "x", [1]]]],
  ];
}

const jsonOp = ([index, process, type, value]: Row): string =>
  JSON.stringify({ index, time: index, process, type, f: "txn", value });

const ednValue = (v: unknown): string =>
  v === null
    ? "nil"
    : Array.isArray(v)
      ? `[${v.map(ednValue).join(" ")}]`
      : typeof v === "string"
        ? `:${v}`
        : String(v);

const ednOp = ([index, process, type, value]: Row): string =>
  `{:index ${index}, :time ${index}, :process ${process}, :type :${type}, :f :txn, :value ${ednValue(value)}}`;

/** The history in each format a reader takes, with a name for the file. */
const formats: readonly (readonly [string, (rs: readonly Row[]) => string])[] = [
  ["history.jsonl", (rs) => rs.map(jsonOp).join("\n") + "\n"],
  ["history.edn", (rs) => "[" + rs.map(ednOp).join("\n ") + "]\n"],
  ["lines.edn", (rs) => rs.map(ednOp).join("\n") + "\n"],
  ["history.json", (rs) => "[" + rs.map(jsonOp).join(",\n ") + "]\n"],
  ["lines.json", (rs) => rs.map(jsonOp).join("\n") + "\n"],
];

async function check(name: string, text: string, ordinaryOnly: boolean) {
  const file = join(scratch(), name);
  writeFileSync(file, text);
  const options = await parseCheckArgs([file, "--quiet", "--workload", "append"]);
  return { ...(await checkFile(file, options, ordinaryOnly)), file };
}

describe.each(formats)("operations with one index (%s)", (name, write) => {
  it.each([false, true])(
    "are bad input naming the second's line (ordinary reader only: %s)",
    async (ordinary) => {
      for (const indices of [
        [0, 1, 1, 2],
        [0, 1, 2, 1],
      ]) {
        const outcome = await check(name, write(rows(indices)), ordinary);
        expect(outcome.exitCode, `${indices.join(",")}: ${outcome.line}`).toBe(254);
        expect(outcome.line).toMatch(
          new RegExp(`^error +${outcome.file.replace(/[.]/g, "\\.")}:[34]: expected .?index.? to be`),
        );
      }
      const whole = await check(name, write(rows([0, 1, 2, 3])), ordinary);
      expect(whole.exitCode, whole.line).toBe(0);
    },
  );
});

describe("a Jepsen history's indices", () => {
  it("may have gaps (a filtered history keeps its numbers); a repeat names both lines", async () => {
    for (const [name, write] of formats.filter(([n]) => !n.endsWith(".jsonl"))) {
      const gaps = await check(name, write(rows([3, 7, 8, 20])), false);
      expect(gaps.exitCode, gaps.line).toBe(0);
    }
    const repeat = await check("history.edn", formats[1]![1](rows([0, 5, 5, 6])), false);
    expect(repeat.line).toContain(
      `${repeat.file}:3: expected :index to be above 5, the :index of the operation on line 2 ` +
        "(a history numbers its operations in order; gaps are fine, repeats are not); got 5",
    );
  });
});
