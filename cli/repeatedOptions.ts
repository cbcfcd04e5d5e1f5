/**
 * An option given twice. node's parseArgs keeps the last value of a single-valued option given
 * more than once (`--seed 1 --seed 2` ran seed 2), without a word: for a correctness tool run from
 * CI, where a matrix or a wrapper script can add an option the command already holds, that is a
 * mistake to refuse, not a choice to make for the user. Every command parses through here (with
 * `check`, which loads no schema library, so this module loads none either): an option that is
 * not declared `multiple` (`--bug`, a system's list options) may be given once.
 */
import type { ParseArgsConfig } from "node:util";

type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** What parseArgs' `tokens: true` gives for an option; the other kinds are ignored here. */
interface Token {
  readonly kind: string;
  readonly name?: string;
  readonly value?: string | undefined;
}

/**
 * Why the command line gives an option of `options` twice, in one line naming it and both values
 * (`--seed is given twice ("1", then "2"); give it once`), or undefined when none is. Options not
 * in `options` (a lenient parse's unknown ones) and repeatable ones are left alone.
 */
export function repeatedOptionProblem(tokens: readonly Token[], options: OptionSpec): string | undefined {
  const first = new Map<string, string | undefined>();
  for (const token of tokens) {
    if (token.kind !== "option" || token.name === undefined) continue;
    const spec = options[token.name];
    if (spec === undefined || spec.multiple === true) continue;
    if (!first.has(token.name)) {
      first.set(token.name, token.value);
      continue;
    }
    const earlier = first.get(token.name);
    const values =
      spec.type === "string"
        ? ` (${JSON.stringify(earlier ?? "")}, then ${JSON.stringify(token.value ?? "")})`
        : "";
    return `--${token.name} is given twice${values}; give it once`;
  }
  return undefined;
}
