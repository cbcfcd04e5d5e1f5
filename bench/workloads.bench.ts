/**
 * Workload checkers on large histories, and each workload end to end on the memory system in
 * simulation. Histories are built serially on the reference store (MemoryState), so every checker
 * has real work and a known answer (valid). Prints times, sizes and the verdicts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkBankHistory } from "../checkers/bank/index.ts";
import { checkElleHistory } from "../checkers/elle/index.ts";
import { checkSetFullHistory } from "../checkers/set-full/index.ts";
import { checkStatsHistory } from "../checkers/stats/index.ts";
import { executeRun } from "../cli/execute.ts";
import { resolveRunConfig } from "../cli/run.ts";
import type { Op, Process } from "../harness/history/op.ts";
import { SeededRandom } from "../harness/runtime/random.ts";
import { MemoryState } from "../systems/memory/state.ts";
import { toRwRegisterHistory } from "../workloads/rows.ts";

function timed<T>(label: string, action: () => T): T {
  const startMs = performance.now();
  const result = action();
  console.log(`${label.padEnd(44)} ${(performance.now() - startMs).toFixed(0).padStart(6)} ms`);
  return result;
}

/** A serial history: each step is invoked and completed by the reference store at once. */
function serialHistory(steps: number, next: (i: number) => { f: string; value: unknown }): Op[] {
  const state = new MemoryState();
  const history: Op[] = [];
  for (let i = 0; i < steps; i++) {
    const { f, value } = next(i);
    const process: Process = i % 10;
    history.push({ index: history.length, time: i * 1e6, process, type: "invoke", f, value });
    const c = state.apply({ f, value });
    history.push({ index: history.length, time: i * 1e6 + 5e5, process, type: c.type, f, value: c.value });
  }
  return history;
}

export async function run(): Promise<void> {
  const random = new SeededRandom(1);

  const accounts = [0, 1, 2, 3, 4, 5, 6, 7];
  const bank = serialHistory(100_000, (i) => {
    if (i === 0) return { f: "txn", value: accounts.map((k) => ["w", k, { balance: 100, writeId: -1 }]) };
    if (random.float() < 0.5) return { f: "txn", value: accounts.map((k) => ["r", k, null]) };
    const from = random.int(8);
    return {
      f: "transfer",
      value: { from, to: (from + 1 + random.int(7)) % 8, amount: 1 + random.int(5), writeId: i },
    };
  });
  console.log(`bank history entries                         ${bank.length}`);
  const b = timed("bank checker", () => checkBankHistory(bank, { accounts, total: 800 }));
  const adapted = timed("toRwRegisterHistory", () => toRwRegisterHistory(bank));
  const rw = timed("elle rw-register serializable", () =>
    checkElleHistory(adapted, { workload: "rw-register", model: "serializable", wfrKeys: true }),
  );
  const s = timed("stats checker", () => checkStatsHistory(bank));
  console.log(`verdicts: bank ${String(b.valid)}, rw-register ${String(rw.valid)}, stats ${String(s.valid)}`);

  // 50,050 adds, a read every 250 ops, the last op a read: 201 reads of up to 50,000 elements (about 5 M in all).
  let element = 0;
  const set = serialHistory(50_250, (i) =>
    i % 250 === 249 ? { f: "read-set", value: null } : { f: "add", value: element++ },
  );
  const readElements = set.reduce(
    (n, op) => n + (op.type === "ok" && op.f === "read-set" ? (op.value as unknown[]).length : 0),
    0,
  );
  console.log(`set history entries                          ${set.length} (${readElements} elements read)`);
  const heapBefore = process.memoryUsage().heapUsed;
  const sf = timed("set-full checker", () => checkSetFullHistory(set));
  console.log(
    `set-full verdict ${String(sf.valid)}, heap growth ~${((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20).toFixed(0)} MiB`,
  );

  const store = await mkdtemp(join(tmpdir(), "faultline-bench-workloads-"));
  try {
    for (const workload of ["bank", "write-skew", "append", "set", "register"]) {
      const config = resolveRunConfig([
        ...["--system", "memory", "--workload", workload, "--time-limit", "60", "--rate", "200"],
        ...["--nemesis", "partition,crash", "--seed", "1", "--store", store],
      ]);
      if (config === "help") continue;
      const startMs = performance.now();
      const result = await executeRun(config);
      const elapsedMs = performance.now() - startMs;
      console.log(
        `${`run ${workload}, 60 s at 200/s, partition+crash`.padEnd(44)} ${elapsedMs.toFixed(0).padStart(6)} ms` +
          `  (${result.history.length} entries, valid: ${String(result.results.valid)})`,
      );
    }
  } finally {
    await rm(store, { recursive: true, force: true });
  }
}
