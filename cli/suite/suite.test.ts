/**
 * Suite files: what a valid suite turns into, and that every mistake is one line naming the file,
 * the line and the field (a UsageError: exit 254 at the command line).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { UsageError } from "../main.ts";
import { parseSeeds, parseSuite } from "./suite.ts";

const good = `name: tiny
defaults:
  time-limit: 5
rows:
  - name: memory-valid
    run:
      system: memory
      workload: register
      nemesis: [partition, crash]
    seeds: 1..3
    expect: valid
  - name: async-loses
    claim: async failover loses writes
    run: { system: engine, replication: async, workload: set, nemesis: crash, bug: [], leases: false }
    seeds: [4, 5]
    expect:
      finds: [set-full:lost]
      at-least: 1
  - name: rated
    run: { system: engine, workload: append, nemesis: none, time-limit: 2 }
    seeds: 7
    expect: { finds: [elle:G2-item], rate: 0.5 }
`;

async function errorOf(text: string, file = "suites/x.yaml"): Promise<string> {
  try {
    await parseSuite(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("expected the suite to be refused");
}

describe("a suite row's finds, against a plugin workload's checkers", () => {
  const suiteOf = (workload: string, finds: string) => `rows:
  - name: plugin
    run: { system: memory, workload: ./cli/fixtures/plugins/${workload}, time-limit: 2 }
    seeds: 1..2
    expect: { finds: [${finds}], at-least: 1 }
`;

  it("holds them to the classes the checker lists, and takes a checker that lists none on trust", async () => {
    expect(await errorOf(suiteOf("declared-classes-workload.ts", "linearizable:nonlinearisable"))).toMatch(
      /^suites\/x\.yaml:5: rows\[0\]\.expect\.finds\[0\]: linearizable never reports "nonlinearisable" \(did you mean linearizable:nonlinearizable\?\)/,
    );
    const declared = await parseSuite(
      suiteOf("declared-classes-workload.ts", "linearizable:nonlinearizable"),
      "x.yaml",
    );
    expect(declared.rows[0]!.expect).toMatchObject({ kind: "finds" });
    const trusted = await parseSuite(suiteOf("one-key-workload.ts", "linearizable:anything"), "x.yaml");
    expect(trusted.rows[0]!.expect).toMatchObject({ kind: "finds", anomalies: [{ anomaly: "anything" }] });
  });
});

describe("a suite file", () => {
  it("turns rows into run arguments, seeds and expectations, defaults merged in", async () => {
    const suite = await parseSuite(good, "tiny.yaml");
    expect(suite.name).toBe("tiny");
    const [valid, finds, rated] = suite.rows;
    expect(valid!.args).toEqual([
      "--time-limit",
      "5",
      "--system",
      "memory",
      "--workload",
      "register",
      "--nemesis",
      "partition,crash",
    ]);
    expect(valid!.seeds).toEqual([1, 2, 3]);
    expect(valid!.expect).toEqual({ kind: "valid" });
    expect(valid!.line).toBe(5);
    expect(finds!.args).toContain("--replication");
    expect(finds!.args).not.toContain("--leases");
    expect(finds!.seeds).toEqual([4, 5]);
    expect(finds!.expect).toEqual({
      kind: "finds",
      anomalies: [{ checker: "set-full", anomaly: "lost" }],
      atLeast: 1,
    });
    expect(rated!.args.filter((a) => a === "--time-limit")).toHaveLength(1);
    expect(rated!.run["time-limit"]).toBe(2);
    expect(rated!.seeds).toEqual([7]);
  });

  it("is read as JSON too, and named after its file when it has no name", async () => {
    const json = JSON.stringify({
      rows: [
        {
          name: "r",
          run: { system: "memory", workload: "set", nemesis: "none" },
          seeds: "1..2",
          expect: "valid",
        },
      ],
    });
    const suite = await parseSuite(json, "dir/nightly.json");
    expect(suite.name).toBe("nightly");
    expect(suite.rows[0]!.seeds).toEqual([1, 2]);
  });
});

describe("a bad suite file is one line naming the file, the line and the field", () => {
  const cases: [string, string, RegExp][] = [
    [
      "unknown option",
      good.replace("      workload: register", "      workload: register\n      time-limt: 3"),
      /^suites\/x\.yaml:9: rows\[0\]\.run\.time-limt: unknown option for the memory system \(valid: system, workload, /,
    ],
    [
      "bad option value",
      good.replace("time-limit: 2", "time-limit: -2"),
      /^suites\/x\.yaml:20: rows\[2\]\.run\.time-limit: must be at least 0\.001/,
    ],
    [
      "bad value in defaults",
      good.replace("time-limit: 5", "time-limit: soon"),
      /^suites\/x\.yaml:3: defaults\.time-limit: /,
    ],
    [
      "unknown workload",
      good.replace("workload: register", "workload: registr"),
      /^suites\/x\.yaml:8: rows\[0\]\.run\.workload: expected one of register, .*got "registr"$/,
    ],
    [
      "bad seed range",
      good.replace("seeds: 1..3", "seeds: 5..2"),
      /^suites\/x\.yaml:10: rows\[0\]\.seeds: bad seed range "5\.\.2": it ends before it starts$/,
    ],
    [
      "seeds not a range",
      good.replace("seeds: 1..3", "seeds: one..three"),
      /^suites\/x\.yaml:10: rows\[0\]\.seeds: expected a range A\.\.B/,
    ],
    [
      "unknown expectation",
      good.replace("expect: valid", "expect: invalid"),
      /^suites\/x\.yaml:11: rows\[0\]\.expect: unknown expectation "invalid": expected "valid", or /,
    ],
    [
      "unknown expectation field",
      good.replace("at-least: 1", "at-most: 1"),
      /^suites\/x\.yaml:18: rows\[1\]\.expect\.at-most: unknown expectation field "at-most"/,
    ],
    [
      "both at-least and rate",
      good.replace("rate: 0.5 }", "rate: 0.5, at-least: 1 }"),
      /^suites\/x\.yaml:22: rows\[2\]\.expect: give exactly one of at-least and rate/,
    ],
    [
      "a checker the workload does not run",
      good.replace("[set-full:lost]", "[elle:lost]"),
      /^suites\/x\.yaml:17: rows\[1\]\.expect\.finds\[0\]: no checker "elle" runs on the set workload/,
    ],
    [
      // A typo of a class no checker reports failed every seed: "found on 0 of 2", exit 1.
      "a class its checker never reports",
      good.replace("[set-full:lost]", "[set-full:lots]"),
      /^suites\/x\.yaml:17: rows\[1\]\.expect\.finds\[0\]: set-full never reports "lots" \(did you mean set-full:lost\?\); its classes: duplicated, unexpected, lost, stale$/,
    ],
    [
      "Elle's G-single, which is G-single-item here",
      good.replace("[elle:G2-item]", "[elle:G-single]"),
      /^suites\/x\.yaml:\d+: rows\[2\]\.expect\.finds\[0\]: elle never reports "G-single" \(did you mean elle:G-single-item\?\)/,
    ],
    [
      "the run result, which is never an anomaly",
      good.replace("[set-full:lost]", "[run:lost]"),
      /^suites\/x\.yaml:17: rows\[1\]\.expect\.finds\[0\]: "run" never reports an anomaly class/,
    ],
    [
      "a class not checker:class",
      good.replace("[set-full:lost]", "[lost]"),
      /^suites\/x\.yaml:17: rows\[1\]\.expect\.finds\[0\]: expected "checker:class"/,
    ],
    [
      "more seeds than it has",
      good.replace("at-least: 1", "at-least: 3"),
      /^suites\/x\.yaml:18: rows\[1\]\.expect\.at-least: 3 seeds cannot find it among 2/,
    ],
    [
      "YAML syntax error",
      good.replace("    seeds: [4, 5]", "    seeds: [4, 5"),
      /^suites\/x\.yaml:1[56]: YAML syntax error: /,
    ],
    [
      "tab indentation",
      good.replace("    expect: valid", "\texpect: valid"),
      /^suites\/x\.yaml:11: YAML syntax error: /,
    ],
    [
      "duplicate key",
      good.replace("    expect: valid", "    expect: valid\n    expect: valid"),
      /^suites\/x\.yaml:12: .*[Uu]nique/,
    ],
    [
      "duplicate row name",
      good.replace("name: rated", "name: async-loses"),
      /^suites\/x\.yaml:19: rows\[2\]\.name: "async-loses" names rows\[1\] already$/,
    ],
    [
      "a seed set by the row",
      good
        .replace("      nemesis: crash, bug", "      nemesis: crash, seed: 3, bug")
        .replace("nemesis: crash, bug", "nemesis: crash, seed: 3, bug"),
      /^suites\/x\.yaml:14: rows\[1\]\.run\.seed: a suite sets no seed/,
    ],
    [
      "unknown row field",
      good.replace("    claim: async", "    clam: async"),
      /^suites\/x\.yaml:13: rows\[1\]\.clam: unknown field "clam"/,
    ],
    [
      "missing expectation",
      good.replace("    expect: valid\n", ""),
      /^suites\/x\.yaml:5: rows\[0\]\.expect: /,
    ],
    [
      "a bug the system lacks",
      good.replace("workload: register", "workload: register\n      bug: no-fencing"),
      /^suites\/x\.yaml:9: rows\[0\]\.run\.bug: --bug does not apply to the memory system/,
    ],
    ["no rows", "name: empty\nrows: []\n", /^suites\/x\.yaml:2: rows: a suite needs at least one row$/],
    // These three were the YAML library's own: a ReferenceError (exit 255, a stack trace), and a
    // warning on standard error beside an unknown field named "{; ? [ x ]; : 1; }".
    // Refused by the system's or the workload's builder, as run --dry-run refuses them: every seed
    // of such a row was "unknown", and the gate UNKNOWN (exit 2), not a bad suite.
    [
      "a consistency model nobody knows",
      good.replace(
        "workload: append, nemesis: none",
        "workload: append, model: snapshot-bogus, nemesis: none",
      ),
      /^suites\/x\.yaml:20: rows\[2\]\.run: unknown consistency model "snapshot-bogus"; expected one of: /,
    ],
    [
      "too few nodes for quorum replication",
      good.replace(
        "{ system: engine, workload: append",
        "{ system: engine, replication: quorum, nodes: 3, workload: append",
      ),
      /^suites\/x\.yaml:20: rows\[2\]\.run: quorum mode needs at least 7 nodes/,
    ],
    [
      "an alias of no anchor",
      good.replace("name: rated", "name: *nowhere"),
      /^suites\/x\.yaml:19: YAML error: Unresolved alias \(the anchor must be set before the alias\): nowhere$/,
    ],
    [
      "an alias bomb",
      "a: &a [x, x, x, x, x, x, x, x, x, x]\n" +
        Array.from(
          { length: 8 },
          (_, i) =>
            `a${i + 1}: &a${i + 1} [${Array(10)
              .fill(i === 0 ? "*a" : `*a${i}`)
              .join(", ")}]\n`,
        ).join("") +
        good,
      /^suites\/x\.yaml:2: YAML error: Excessive alias count/,
    ],
    // "." and ".." are no folder of their own: a row's name is its runs' test name, a folder of
    // the store (before, a row named ".." stored its runs beside the store, outside it).
    [
      "a row named ..",
      good.replace(/name: [\w-]+\n {4}run:/, "name: ..\n    run:"),
      /^suites\/x\.yaml:\d+: rows\[0\]\.name: "\." and "\.\." are no folder of their own under the store; use another name$/,
    ],
    [
      "a suite named .",
      `name: "."\n${good.replace(/^name: .*\n/m, "")}`,
      /^suites\/x\.yaml:1: name: "\." and "\.\." are no folder of their own/,
    ],
    [
      "a key that is a list",
      good.replace("    expect: valid", "    ? [x]\n    : 1\n    expect: valid"),
      /^suites\/x\.yaml:11: a key must be a plain word or number, not a list or a map$/,
    ],
  ];
  for (const [what, text, pattern] of cases) {
    it(what, async () => {
      const message = await errorOf(text);
      expect(message).toMatch(pattern);
      expect(message).not.toContain("\n");
    });
  }
});

describe("seeds", () => {
  it("a range A..B is every seed from A to B, in order; a list is itself", () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(500), (from, length) => {
        const seeds = parseSeeds(`${from}..${from + length}`);
        expect(seeds).toEqual(Array.from({ length: length + 1 }, (_, i) => from + i));
      }),
    );
    expect(parseSeeds([3, 1, 2])).toEqual([3, 1, 2]);
    expect(parseSeeds([1, 1])).toBe("a seed is listed twice");
    expect(parseSeeds("1..1000000")).toMatch(/at most/);
  });

  it("names a seed beyond a double's range as it was read, not as null", () => {
    // YAML reads 1e400 as Infinity, which JSON.stringify writes "null": "got null" named no seed.
    expect(parseSeeds([1, Infinity])).toBe(
      "seeds are whole numbers >= 0, got Infinity (a number beyond a double's range)",
    );
    expect(parseSeeds(-Infinity)).toMatch(/one seed or a list, got -Infinity \(a number beyond/);
    expect(parseSeeds(NaN)).toMatch(/one seed or a list, got NaN$/);
    expect(parseSeeds(1.5)).toMatch(/one seed or a list, got 1\.5$/);
  });
});
