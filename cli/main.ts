/**
 * The composition root: `faultline run | check | report`. It parses arguments, assembles a test
 * from systems, workloads, nemeses, checkers and reports by name, runs it, checks it and reports
 * it. Nothing imports this folder.
 *
 * Errors, for every command (a new one gets this by being listed in `commands`): a mistake the
 * user can fix (a `UsageError`, a configuration a builder refuses, a history that does not parse)
 * is printed as one line, `faultline <command>: <what is wrong>`, with control characters shown
 * as escapes, and exits 254, never with a stack trace. Anything else is an internal error, 255,
 * printed with its stack because it is a bug to report.
 *
 * Output whose reader has gone (`faultline run | head -1`) is dropped, not fatal: the command
 * finishes its work (a run still checks and stores its results) and exits with its own code.
 */
import { closeSync, writeSync } from "node:fs";
import { ExitCode } from "../harness/results.ts";
import { enableMainThreadWatch, type Stuck } from "../harness/mainThreadWatch.ts";
import { ConfigError } from "../harness/configError.ts";
import { HistoryFormatError, visibleText } from "../harness/history/validate.ts";

export const usage = `faultline: a Jepsen-style correctness harness for transactional, replicated databases

Usage:
  faultline run    [options]        run a test against a system, check it, report it
  faultline check  FILE... [opts]   check recorded histories (JSONL, Jepsen EDN, Jepsen logs)
  faultline report DIR              render the report of a stored run again
  faultline gate   SUITE [opts]     run a suite file's rows in parallel: exit 0 only if all hold
  faultline sweep  SUITE --seeds A..B [--shard I/N] --out DIR
                                    run every row over a seed range (one shard of it)
  faultline sweep report DIR...     merge sweep shards: detection rates, false alarms, failures
  faultline shrink RUN_DIR          search for a smaller run that fails the same way

Run "faultline <command> --help" for the options of each command. Each option is given once,
but for those marked repeatable (--bug).

Exit codes: 0 valid, 1 invalid (anomalies found), 2 unknown, 254 bad arguments or input,
255 internal error.`;

/** A mistake the user can fix: printed as one line without a stack trace, exit 254. */
export class UsageError extends Error {
  override name = "UsageError";
}

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import("./run.ts")).runCommand,
  check: async () => (await import("./check.ts")).checkCommand,
  report: async () => (await import("./report.ts")).reportCommand,
  gate: async () => (await import("./gate.ts")).gateCommand,
  sweep: async () => (await import("./sweep.ts")).sweepCommand,
  shrink: async () => (await import("./shrink.ts")).shrinkCommand,
};

/** Whether an error is the user's to fix (exit 254) rather than a bug (exit 255). */
export function isUserError(error: unknown): error is Error {
  return error instanceof UsageError || error instanceof ConfigError || error instanceof HistoryFormatError;
}

/** A message as one printable line: line breaks as "; ", invisible characters as `\uXXXX`. */
export function oneLine(message: string): string {
  return visibleText(message.replace(/\s*[\r\n]+\s*/g, "; ").trim());
}

let outputGuarded = false;

/**
 * Makes a closed stdout or stderr (EPIPE: the reader of a pipe exited) a non-event: Node reports
 * it as an "error" event that, unheard, would end the process with a stack trace in the middle of
 * a run. Other stream errors stay fatal, as before.
 */
function tolerateClosedOutput(): void {
  if (outputGuarded) return;
  outputGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
    });
  }
}

/** Set by `exitAtOnce`: the one way faultline's own code ends the process before `main` returns. */
let exitRequested = false;
/** Set once the command has returned (or thrown): its exit code is then `main`'s to give. */
let commandReturned = false;

/**
 * Ends the process now with `code`, on purpose (a second interrupt). The exit hooks still run (they
 * stop every process group a run started); the guard of `main` lets it through.
 */
export function exitAtOnce(code: number): never {
  exitRequested = true;
  process.exit(code);
}

/** A thrown value as text: an error's stack (or message), anything else as a string. */
const describeThrown = (thrown: unknown): string =>
  thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown);

/**
 * While a command runs in a process `main` owns (the bin), the process ends only through `main`'s
 * return or `exitAtOnce`. A command runs code faultline does not own (a plugin's system, workload or
 * checker; a user's model), and that code could end the process with a code that reads as a
 * verdict: `process.exit(0)` in a model exited 0, "valid", with nothing printed, and a CI gate
 * passed; an error thrown from a timer, or a promise nobody awaited that rejected, exited 1,
 * "invalid", with Node's stack trace. Each is now an internal error: what happened on stderr, exit
 * 255. Writes are synchronous (`writeSync`): an exit listener cannot wait for a stream.
 */
function guardProcessEnd(command: string): void {
  const say = (text: string): void => {
    try {
      writeSync(2, `faultline ${command}: ${text}\n`);
    } catch {
      // stderr is gone: the exit code still says it
    }
  };
  process.on("exit", (code) => {
    if (exitRequested || commandReturned) return;
    say(
      `internal error: the process was ended (exit code ${code}) before the command finished, by code ` +
        `that is not faultline's (process.exit in a plugin or model module?); no verdict was reached`,
    );
    process.exitCode = ExitCode.internal;
  });
  const thrownOutside = (thrown: unknown): void => {
    say(
      `internal error: an error was thrown outside any call faultline awaits (from a timer or an ` +
        `unawaited promise, in a plugin or model module?); no verdict can be trusted: ${describeThrown(thrown)}`,
    );
    exitAtOnce(ExitCode.internal);
  };
  process.on("uncaughtException", thrownOutside);
  process.on("unhandledRejection", thrownOutside);
  enableMainThreadWatch(stuckAfterMs(), (stuck: Stuck) => {
    say(
      `stopped: code that is not faultline's held the event loop for ${(stuck.heldMs / 1000).toFixed(0)} s ` +
        `without returning (a synchronous loop in a plugin's client, generator, node control or ` +
        `definition?), at ${stuck.frames.join(" ← ") || "an unknown place"}; nothing was checked` +
        stuck.saved.map((line) => `; ${line}`).join(""),
    );
    // The inspector that ran this handler would add a line of its own at exit ("Waiting for the
    // debugger to disconnect..."): what was to say is said.
    try {
      closeSync(2);
    } catch {
      // already closed
    }
    exitAtOnce(ExitCode.badInput);
  });
}

/**
 * Resolves after one turn of the event loop, so that what code that is not faultline's left behind
 * is heard before the verdict's exit code is: a promise it left rejected (Node reports it once the
 * microtasks have run out) and a timer of its that is already due (timers fire in the order they
 * fall due, so one set at a model's import fires before this one), each an internal error
 * (`guardProcessEnd`). A command that never waited on the event loop (a check of a short file: its
 * reads, the model's import and the checkers all settle as microtasks) otherwise returned and
 * exited before either: on Node 22 and later a model that threw from a timer or left a promise
 * rejected got exit 0, "valid" (Node 20's loader happened to yield on the way). A timer set to
 * fall due later still goes unheard: the command ended first.
 */
function strayErrorsHeard(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * How long code that is not faultline's may hold the event loop before the process is stopped
 * (harness/mainThreadWatch.ts): 30 s, far past anything faultline's own code does while a run
 * runs; `FAULTLINE_TEST_STUCK_AFTER_MS` sets it for the harness's own tests.
 */
function stuckAfterMs(): number {
  const givenMs = Number(process.env["FAULTLINE_TEST_STUCK_AFTER_MS"]);
  return givenMs > 0 ? givenMs : 30_000;
}

export interface MainOptions {
  /**
   * This process is faultline's own (the bin): guard how it may end while the command runs (see
   * `guardProcessEnd`). Off for callers that run commands inside a process of their own (tests).
   */
  readonly ownsProcess?: boolean;
}

export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  tolerateClosedOutput();
  const [name, ...rest] = argv;
  const names = Object.keys(commands).join(", ");
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage + "\n");
    return ExitCode.valid;
  }
  if (name === undefined) {
    process.stderr.write(`faultline: expected a command (${names}); faultline --help says more\n`);
    return ExitCode.badInput;
  }
  const load = commands[name];
  if (load === undefined) {
    process.stderr.write(
      `faultline: unknown command "${oneLine(name)}"; expected one of: ${names} (faultline --help says more)\n`,
    );
    return ExitCode.badInput;
  }
  if (options.ownsProcess === true) guardProcessEnd(name);
  try {
    const command = await load();
    const code = await command(rest);
    if (options.ownsProcess === true) await strayErrorsHeard();
    return code;
  } catch (error) {
    if (isUserError(error)) {
      process.stderr.write(`faultline ${name}: ${oneLine(error.message)}\n`);
      return ExitCode.badInput;
    }
    process.stderr.write(
      `faultline ${name}: internal error (a bug; please report it with this output): ${describeThrown(error)}\n`,
    );
    return ExitCode.internal;
  } finally {
    commandReturned = true;
  }
}
