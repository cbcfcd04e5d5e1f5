import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { opToJsonLine } from "../harness/history/jsonl.ts";
import { syntheticRun } from "../reports/syntheticRun.ts";
import { main } from "./main.ts";
import { loadStoredRun, parseReportArgs } from "./report.ts";

let root: string;
let out: string[];
let err: string[];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "faultline-report-"));
  out = [];
  err = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(root, { recursive: true, force: true });
});

async function storeRun(options: { valid?: boolean } = {}): Promise<string> {
  const input = syntheticRun({ ops: 400, seed: 11 });
  const dir = join(root, "store", "register", "20261122T031045.123");
  await mkdir(dir, { recursive: true });
  const results =
    options.valid === true ? { valid: true, checkers: { elle: { valid: true } } } : input.results;
  await writeFile(
    join(dir, "test.json"),
    JSON.stringify({
      testName: "register",
      seed: 11,
      reproduceCommand: input.reproduceCommand,
      concurrency: 5,
    }),
  );
  await writeFile(join(dir, "history.jsonl"), input.history.map((op) => opToJsonLine(op) + "\n").join(""));
  await writeFile(join(dir, "results.json"), JSON.stringify(results));
  await symlink(join("register", "20261122T031045.123"), join(root, "store", "latest"));
  return dir;
}

describe("faultline report", () => {
  it("prints the stored run's report and exits with its verdict", async () => {
    await storeRun();
    const code = await main(["report", join(root, "store", "latest")]);
    expect(err.join("")).toBe("");
    expect(code).toBe(1);
    const text = out.join("");
    expect(text).toContain("faultline register  seed 11");
    expect(text).toContain("Verdict: INVALID");
    expect(text).toContain("elle: G2-item (9)");
    expect(text).toContain("Reproduce: faultline run --workload register --nemesis partition --seed 11");
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/\u001b/); // not a TTY here
  });

  it("exits 0 for a valid run and rewrites the reports with --write", async () => {
    const dir = await storeRun({ valid: true });
    expect(await main(["report", dir, "--write"])).toBe(0);
    expect(await readFile(join(dir, "report.txt"), "utf8")).toContain("Verdict: VALID");
    expect(await readFile(join(dir, "report.html"), "utf8")).toContain('<svg id="timeline-plot"');
    expect(await readFile(join(dir, "junit.xml"), "utf8")).toContain('name="elle"');
  });

  it("names the run folder itself, not the store/latest symlink, in what it prints and writes", async () => {
    const dir = await realpath(await storeRun({ valid: true }));
    expect(await main(["report", join(root, "store", "latest"), "--write"])).toBe(0);
    expect(out.join("")).toContain(`Store:     ${dir}\n`);
    expect(await readFile(join(dir, "report.txt"), "utf8")).toContain(`Store:     ${dir}\n`);
    expect(await readFile(join(dir, "report.html"), "utf8")).toContain(`<code id="store-dir">${dir}</code>`);
    expect(await readFile(join(dir, "junit.xml"), "utf8")).toContain(
      `<property name="store" value="${dir}"/>`,
    );
    const written = [out.join(""), await readFile(join(dir, "report.txt"), "utf8")].join("");
    expect(written).not.toContain("latest");
    // A relative path stays relative, to the run folder.
    const cwd = process.cwd();
    try {
      process.chdir(root);
      out.length = 0;
      expect(await main(["report", join("store", "latest")])).toBe(0);
      expect(out.join("")).toContain(`Store:     ${join("store", "register", "20261122T031045.123")}\n`);
    } finally {
      process.chdir(cwd);
    }
  });

  it("says when the stored history holds fewer operations than the run recorded (a full disk)", async () => {
    const dir = await storeRun({ valid: true });
    const test = JSON.parse(await readFile(join(dir, "test.json"), "utf8")) as Record<string, unknown>;
    await writeFile(
      join(dir, "test.json"),
      JSON.stringify({ ...test, recorded: { operations: 100_000, historyCutShort: true } }),
    );
    expect(await main(["report", dir])).toBe(0);
    expect(err.join("")).toMatch(
      /^faultline report: .*history\.jsonl holds 200 of the 100,000 operations the run recorded \(the disk refused the rest\); results\.json was checked on all of them\n$/,
    );
    // A run that wrote its history whole does not say its disk refused it: the file was cut since
    // (before, the line blamed the disk whatever test.json said).
    err.length = 0;
    await writeFile(join(dir, "test.json"), JSON.stringify({ ...test, recorded: { operations: 100_000 } }));
    expect(await main(["report", dir])).toBe(0);
    expect(err.join("")).toMatch(
      /holds 200 of the 100,000 operations the run recorded \(cut short since the run wrote it\); results\.json was checked/,
    );
  });

  it("names a missing folder or file, exit 254, no stack trace", async () => {
    expect(await main(["report", join(root, "nope")])).toBe(254);
    expect(err.join("")).toContain(`${join(root, "nope")}: no such run folder`);
    const dir = await storeRun();
    await rm(join(dir, "results.json"));
    err.length = 0;
    expect(await main(["report", dir])).toBe(254);
    expect(err.join("")).toContain(`${join(dir, "results.json")}: missing`);
    expect(err.join("")).not.toContain("    at ");
  });

  it("names a missing history as missing, as it names a missing results.json", async () => {
    // Before, the reader's "cannot read: no such file" stood where report's own message was meant.
    const dir = await storeRun();
    await rm(join(dir, "history.jsonl"));
    expect(await main(["report", dir])).toBe(254);
    expect(err.join("")).toContain(
      `${join(dir, "history.jsonl")}: missing; a run folder holds history.jsonl`,
    );
  });

  it("names the file and line of a bad history line", async () => {
    const dir = await storeRun();
    const lines = (await readFile(join(dir, "history.jsonl"), "utf8")).split("\n");
    lines[2] = "{not json";
    await writeFile(join(dir, "history.jsonl"), lines.join("\n"));
    expect(await main(["report", dir])).toBe(254);
    expect(err.join("")).toContain(`${join(dir, "history.jsonl")}:3:`);
  });

  it("sets a torn last line aside, as faultline check does, and says so; a torn line inside is still refused", async () => {
    // Before, a run killed mid-write (its last line cut, no line break after it) was refused whole:
    // "history.jsonl:201: expected one JSON object per line", exit 254, where check read the prefix.
    const dir = await storeRun();
    const historyPath = join(dir, "history.jsonl");
    const whole = await readFile(historyPath, "utf8");
    expect(await main(["report", dir])).toBe(1);
    const wholeReport = out.join("");
    out.length = 0;
    await writeFile(historyPath, whole + '{"index":400,"time":9');
    expect(await main(["report", dir])).toBe(1);
    expect(out.join("")).toBe(wholeReport);
    expect(err.join("")).toBe(
      `faultline report: ${historyPath}: line 401 left out: torn (the last line, no line break after it, ` +
        "not JSON, as a writer killed mid-line leaves it); the report shows the lines before it\n",
    );
    expect((await loadStoredRun(dir)).tornLastLine).toBe(401);
    // Followed by a line break, the line was written whole: a bad line, as anywhere else.
    err.length = 0;
    await writeFile(historyPath, whole + '{"index":400,"time":9\n');
    expect(await main(["report", dir])).toBe(254);
    expect(err.join("")).toContain(`${historyPath}:401: expected one JSON object per line`);
  });

  it("explains a results.json of the wrong shape", async () => {
    const dir = await storeRun();
    await writeFile(join(dir, "results.json"), JSON.stringify({ valid: "maybe", checkers: {} }));
    await expect(loadStoredRun(dir)).rejects.toThrow(
      /results\.json: expected \{"valid": true\|false\|"unknown"/,
    );
    await writeFile(join(dir, "test.json"), "[1,2]");
    await expect(loadStoredRun(dir)).rejects.toThrow(/test\.json: expected a JSON object/);
  });

  it("refuses a results.json whose verdict its checkers' do not compose to, and a test.json without a seed", async () => {
    // Each was rendered as it stood: "Verdict: VALID" above an invalid checker (exit 0), VALID with
    // no checker at all, and "seed NaN".
    const dir = await storeRun();
    const results = (verdict: unknown, checkers: Record<string, unknown>) =>
      writeFile(join(dir, "results.json"), JSON.stringify({ valid: verdict, checkers }));
    await results(true, { elle: { valid: false }, stats: { valid: true } });
    await expect(loadStoredRun(dir)).rejects.toThrow(
      /results\.json: "valid" is true, but its checkers' verdicts compose to false/,
    );
    await results(true, { elle: { valid: "unknown" } });
    await expect(loadStoredRun(dir)).rejects.toThrow(/compose to "unknown"/);
    await results(true, {});
    await expect(loadStoredRun(dir)).rejects.toThrow(/results\.json: no checker's verdict/);
    await results(false, { elle: { valid: false }, stats: { valid: "unknown" } });
    expect((await loadStoredRun(dir)).results.valid).toBe(false);
    for (const seed of [undefined, "11", 1.5, null]) {
      await writeFile(join(dir, "test.json"), JSON.stringify({ testName: "register", seed }));
      await expect(loadStoredRun(dir), String(seed)).rejects.toThrow(
        /test\.json: expected "seed" to be a whole number \(the run's seed\); got /,
      );
    }
    expect(await main(["report", dir])).toBe(254);
    expect(err.join("")).not.toContain("    at ");
  });

  it("parses its arguments", () => {
    expect(parseReportArgs(["d", "--write", "--no-color"])).toEqual({ dir: "d", write: true, color: false });
    expect(parseReportArgs(["--help"])).toBe("help");
    expect(() => parseReportArgs([])).toThrow(/expected a run folder/);
    expect(() => parseReportArgs(["a", "b"])).toThrow(/expected one run folder/);
    expect(() => parseReportArgs(["a", "--bogus"])).toThrow(/unknown option "--bogus"/);
  });
});
