/**
 * History formats: how fast a list-append history of 200k ops is written to JSONL (one
 * synchronous write per op, the price of surviving SIGKILL) and read back by `readHistoryFile`
 * from JSONL and from a Jepsen `history.edn` vector, and how fast the whole etcd/knossos corpus of
 * ../shared/corpus reads. Figures are printed, never asserted; the machine is shared, so compare
 * them only with runs on the same machine under the same load.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HistoryWriter } from "../harness/history/jsonl.ts";
import type { Op } from "../harness/history/op.ts";
import { readHistoryFile } from "../harness/history/read.ts";

const opCount = 200_000;

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

function syntheticOp(index: number): Op {
  const key = index % 100;
  return {
    index,
    time: index * 1000,
    process: Math.floor(index / 2) % 10,
    type: index % 2 === 0 ? "invoke" : "ok",
    f: "txn",
    value: [
      ["append", key, index],
      ["r", (key + 1) % 100, index % 2 === 0 ? null : [1, 2, 3]],
    ],
  };
}

function ednOf(op: Op): string {
  const read = op.type === "invoke" ? "nil" : "[1 2 3]";
  const [[, k1, v1], [, k2]] = op.value as [[string, number, number], [string, number, unknown]];
  return `{:index ${op.index}, :time ${op.time}, :type :${op.type}, :process ${String(op.process)}, :f :txn, :value [[:append ${k1} ${v1}] [:r ${k2} ${read}]]}`;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "faultline-bench-history-"));
  try {
    const jsonlPath = join(dir, "history.jsonl");
    const ednPath = join(dir, "history.edn");
    let startMs = performance.now();
    const writer = HistoryWriter.open(jsonlPath);
    for (let i = 0; i < opCount; i++) writer.append(syntheticOp(i));
    writer.close();
    const writeMs = performance.now() - startMs;
    console.log(
      `write jsonl: ${opCount} ops in ${writeMs.toFixed(0)} ms (${((opCount / writeMs) * 1000).toFixed(0)} ops/s), ${mib(statSync(jsonlPath).size)} MiB`,
    );
    const lines: string[] = [];
    for (let i = 0; i < opCount; i++) lines.push(ednOf(syntheticOp(i)));
    writeFileSync(ednPath, `[${lines.join("\n ")}]\n`);

    for (const path of [jsonlPath, ednPath]) {
      const heapBefore = process.memoryUsage().heapUsed;
      startMs = performance.now();
      const { format, ops } = await readHistoryFile(path);
      const readMs = performance.now() - startMs;
      const heapAfter = process.memoryUsage().heapUsed;
      console.log(
        `read ${format}: ${ops.length} ops, ${mib(statSync(path).size)} MiB in ${readMs.toFixed(0)} ms ` +
          `(${((ops.length / readMs) * 1000).toFixed(0)} ops/s), heap +${mib(heapAfter - heapBefore)} MiB`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const corpus = fileURLToPath(new URL("../../shared/corpus", import.meta.url));
  if (!existsSync(corpus)) {
    console.log(`corpus: not found at ${corpus}; skipped`);
    return;
  }
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((n) => {
      const p = join(d, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
  const files = walk(corpus).filter((f) => /\.(edn|log|txt)$/.test(f));
  const startMs = performance.now();
  let ops = 0;
  for (const f of files) ops += (await readHistoryFile(f)).ops.length;
  console.log(
    `read corpus: ${files.length} files, ${ops} ops in ${(performance.now() - startMs).toFixed(0)} ms`,
  );
}
