/**
 * The Elle checker on generated list-append histories of 10k, 100k and 1M transactions (4–8
 * micro-ops each, keys retiring after 32 appends, 30 concurrent processes, a serializable
 * executor, so the histories are valid and the whole graph must be built and searched). Each size
 * runs in a child process of its own, so its memory figures are its own: the heap the history
 * occupies before checking, and the process's peak resident memory (history and check together,
 * an upper bound on the check's own peak). Figures are printed, never asserted.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SeededRandom } from "../harness/runtime/random.ts";
import { checkElleHistory } from "../checkers/elle/index.ts";
import { simulateListAppend } from "../checkers/elle/simulate.ts";

const sizes = [10_000, 100_000, 1_000_000];
const models = ["serializable", "strict-serializable"];
const processCount = 30;
/** Each check runs this many times; the table shows the fastest and the slowest run. */
const repeats = 3;
const root = fileURLToPath(new URL("..", import.meta.url));

interface ChildFigures {
  readonly txns: number;
  readonly ops: number;
  readonly historyHeapMiB: number;
  readonly checks: { model: string; valid: unknown; ms: number[]; edges: unknown }[];
  readonly peakRssMiB: number;
}

function child(txnCount: number): void {
  const history = simulateListAppend({
    random: new SeededRandom(txnCount, "elle-bench"),
    txnCount,
    processCount,
    isolation: "serializable",
  });
  (globalThis as { gc?: () => void }).gc?.();
  const historyHeapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  const checks: ChildFigures["checks"] = [];
  for (const model of models) {
    const ms: number[] = [];
    let result: ReturnType<typeof checkElleHistory> | undefined;
    for (let run = 0; run < repeats; run++) {
      const start = performance.now();
      result = checkElleHistory(history, { workload: "append", model });
      ms.push(performance.now() - start);
    }
    checks.push({ model, valid: result!.valid, ms, edges: result!.edgeCount });
  }
  const figures: ChildFigures = {
    txns: txnCount,
    ops: history.length,
    historyHeapMiB,
    checks,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(JSON.stringify(figures) + "\n");
}

export async function run(): Promise<void> {
  console.log(
    `list-append, ${processCount} processes, serializable executor; each size in its own process\n`,
  );
  console.log(`each check runs ${repeats} times: the best and worst wall time; txn/s at the best\n`);
  console.log(
    "txns       model                 valid  best ms  worst ms     txn/s      edges  history MiB  peak RSS MiB",
  );
  for (const size of sizes) {
    const out = spawnSync(
      process.execPath,
      ["--expose-gc", "--max-old-space-size=6144", "--import", "tsx", fileURLToPath(import.meta.url)],
      {
        cwd: root,
        env: { ...process.env, ELLE_BENCH_CHILD: String(size) },
        encoding: "utf8",
        maxBuffer: 1 << 20,
      },
    );
    if (out.status !== 0) {
      console.log(`${size}: child failed (${out.status}): ${out.stderr.slice(0, 2000)}`);
      continue;
    }
    const figures = JSON.parse(out.stdout.trim().split("\n").pop()!) as ChildFigures;
    for (const c of figures.checks) {
      const best = Math.min(...c.ms);
      const rate = Math.round(figures.txns / (best / 1000));
      console.log(
        [
          String(figures.txns).padEnd(10),
          c.model.padEnd(21),
          String(c.valid).padEnd(6),
          best.toFixed(0).padStart(7),
          Math.max(...c.ms)
            .toFixed(0)
            .padStart(9),
          String(rate).padStart(9),
          String(c.edges).padStart(10),
          figures.historyHeapMiB.toFixed(0).padStart(12),
          figures.peakRssMiB.toFixed(0).padStart(13),
        ].join(" "),
      );
    }
  }
}

if (process.env.ELLE_BENCH_CHILD !== undefined) child(Number(process.env.ELLE_BENCH_CHILD));
