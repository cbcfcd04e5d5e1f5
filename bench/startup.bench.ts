/**
 * Start-up, whole process: how long `faultline --help` and `faultline run --help` take from the
 * command to exit, beside the goal (under 150 ms) and beside what Node itself costs to start and
 * stop (`node -e 0`), the floor nothing can go under. Then the fixed cost of short commands, where
 * what a command loads shows: a check of a four-line history, `gate --help`, and a one-second run
 * of the memory system with its output piped (as in CI and gate rows: no terminal, so no Ink).
 * The compiled build in dist/ (made by `npm ci` through `prepare`, or `npm run build`) is what the
 * bin runs; the same commands run through tsx from the sources are shown for comparison (what
 * every start cost before).
 * Medians of several runs; the machine's load is printed, since wall time follows it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const runs = 15;
const goalMs = 150;

function medianMs(command: string, args: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const startMs = performance.now();
    const r = spawnSync(command, args, { cwd: root, stdio: "ignore" });
    const elapsedMs = performance.now() - startMs;
    if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${String(r.status)}`);
    if (i > 0) times.push(elapsedMs); // the first run warms the file cache
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export async function run(): Promise<void> {
  const compiled = `${root}dist/cli/main.js`;
  const fresh = existsSync(compiled) && statSync(compiled).mtimeMs >= statSync(`${root}cli/main.ts`).mtimeMs;
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        " ",
      )}; build in dist/: ${fresh ? "present" : "missing or older than the sources (the bin then runs tsx)"}`,
  );
  const row = (label: string, ms: number, goal?: string) =>
    console.log(`${label.padEnd(44)} ${ms.toFixed(0).padStart(5)} ms median of ${runs}${goal ?? ""}`);
  row("node -e 0 (the floor)", medianMs(process.execPath, ["-e", "0"]));
  const help = medianMs(process.execPath, ["bin/faultline.js", "--help"]);
  row("faultline --help", help, `   goal < ${goalMs} ms: ${help < goalMs ? "met" : "NOT met"}`);
  row("faultline run --help", medianMs(process.execPath, ["bin/faultline.js", "run", "--help"]));
  const tsxHelp = `const { main } = await import("./cli/main.ts"); process.exitCode = await main(["--help"]);`;
  row("--help from the sources through tsx", medianMs(process.execPath, ["--import", "tsx", "-e", tsxHelp]));

  // The bin itself (not `node bin/…`): its first line gives Node the flags it runs with.
  const bin = `${root}bin/faultline.js`;
  const dir = mkdtempSync(join(tmpdir(), "faultline-bench-startup-"));
  try {
    const history = join(dir, "register.jsonl");
    writeFileSync(
      history,
      [
        `{"index":0,"time":0,"process":0,"type":"invoke","f":"write","value":1}`,
        `{"index":1,"time":10,"process":0,"type":"ok","f":"write","value":1}`,
        `{"index":2,"time":20,"process":1,"type":"invoke","f":"read","value":null}`,
        `{"index":3,"time":30,"process":1,"type":"ok","f":"read","value":1}`,
      ].join("\n") + "\n",
    );
    row("faultline check, 4-line history", medianMs(bin, ["check", history, "--model", "register"]));
    row("faultline gate --help", medianMs(bin, ["gate", "--help"]));
    const store = join(dir, "store");
    row(
      "faultline run memory 1 s, output piped",
      medianMs(bin, ["run", "--system", "memory", "--time-limit", "1", "--seed", "1", "--store", store]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
