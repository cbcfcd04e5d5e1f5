/**
 * The program of a node's OS process in process mode. The harness starts it (with execa, in its
 * own process group, stdout and stderr into `nodes/<node>.log`) and sends `init` over the IPC
 * channel; it then builds the node's runtime out of real things and runs the same node program
 * the simulation runs:
 *
 * - clock: the machine's monotonic time since the harness's origin, seen through an offset and a
 *   rate the harness sets over the channel (clock nemeses; libfaketime does not reach Node);
 * - network: TCP on loopback; every peer is reached through the harness's proxy for that link,
 *   whose port the harness gives on first use;
 * - disk: real files under `nodes/<node>/data/`, unsynced writes held in this process's memory
 *   until fsync (so kill -9 loses them);
 * - random: seeded as in the simulation, though timing makes runs differ anyway.
 *
 * An error of the program ends the process after telling the harness (the node "dies of its own
 * error", as a database process does on a failed assertion). The process exits when the IPC
 * channel closes: a harness that died, however, takes its nodes with it.
 */
import { writeSync } from "node:fs";
import { SeededRandom } from "../random.ts";
import { BufferedFileDisk } from "../real/bufferedDisk.ts";
import { TcpNetwork } from "../real/tcp.ts";
import { SimClockState } from "../sim/clock.ts";
import { formatSeconds } from "../../store/nodeLogs.ts";
import type { NodeProgramFactory, Runtime } from "../types.ts";
import type { HarnessMessage, InitMessage, NodeMessage } from "./protocol.ts";

/** How long a route question waits for the harness before the frames are dropped. */
const routeTimeoutMs = 5000;
/** Binding the node's port is retried this often (a killed predecessor may still hold it). */
const bindAttempts = 30;
const bindRetryMs = 100;
/** Lines of the program's log kept; past it one line says so. */
const maxLogLines = 100_000;

if (process.send === undefined) {
  process.stderr.write("nodeHost: must be started by the faultline harness with an IPC channel\n");
  process.exit(254);
}

function send(message: NodeMessage, then?: () => void): void {
  if (!process.connected) {
    then?.();
    return;
  }
  process.send!(message, undefined, {}, () => then?.());
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

let dying = false;
/** The program failed: tell the harness, then exit (like a database process on an assertion). */
function die(error: unknown): void {
  if (dying) return;
  dying = true;
  const message = describe(error);
  process.stderr.write(
    `node program error: ${error instanceof Error ? (error.stack ?? message) : message}\n`,
  );
  send({ t: "error", message }, () => process.exit(70));
  setTimeout(() => process.exit(70), 1000).unref();
}

/** The node could not start: tell the harness and exit. */
function fatal(message: string): void {
  process.stderr.write(`cannot start: ${message}\n`);
  send({ t: "fatal", message }, () => process.exit(1));
  setTimeout(() => process.exit(1), 1000).unref();
}

process.on("disconnect", () => process.exit(0));
process.on("uncaughtException", die);
process.on("unhandledRejection", die);

const init = await new Promise<InitMessage>((resolve) => {
  const first = (message: HarnessMessage): void => {
    if (message.t !== "init") return;
    process.off("message", first);
    resolve(message);
  };
  process.on("message", first);
});

const trueNowNs = (): number =>
  Math.round((performance.timeOrigin + performance.now() - init.originMs) * 1e6);
let clock = SimClockState.restore(init.clock);

// ---- routes: which proxy port reaches which endpoint ---------------------------------------

const routes = new Map<string, Promise<number | undefined>>();
const routeAnswers = new Map<string, (port: number | undefined) => void>();
for (const [to, port] of init.routes) routes.set(to, Promise.resolve(port));

function route(to: string): Promise<number | undefined> {
  let known = routes.get(to);
  if (known === undefined) {
    known = new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => answer(undefined), routeTimeoutMs);
      const answer = (port: number | undefined): void => {
        clearTimeout(timer);
        routeAnswers.delete(to);
        // An endpoint that listens nowhere yet may listen later: ask again next time.
        if (port === undefined) setTimeout(() => routes.delete(to), 1000).unref();
        resolve(port);
      };
      routeAnswers.set(to, answer);
    });
    routes.set(to, known);
    send({ t: "route?", to });
  }
  return known;
}

process.on("message", (message: HarnessMessage) => {
  if (message.t === "route") routeAnswers.get(message.to)?.(message.port ?? undefined);
  else if (message.t === "clock") clock = SimClockState.restore(message.clock);
});

// ---- the runtime -----------------------------------------------------------------------------

let handler: ((from: string, message: unknown) => void) | undefined;
const network = new TcpNetwork(
  (_to, from, message) => {
    if (dying || handler === undefined) return;
    try {
      handler(from, message);
    } catch (error) {
      die(error);
    }
  },
  { route: (_from, to) => route(to) },
);

let logLines = 0;
function log(line: string): void {
  logLines += 1;
  if (logLines > maxLogLines + 1) return;
  const text =
    logLines > maxLogLines
      ? `(log bound of ${maxLogLines} lines reached; later lines dropped)`
      : `#${init.incarnation} ${line.replace(/\n/g, "\\n")}`;
  writeSync(1, `${formatSeconds(trueNowNs())} ${text}\n`);
}

const setTimer = (durationNs: number, callback: () => void): (() => void) => {
  const timer = setTimeout(
    () => {
      if (dying) return;
      try {
        callback();
      } catch (error) {
        die(error);
      }
    },
    Math.max(0, durationNs) / 1e6,
  );
  return () => clearTimeout(timer);
};

const runtime: Runtime = {
  name: init.name,
  random: new SeededRandom(init.seed, `endpoint/${init.name}/${init.incarnation}`),
  clock: {
    nowNs: () => clock.wallNs(trueNowNs()),
    monotonicNs: () => clock.monotonicNs(trueNowNs()),
    sleep: (durationNs) => new Promise<void>((resolve) => setTimer(durationNs, resolve)),
    setTimer,
  },
  net: {
    send: (to, message) => {
      if (!dying) network.send(init.name, to, message);
    },
    onMessage: (next) => {
      handler = next;
    },
  },
  disk: new BufferedFileDisk(init.dataDir),
  spawn: (taskName, body) => {
    let task: Promise<void>;
    try {
      task = body();
    } catch (error) {
      task = Promise.reject(error);
    }
    task.then(undefined, (error: unknown) =>
      die(new Error(`task "${taskName}" of ${init.name} failed: ${describe(error)}`, { cause: error })),
    );
  },
  log,
};

// ---- start: bind, load the program, run it -------------------------------------------------

async function listen(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await network.listen(init.name, init.port);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EADDRINUSE" || attempt >= bindAttempts) {
        throw new Error(`cannot listen on 127.0.0.1:${init.port}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, bindRetryMs));
    }
  }
}

/**
 * Fault injection for the harness's own tests: `FAULTLINE_TEST_OCCUPY_PORT=<node>` makes that
 * node's port busy before it binds, so the real "cannot bind" path runs end to end.
 */
async function occupyPortForTest(): Promise<void> {
  if (process.env["FAULTLINE_TEST_OCCUPY_PORT"] !== init.name) return;
  const { createServer } = await import("node:net");
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(init.port, "127.0.0.1", resolve));
}

try {
  await occupyPortForTest();
  await listen();
} catch (error) {
  fatal((error as Error).message);
  await new Promise(() => {});
}

let factory: NodeProgramFactory;
try {
  const loaded = (await import(init.program.moduleUrl)) as Record<string, unknown>;
  const exported = loaded[init.program.exportName];
  if (typeof exported !== "function")
    throw new Error(`${init.program.moduleUrl} exports no function "${init.program.exportName}"`);
  factory = exported as NodeProgramFactory;
} catch (error) {
  fatal(`cannot load the node program: ${describe(error)}`);
  await new Promise(() => {});
}

try {
  const program = factory!(init.program.args, (status) => send({ t: "status", status }));
  const result = program(runtime);
  if (result !== undefined) result.then(undefined, die);
  send({ t: "started" });
} catch (error) {
  die(error);
}
