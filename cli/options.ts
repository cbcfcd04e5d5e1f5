/**
 * Command-line parsing shared by the commands: node's parseArgs for the syntax, zod for the
 * values. Every mistake becomes a UsageError of one line that names the option, what was wrong
 * and the valid choices, so the user sees that line and exit code 254, never a stack trace
 * (main.ts prints it). A new command gets all of this by parsing through `parseCommandLine` and
 * `validateOptions` and taking its numbers from `wholeNumber` and `decimalNumber`.
 *
 * Three rules parseArgs does not give. An option that is not repeatable may be given once
 * (repeatedOptions.ts: `--seed 1 --seed 2` is refused, not run as seed 2). And (numberArgs.ts,
 * shared with `check`, which parses by hand) a negative number after an option that takes a value
 * is that option's value (`--seed -1` is read as `--seed=-1`, then refused for being negative, not
 * called "ambiguous"), and numbers are plain decimals (`0x10`, `1_000`, `''` and `Infinity` are
 * refused instead of silently meaning 16, NaN, 0 or forever).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { z } from "zod";
import { UsageError } from "./main.ts";
import { joinNegativeValues, plainWholeNumber } from "./numberArgs.ts";
import { repeatedOptionProblem } from "./repeatedOptions.ts";

type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** "--a, --b, --c" */
export function optionList(options: OptionSpec): string {
  return Object.keys(options)
    .map((o) => `--${o}`)
    .join(", ");
}

export function parseCommandLine(
  command: string,
  args: readonly string[],
  options: OptionSpec,
  allowPositionals: boolean,
): { values: Record<string, unknown>; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(args, options),
      options,
      allowPositionals,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    throw new UsageError(`${parseErrorText(error)} (the options of "${command}": ${optionList(options)})`);
  }
  const repeated = repeatedOptionProblem(parsed.tokens ?? [], options);
  if (repeated !== undefined) throw new UsageError(repeated);
  return { values: parsed.values as Record<string, unknown>, positionals: parsed.positionals };
}

/** parseArgs' complaint as one short sentence. */
function parseErrorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const quoted = /'([^']*)'/.exec(message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && quoted !== undefined) return `unknown option "${quoted}"`;
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" && quoted !== undefined)
    return `unexpected argument "${quoted}"`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const option = /'(--?[^' <]+)/.exec(message)?.[1] ?? "an option";
    if (/argument missing/.test(message)) return `${option} needs a value`;
    if (/does not take an argument/.test(message)) return `${option} takes no value`;
    if (/ambiguous/.test(message))
      return `${option} needs a value (write ${option}=VALUE for one that starts with "-")`;
  }
  return message.split("\n")[0] ?? message;
}

/** Validates with zod; every issue, on one line, naming its option, becomes a UsageError. */
export function validateOptions<T>(schema: z.ZodType<T>, raw: unknown): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  // One complaint per option: the first is what to fix first ("1e400" is not a number, so it is
  // not also too large).
  const seen = new Set<string>();
  const issues = parsed.error.issues.filter((issue) => {
    const key = String(issue.path[0] ?? "");
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const parts = issues.map((issue) => {
    const option = issue.path.length > 0 ? `--${String(issue.path[0])}` : "options";
    const got =
      issue.path.length > 0 && typeof raw === "object" && raw !== null
        ? (raw as Record<string, unknown>)[String(issue.path[0])]
        : undefined;
    const shown = typeof got === "string" ? `; got ${JSON.stringify(got)}` : "";
    return `${option}: ${issueText(issue)}${shown}`;
  });
  throw new UsageError(parts.join("; "));
}

/** What is wrong, in words: zod's own wording where it reads well, plainer where it does not. */
function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_value" && Array.isArray(issue.values) && issue.values.length > 0) {
    return `expected one of: ${issue.values.map(String).join(", ")}`;
  }
  if (issue.code === "too_small" && issue.origin === "string" && Number(issue.minimum) === 1) {
    return "is empty";
  }
  return issue.message;
}

/** A plain decimal: digits, an optional fraction and exponent, an optional leading minus. */
const decimal = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/** A number written as a plain decimal, between `min` and `max`; `what` names it in errors. */
export function decimalNumber(what: string, bounds: { min: number; max: number; minExclusive?: boolean }) {
  return z
    .string()
    .regex(decimal, { error: `expected ${what}` })
    .transform(Number)
    .refine(Number.isFinite, { error: `expected ${what}` })
    .refine((n) => (bounds.minExclusive === true ? n > bounds.min : n >= bounds.min), {
      error:
        bounds.minExclusive === true ? `must be more than ${bounds.min}` : `must be at least ${bounds.min}`,
    })
    .refine((n) => n <= bounds.max, { error: `must be at most ${bounds.max}` });
}

/** A whole number written in decimal digits, between `min` and `max`. */
export function wholeNumber(what: string, bounds: { min: number; max: number }) {
  return z
    .string()
    .regex(/^-?\d+$/, { error: `expected ${what} (a whole number)` })
    .transform((text) => plainWholeNumber(text) ?? NaN)
    .refine((n) => Number.isSafeInteger(n), { error: `expected ${what} (a whole number)` })
    .refine((n) => n >= bounds.min, { error: `must be at least ${bounds.min}` })
    .refine((n) => n <= bounds.max, { error: `must be at most ${bounds.max}` });
}
