/**
 * Time budgets: how far past `--time-limit-ms` a check runs before it answers "unknown", on a
 * list-append history big enough that no limit below is reached by finishing (120k operations:
 * reading 24 MB, then inference, then the cycle search). Each limit is run five times in this
 * process through `faultline check`'s own code; the table shows the median elapsed time, the
 * worst, and the target (the limit plus 10% plus 100 ms). Figures are printed, never asserted: the
 * machine is shared, so compare them only with runs on the same machine under the same load.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkCommand } from "../cli/check.ts";
import { simulateListAppend } from "../checkers/elle/simulate.ts";
import { SeededRandom } from "../harness/runtime/random.ts";

const limitsMs = [1, 10, 100, 300, 1000, 3000];
const repeats = 5;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "faultline-bench-budget-"));
  try {
    const history = simulateListAppend({
      random: new SeededRandom(60_000, "budget-bench"),
      txnCount: 60_000,
      processCount: 30,
      isolation: "snapshot",
    });
    const path = join(dir, "history.jsonl");
    writeFileSync(path, history.map((op) => JSON.stringify(op)).join("\n") + "\n");
    const write = process.stdout.write.bind(process.stdout);
    console.log(`${history.length} ops; check --workload append --time-limit-ms N, ${repeats} runs each`);
    console.log("limit ms | median ms | worst ms | target ms | where it stopped");
    for (const limitMs of limitsMs) {
      const elapsed: number[] = [];
      let where = "";
      for (let i = 0; i < repeats; i++) {
        let line = "";
        process.stdout.write = ((chunk: string) => ((line += chunk), true)) as typeof process.stdout.write;
        const start = performance.now();
        try {
          await checkCommand([path, "--workload", "append", "--time-limit-ms", String(limitMs)]);
        } finally {
          process.stdout.write = write;
        }
        elapsed.push(performance.now() - start);
        where =
          /while (reading the history|inferring dependencies)/.exec(line)?.[1] ??
          (line.includes("search for") ? "cycle search" : line.slice(0, 40));
      }
      const target = limitMs * 1.1 + 100;
      console.log(
        `${String(limitMs).padStart(8)} | ${median(elapsed).toFixed(0).padStart(9)} | ${Math.max(...elapsed)
          .toFixed(0)
          .padStart(8)} | ${target.toFixed(0).padStart(9)} | ${where}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
