/**
 * The speed goals of issue 17, each figure beside its goal, whole process: the installed command
 * (`bin/faultline.js`, the compiled build, started as a user starts it) timed from start to exit,
 * its CPU time (all threads, and the JavaScript thread alone for Porcupine's histories: see
 * `mainCpuS`) and peak memory read from the child itself (a `--import` hook through
 * NODE_OPTIONS writes `process.resourceUsage()` at exit). Medians of several runs; the load
 * average is printed, since the machine is shared and wall time follows it. Figures are printed,
 * never asserted.
 *
 * - `check`: a 100k- and a 1M-transaction list-append JSONL history (generated here; the 10M one,
 *   about 5 GB, only with FAULTLINE_BENCH_10M=1), checked as inferred from its content and with
 *   `--workload append` (Elle and the stats checker).
 * - linearizability: a strictly sequential single-register history of 600k and 1.2M lines (time
 *   and memory must grow linearly), and Porcupine's histories against Porcupine v1.3.0's
 *   whole-process times (its compiled test binary reading and checking the same files, measured
 *   once on this machine: the figures of issue 17).
 * - start-up of `faultline --help`.
 * - simulation: `faultline run` of the memory system and of the engine (the default run: 9
 *   nodes, 10 workers), 60 simulated seconds of main phase, whole process (start-up, checking and
 *   reports included: what a gate row costs); then the simulation loop alone (./simLoop.ts: the
 *   world running and the history and node logs written, in a process started as the bin
 *   starts one), cold and warm.
 * - `npm test`, once, whole (FAULTLINE_BENCH_NPM_TEST=0 leaves it out).
 *
 * The commands run without NODE_EXTRA_CA_CERTS, as on a machine that does not set it: Node 20
 * parses that certificate bundle at every start, before any of the command's code (this machine's,
 * 215 KB, took about 33 ms of CPU a start, measured in December 2026; Porcupine's Go binary pays
 * nothing of the kind). `npm test` keeps this machine's environment as it is. When the variable
 * is set, its cost is measured and printed first, so that the figures can be read for a machine
 * that sets it too.
 */
import { spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { simulateListAppend } from "../checkers/elle/simulate.ts";
import { opToJsonLine } from "../harness/history/jsonl.ts";
import type { Op } from "../harness/history/op.ts";
import { SeededRandom } from "../harness/runtime/random.ts";
import { simLoop, type SimLoopFigures } from "./simLoop.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const bin = join(root, "bin/faultline.js");
const corpus = join(root, "../shared/corpus/porcupine");

interface Usage {
  readonly wallS: number;
  readonly cpuS: number;
  readonly peakMiB: number;
  /**
   * CPU of the JavaScript thread alone (Linux /proc; 10 ms steps). The compiler's and the garbage
   * collector's helper threads run beside it, on another core when one is idle: on a quiet
   * machine the wall time is close to this; on a loaded one, this is the figure that compares.
   */
  readonly mainCpuS: number;
  readonly exitCode: number | null;
}

/** The environment the commands run in: this one, without a certificate bundle (see above). */
const { NODE_EXTRA_CA_CERTS: extraCaCerts, ...commandEnv } = process.env;

/** The middle value (the upper one of an even count). */
function medianOf(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** The median of each figure over `runs` runs of the command (after one warm-up run). */
function measure(args: readonly string[], runs: number, dir: string): Usage {
  const hook = join(dir, "usage-hook.mjs");
  const out = join(dir, "usage.json");
  writeFileSync(
    hook,
    `import { readFileSync, writeFileSync } from "node:fs";
process.on("exit", () => {
  const u = process.resourceUsage();
  let mainCpuS = NaN;
  try {
    const fields = readFileSync("/proc/self/task/" + process.pid + "/stat", "utf8").split(") ")[1].split(" ");
    mainCpuS = (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {}
  writeFileSync(${JSON.stringify(out)}, JSON.stringify({ cpuS: (u.userCPUTime + u.systemCPUTime) / 1e6, peakMiB: u.maxRSS / 1024, mainCpuS }));
});
`,
  );
  const samples: Usage[] = [];
  for (let i = 0; i <= runs; i++) {
    rmSync(out, { force: true });
    const startMs = performance.now();
    const r = spawnSync(bin, args, {
      cwd: root,
      stdio: "ignore",
      env: { ...commandEnv, NODE_OPTIONS: `--import=${hook}` },
    });
    const wallS = (performance.now() - startMs) / 1000;
    const usage = existsSync(out)
      ? (JSON.parse(readFileSync(out, "utf8")) as { cpuS: number; peakMiB: number; mainCpuS: number | null })
      : { cpuS: NaN, peakMiB: NaN, mainCpuS: NaN };
    if (i > 0) samples.push({ wallS, ...usage, mainCpuS: usage.mainCpuS ?? NaN, exitCode: r.status });
  }
  const median = (f: (u: Usage) => number): number => medianOf(samples.map(f));
  return {
    wallS: median((u) => u.wallS),
    cpuS: median((u) => u.cpuS),
    peakMiB: median((u) => u.peakMiB),
    mainCpuS: median((u) => u.mainCpuS),
    exitCode: samples[0]!.exitCode,
  };
}

const fixed = (x: number, digits = 2): string => x.toFixed(digits);
const met = (ok: boolean): string => (ok ? "met" : "NOT met");

function row(label: string, figures: string, goal: string): void {
  console.log(`${label.padEnd(46)} ${figures.padEnd(44)} ${goal}`);
}

/** Transactions simulated at once: larger histories are written as blocks of this many. */
const blockTxns = 1_000_000;

/**
 * Writes a list-append history of `txnCount` transactions (30 processes, serializable: valid),
 * streamed: a history larger than `blockTxns` is written block after block, each simulated on its
 * own and shifted past the previous one (indices and times after it, its own processes and keys),
 * so that no more than one block is ever held; blocks touch no common key and follow one another
 * in real time, so the whole stays valid.
 */
async function writeListAppend(path: string, txnCount: number): Promise<void> {
  const out = createWriteStream(path);
  let entries = 0;
  let keyOffset = 0;
  let processOffset = 0;
  for (let block = 0, done = 0; done < txnCount; block++) {
    const count = Math.min(blockTxns, txnCount - done);
    done += count;
    const history = simulateListAppend({
      random: new SeededRandom(block === 0 ? txnCount : txnCount * 1000 + block, "goals-bench"),
      txnCount: count,
      processCount: 30,
      isolation: "serializable",
    });
    let maxKey = -1;
    let maxProcess = -1;
    for (const op of history) {
      maxProcess = Math.max(maxProcess, op.process as number);
      for (const [, k] of op.value as [string, number][]) maxKey = Math.max(maxKey, k);
    }
    const shifted = (op: Op): Op => ({
      ...op,
      index: op.index + entries,
      time: op.time + entries * 1000,
      process: (op.process as number) + processOffset,
      value: (op.value as [string, number, unknown][]).map(([f, k, v]) => [f, k + keyOffset, v]),
    });
    const chunk = 10_000;
    for (let i = 0; i < history.length; i += chunk) {
      const text =
        history
          .slice(i, i + chunk)
          .map((op) => opToJsonLine(shifted(op)))
          .join("\n") + "\n";
      if (!out.write(text)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
    }
    entries += history.length;
    keyOffset += maxKey + 1;
    processOffset += maxProcess + 1;
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

/** A strictly sequential single-register history: each write or read completes before the next. */
function writeSequential(path: string, lines: number): void {
  const parts: string[] = [];
  let value = 0;
  for (let i = 0; i < lines; i += 2) {
    const op = i / 2;
    const write = op % 2 === 0;
    if (write) value = op;
    const f = write ? "write" : "read";
    parts.push(
      `{"index":${i},"time":${i * 1000},"process":${op % 5},"type":"invoke","f":"${f}","value":${write ? value : null}}`,
      `{"index":${i + 1},"time":${i * 1000 + 500},"process":${op % 5},"type":"ok","f":"${f}","value":${value}}`,
    );
  }
  writeFileSync(path, parts.join("\n") + "\n");
}

/** What NODE_EXTRA_CA_CERTS costs a start here: `node -e 0` with it and without, medians of 9. */
function extraCaCertsCost(bundle: string): string {
  const startMs = (env: NodeJS.ProcessEnv): number => {
    const samples: number[] = [];
    for (let i = 0; i <= 9; i++) {
      const startedMs = performance.now();
      spawnSync(process.execPath, ["-e", "0"], { env, stdio: "ignore" });
      if (i > 0) samples.push(performance.now() - startedMs);
    }
    return medianOf(samples);
  };
  const withMs = startMs({ ...commandEnv, NODE_EXTRA_CA_CERTS: bundle });
  const withoutMs = startMs(commandEnv);
  return (
    `NODE_EXTRA_CA_CERTS (${bundle}) is set here and left out of the commands' environment: ` +
    `\`node -e 0\` ${Math.round(withMs)} ms with it, ${Math.round(withoutMs)} ms without (medians of 9)`
  );
}

export async function run(): Promise<void> {
  if (!existsSync(join(root, "dist/cli/main.js"))) {
    console.log("no build in dist/ (npm run build): the figures would time tsx, not the command; skipped");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "faultline-bench-goals-"));
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(" ");
  // The bin finds its Node.js on the PATH (\`#!/usr/bin/env node\`): under \`npm run bench\`, the
  // checkout's own (tools/dev-node) where npm installed it, else the machine's.
  const binNode =
    spawnSync("node", ["--version"], { encoding: "utf8" }).stdout.trim() || "no node on the PATH";
  console.log(
    `load average ${load()}; medians of the runs shown; whole process (bin/faultline.js on Node.js ${binNode})`,
  );
  console.log(extraCaCerts === undefined ? "" : `${extraCaCertsCost(extraCaCerts)}\n`);
  try {
    // check: list-append histories
    for (const [txns, runs] of [
      [100_000, 5],
      [1_000_000, 3],
    ] as const) {
      const path = join(dir, `append-${txns}.jsonl`);
      await writeListAppend(path, txns);
      const u = measure(["check", path], runs, dir);
      const perS = txns / u.wallS;
      const perCpuS = txns / u.cpuS;
      const goal =
        txns === 100_000
          ? `goal ≥ 300,000 txn/s: ${met(perS >= 300_000)}`
          : `goal < 5 s: ${met(u.wallS < 5)}`;
      row(
        `check list-append ${txns / 1000}k txns (${runs} runs)`,
        `${fixed(u.wallS)} s (${Math.round(perS)} txn/s), cpu ${fixed(u.cpuS)} s (${Math.round(perCpuS)} txn/s), ${Math.round(u.peakMiB)} MiB`,
        goal,
      );
      // The same file with its workload named: the same streamed pass, the stats checker besides.
      const named = measure(["check", "--workload", "append", path], runs, dir);
      row(
        `  the same, --workload append (${runs} runs)`,
        `${fixed(named.wallS)} s (${Math.round(txns / named.wallS)} txn/s), cpu ${fixed(named.cpuS)} s, ${Math.round(named.peakMiB)} MiB`,
        `× inferred: cpu ${fixed(named.cpuS / u.cpuS)}, memory ${fixed(named.peakMiB / u.peakMiB)}`,
      );
      rmSync(path, { force: true });
    }
    if (process.env["FAULTLINE_BENCH_10M"] === "1") {
      const path = join(dir, "append-10m.jsonl");
      await writeListAppend(path, 10_000_000);
      const u = measure(["check", path], 1, dir);
      row(
        "check list-append 10M txns (1 run)",
        `${fixed(u.wallS)} s, cpu ${fixed(u.cpuS)} s, ${Math.round(u.peakMiB)} MiB`,
        `goal < 60 s and < 8 GB: ${met(u.wallS < 60 && u.peakMiB < 8192)}`,
      );
      rmSync(path, { force: true });
    } else {
      row(
        "check list-append 10M txns",
        "not run (FAULTLINE_BENCH_10M=1: a 5 GB file in the temporary folder, deleted after)",
        "goal < 60 s, < 8 GB",
      );
    }

    // start-up
    const help = measure(["--help"], 9, dir);
    row(
      "faultline --help (9 runs)",
      `${Math.round(help.wallS * 1000)} ms`,
      `goal < 150 ms: ${met(help.wallS < 0.15)}`,
    );

    // linearizability: sequential histories
    const sequential: Usage[] = [];
    for (const lines of [600_000, 1_200_000]) {
      const path = join(dir, `sequential-${lines}.jsonl`);
      writeSequential(path, lines);
      const u = measure(["check", path, "--model", "register"], 3, dir);
      sequential.push(u);
      row(
        `sequential register ${lines / 1000}k lines (3 runs)`,
        `${fixed(u.wallS)} s, cpu ${fixed(u.cpuS)} s, ${Math.round(u.peakMiB)} MiB, exit ${String(u.exitCode)}`,
        u.exitCode === 0 ? "valid" : "goal: valid (exit 0): NOT met",
      );
      rmSync(path, { force: true });
    }
    const [half, whole] = sequential as [Usage, Usage];
    const cpuRatio = whole.cpuS / half.cpuS;
    const memoryRatio = whole.peakMiB / half.peakMiB;
    row(
      "  twice the lines: cpu ×, memory ×",
      `${fixed(cpuRatio)}, ${fixed(memoryRatio)}`,
      `goal: linear (≤ 2.2 each): ${met(cpuRatio <= 2.2 && memoryRatio <= 2.2)}`,
    );

    // linearizability: Porcupine's histories
    if (existsSync(corpus)) {
      const etcd: string[] = [];
      for (let i = 0; i <= 102; i++) {
        if (i !== 95) etcd.push(join(corpus, "jepsen", `etcd_${String(i).padStart(3, "0")}.log`));
      }
      const porcupine: [string, string[], number][] = [
        ["etcd ×102, cas-register", ["check", ...etcd], 0.6],
        ["kv/c50-ok, split by key", ["check", join(corpus, "kv/c50-ok.txt")], 0.26],
        ["kv/c10-ok, unsplit", ["check", join(corpus, "kv/c10-ok.txt"), "--no-partition"], 4.6],
      ];
      for (const [name, args, porcupineS] of porcupine) {
        const u = measure(args, 5, dir);
        row(
          `${name} (5 runs)`,
          `${fixed(u.wallS)} s, cpu ${fixed(u.cpuS)} s (main thread ${fixed(u.mainCpuS)}), exit ${String(u.exitCode)}`,
          `goal ≤ Porcupine's ${porcupineS} s: ${met(u.wallS <= porcupineS)}`,
        );
      }
    } else {
      row("Porcupine's histories", `not found at ${corpus}`, "");
    }

    // simulation: the whole process (what a gate row costs), then the simulation loop alone
    const simulatedS = 60;
    for (const [name, system, goal] of [
      ["memory system, 10 workers", "memory", 1000],
      ["engine, default run (9 nodes, 10 workers)", "engine", 100],
    ] as const) {
      const store = join(dir, `store-${system}`);
      const u = measure(
        [
          "run",
          "--system",
          system,
          "--time-limit",
          String(simulatedS),
          "--seed",
          "1",
          "--quiet",
          "--store",
          store,
        ],
        3,
        dir,
      );
      const times = simulatedS / u.wallS;
      const perCpu = simulatedS / u.cpuS;
      // A whole process can never run faster than its own start: say so when the goal's whole
      // budget is less than start-up alone (the memory system's 1,000× of 60 s is 60 ms).
      const budgetS = simulatedS / goal;
      const beyondStart =
        budgetS <= help.wallS
          ? ` (out of reach whole process: ${Math.round(budgetS * 1000)} ms, less than start-up's ${Math.round(help.wallS * 1000)} ms; the loop's rate below)`
          : "";
      row(
        `run ${name}, ${simulatedS} s (3 runs)`,
        `${fixed(u.wallS)} s → ${Math.round(times)}× real time, cpu ${fixed(u.cpuS)} s (${Math.round(perCpu)}×)`,
        `goal ≥ ${goal}× (whole process): ${met(times >= goal)}${beyondStart}`,
      );
    }
    // The loop alone, in this process: the first run is cold (as in a command's own process: the
    // JIT compiles the simulation's code during it), the later ones warm.
    for (const [name, system, goal, runs] of [
      ["memory system, 10 workers", "memory", 1000, 4],
      ["engine, default run", "engine", 100, 2],
    ] as const) {
      const figures = simLoop(["--system", system, "--seed", "1"], simulatedS, runs);
      const [cold, ...warm] = figures as [SimLoopFigures, ...SimLoopFigures[]];
      const warmCpuS = medianOf(warm.map((f) => f.cpuS));
      row(
        `  simulation loop alone, ${name}`,
        `cold cpu ${fixed(cold.cpuS)} s (${Math.round(simulatedS / cold.cpuS)}×), warm ${fixed(warmCpuS)} s (${Math.round(simulatedS / warmCpuS)}×)`,
        `goal ≥ ${goal}× per CPU s, cold: ${met(simulatedS / cold.cpuS >= goal)}`,
      );
    }
    // The test suite, once, as CI runs it after npm ci (static checks, then vitest): minutes of
    // both cores, so FAULTLINE_BENCH_NPM_TEST=0 leaves it out.
    if (process.env["FAULTLINE_BENCH_NPM_TEST"] === "0") {
      row("npm test", "not run (FAULTLINE_BENCH_NPM_TEST=0)", "goal < 3 min");
    } else {
      const loadBefore = load();
      const startMs = performance.now();
      const suite = spawnSync("npm", ["test", "--silent"], { cwd: root, stdio: "ignore" });
      const wallS = (performance.now() - startMs) / 1000;
      row(
        "npm test (1 run)",
        `${fixed(wallS, 0)} s, exit ${String(suite.status)}, load before ${loadBefore}`,
        `goal < 180 s: ${met(wallS < 180 && suite.status === 0)}`,
      );
    }
    console.log(`\nload average at the end ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
