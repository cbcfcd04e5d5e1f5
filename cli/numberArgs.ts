/**
 * Numbers on the command line, the rules every command keeps, in a module without a schema
 * library (`check` starts without loading one; options.ts builds its zod schemas on these):
 *
 * - a negative number after an option that takes a value is that option's value (`--seed -1` is
 *   read as `--seed=-1`, then refused or taken for what it is, not called "ambiguous");
 * - a whole number is written in plain decimal digits and a double holds it exactly: `0x10`,
 *   `1e3`, `2.0`, ` 4`, `''` and digits beyond 2^53 − 1 are refused, instead of silently meaning
 *   16, 1000, 2, 4, 0 or a neighbouring number.
 */
import type { ParseArgsConfig } from "node:util";

type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** A value that parseArgs would take for an option instead of its argument: `-1`, `-0.5`, `-.5`. */
const negativeNumber = /^-(?:\d|\.\d)/;

/**
 * Rewrites `--name -1` as `--name=-1` for every option of `options` that takes a value, so that a
 * negative number reaches validation (which explains what is wrong with it).
 */
export function joinNegativeValues(args: readonly string[], options: OptionSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    const name = arg.startsWith("--") ? arg.slice(2) : undefined;
    if (
      name !== undefined &&
      !name.includes("=") &&
      options[name]?.type === "string" &&
      next !== undefined &&
      negativeNumber.test(next)
    ) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/**
 * The whole number `text` writes in plain decimal digits (an optional leading minus), when a
 * double holds it exactly (within ±(2^53 − 1)); undefined for anything else.
 */
export function plainWholeNumber(text: string): number | undefined {
  if (!/^-?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n || 0 : undefined; // never -0
}
