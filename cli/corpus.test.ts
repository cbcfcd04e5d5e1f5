/**
 * `faultline check` over every history of ../shared/corpus, as a user would run it (one command
 * per kind of history, every file of the kind at once), each verdict compared with the one its
 * original checker's test suite expects (expected.json).
 *
 * Deliberate differences: `etcd_095.log` (empty, no expected verdict) and Knossos's
 * `mongodb-v0-ack-rollback-.edn` (nemesis operations only; Knossos calls it linearizable) hold no
 * completed client operation, and every operation of Knossos's `mongodb-v0-ack-rollback-9`, `-10`
 * and `-11` failed (did not happen), so faultline answers "unknown": nothing was checked.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { checkCommand } from "./check.ts";

const corpus = fileURLToPath(new URL("../../shared/corpus", import.meta.url));
const expected = JSON.parse(readFileSync(join(corpus, "expected.json"), "utf8")) as Record<
  string,
  Record<string, boolean>
>;
const nothingToCheck = new Set([
  "porcupine/jepsen/etcd_095.log",
  "knossos/cas-register/good/mongodb-v0-ack-rollback-.edn",
  "knossos/cas-register/good/mongodb-v0-ack-rollback-9.edn",
  "knossos/cas-register/good/mongodb-v0-ack-rollback-10.edn",
  "knossos/cas-register/good/mongodb-v0-ack-rollback-11.edn",
]);

async function check(args: string[]): Promise<Map<string, { valid: unknown; reason?: unknown }>> {
  const out: string[] = [];
  const stdout = vi
    .spyOn(process.stdout, "write")
    .mockImplementation((chunk) => (out.push(String(chunk)), true));
  try {
    await checkCommand([...args, "--json"]);
  } finally {
    stdout.mockRestore();
  }
  const byFile = new Map<string, { valid: unknown; reason?: unknown }>();
  for (const line of out
    .join("")
    .split("\n")
    .filter((l) => l !== "")) {
    const r = JSON.parse(line) as { file: string; valid: unknown; reason?: unknown };
    byFile.set(r.file.slice(corpus.length + 1), r);
  }
  return byFile;
}

const filesUnder = (folder: string, ext: string): string[] =>
  readdirSync(join(corpus, folder))
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => join(corpus, folder, f));

/** Every file's verdict against expected.json; those with nothing to check must be unknown. */
function mismatches(results: Map<string, { valid: unknown }>, files: readonly string[]): string[] {
  const wrong: string[] = [];
  for (const file of files) {
    const name = file.slice(corpus.length + 1);
    const top = Object.keys(expected).find((folder) => name.startsWith(`${folder}/`));
    const want = nothingToCheck.has(name) ? "unknown" : expected[top!]?.[name.slice(top!.length + 1)];
    const got = results.get(name)?.valid;
    if (got !== want) wrong.push(`${name}: expected ${String(want)}, got ${String(got)}`);
  }
  return wrong;
}

describe.skipIf(!existsSync(corpus))("faultline check on the shared corpus", () => {
  it("porcupine/jepsen: the etcd logs, inferred as a cas-register from nil", async () => {
    const files = filesUnder("porcupine/jepsen", ".log");
    expect(files).toHaveLength(103); // 102 with a verdict, and etcd_095.log
    expect(mismatches(await check(files), files)).toEqual([]);
  });

  it("porcupine/kv: inferred as kv, split by key", async () => {
    const files = filesUnder("porcupine/kv", ".txt");
    expect(mismatches(await check(files), files)).toEqual([]);
  });

  it("knossos: cas-register from 0, multi-register, mutex", async () => {
    const cas = [
      ...filesUnder("knossos/cas-register/good", ".edn"),
      ...filesUnder("knossos/cas-register/bad", ".edn"),
    ];
    const multi = filesUnder("knossos/multi-register/good", ".edn");
    const mutex = filesUnder("knossos/mutex/bad", ".edn");
    const wrong = [
      ...mismatches(await check([...cas, "--model", "cas-register", "--init", "0"]), cas),
      ...mismatches(await check([...multi, "--model", "multi-register", "--init", '{"x":0,"y":0}']), multi),
      ...mismatches(await check([...mutex, "--model", "mutex"]), mutex),
    ];
    expect(wrong).toEqual([]);
    // Every file expected.json names was checked here.
    const named = Object.entries(expected).flatMap(([top, files]) =>
      Object.keys(files).map((f) => `${top}/${f}`),
    );
    const checked = new Set(
      [
        ...filesUnder("porcupine/jepsen", ".log"),
        ...filesUnder("porcupine/kv", ".txt"),
        ...cas,
        ...multi,
        ...mutex,
      ].map((f) => f.slice(corpus.length + 1)),
    );
    expect(named.filter((n) => !checked.has(n))).toEqual([]);
  });
});
