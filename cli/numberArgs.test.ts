/**
 * Whole numbers on every command's line are plain decimal digits that a double holds exactly, and
 * a negative value after an option is that option's value, on `check` (which parses by hand) as on
 * the commands that parse through options.ts. Before, `gate --jobs` and `sweep --jobs` took `0x2`,
 * `1e0`, ` 2` and `2.0`, as `shrink --max-attempts` and `--time-budget` did; `check --step-limit`
 * and `--time-limit-ms` took digits beyond 2^53 − 1 as their nearest double (400 nines as
 * Infinity); `check --init 1e400` started the model from Infinity while the verdict line said
 * "init null"; `check --init -1` was "ambiguous"; `check --accounts 9007199254740993` was the
 * account 9007199254740992.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../harness/testkit.ts";
import { parseCheckArgs } from "./check.ts";
import { main } from "./main.ts";
import { joinNegativeValues, plainWholeNumber } from "./numberArgs.ts";
import { captured } from "./testkit.ts";

const scratch = scratchFolders("number-args");

describe("plainWholeNumber", () => {
  it("reads plain decimal digits that a double holds, and nothing else", () => {
    expect(["0", "7", "-3", "007", "9007199254740991", "-9007199254740991"].map(plainWholeNumber)).toEqual([
      0, 7, -3, 7, 9007199254740991, -9007199254740991,
    ]);
    expect(Object.is(plainWholeNumber("-0"), 0)).toBe(true);
    for (const text of [
      "",
      " 2",
      "2 ",
      "2.0",
      "1e3",
      "0x10",
      "1_000",
      "+2",
      "Infinity",
      "NaN",
      "9007199254740992",
    ])
      expect(plainWholeNumber(text), JSON.stringify(text)).toBeUndefined();
    expect(plainWholeNumber("9".repeat(400))).toBeUndefined();
  });

  it("joinNegativeValues joins a negative number to the option before it, for options that take a value", () => {
    const spec = { init: { type: "string" }, json: { type: "boolean" } } as const;
    expect(joinNegativeValues(["--init", "-1", "--json", "-2", "--", "--init", "-3"], spec)).toEqual([
      "--init=-1",
      "--json",
      "-2",
      "--",
      "--init",
      "-3",
    ]);
  });
});

describe("whole-number options of gate, sweep and shrink", () => {
  it("refuse anything but plain digits (exit 254, one line)", async () => {
    const folder = scratch();
    const suite = join(folder, "suite.yaml");
    writeFileSync(
      suite,
      "name: s\nrows:\n  - name: r\n    run: { system: memory, workload: register }\n    seeds: 1\n    expect: valid\n",
    );
    const runDir = join(folder, "run");
    mkdirSync(runDir);
    writeFileSync(join(runDir, "test.json"), "{}");
    for (const bad of ["0x2", "1e0", " 2", "2.0", "9007199254740993"]) {
      for (const [args, message] of [
        [
          ["gate", suite, "--out", join(folder, "gate"), "--store", join(folder, "store"), "--jobs", bad],
          /^faultline gate: --jobs: expected a whole number/,
        ],
        [
          ["sweep", suite, "--seeds", "1..2", "--out", join(folder, "out"), "--jobs", bad],
          /--jobs: expected a whole number/,
        ],
        [
          ["shrink", runDir, "--store", join(folder, "store"), "--max-attempts", bad],
          /^faultline shrink: --max-attempts: expected a whole number/,
        ],
        [
          ["shrink", runDir, "--store", join(folder, "store"), "--time-budget", bad],
          /^faultline shrink: --time-budget: expected a whole number/,
        ],
      ] as const) {
        const { code, stderr } = await captured(() => main([...args]));
        expect(code, `${args.join(" ")}: ${stderr}`).toBe(254);
        expect(stderr).toMatch(message);
        expect(stderr.trimEnd().split("\n")).toHaveLength(1);
      }
    }
  });
});

describe("check's numeric options", () => {
  const refusal = async (args: string[]): Promise<string> => {
    try {
      await parseCheckArgs(args);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error(`expected ${args.join(" ")} to be refused`);
  };

  it("refuse a whole number beyond 2^53 - 1, which a double would round (or make Infinity)", async () => {
    for (const option of ["--step-limit", "--time-limit-ms"])
      for (const value of ["9007199254740993", "9".repeat(400)])
        expect(await refusal(["h", option, value])).toMatch(
          new RegExp(
            `^${option}: expected a positive integer .* \\(at most 9007199254740991\\); got "\\d+"$`,
          ),
        );
    expect(await refusal(["h", "--workload", "long-fork", "--group-size", "1e3"])).toMatch(
      /^--group-size: expected a positive integer number of keys/,
    );
  });

  it("refuse an --init whose number a double cannot hold: it was Infinity, shown as null", async () => {
    for (const [init, read] of [
      ["1e400", "Infinity"],
      ["[1, -1e400]", "-Infinity"],
      ['{"a": {"b": 1e999}}', "Infinity"],
    ])
      expect(await refusal(["h", "--model", "register", `--init=${init}`])).toBe(
        `--init: expected a JSON value whose numbers a double holds; got ${JSON.stringify(init)}, which holds a number beyond a double's range (read as ${read})`,
      );
    expect((await parseCheckArgs(["h", "--model", "register", "--init", "1e308"])).init).toBe(1e308);
  });

  it("take a negative value after the option, as the other commands do", async () => {
    expect((await parseCheckArgs(["h", "--model", "register", "--init", "-1"])).init).toBe(-1);
    expect(
      (await parseCheckArgs(["h", "--workload", "bank", "--total", "-5"])).workloadOptions,
    ).toMatchObject({ total: -5 });
  });

  it("keep an account number beyond 2^53 - 1 as its digits, as the history readers keep such a key", async () => {
    const { workloadOptions } = await parseCheckArgs([
      "h",
      "--workload",
      "bank",
      "--accounts",
      "9007199254740993,1,x,007,-2",
    ]);
    // 007 stays the key "007" it names in a read's map (the bank checker compares names); it was 7.
    expect(workloadOptions).toMatchObject({ accounts: ["9007199254740993", 1, "x", "007", -2] });
  });
});
