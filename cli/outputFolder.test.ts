/**
 * Output folders (cli/outputFolder.ts): made before anything runs, and refused in one line naming
 * the option when they cannot be, a file standing where the folder would be included.
 */
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../harness/testkit.ts";
import { UsageError } from "./main.ts";
import { prepareFolder } from "./outputFolder.ts";

const scratch = scratchFolders("output-folder");

describe("prepareFolder", () => {
  it("makes a missing folder and its parents, and takes one that is there", () => {
    const dir = join(scratch(), "a", "b");
    prepareFolder("out", dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    prepareFolder("out", dir);
    const existing = join(scratch(), "there");
    mkdirSync(existing);
    prepareFolder("out", existing);
  });

  it("refuses a file where the folder would be, and a file where a parent would be", () => {
    const file = join(scratch(), "results.txt");
    writeFileSync(file, "kept\n");
    expect(() => prepareFolder("out", file)).toThrow(UsageError);
    expect(() => prepareFolder("out", file)).toThrow(
      /^--out .*results\.txt: not a folder \(a file of that name is there\)$/,
    );
    expect(() => prepareFolder("store", join(file, "x"))).toThrow(
      /^--store .*: cannot create or write this folder: .*\(ENOTDIR\)$/,
    );
  });
});
