/**
 * One PostgreSQL server: a data folder and, while it runs, a postmaster with its backends. The
 * lifecycle is Debian's programs, run as the server user (account.ts): `initdb`, `pg_ctl start`
 * (the postmaster becomes its own session leader, so its pid is its process group), `pg_ctl
 * promote`, `pg_ctl reload`, `pg_basebackup`. Faults act on the process group: crash is SIGKILL of
 * the postmaster and every backend at once, pause is SIGSTOP of the group, resume SIGCONT.
 *
 * A kill -9 keeps the OS page cache, so a crash of a server alone loses nothing PostgreSQL wrote
 * (its WAL is flushed before a commit is acknowledged); what a crash can cost is the failover it
 * provokes (cluster.ts).
 *
 * Configuration is two files: `postgresql.conf` gets the settings every node shares (copied to
 * standbys by `pg_basebackup`), and `postgresql.auto.conf`, which PostgreSQL reads last, is
 * rewritten by the harness before each start with what belongs to this node in its current role
 * (its port, `primary_conninfo`, `synchronous_standby_names`). Program output and the server log go
 * to `nodes/<node>.log`, through a file the harness opens and hands over (the server user never
 * needs a path into the store).
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { asServerUser, giveToServerUser, type ServerAccount } from "./account.ts";
import type { PostgresBinaries } from "./binaries.ts";
import { processAlive, waitUntilGone } from "../../harness/runtime/process/procfs.ts";
import { processName, runProgram, signalProcess, signalServer } from "./processes.ts";
import { Watchdog } from "./watchdog.ts";

export type Settings = Readonly<Record<string, string | number | boolean>>;

export interface PostgresServerOptions {
  readonly name: string;
  /** The data folder (absolute); its parent must exist and be enterable by the server user. */
  readonly dataDir: string;
  /** The node log: program output and the server's own log are appended here. */
  readonly logPath: string;
  /** The port this server listens on, on 127.0.0.1. */
  readonly port: number;
  readonly binaries: PostgresBinaries;
  readonly account: ServerAccount;
  readonly watchdog: Watchdog;
  /** One line for the node log from the harness (stamped with test time by the caller). */
  readonly note: (line: string) => void;
}

/** How long a program may run before the harness gives up on it. */
const programTimeoutMs = 120_000;

export class ServerCommandError extends Error {
  override name = "ServerCommandError";
}

/** The server could not bind its port: another process took it after it was picked. */
export class PortInUseError extends ServerCommandError {
  override name = "PortInUseError";
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The text of `path` from byte `offset` on (at most 64 KiB), or "" when unreadable. */
function readFrom(path: string, offset: number): string {
  try {
    const text = readFileSync(path);
    return text.subarray(offset, offset + 65_536).toString("utf8");
  } catch {
    return "";
  }
}

/** Quotes a value for postgresql.conf. */
export function confValue(value: string | number | boolean): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return value ? "on" : "off";
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

export function renderSettings(settings: Settings): string {
  return Object.entries(settings)
    .map(([name, value]) => `${name} = ${confValue(value)}\n`)
    .join("");
}

/**
 * One fresh `initdb` per harness process, copied for every cluster it starts (`cp -a` keeps the
 * owner and modes): a run starts about a second sooner, which counts for tests and benchmarks that
 * start many. It lives in a private temporary folder that a watchdog removes when the process
 * ends, however it ends.
 */
let template: Promise<string> | undefined;

function initdbTemplate(binaries: PostgresBinaries, account: ServerAccount): Promise<string> {
  template ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "faultline-initdb-"));
    Watchdog.start().watchTemporaryDir(dir); // its pipe closes when this process exits
    giveToServerUser(account, dir);
    const dataDir = join(dir, "data");
    const [command, args] = asServerUser(account, binaries.initdb, [
      "-D",
      dataDir,
      "-U",
      "postgres",
      "--auth=trust",
      "--encoding=UTF8",
      "--locale=C",
      "--no-sync",
      "--no-instructions",
    ]);
    const logFd = openSync(join(dir, "initdb.log"), "a");
    try {
      const result = await runProgram(command, args, logFd, programTimeoutMs, {
        ...process.env,
        LC_ALL: "C",
        LANG: "C",
      });
      if (result.exitCode !== 0)
        throw new ServerCommandError(
          `initdb failed (exit ${result.exitCode ?? result.signal}): ${readFileSync(join(dir, "initdb.log"), "utf8").trim().split("\n").slice(-3).join(" | ")}`,
        );
    } finally {
      closeSync(logFd);
    }
    return dataDir;
  })();
  // A failed initdb is not cached: the next cluster tries again (and reports its own failure).
  template.catch(() => {
    template = undefined;
  });
  return template;
}

export class PostgresServer {
  readonly name: string;
  readonly dataDir: string;
  /** The port it listens on; `movePort` changes it (another process took it). */
  port: number;
  /** The postmaster's pid (its process group) while the harness believes it runs. */
  private postmasterPid: number | undefined;
  /** What `pause` stopped (the postmaster first), until `resume`. */
  private pausedPids: number[] = [];

  constructor(private readonly options: PostgresServerOptions) {
    this.name = options.name;
    this.dataDir = options.dataDir;
    this.port = options.port;
  }

  get pid(): number | undefined {
    return this.postmasterPid;
  }

  /** True while the postmaster lives (paused or not). */
  running(): boolean {
    return this.postmasterPid !== undefined && processAlive(this.postmasterPid);
  }

  isPaused(): boolean {
    return this.pausedPids.length > 0 && this.running();
  }

  /** True while the data folder is a standby's (PostgreSQL removes the file when it promotes). */
  hasStandbySignal(): boolean {
    return existsSync(join(this.dataDir, "standby.signal"));
  }

  hasData(): boolean {
    return existsSync(join(this.dataDir, "PG_VERSION"));
  }

  /** Runs one PostgreSQL program as the server user, its output appended to the node log. */
  private async program(program: string, args: readonly string[], what: string): Promise<void> {
    const [command, commandArgs] = asServerUser(this.options.account, program, args);
    mkdirSync(dirname(this.options.logPath), { recursive: true });
    const fd = openSync(this.options.logPath, "a");
    try {
      const result = await runProgram(command, commandArgs, fd, programTimeoutMs, {
        ...process.env,
        LC_ALL: "C",
        LANG: "C",
      });
      if (result.exitCode !== 0) {
        throw new ServerCommandError(
          `${this.name}: ${what} failed (${result.timedOut ? `no answer in ${programTimeoutMs / 1000} s` : `exit ${result.exitCode ?? result.signal}`}); see ${this.options.logPath}`,
        );
      }
    } finally {
      closeSync(fd);
    }
  }

  private prepareParent(): void {
    const parent = dirname(this.dataDir);
    mkdirSync(parent, { recursive: true });
    giveToServerUser(this.options.account, parent);
  }

  /** A fresh cluster in the data folder: trust authentication on loopback, C locale, UTF-8. */
  async initdb(shared: Settings): Promise<void> {
    this.prepareParent();
    rmSync(this.dataDir, { recursive: true, force: true });
    const template = await initdbTemplate(this.options.binaries, this.options.account);
    this.options.note(`initdb (a copy of this process's fresh initdb ${template})`);
    const copied = await runProgram("cp", ["-a", template, this.dataDir], "ignore", programTimeoutMs);
    if (copied.exitCode !== 0) throw new ServerCommandError(`${this.name}: copying ${template} failed`);
    appendFileSync(
      join(this.dataDir, "postgresql.conf"),
      `\n# faultline: every node\n${renderSettings(shared)}`,
    );
    writeFileSync(
      join(this.dataDir, "pg_hba.conf"),
      "# faultline: loopback only, trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n",
    );
  }

  /**
   * A copy of a running primary's data, made by `pg_basebackup` over `host:port` (which may be a
   * proxy in front of the primary), ready to start as a standby of it.
   */
  async baseBackupFrom(host: string, port: number): Promise<void> {
    this.prepareParent();
    rmSync(this.dataDir, { recursive: true, force: true });
    this.options.note(`pg_basebackup from ${host}:${port}`);
    await this.program(
      this.options.binaries.pg_basebackup,
      [
        "-D",
        this.dataDir,
        "-h",
        host,
        "-p",
        String(port),
        "-U",
        "postgres",
        "-X",
        "stream",
        "-c",
        "fast",
        "--no-sync",
        "-w",
      ],
      "pg_basebackup",
    );
  }

  /**
   * Writes this node's own settings (read last by PostgreSQL) and its role signal file
   * (`standby.signal` present for a standby, absent for a primary, left as it is with "keep").
   */
  configureNode(settings: Settings, standby: boolean | "keep"): void {
    const auto = join(this.dataDir, "postgresql.auto.conf");
    writeFileSync(
      auto,
      `# faultline: ${this.name}'s own settings, rewritten before each start\n${renderSettings(settings)}`,
    );
    giveToServerUser(this.options.account, auto);
    const signal = join(this.dataDir, "standby.signal");
    if (standby === "keep") return;
    if (standby) {
      writeFileSync(signal, "");
      giveToServerUser(this.options.account, signal);
    } else {
      rmSync(signal, { force: true });
    }
  }

  /** Starts the postmaster with `pg_ctl start` and waits until it accepts connections. */
  async start(): Promise<void> {
    if (this.running()) return;
    this.clearStaleLock();
    this.options.watchdog.watchDataDir(this.dataDir);
    this.options.note(`pg_ctl start (port ${this.port})`);
    const logBefore = fileSize(this.options.logPath);
    let failure: unknown;
    try {
      await this.program(
        this.options.binaries.pg_ctl,
        ["start", "-w", "-t", "60", "-s", "-D", this.dataDir],
        "pg_ctl start",
      );
    } catch (error) {
      failure = error;
    }
    // Whatever pg_ctl said, a postmaster that did start is ours to stop.
    const pid = this.pidFromFile();
    this.postmasterPid = pid !== undefined && processAlive(pid) ? pid : undefined;
    this.pausedPids = [];
    if (failure !== undefined) {
      if (
        this.postmasterPid === undefined &&
        /could not bind|Address already in use/.test(readFrom(this.options.logPath, logBefore))
      )
        throw new PortInUseError(`${this.name}: port ${this.port} was taken before the server could bind it`);
      throw failure;
    }
    if (this.postmasterPid === undefined)
      throw new ServerCommandError(
        `${this.name}: pg_ctl start left no postmaster; see ${this.options.logPath}`,
      );
    this.options.note(`postmaster pid ${this.postmasterPid}`);
  }

  /**
   * Removes a `postmaster.pid` left by a killed postmaster. PostgreSQL itself refuses to start
   * while the pid in it exists, and a killed postmaster may linger as a zombie until whoever
   * inherited it reaps it; a zombie or a missing process holds nothing, so the file can go.
   */
  private clearStaleLock(): void {
    const lock = join(this.dataDir, "postmaster.pid");
    let pid: number;
    try {
      pid = Number((readFileSync(lock, "utf8").split("\n")[0] ?? "").trim());
    } catch {
      return;
    }
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) return;
    rmSync(lock, { force: true });
  }

  /**
   * The pid in `postmaster.pid`, if it names a live postgres process working in this data folder
   * (a stale file after a kill -9 may name a pid the OS has since given to another process).
   */
  private pidFromFile(): number | undefined {
    try {
      const first = readFileSync(join(this.dataDir, "postmaster.pid"), "utf8").split("\n")[0] ?? "";
      const pid = Number(first.trim());
      if (!(Number.isInteger(pid) && pid > 0) || !processAlive(pid)) return undefined;
      if (processName(pid) !== "postgres") return undefined;
      return readlinkSync(`/proc/${pid}/cwd`) === realpathSync(this.dataDir) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * kill -9 of the postmaster and every process it started, at once (signalServer), the way a
   * crash takes them. Returns the pids killed.
   */
  kill(reason = "crash"): number[] {
    const pid = this.postmasterPid ?? this.pidFromFile();
    this.postmasterPid = undefined;
    this.pausedPids = [];
    if (pid === undefined || !processAlive(pid)) return [];
    const killed = signalServer(pid, "SIGKILL");
    this.options.note(`${reason}: kill -9 of postmaster ${pid} and its ${killed.length - 1} processes`);
    return killed;
  }

  /** kill -9, then waits (bounded) until every killed process is gone, so a restart finds them dead. */
  async killAndWait(reason = "crash"): Promise<void> {
    const killed = this.kill(reason);
    if (killed.length > 0 && (await waitUntilGone(killed, 10_000)).length > 0) {
      throw new ServerCommandError(
        `${this.name}: processes ${killed.join(", ")} still alive 10 s after kill -9`,
      );
    }
  }

  /** SIGSTOP of the postmaster and every process it started. */
  pause(): void {
    if (this.postmasterPid === undefined || !this.running() || this.pausedPids.length > 0) return;
    this.pausedPids = signalServer(this.postmasterPid, "SIGSTOP");
    this.options.note(
      `pause: SIGSTOP of postmaster ${this.postmasterPid} and its ${this.pausedPids.length - 1} processes`,
    );
  }

  /** SIGCONT of everything `pause` stopped. */
  resume(): void {
    if (this.pausedPids.length === 0) return;
    const pids = this.pausedPids;
    this.pausedPids = [];
    for (const pid of pids.slice(1)) signalProcess(pid, "SIGCONT");
    signalProcess(pids[0]!, "SIGCONT");
    this.options.note(`resume: SIGCONT of postmaster ${pids[0]} and its ${pids.length - 1} processes`);
  }

  /** `pg_ctl promote`: ends recovery; waits until the server accepts writes. */
  async promote(): Promise<void> {
    this.options.note("pg_ctl promote");
    await this.program(
      this.options.binaries.pg_ctl,
      ["promote", "-w", "-t", "60", "-s", "-D", this.dataDir],
      "pg_ctl promote",
    );
  }

  /** `pg_ctl reload`: the server rereads its configuration. */
  async reload(): Promise<void> {
    await this.program(this.options.binaries.pg_ctl, ["reload", "-s", "-D", this.dataDir], "pg_ctl reload");
  }

  /** Stops the server for good (kill -9: the run is over) and forgets the data folder. */
  async destroy(removeData: boolean): Promise<void> {
    await this.killAndWait("stop");
    if (removeData) rmSync(this.dataDir, { recursive: true, force: true });
    this.options.watchdog.forget(this.dataDir);
  }
}
