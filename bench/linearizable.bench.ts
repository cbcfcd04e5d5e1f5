/**
 * The linearizability checker against Porcupine v1.3.0 (Go) on Porcupine's own histories: all 102
 * etcd logs (cas-register), kv/c50-ok and c50-bad split by key, kv/c10-ok and c10-bad unsplit.
 * Each case runs in its own Node process (so that its peak memory is its own): the files are read
 * first (not timed), the check runs once to warm the JIT, then `repeats` times; the figures are
 * the best and the median of those (wall time), the best run's CPU time, the verdicts, and the
 * process's peak resident memory before and after checking. It also prints the load average, since
 * the machine is shared. Porcupine's figures were measured once on this kind of machine (see
 * ../shared/corpus/README.md). Figures are printed, never asserted; the machine is shared, so
 * compare them only with runs under the same load.
 */
import { existsSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { readHistoryFile } from "../harness/history/read.ts";
import { checkLinearizableHistory } from "../checkers/linearizable/index.ts";

const corpus = join(fileURLToPath(import.meta.url), "../../../shared/corpus/porcupine");
const repeats = 7;

interface BenchCase {
  readonly name: string;
  readonly files: () => string[];
  readonly model: string;
  readonly partition: boolean;
  /** Porcupine v1.3.0's time for the same work, seconds. */
  readonly porcupineS: number;
}

const etcdFiles = (): string[] => {
  const files: string[] = [];
  for (let i = 0; i <= 102; i++) {
    if (i === 95) continue; // empty: the etcd cluster failed to start
    files.push(join(corpus, "jepsen", `etcd_${String(i).padStart(3, "0")}.log`));
  }
  return files;
};

const cases: readonly BenchCase[] = [
  {
    name: "etcd ×102, cas-register",
    files: etcdFiles,
    model: "cas-register",
    partition: true,
    porcupineS: 0.43,
  },
  {
    name: "kv/c50-ok, split by key",
    files: () => [join(corpus, "kv/c50-ok.txt")],
    model: "kv",
    partition: true,
    porcupineS: 0.16,
  },
  // Porcupine's figure for c50-bad is not in the corpus README; c50-ok's stands in as the bar.
  {
    name: "kv/c50-bad, split by key",
    files: () => [join(corpus, "kv/c50-bad.txt")],
    model: "kv",
    partition: true,
    porcupineS: 0.16,
  },
  {
    name: "kv/c10-ok, unsplit",
    files: () => [join(corpus, "kv/c10-ok.txt")],
    model: "kv",
    partition: false,
    porcupineS: 2.0,
  },
  {
    name: "kv/c10-bad, unsplit",
    files: () => [join(corpus, "kv/c10-bad.txt")],
    model: "kv",
    partition: false,
    porcupineS: 2.2,
  },
];

interface CaseFigures {
  /** The best run's CPU time (user + system): less sensitive than wall time to a busy machine. */
  readonly bestCpuMs: number;
  readonly bestMs: number;
  readonly medianMs: number;
  readonly verdicts: string;
  readonly rssBeforeMiB: number;
  readonly rssPeakMiB: number;
}

const maxRssMiB = (): number => process.resourceUsage().maxRSS / 1024;

/** Runs one case in this process and returns its figures. */
async function measure(c: BenchCase): Promise<CaseFigures> {
  const histories = await Promise.all(c.files().map(async (f) => (await readHistoryFile(f)).ops));
  const rssBeforeMiB = maxRssMiB();
  const verdicts = new Map<string, number>();
  const checkAll = (count: boolean): void => {
    for (const h of histories) {
      const v = String(checkLinearizableHistory(h, { model: c.model, partition: c.partition }).valid);
      if (count) verdicts.set(v, (verdicts.get(v) ?? 0) + 1);
    }
  };
  checkAll(true);
  const times: number[] = [];
  let bestCpuMs = Infinity;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    checkAll(false);
    times.push(performance.now() - start);
    const cpu = process.cpuUsage(cpuStart);
    bestCpuMs = Math.min(bestCpuMs, (cpu.user + cpu.system) / 1000);
  }
  times.sort((a, b) => a - b);
  return {
    bestCpuMs,
    bestMs: times[0]!,
    medianMs: times[Math.floor(times.length / 2)]!,
    verdicts: [...verdicts].map(([v, n]) => `${n}× ${v}`).join(", "),
    rssBeforeMiB,
    rssPeakMiB: maxRssMiB(),
  };
}

/** Runs every case in a child Node process started with `nodeFlags`, and prints a table. */
async function runCases(nodeFlags: readonly string[]): Promise<void> {
  const header = [
    "case",
    "best ms",
    "median ms",
    "best CPU ms",
    "Porcupine ms",
    "ratio",
    "verdicts",
    "peak RSS MiB (before → after)",
  ];
  console.log(header.join(" | "));
  for (const [i, c] of cases.entries()) {
    const args = [...nodeFlags, ...process.execArgv, fileURLToPath(import.meta.url), "--case", String(i)];
    const child = await execa(process.execPath, args, { reject: false });
    if (child.exitCode !== 0) {
      console.log(`${c.name} | failed: ${child.stderr.split("\n").slice(0, 3).join(" ")}`);
      continue;
    }
    const f = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as CaseFigures;
    const porcupineMs = c.porcupineS * 1000;
    console.log(
      [
        c.name,
        f.bestMs.toFixed(0),
        f.medianMs.toFixed(0),
        f.bestCpuMs.toFixed(0),
        porcupineMs.toFixed(0),
        `${(porcupineMs / f.bestMs).toFixed(1)}× (median ${(porcupineMs / f.medianMs).toFixed(1)}×, CPU ${(porcupineMs / f.bestCpuMs).toFixed(1)}×)`,
        f.verdicts,
        `${f.rssBeforeMiB.toFixed(0)} → ${f.rssPeakMiB.toFixed(0)}`,
      ].join(" | "),
    );
  }
}

export async function run(): Promise<void> {
  if (!existsSync(corpus)) {
    console.log(`skipped: no corpus at ${corpus}`);
    return;
  }
  console.log(
    `best and median of ${repeats} runs after one warm-up; ratio = Porcupine's time / ours (above 1: we are faster)\n`,
  );
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} on ${availableParallelism()} cores\n`,
  );
  await runCases([]);
  // The search keeps every model state it meets; with Node's default young generation the
  // garbage collector copies them over and over. A larger one is a start-up flag only.
  console.log(`\nthe same with node ${semiSpaceFlag} (a start-up flag; not set by default)\n`);
  await runCases([semiSpaceFlag]);
}

const semiSpaceFlag = "--max-semi-space-size=32";

// In the child process: run one case and print its figures as one JSON line.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "--case") {
  const c = cases[Number(process.argv[3])]!;
  console.log(JSON.stringify(await measure(c)));
}
