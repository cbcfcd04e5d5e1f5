/**
 * EDN sets in Jepsen histories are checked as sets: the same elements written in another order are
 * the same value (a register written `#{1 2}` and read `#{2 1}`, an element of a set that is itself
 * a set), and a set that holds an element twice, which Jepsen never writes (Clojure's reader
 * refuses one), is bad input naming its file and line. Before, sets were arrays in the order
 * written: the first two were INVALID (exit 1), the last a "duplicated" anomaly of the set-full
 * checker (exit 1) for a history no Jepsen run can produce. A set where a list-append read must be
 * a list (an order Elle checks) is refused too.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../harness/testkit.ts";
import { checkFile, parseCheckArgs } from "./check.ts";

const scratch = scratchFolders("edn-sets");

/** A write (or add) of `written` by process 0, then a read by process 1 that returns `read`. */
function history(f: string, written: string, readF: string, read: string): string {
  return [
    "[",
    `{:process 0 :type :invoke :f :${f} :value ${written}}`,
    `{:process 0 :type :ok :f :${f} :value ${written}}`,
    `{:process 1 :type :invoke :f :${readF} :value nil}`,
    `{:process 1 :type :ok :f :${readF} :value ${read}}`,
    "]",
  ].join("\n");
}

async function check(text: string, ...flags: string[]) {
  const file = join(scratch(), "history.edn");
  writeFileSync(file, text);
  return { ...(await checkFile(file, await parseCheckArgs([file, "--quiet", ...flags]))), file };
}

describe("EDN sets in a checked history", () => {
  it("are refused as a list-append read, which must be ordered (exit 254, file and line)", async () => {
    // Before, the set's elements were read as a list in the order written (since: a sorted one),
    // and Elle checked that order, which no database gave.
    const appendHistory = history("txn", "[[:append :x 1] [:append :x 2]]", "txn", "[[:r :x #{2 1}]]");
    for (const flags of [[], ["--workload", "append"]]) {
      const outcome = await check(appendHistory, ...flags);
      expect(outcome.exitCode, outcome.line).toBe(254);
      expect(outcome.line).toContain(
        `${outcome.file}:5: expected a read of key "x" to return a vector or list, as a list-append history's reads do (it appends); got a set #{...}, which has no order`,
      );
    }
    const vectorRead = history("txn", "[[:append :x 1] [:append :x 2]]", "txn", "[[:r :x [1 2]]]");
    expect((await check(vectorRead)).exitCode).toBe(0);
  });

  it("compare as sets: the same elements in another order are the same value", async () => {
    const cases = [
      [history("write", "#{1 2 3}", "read", "#{3 1 2}"), ["--model", "register"]],
      [history("write", '#{"a" "b"}', "read", '#{"b" "a"}'), ["--model", "cas-register", "--init", "null"]],
      [history("add", "#{1 2}", "read", "#{#{2 1}}"), ["--model", "set"]],
      [history("add", "#{1 2}", "read", "#{#{2 1}}"), ["--workload", "set"]],
      [history("txn", "[[:w :x #{1 2}]]", "txn", "[[:r :x #{2 1}]]"), ["--workload", "rw-register"]],
    ] as const;
    for (const [text, flags] of cases) {
      const outcome = await check(text, ...flags);
      expect(outcome.exitCode, `${flags.join(" ")}: ${outcome.line}`).toBe(0);
    }
    // Still told apart when the elements differ.
    const differ = await check(history("write", "#{1 2 3}", "read", "#{1 2 4}"), "--model", "register");
    expect(differ.exitCode, differ.line).toBe(1);
  });

  it("refuses a set that holds an element twice, naming the file and line (exit 254)", async () => {
    for (const flags of [["--workload", "set"], ["--model", "set"], []]) {
      const outcome = await check(history("add", "1", "read", "#{1 2 1}"), ...flags);
      expect(outcome.exitCode, outcome.line).toBe(254);
      expect(outcome.line).toContain(
        `${outcome.file}:5: expected each element once in the set opened at 5:39; got 1 twice`,
      );
    }
  });
});
