/**
 * A command's whole output reaches whoever reads it: the bin exits only once what it wrote to
 * stdout and stderr left the process. Output past a pipe's buffer (64 KiB) waits in the process
 * until the reader takes it; exiting at once lost it (`check --json … | jq` read the first 64 KiB
 * and broken JSON). The reader here starts a second late, as a slow `jq` or a loaded CI runner
 * does, so the writer has long finished writing and would have exited. A reader that goes away
 * early (`| head`) ends the wait without a stack trace.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../bin/faultline.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "faultline-output-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A list-append history with `keys` aborted reads (G1a): each one a case in `--json`. */
function abortedReads(keys: number): string {
  const lines: string[] = [];
  let index = 0;
  const op = (process: number, type: string, value: unknown) =>
    lines.push(JSON.stringify({ index, time: ++index * 10, process, type, f: "txn", value }));
  for (let key = 0; key < keys; key++) {
    op(0, "invoke", [["append", key, 1]]);
    op(0, "fail", [["append", key, 1]]);
    op(1, "invoke", [["r", key, null]]);
    op(1, "ok", [["r", key, [1]]]);
  }
  return lines.join("\n") + "\n";
}

const history = join(dir, "g1a.jsonl");
writeFileSync(history, abortedReads(40));
/** Enough copies of the file that the JSON lines (about 11 KiB each) overflow a pipe twice over. */
const files = Array.from({ length: 12 }, () => history);
const quoted = (words: readonly string[]) => words.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
const command = quoted([process.execPath, bin, "check", "--json", ...files]);

describe("the bin's output through a pipe", () => {
  it("reaches a reader that starts late, whole", async () => {
    const toFile = join(dir, "direct.json");
    const throughPipe = join(dir, "piped.json");
    const direct = await execa("sh", ["-c", `${command} > '${toFile}'`], { reject: false });
    expect(direct.exitCode).toBe(1); // G1a: invalid, every file
    const expected = readFileSync(toFile, "utf8");
    expect(expected.length).toBeGreaterThan(2 * 65_536);
    await execa("sh", ["-c", `${command} | { sleep 1; cat > '${throughPipe}'; }`]);
    const piped = readFileSync(throughPipe, "utf8");
    expect(piped.length).toBe(expected.length);
    expect(
      piped
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as unknown),
    ).toHaveLength(files.length);
  });

  it("ends without an error when the reader goes away early", async () => {
    const errors = join(dir, "errors.txt");
    const code = join(dir, "code.txt");
    await execa("sh", [
      "-c",
      `{ ${command} 2> '${errors}'; echo $? > '${code}'; } | head -c 100 > /dev/null`,
    ]);
    expect(readFileSync(errors, "utf8")).toBe("");
    expect(readFileSync(code, "utf8").trim()).toBe("1"); // the verdict's exit code, not a crash's
  });
});
