import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Budget } from "../harness/budget.ts";
import type { CheckResult } from "../harness/results.ts";
import { checkCommand, parseCheckArgs } from "./check.ts";
import { UsageError } from "./main.ts";
import type * as ElleModule from "../checkers/elle/index.ts";

// The checkers are stood in for here, so that these tests pin the CLI's behaviour (what it
// dispatches, what it prints, how it composes exit codes) whatever the real checkers answer.
// The tests through the real binary below use the real checkers and assert only shape.
const fakes = vi.hoisted(() => ({
  linearizable: vi.fn<(history: readonly unknown[], options: unknown) => CheckResult>(),
  elle: vi.fn<(history: readonly unknown[], options: unknown) => CheckResult>(),
}));
vi.mock("../checkers/linearizable/index.ts", () => ({
  linearizableModelNames: ["register", "cas-register", "kv", "mutex"],
  checkLinearizableHistory: fakes.linearizable,
}));
vi.mock("../checkers/elle/index.ts", async (importOriginal) => ({
  ...(await importOriginal<typeof ElleModule>()),
  elleModelNames: ["serializable", "strict-serializable", "snapshot-isolation"],
  checkElleHistory: fakes.elle,
  // A JSONL file checked as append by its content streams to the same check (checkStreamed.test.ts).
  checkElleGathered: (_gathered: unknown, options: unknown) => fakes.elle([], options),
}));

const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const corpus = fileURLToPath(new URL("../../shared/corpus", import.meta.url));
const etcdLog = join(corpus, "porcupine/jepsen/etcd_000.log");
const kvFile = join(corpus, "porcupine/kv/c01-ok.txt");
const knossosFile = join(corpus, "knossos/cas-register/good/memstress3-4.edn");

const dir = mkdtempSync(join(tmpdir(), "faultline-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, lines: readonly unknown[]): string => {
  const path = join(dir, name);
  writeFileSync(path, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");
  return path;
};
const appendTxn = write("append.jsonl", [
  { index: 0, time: 0, process: 0, type: "invoke", f: "txn", value: [["append", "x", 1]] },
  { index: 1, time: 5, process: 0, type: "ok", f: "txn", value: [["append", "x", 1]] },
]);
const registerJsonl = write("register.jsonl", [
  { index: 0, time: 0, process: 0, type: "invoke", f: "read", value: null },
  { index: 1, time: 5, process: 0, type: "ok", f: "read", value: 3 },
]);
const badJsonl = write("bad.jsonl", [
  { index: 0, time: 0, process: 0, type: "invoke", f: "read", value: null },
  '{"index":1,"time":5,"process":0,"type":"okay","f":"read","value":3}',
]);

/** Runs `faultline check` in this process, capturing what it prints. */
async function runCheck(args: string[]): Promise<{ code: number; lines: string[]; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi
    .spyOn(process.stdout, "write")
    .mockImplementation((chunk) => (out.push(String(chunk)), true));
  const stderr = vi
    .spyOn(process.stderr, "write")
    .mockImplementation((chunk) => (err.push(String(chunk)), true));
  try {
    const code = await checkCommand(args);
    return {
      code,
      lines: out
        .join("")
        .split("\n")
        .filter((l) => l !== ""),
      stderr: err.join(""),
    };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

beforeEach(() => {
  fakes.linearizable.mockImplementation(() => ({ valid: true }));
  fakes.elle.mockImplementation(() => ({ valid: true }));
});
afterEach(() => vi.clearAllMocks());

describe("parseCheckArgs", () => {
  const usageError = async (args: string[]): Promise<string> => {
    try {
      await parseCheckArgs(args);
    } catch (error) {
      if (error instanceof UsageError) return error.message;
      throw error;
    }
    throw new Error(`expected ${args.join(" ")} to be refused`);
  };

  it("reads every option", async () => {
    const o = await parseCheckArgs([
      "a",
      "--model",
      "cas-register",
      "--init",
      "0",
      "--no-partition",
      "--json",
      "--time-limit-ms",
      "500",
      "b",
    ]);
    expect(o).toMatchObject({
      files: ["a", "b"],
      model: "cas-register",
      init: 0,
      hasInit: true,
      partition: false,
      json: true,
    });
    expect(o.budget).toEqual({ timeLimitMs: 500 });
    expect(await parseCheckArgs(["a", "--init", "null"])).toMatchObject({ init: null, hasInit: true });
    expect(await parseCheckArgs(["a"])).toMatchObject({
      hasInit: false,
      partition: true,
      json: false,
      budget: {},
    });
  });

  it.each<[string[], string]>([
    [["a", "--bogus"], 'unknown option "--bogus"; the options are --workload, --model'],
    [
      ["a", "--workload", "banks"],
      '--workload: expected one of append, rw-register, bank, set, write-skew, register, long-fork, counter; got "banks"',
    ],
    [["a", "--group-size", "3"], "--group-size applies only with --workload long-fork"],
    [
      ["a", "--workload", "bank", "--group-size", "3"],
      "--group-size applies only with --workload long-fork; got --workload bank",
    ],
    [
      ["a", "--workload", "counter", "--model", "serializable"],
      "--model does not apply with --workload counter",
    ],
    [["a", "--step-limit", "0"], "--step-limit: expected a positive integer number of steps"],
    [
      // A double holds it as …992: no read's sum could be compared with it exactly.
      ["a", "--workload", "bank", "--total", "9007199254740993"],
      '--total: expected a whole number within ±9007199254740991; got "9007199254740993"',
    ],
    [["a", "--model", "nope"], "--model: expected one of register, cas-register, kv, mutex"],
    [
      ["a", "--workload", "append", "--model", "nope"],
      "--model: expected one of serializable, strict-serializable",
    ],
    [["a", "--init", "{oops"], "--init: expected a JSON value"],
    [["a", "--time-limit-ms", "soon"], "--time-limit-ms: expected a positive integer"],
    [["a", "--time-limit-ms", "0"], "--time-limit-ms: expected a positive integer"],
    [["a", "--model"], "argument missing"],
    [[], "expected at least one history FILE"],
    // The second read nothing and said "unknown: the history is empty".
    [["-", "a", "-"], "standard input is given 2 times (-, -); it can be read once"],
    [["-", "/dev/stdin"], "standard input is given 2 times (-, /dev/stdin)"],
  ])("refuses %j with the valid choices", async (args, message) => {
    expect(await usageError(args)).toContain(message);
  });
});

describe("checkCommand (checkers stood in for)", () => {
  it("prints one verdict line per file and says what it inferred", async () => {
    const { code, lines } = await runCheck([etcdLog, kvFile, appendTxn]);
    expect(code).toBe(0);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      new RegExp(
        `^valid    ${etcdLog}  cas-register init null \\(inferred from the etcd Jepsen log\\), 85 operations, \\d+ ms$`,
      ),
    );
    expect(lines[1]).toMatch(
      /^valid {4}.*c01-ok\.txt {2}kv \(inferred from the Porcupine kv history\), 58 operations, \d+ ms$/,
    );
    expect(lines[2]).toMatch(
      /^valid {4}.*append\.jsonl {2}elle append strict-serializable \(inferred from append micro-ops\), 1 operation,/,
    );
    expect(fakes.linearizable.mock.calls[0]![1]).toMatchObject({
      model: "cas-register",
      init: null,
      partition: true,
    });
    expect(fakes.linearizable.mock.calls[1]![1]).toMatchObject({ model: "kv" });
    expect(fakes.elle.mock.calls[0]![1]).toMatchObject({ workload: "append", model: "strict-serializable" });
  });

  it("passes --model, --init, --no-partition, --workload and --time-limit-ms to the checker", async () => {
    await runCheck([
      knossosFile,
      "--model",
      "cas-register",
      "--init",
      "0",
      "--no-partition",
      "--time-limit-ms",
      // Generous: the limit covers reading, and a loaded machine must not make this test unknown.
      "60000",
    ]);
    expect(fakes.linearizable).toHaveBeenCalledTimes(1);
    const { budget, ...rest } = fakes.linearizable.mock.calls[0]![1] as { budget: unknown };
    expect(rest).toEqual({ model: "cas-register", init: 0, partition: false });
    // One budget shared by the file's checkers, with what the time limit left after reading.
    expect(budget).toBeInstanceOf(Budget);
    await runCheck([appendTxn, "--workload", "rw-register", "--model", "serializable"]);
    expect(fakes.elle.mock.calls[0]![1]).toMatchObject({ workload: "rw-register", model: "serializable" });
  });

  it("exits with the worst code and labels each verdict", async () => {
    fakes.linearizable.mockImplementation((history) =>
      history.length === 2
        ? { valid: false, reason: "no linearization of read 3" }
        : { valid: "unknown", reason: "time budget exhausted" },
    );
    const { code, lines } = await runCheck([registerJsonl, knossosFile, "--model", "register"]);
    expect(lines[0]).toMatch(
      /^INVALID {2}.*register\.jsonl {2}register: no linearization of read 3, 1 operation, \d+ ms$/,
    );
    expect(lines[1]).toMatch(
      /^unknown {2}.*memstress3-4\.edn {2}register: time budget exhausted, \d+ operations/,
    );
    expect(code).toBe(1);
    const onlyUnknown = await runCheck([knossosFile, "--model", "register"]);
    expect(onlyUnknown.code).toBe(2);
  });

  it("summarises anomalies when a checker gives no reason", async () => {
    fakes.elle.mockImplementation(() => ({
      valid: false,
      anomalies: { "G2-item": [{ explanation: "a cycle" }] },
      anomalyCounts: { "G2-item": 3 },
    }));
    const { lines } = await runCheck([appendTxn]);
    expect(lines[0]).toContain("G2-item x3");
  });

  it("reports a bad file as file:line with 254, and still checks the others", async () => {
    const { code, lines, stderr } = await runCheck([badJsonl, registerJsonl, "--model", "register"]);
    expect(code).toBe(254);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      `error    ${badJsonl}:2: expected "type" to be one of invoke, ok, fail, info; got "okay"`,
    );
    expect(lines[1]).toMatch(/^valid {4}/);
    expect(stderr).toBe("");
  });

  it("asks for --model or --workload when the content cannot tell", async () => {
    const { code, lines } = await runCheck([registerJsonl, etcdLog]);
    expect(code).toBe(254);
    expect(lines[0]).toContain("cannot tell what to check");
    expect(lines[0]).toContain("--model");
    expect(lines[1]).toMatch(/^valid {4}/);
  });

  it("turns a checker crash into an internal-error line and exit 255", async () => {
    fakes.linearizable.mockImplementation(() => {
      throw new Error("boom");
    });
    const { code, lines, stderr } = await runCheck([etcdLog, appendTxn]);
    expect(code).toBe(255);
    expect(lines[0]).toBe(`error    ${etcdLog}: internal error: boom`);
    expect(lines[1]).toMatch(/^valid {4}/);
    expect(stderr).toContain("boom");
  });

  it("prints one JSON line per file with --json: the results plus file", async () => {
    fakes.linearizable.mockImplementation(() => ({ valid: false, reason: "stale read" }));
    const { code, lines } = await runCheck([etcdLog, badJsonl, "--json"]);
    expect(code).toBe(254);
    const [checked, bad] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(checked).toEqual({
      file: etcdLog,
      format: "jepsen-log",
      valid: false,
      checkers: { linearizable: { valid: false, reason: "stale read" } },
    });
    expect(bad).toMatchObject({ file: badJsonl, valid: null, line: 2 });
    expect(bad!["error"]).toContain(`${badJsonl}:2:`);
  });

  it("prints its help", async () => {
    const { code, lines } = await runCheck(["--help"]);
    expect(code).toBe(0);
    expect(lines[0]).toContain("Usage: faultline check FILE...");
  });
});

describe("faultline check through the real binary", () => {
  const bin = join(repoRoot, "bin/faultline.js");
  const run = (args: string[]) =>
    execa(process.execPath, [bin, "check", ...args], { cwd: repoRoot, reject: false });
  const verdictLine = /^(valid {4}|INVALID {2}|unknown {2}|error {4})/;

  it("names the file and line of a malformed line and exits 254 with no stack trace", async () => {
    const result = await run([registerJsonl, badJsonl, "--model", "register"]);
    expect(result.exitCode).toBe(254);
    const lines = String(result.stdout).split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(verdictLine);
    expect(lines[1]).toBe(
      `error    ${badJsonl}:2: expected "type" to be one of invoke, ok, fail, info; got "okay"`,
    );
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/\n\s+at /);
  });

  it("checks corpus files of every format, one line each, exit code from the verdicts", async () => {
    const result = await run([etcdLog, kvFile, knossosFile, "--json"]);
    const lines = String(result.stdout).split("\n");
    expect(lines).toHaveLength(3);
    const verdicts = lines.map((l) => {
      const parsed = JSON.parse(l) as {
        file: string;
        valid: unknown;
        checkers: Record<string, { valid: unknown }>;
      };
      expect([true, false, "unknown", null]).toContain(parsed.valid);
      return parsed;
    });
    expect(verdicts.map((v) => v.file)).toEqual([etcdLog, kvFile, knossosFile]);
    // The knossos file does not say what it is: that is bad input, so the worst code is 254.
    expect(verdicts[2]!.valid).toBe(null);
    expect(result.exitCode).toBe(254);
    for (const v of verdicts.slice(0, 2)) expect(Object.keys(v.checkers)).toEqual(["linearizable"]);
  });

  it("refuses an unknown option with 254 and the choices", async () => {
    const result = await run([etcdLog, "--workload", "banks"]);
    expect(result.exitCode).toBe(254);
    expect(result.stderr).toBe(
      'faultline check: --workload: expected one of append, rw-register, bank, set, write-skew, register, long-fork, counter; got "banks"',
    );
  });

  it("keeps integers beyond a double's exact range exact, in JSONL and EDN, with no internal error", async () => {
    // 2^53 and 2^53 + 1 are one double: JSON.parse once made two appends of them a duplicate
    // element and a read of 2^53 after a write of 2^53 + 1 linearizable; EDN's bigints crashed the
    // checkers (exit 255, a stack trace).
    const [a, b] = ["9007199254740992", "9007199254740993"];
    const appendLines = (first: string, second: string) => [
      `{"index":0,"time":0,"process":0,"type":"invoke","f":"txn","value":[["append","x",${a}]]}`,
      `{"index":1,"time":5,"process":0,"type":"ok","f":"txn","value":[["append","x",${a}]]}`,
      `{"index":2,"time":6,"process":0,"type":"invoke","f":"txn","value":[["append","x",${b}]]}`,
      `{"index":3,"time":9,"process":0,"type":"ok","f":"txn","value":[["append","x",${b}]]}`,
      `{"index":4,"time":10,"process":1,"type":"invoke","f":"txn","value":[["r","x",null]]}`,
      `{"index":5,"time":19,"process":1,"type":"ok","f":"txn","value":[["r","x",[${first},${second}]]]}`,
    ];
    const registerLines = (read: string) => [
      `{"index":0,"time":0,"process":0,"type":"invoke","f":"write","value":${b}}`,
      `{"index":1,"time":5,"process":0,"type":"ok","f":"write","value":${b}}`,
      `{"index":2,"time":6,"process":1,"type":"invoke","f":"read","value":null}`,
      `{"index":3,"time":9,"process":1,"type":"ok","f":"read","value":${read}}`,
    ];
    const toEdn = (lines: string[]) =>
      lines.map((l) => {
        const op = JSON.parse(l.replace(/(\d{16})/g, '"$1"')) as Record<string, unknown>;
        const edn = (v: unknown): string =>
          v === null
            ? "nil"
            : Array.isArray(v)
              ? `[${v.map(edn).join(" ")}]`
              : typeof v === "string" && /^\d+$/.test(v)
                ? v
                : typeof v === "string"
                  ? `:${v}`
                  : String(v);
        return `{${Object.entries(op)
          .map(([k, v]) => `:${k} ${k === "process" ? String(v) : edn(v)}`)
          .join(", ")}}`;
      });
    const files = {
      appendOk: write("big-append-ok.jsonl", appendLines(a, b)),
      appendBad: write("big-append-bad.jsonl", appendLines(b, a)),
      registerBad: write("big-register-bad.jsonl", registerLines(a)),
      registerOk: write("big-register-ok.jsonl", registerLines(b)),
      appendOkEdn: write("big-append-ok.edn", toEdn(appendLines(a, b))),
      appendBadEdn: write("big-append-bad.edn", toEdn(appendLines(b, a))),
      registerBadEdn: write("big-register-bad.edn", toEdn(registerLines(a))),
    };
    const verdict = async (file: string, ...args: string[]) => {
      const r = await run([file, "--json", ...args]);
      expect(`${r.stdout}${r.stderr}`, file).not.toMatch(/\n\s+at |internal error/);
      return [r.exitCode, (JSON.parse(String(r.stdout)) as { valid: unknown }).valid];
    };
    expect(await verdict(files.appendOk)).toEqual([0, true]);
    expect(await verdict(files.appendOkEdn)).toEqual([0, true]);
    expect(await verdict(files.appendBad)).toEqual([1, false]);
    expect(await verdict(files.appendBadEdn)).toEqual([1, false]);
    expect(await verdict(files.registerBad, "--model", "register")).toEqual([1, false]);
    expect(await verdict(files.registerBadEdn, "--model", "register")).toEqual([1, false]);
    expect(await verdict(files.registerOk, "--model", "register")).toEqual([0, true]);
  });

  it("reads standard input (-), /dev/stdin and a process substitution: no seeking, no size", async () => {
    const text = readFileSync(etcdLog, "utf8");
    const dash = await execa(process.execPath, [bin, "check", "-"], {
      cwd: repoRoot,
      reject: false,
      input: text,
    });
    expect(dash.stdout).toMatch(/^INVALID {2}stdin {2}cas-register init null/);
    expect(dash.exitCode).toBe(1);
    // A real pipe, as a shell makes it (Node's own child pipes are sockets, which /dev/stdin refuses).
    const devStdin = await execa(
      "bash",
      ["-c", 'cat "$2" | exec "$0" "$1" check /dev/stdin', process.execPath, bin, etcdLog],
      {
        cwd: repoRoot,
        reject: false,
      },
    );
    expect(devStdin.stdout).toMatch(/^INVALID {2}\/dev\/stdin {2}cas-register/);
    const substituted = await execa(
      "bash",
      [
        "-c",
        'exec "$0" "$1" check <(cat "$2") --model cas-register --init 0',
        process.execPath,
        bin,
        knossosFile,
      ],
      { cwd: repoRoot, reject: false },
    );
    expect(substituted.stdout).toMatch(/^valid {4}\/dev\/fd\/\d+ {2}cas-register init 0, 300 operations,/);
    expect(substituted.exitCode).toBe(0);
  });

  it("accepts a byte-order mark", async () => {
    const path = join(dir, "bom.jsonl");
    const read = [
      { index: 0, time: 0, process: 0, type: "invoke", f: "read", value: null },
      { index: 1, time: 5, process: 0, type: "ok", f: "read", value: null },
    ];
    writeFileSync(path, "\ufeff" + read.map((o) => JSON.stringify(o)).join("\n") + "\n");
    const result = await run([path, "--model", "register"]);
    expect(result.stdout).toMatch(/^valid {4}/);
    expect(result.exitCode).toBe(0);
  });

  it("answers unknown (exit 2) for a history with no completed operation, whatever its form", async () => {
    const empty = join(dir, "empty.jsonl");
    writeFileSync(empty, "");
    const blank = join(dir, "blank.jsonl");
    writeFileSync(blank, "\n\n  \n");
    const vector = join(dir, "empty.edn");
    writeFileSync(vector, "[]\n");
    const lone = join(dir, "lone.jsonl");
    writeFileSync(
      lone,
      JSON.stringify({ index: 0, time: 0, process: 0, type: "invoke", f: "read", value: null }) + "\n",
    );
    const etcd095 = join(corpus, "porcupine/jepsen/etcd_095.log");
    for (const args of [
      [empty],
      [blank],
      [vector],
      [etcd095],
      [lone],
      [empty, "--model", "register"],
      [lone, "--workload", "append"],
    ]) {
      const result = await run(args);
      expect(result.stdout, args.join(" ")).toMatch(/^unknown {2}/);
      expect(result.stdout, args.join(" ")).toMatch(/empty|no client operation completed/);
      expect(result.exitCode, args.join(" ")).toBe(2);
    }
  });

  it("refuses a completion timed before its invocation: file:line, exit 254", async () => {
    const path = join(dir, "backwards.jsonl");
    writeFileSync(
      path,
      [
        { index: 0, time: 900, process: 0, type: "invoke", f: "read", value: null },
        { index: 1, time: 100, process: 0, type: "ok", f: "read", value: 3 },
      ]
        .map((o) => JSON.stringify(o))
        .join("\n"),
    );
    const result = await run([path, "--model", "register"]);
    expect(result.stdout).toMatch(new RegExp(`^error {4}${path}:2: .*not to be timed before its invocation`));
    expect(result.exitCode).toBe(254);
  });
});
