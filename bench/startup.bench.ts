/**
 * Start-up, whole process: how long `faultline --help` and `faultline run --help` take from the
 * command to exit, beside the goal (under 150 ms) and beside what Node itself costs to start and
 * stop (`node -e 0`), the floor nothing can go under. The compiled build in dist/ (made by
 * `npm ci` through `prepare`, or `npm run build`) is what the bin runs; the same commands run
 * through tsx from the sources are shown for comparison (what every start cost before).
 * Medians of several runs; the machine's load is printed, since wall time follows it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { loadavg } from "node:os";
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
}
