/**
 * Command-line parsing shared by the commands: node's parseArgs for the syntax, zod for the
 * values. Every mistake becomes a UsageError that names the option, what was wrong and the valid
 * choices, so the user sees one clear line and exit code 254, never a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { z } from "zod";
import { UsageError } from "./main.ts";

export function parseCommandLine(
  command: string,
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
  allowPositionals: boolean,
): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals, strict: true });
    return { values: values as Record<string, unknown>, positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const known = Object.keys(options)
      .map((o) => `--${o}`)
      .join(", ");
    throw new UsageError(`${message.split("\n")[0] ?? message}\nvalid options of "${command}": ${known}`);
  }
}

/** Validates with zod; the first issue becomes a UsageError naming the option. */
export function validateOptions<T>(schema: z.ZodType<T>, raw: unknown): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const option = issue.path.length > 0 ? `--${String(issue.path[0])}` : "options";
    const choices =
      issue.code === "invalid_value" && Array.isArray(issue.values) && issue.values.length > 0
        ? ` (valid choices: ${issue.values.map(String).join(", ")})`
        : "";
    return `${option}: ${issue.message}${choices}`;
  });
  throw new UsageError(lines.join("\n"));
}
