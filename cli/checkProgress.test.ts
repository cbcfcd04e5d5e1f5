import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { checkCommand } from "./check.ts";
import { ciFromEnv, FileProgress, redrawMs, type ProgressOutput } from "./checkProgress.ts";
import { captured } from "./testkit.ts";

/** An output that keeps what is written, and a clock the test moves. */
function fakeOutput(isTTY: boolean, columns?: number): ProgressOutput & { text: () => string } {
  const chunks: string[] = [];
  return {
    isTTY,
    ...(columns === undefined ? {} : { columns }),
    write: (text: string) => chunks.push(text),
    text: () => chunks.join(""),
  };
}

describe("FileProgress", () => {
  it("prints a plain line per tenth of the file read, one when checking starts, and erases nothing", () => {
    let now = 0;
    const output = fakeOutput(false);
    const progress = new FileProgress({ output, interactive: false, nowMs: () => now }, "big.jsonl", 1000);
    for (const bytes of [50, 150, 160, 390, 1000]) {
      now += 500;
      progress.read(bytes);
    }
    progress.checking("42 operations");
    progress.end();
    expect(output.text().split("\n")).toEqual([
      "faultline check: big.jsonl: read 10% (0.0 MB of 0.0 MB), 1.0 s",
      "faultline check: big.jsonl: read 30% (0.0 MB of 0.0 MB), 2.0 s",
      "faultline check: big.jsonl: read 100% (0.0 MB of 0.0 MB), 2.5 s",
      "faultline check: big.jsonl: read in 2.5 s; checking 42 operations",
      "",
    ]);
    expect(output.text()).not.toContain("\r");
    expect(output.text()).not.toContain("\x1b");
  });

  it("on a terminal redraws one line at most every redrawMs, and erases it at the end", () => {
    let now = 0;
    const output = fakeOutput(true);
    const progress = new FileProgress({ output, interactive: true, nowMs: () => now }, "big.jsonl", 100e6);
    progress.read(10e6);
    now += redrawMs / 2;
    progress.read(20e6); // too soon: not drawn
    now += redrawMs + 50;
    progress.read(50e6);
    now += 1;
    progress.read(100e6); // the end is always drawn
    const draws = output
      .text()
      .split("\r\x1b[K")
      .filter((d) => d !== "");
    expect(draws).toEqual([
      "reading big.jsonl [##......................] 10% 10 MB of 100 MB, 0.0 s",
      "reading big.jsonl [############............] 50% 50 MB of 100 MB, 0.2 s",
      "reading big.jsonl [########################] 100% 100 MB of 100 MB, 0.2 s",
    ]);
    progress.checking("7 operations");
    progress.end();
    expect(output.text().endsWith("read in 0.2 s; checking 7 operations\r\x1b[K")).toBe(true);
    expect(output.text()).not.toContain("\n");
    progress.read(100e6); // after the end: nothing
    expect(output.text().endsWith("\r\x1b[K")).toBe(true);
  });

  it("fits the line to the terminal's width and shows a file name's control characters as escapes", () => {
    const output = fakeOutput(true, 30);
    const progress = new FileProgress({ output, interactive: true, nowMs: () => 0 }, "a\x1b[2Jb.jsonl", 10);
    progress.read(5);
    const drawn = output.text().replace("\r\x1b[K", "");
    expect(drawn.length).toBe(29);
    expect(drawn).toContain("a\\u001b[2Jb");
  });

  it("a write that throws (a closed terminal) loses the progress, not the check", () => {
    const output: ProgressOutput = {
      write: () => {
        throw new Error("EPIPE");
      },
    };
    const progress = new FileProgress({ output, interactive: false, nowMs: () => 0 }, "f", 10);
    expect(() => {
      progress.read(10);
      progress.checking("1 operation");
      progress.end();
    }).not.toThrow();
  });

  it("reads CI the way CI services set it", () => {
    expect(ciFromEnv({ CI: "true" })).toBe(true);
    expect(ciFromEnv({ CI: "1" })).toBe(true);
    for (const off of [undefined, "", "0", "false", "FALSE"]) expect(ciFromEnv({ CI: off })).toBe(false);
  });
});

describe("faultline check's progress", () => {
  const dir = mkdtempSync(join(tmpdir(), "faultline-check-progress-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => vi.unstubAllEnvs());
  const write = (name: string, lines: readonly unknown[]): string => {
    const path = join(dir, name);
    writeFileSync(path, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    return path;
  };
  const append = write("append.jsonl", [
    { index: 0, time: 0, process: 0, type: "invoke", f: "txn", value: [["append", "x", 1]] },
    { index: 1, time: 5, process: 0, type: "ok", f: "txn", value: [["append", "x", 1]] },
    { index: 2, time: 6, process: 0, type: "invoke", f: "txn", value: [["r", "x", null]] },
    { index: 3, time: 9, process: 0, type: "ok", f: "txn", value: [["r", "x", [1]]] },
  ]);
  const register = write("register.jsonl", [
    { index: 0, time: 0, process: 0, type: "invoke", f: "read", value: null },
    { index: 1, time: 5, process: 0, type: "ok", f: "read", value: null },
  ]);

  const run = (args: string[]) => captured(() => checkCommand(args));

  it("--progress shows plain lines on standard error under CI, for the streamed and the ordinary path", async () => {
    vi.stubEnv("CI", "true");
    const streamed = await run(["check", append, "--progress"].slice(1));
    expect(streamed.code).toBe(0);
    expect(streamed.stdout).toMatch(/^valid {4}.*append\.jsonl {2}elle append/);
    expect(streamed.stderr).toMatch(/append\.jsonl: read 100% \(/);
    expect(streamed.stderr).toMatch(/append\.jsonl: read in [0-9.]+ s; checking 2 operations\n$/);
    const ordinary = await run([register, "--model", "register", "--init", "null", "--progress"]);
    expect(ordinary.code).toBe(0);
    expect(ordinary.stderr).toMatch(/register\.jsonl: read 100% /);
    expect(ordinary.stderr).toMatch(/register\.jsonl: read in [0-9.]+ s; checking 2 history entries\n$/);
  });

  it("shows none for a small file by default, and none with --quiet", async () => {
    vi.stubEnv("CI", "true");
    const small = await run([append]);
    const quiet = await run([append, "--progress", "--quiet"]);
    expect(small.stderr).toBe("");
    expect(quiet.stderr).toBe("");
    expect(quiet.stdout).toBe(small.stdout.replace(/, \d+ ms\n$/, quiet.stdout.match(/, \d+ ms\n$/)![0]));
  });
});
