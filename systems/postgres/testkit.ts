/**
 * Helpers for tests that run real PostgreSQL servers: one server in a fresh folder, a way to
 * see whether any process of a list is still alive, and what a finished run left running. The servers need Debian's postgresql package;
 * without it `findPostgresBinaries` fails the test with the line saying what to install.
 */
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chooseDataRoot, serverAccount } from "./account.ts";
import { findPostgresBinaries } from "./binaries.ts";
import { sharedSettings } from "./cluster.ts";
import { freeLoopbackPort } from "../../harness/runtime/process/ports.ts";
import { processAlive } from "../../harness/runtime/process/procfs.ts";
import { PostgresServer } from "./server.ts";
import { Watchdog } from "./watchdog.ts";

export interface TestServer {
  readonly server: PostgresServer;
  readonly logPath: string;
  readonly lines: string[];
  cleanup(): Promise<void>;
}

/** A fresh, started single server (a primary) in a temporary folder. */
export async function startTestServer(): Promise<TestServer> {
  const binaries = findPostgresBinaries();
  const account = serverAccount();
  const dir = mkdtempSync(join(tmpdir(), "faultline-pgtest-"));
  const root = chooseDataRoot(account, join(dir, "nodes"));
  const watchdog = Watchdog.start();
  const port = await freeLoopbackPort();
  const lines: string[] = [];
  const logPath = join(dir, "nodes", "n1.log");
  const server = new PostgresServer({
    name: "n1",
    dataDir: join(root.dir, "n1", "data"),
    logPath,
    port,
    binaries,
    account,
    watchdog,
    note: (line) => lines.push(line),
  });
  await server.initdb(sharedSettings(50));
  server.configureNode({ port }, false);
  await server.start();
  return {
    server,
    logPath,
    lines,
    async cleanup() {
      await server.destroy(true);
      watchdog.close();
      if (root.temporary) rmSync(root.dir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The pids of `pids` still alive. */
export function alive(pids: readonly number[]): number[] {
  return pids.filter((pid) => processAlive(pid));
}

/**
 * The live processes working in `dir` or below it: a server's postmaster and every backend it
 * starts run in its data folder, and keep that working folder (shown "… (deleted)") once it is
 * removed. Processes this user may not inspect are not seen: run as root, or as the servers' user.
 */
export function processesWorkingIn(dir: string): number[] {
  const root = realpathSync(dir);
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${entry}/cwd`).replace(/ \(deleted\)$/, "");
    } catch {
      continue; // gone meanwhile, or not ours to inspect
    }
    if ((cwd === root || cwd.startsWith(root + "/")) && processAlive(Number(entry)))
      found.push(Number(entry));
  }
  return found;
}

/**
 * What a finished run in `runDir` left running: the postmasters its node logs name ("postmaster
 * pid N") still alive, and any process working in the run's folder (the servers' data folders are
 * there when the store is open to the servers' user). `postmasters` counts the pids the logs name,
 * so a test can tell that it looked at something.
 */
export function leftBehind(runDir: string): { postmasters: number; alive: number[] } {
  const nodes = join(runDir, "nodes");
  const pids = new Set<number>();
  if (existsSync(nodes)) {
    for (const file of readdirSync(nodes).filter((f) => f.endsWith(".log"))) {
      for (const m of readFileSync(join(nodes, file), "utf8").matchAll(/postmaster pid (\d+)/g))
        pids.add(Number(m[1]));
    }
  }
  const stillAlive = new Set([...pids].filter((pid) => processAlive(pid)));
  for (const pid of processesWorkingIn(runDir)) stillAlive.add(pid);
  return { postmasters: pids.size, alive: [...stillAlive] };
}
