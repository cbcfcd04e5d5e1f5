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
import { ExitCode } from "../harness/results.ts";
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

Run "faultline <command> --help" for the options of each command.

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

export async function main(argv: string[]): Promise<number> {
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
  try {
    const command = await load();
    return await command(rest);
  } catch (error) {
    if (isUserError(error)) {
      process.stderr.write(`faultline ${name}: ${oneLine(error.message)}\n`);
      return ExitCode.badInput;
    }
    process.stderr.write(
      `faultline ${name}: internal error (a bug; please report it with this output): ${
        error instanceof Error ? (error.stack ?? error.message) : String(error)
      }\n`,
    );
    return ExitCode.internal;
  }
}
