/**
 * Helpers for tests that run real PostgreSQL servers: one server in a fresh folder, and a way to
 * see whether any process of a list is still alive. The servers need Debian's postgresql package;
 * without it `findPostgresBinaries` fails the test with the line saying what to install.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chooseDataRoot, serverAccount } from "./account.ts";
import { findPostgresBinaries } from "./binaries.ts";
import { sharedSettings } from "./cluster.ts";
import { freeLoopbackPort } from "../../harness/runtime/process/ports.ts";
import { processAlive } from "./processes.ts";
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
