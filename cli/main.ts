/**
 * The composition root: `faultline run | check | report`. It parses arguments, assembles a test
 * from systems, workloads, nemeses, checkers and reports by name, runs it, checks it and reports
 * it. Nothing imports this folder. Errors the user can fix exit 254 with a message and no stack
 * trace; anything else is an internal error, 255.
 */
import { visibleText } from "../harness/history/validate.ts";
import { ExitCode } from "../harness/results.ts";

export const usage = `faultline: a Jepsen-style correctness harness for transactional, replicated databases

Usage:
  faultline run    [options]        run a test against a system, check it, report it
  faultline check  FILE... [opts]   check recorded histories (JSONL, Jepsen EDN, Jepsen logs)
  faultline report DIR              render the report of a stored run again

Run "faultline <command> --help" for the options of each command.

Exit codes: 0 valid, 1 invalid (anomalies found), 2 unknown, 254 bad arguments or input,
255 internal error.`;

/** A mistake the user can fix: printed without a stack trace, exit 254. */
export class UsageError extends Error {
  override name = "UsageError";
}

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import("./run.ts")).runCommand,
  check: async () => (await import("./check.ts")).checkCommand,
  report: async () => (await import("./report.ts")).reportCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage + "\n");
    return name === undefined ? ExitCode.badInput : ExitCode.valid;
  }
  const load = commands[name];
  if (load === undefined) {
    process.stderr.write(
      `faultline: unknown command "${visibleText(name)}"; expected one of: run, check, report\n\n${usage}\n`,
    );
    return ExitCode.badInput;
  }
  try {
    const command = await load();
    return await command(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`faultline ${name}: ${visibleText(error.message)}\n`);
      return ExitCode.badInput;
    }
    process.stderr.write(
      `faultline ${name}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return ExitCode.internal;
  }
}
