/**
 * Suite files: a correctness gate written as data a user can read and copy (as Jepsen and
 * FoundationDB keep their test specs), not as code. A suite is YAML or JSON (JSON is YAML 1.2, so
 * one parser reads both and keeps every node's position): optional `defaults` (run options every
 * row starts from) and `rows`. A row names one configuration of `faultline run`, its options under
 * their command-line names, the seeds it runs over (a list, one seed, or a range `A..B`), and what
 * must hold over them:
 *
 *     - name: async-failover-loses-writes
 *       claim: async, fail over: lost acknowledged writes     # optional, in words
 *       run: { system: engine, replication: async, workload: set, nemesis: crash,partition }
 *       seeds: 1..3
 *       expect: { finds: [set-full:lost], at-least: 1 }      # or `rate: 0.5`, or `expect: valid`
 *
 * `expect: valid` means the verdict is valid on every seed. `finds` lists anomaly classes as
 * `checker:class` (spelled as the checkers emit them); a seed finds the row's bug when its verdict
 * is false and it reports one of them; the row holds when at least `at-least` seeds do (a count,
 * or `all`), or at least the fraction `rate` of them.
 *
 * Validation is zod's, plus `faultline run`'s own: each row's options go through the same parser
 * and checks as the command line, so a suite accepts exactly what `faultline run` accepts, and the
 * checker names of `finds` must be checkers the row's workload runs. Every error is one line naming
 * the file, the line and the field (`suites/x.yaml:14: rows[2].run.time-limt: unknown option …`),
 * thrown as a UsageError (exit 254).
 */
import {
  isMap,
  isNode,
  isPair,
  isScalar,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
} from "yaml";
import { z } from "zod";
import { UsageError } from "../main.ts";
import { readInputFile } from "../inputFile.ts";
import { resolveRunConfig } from "../run.ts";
import { commonRunOptionSpec, type RunConfig } from "../runConfig.ts";
import { namesAFolderOfItsOwn, notAFolderOfItsOwn, runConfigSchema } from "../runConfigSchema.ts";
import { nodeErrorsAnomalyClasses, prepareRun } from "../execute.ts";
import { ConfigError } from "../../harness/configError.ts";
import { describeFound } from "../../harness/history/validate.ts";
import { isModulePath, loadRunPlugins, lookupSystem } from "../plugins.ts";
import type { Workload } from "../../harness/workload.ts";
import { systemNames, systems } from "../registry.ts";
import { isWellKnownSystemOption, type SystemDefinition } from "../../harness/systemDefinition.ts";

/** One anomaly class as one checker reports it (`results.checkers[checker].anomalies[anomaly]`). */
export interface AnomalyClass {
  readonly checker: string;
  readonly anomaly: string;
}

export type Expectation =
  | { readonly kind: "valid" }
  | {
      readonly kind: "finds";
      readonly anomalies: readonly AnomalyClass[];
      /** Seeds that must find it: a count, or "all". */
      readonly atLeast?: number | "all";
      /** Or the least fraction of seeds that must find it, in (0, 1]. */
      readonly rate?: number;
    };

export interface SuiteRow {
  readonly name: string;
  readonly claim?: string;
  /** The row's run options (defaults merged in), under their command-line names. */
  readonly run: Readonly<Record<string, RunOptionValue>>;
  /** `faultline run` arguments for these options, without --seed and --store. */
  readonly args: readonly string[];
  readonly seeds: readonly number[];
  readonly expect: Expectation;
  /** Not passing yet, and why: the gate skips it (and says so); sweeps still measure it. */
  readonly todo?: string;
  /** The line of the row in its file (1-based). */
  readonly line: number;
}

export interface Suite {
  readonly file: string;
  /** From `name:`, or the file's base name. */
  readonly name: string;
  readonly rows: readonly SuiteRow[];
}

type RunOptionValue = string | number | boolean | readonly (string | number)[];

/** Options a row may not set: the gate and sweep own seeds and stores, and the output. */
const ownedOptions = new Set(["seed", "store", "quiet", "help"]);
const commonOptionNames = Object.keys(commonRunOptionSpec).filter((o) => !ownedOptions.has(o));

/** Most seeds one range may hold (a bound on every loop over a row's seeds). */
export const seedsMax = 100_000;

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const runOptionsSchema = z
  .record(
    z.string(),
    z.union([scalar, z.array(z.union([z.string(), z.number()]))], {
      error: (issue) =>
        issue.input === null
          ? 'has no value (in a flow mapping { … }, quote values holding commas: "crash,partition")'
          : "expected a value (string, number, true/false) or a list",
    }),
  )
  .superRefine((run, ctx) => {
    for (const [option, value] of Object.entries(run)) {
      const problem = optionProblem(option, value);
      if (problem !== undefined) ctx.addIssue({ code: "custom", path: [option], message: problem });
    }
  });

interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly multiple?: boolean;
}

/**
 * How the command line reads an option: a common option of `faultline run`, or a system's (the
 * given system's own declaration first, else any built-in system's, else the well-known ones), or
 * undefined when no system takes it.
 */
function optionSpecOf(option: string, system?: SystemDefinition): OptionSpec | undefined {
  if (Object.hasOwn(commonRunOptionSpec, option))
    return (commonRunOptionSpec as Record<string, OptionSpec>)[option];
  const declared =
    system?.options?.[option] ??
    Object.values(systems).find((s) => s.options?.[option] !== undefined)?.options?.[option];
  if (declared !== undefined)
    return declared.type === "boolean"
      ? { type: "boolean" }
      : declared.type === "list"
        ? { type: "string", multiple: true }
        : { type: "string" };
  if (option === "bug") return { type: "string", multiple: true };
  if (option === "leases") return { type: "boolean" };
  if (isWellKnownSystemOption(option)) return { type: "string" };
  return undefined;
}

/** The options a row may set for a system: the common ones and the system's own. */
function optionNamesFor(system: SystemDefinition): string[] {
  return [...commonOptionNames, ...Object.keys(system.options ?? {})];
}

/** An option's value as the command line would hand it over, or why it cannot be one. */
function cliValue(
  option: string,
  value: RunOptionValue,
  spec: OptionSpec | undefined,
): string | boolean | string[] | { problem: string } {
  if (ownedOptions.has(option))
    return {
      problem: `a suite sets no ${option} (seeds come from the row's seeds, the store from the command)`,
    };
  if (spec === undefined) return { problem: "unknown option" };
  if (spec.type === "boolean")
    return typeof value === "boolean" ? value : { problem: "expected true or false" };
  if (typeof value === "boolean") return { problem: "expected a value, not true/false" };
  if (Array.isArray(value)) {
    if (spec.multiple === true) return value.map(String);
    if (option === "nemesis") return value.join(",");
    return { problem: "expected one value, not a list" };
  }
  const text = String(value as string | number);
  return spec.multiple === true ? [text] : text;
}

/**
 * What `faultline run` would say about one common option's value, or undefined when it takes it.
 * (A system's own options are checked with the row, once its system is known.)
 */
function optionProblem(option: string, value: RunOptionValue): string | undefined {
  if (!ownedOptions.has(option) && !Object.hasOwn(commonRunOptionSpec, option)) return undefined;
  const cli = cliValue(option, value, optionSpecOf(option));
  if (typeof cli === "object" && "problem" in cli) return cli.problem;
  const field = (runConfigSchema.shape as Record<string, z.ZodType>)[option];
  const parsed = field?.safeParse(cli);
  if (parsed === undefined || parsed.success) return undefined;
  const issue = parsed.error.issues[0]!;
  if (issue.code === "invalid_value" && Array.isArray(issue.values) && issue.values.length > 0)
    return `no such value ${JSON.stringify(value)} (valid choices: ${issue.values.map(String).join(", ")})`;
  return issue.message;
}

/** Seeds: `A..B`, one whole number, or a list of them. */
export function parseSeeds(value: unknown): number[] | string {
  const isSeed = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  if (isSeed(value)) return [value];
  if (Array.isArray(value)) {
    if (value.length === 0) return "the list is empty";
    if (value.length > seedsMax) return `at most ${seedsMax} seeds`;
    const bad = value.find((s) => !isSeed(s));
    if (bad !== undefined) return `seeds are whole numbers >= 0, got ${describeFound(bad)}`;
    if (new Set(value).size !== value.length) return "a seed is listed twice";
    return value as number[];
  }
  if (typeof value === "string") {
    const m = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(value);
    if (m === null) return `expected a range A..B (such as 1..50), one seed or a list, got "${value}"`;
    const from = Number(m[1]);
    const to = Number(m[2]);
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) return `"${value}": seeds too large`;
    if (to < from) return `bad seed range "${value}": it ends before it starts`;
    if (to - from + 1 > seedsMax) return `bad seed range "${value}": at most ${seedsMax} seeds`;
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }
  return `expected a range A..B (such as 1..50), one seed or a list, got ${describeFound(value)}`;
}

const seedsSchema = z.unknown().transform((value, ctx) => {
  const seeds = parseSeeds(value);
  if (typeof seeds === "string") {
    ctx.addIssue({ code: "custom", message: seeds });
    return z.NEVER;
  }
  return seeds;
});

const anomalyClassSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]+:[A-Za-z0-9._-]+$/, {
    error: 'expected "checker:class", such as "elle:G2-item" or "set-full:lost"',
  })
  .transform((s): AnomalyClass => {
    const at = s.indexOf(":");
    return { checker: s.slice(0, at), anomaly: s.slice(at + 1) };
  });

const expectationHelp =
  'expected "valid", or { finds: [checker:class, …], at-least: K | all } or { finds: […], rate: P }';

const findsSchema = z
  .object({
    finds: z.array(anomalyClassSchema).min(1, { error: "list at least one checker:class" }),
    "at-least": z
      .union([z.literal("all"), z.number().int().min(1)], { error: 'expected a count >= 1 or "all"' })
      .optional(),
    rate: z
      .number({ error: "expected a fraction in (0, 1]" })
      .gt(0, { error: "expected a fraction in (0, 1]" })
      .max(1, { error: "expected a fraction in (0, 1]" })
      .optional(),
  })
  .strict()
  .refine((e) => (e["at-least"] === undefined) !== (e.rate === undefined), {
    error: "give exactly one of at-least and rate",
  })
  .transform((e): Expectation => ({
    kind: "finds",
    anomalies: e.finds,
    ...(e["at-least"] !== undefined ? { atLeast: e["at-least"] } : {}),
    ...(e.rate !== undefined ? { rate: e.rate } : {}),
  }));

const expectationSchema = z.unknown().transform((value, ctx): Expectation => {
  if (value === "valid") return { kind: "valid" };
  if (typeof value === "object" && value !== null && !Array.isArray(value) && "finds" in value) {
    const parsed = findsSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0]!;
    if (issue.code === "unrecognized_keys") {
      const key = issue.keys[0]!;
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `unknown expectation field "${key}": ${expectationHelp}`,
      });
    } else {
      ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
    }
    return z.NEVER;
  }
  ctx.addIssue({
    code: "custom",
    message: `unknown expectation ${JSON.stringify(value)}: ${expectationHelp}`,
  });
  return z.NEVER;
});

const rowSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, { error: "letters, digits, '.', '_' and '-' only" })
      .refine(namesAFolderOfItsOwn, { error: notAFolderOfItsOwn }),
    claim: z.string().optional(),
    run: runOptionsSchema,
    seeds: seedsSchema,
    expect: expectationSchema,
    todo: z.string().min(1).optional(),
  })
  .strict();

const suiteSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, { error: "letters, digits, '.', '_' and '-' only" })
      .refine(namesAFolderOfItsOwn, { error: notAFolderOfItsOwn })
      .optional(),
    defaults: runOptionsSchema.optional(),
    rows: z.array(rowSchema).min(1, { error: "a suite needs at least one row" }),
  })
  .strict();

type Path = readonly (string | number)[];

/** `rows[2].run.time-limit` */
function showPath(path: Path): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  return out === "" ? "(top)" : out;
}

/** Where a path points in the document: its line, or the nearest enclosing node's. */
function lineOf(doc: Document, lines: LineCounter, path: Path): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth);
    const node = (prefix.length === 0 ? doc.contents : doc.getIn(prefix, true)) as Node | null | undefined;
    // A key of a map (an unknown option) is found as the key of its pair.
    if (depth < path.length && isMap(node)) {
      const key = path[depth];
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (pair !== undefined && isScalar(pair.key) && pair.key.range)
        return lines.linePos(pair.key.range[0]).line;
    }
    if (node !== null && node !== undefined && typeof node === "object" && "range" in node && node.range) {
      return lines.linePos(node.range[0]).line;
    }
  }
  return 1;
}

class SuiteError {
  constructor(
    readonly path: Path,
    readonly message: string,
  ) {}
}

/** Turns a row's run options into `faultline run` arguments for its system. */
function argsOf(run: Readonly<Record<string, RunOptionValue>>, system: SystemDefinition, at: Path): string[] {
  const args: string[] = [];
  for (const [option, value] of Object.entries(run)) {
    const cli = cliValue(option, value, optionSpecOf(option, system));
    if (typeof cli === "object" && "problem" in cli)
      throw new SuiteError(
        [...at, option],
        cli.problem === "unknown option"
          ? `unknown option for the ${system.name} system (valid: ${optionNamesFor(system).join(", ")})`
          : cli.problem,
      );
    if (cli === true) args.push(`--${option}`);
    else if (Array.isArray(cli)) for (const v of cli) args.push(`--${option}`, v);
    // "--time-limit=-2", so that a negative value reaches validation instead of reading as an option.
    else if (typeof cli === "string")
      args.push(...(cli.startsWith("-") ? [`--${option}=${cli}`] : [`--${option}`, cli]));
  }
  return args;
}

/** Checks one row's arguments with `faultline run`'s own validation; returns the resolved config. */
function resolveRow(args: readonly string[], at: Path): RunConfig {
  try {
    const config = resolveRunConfig([...args, "--seed", "0"]);
    if (config === "help") throw new SuiteError(at, "asks for help");
    return config;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const line = error.message.split("\n")[0] ?? error.message;
    // "--time-limit: must be positive", "--replication does not apply to the memory system (…)"
    const m = /^--([a-z][a-z-]*)(?:: | )(.*)$/.exec(line);
    if (m !== null) throw new SuiteError([...at, m[1]!], line.startsWith(`--${m[1]}: `) ? m[2]! : line);
    throw new SuiteError(at, line);
  }
}

/** Checker names a row's run composes (so `finds` cannot name a checker that never runs). */
/**
 * The checkers of a run of `workload`, each with the anomaly classes it can report (undefined: a
 * user's checker that does not say). "node-errors" (a node died on its own error) and "run" (a run
 * the system broke: unknown, never an anomaly) may join any run.
 */
function checkersOf(workload: Workload): Map<string, readonly string[] | undefined> {
  return new Map<string, readonly string[] | undefined>([
    ...workload.checkers.map((c) => [c.name, c.anomalyClasses] as const),
    ["node-errors", nodeErrorsAnomalyClasses],
    ["run", []],
  ]);
}

/**
 * The known class closest to `name` by edit distance, if it is close enough to be a slip. Elle's
 * own G-single, G-nonadjacent and G2 are spelled with "-item" here (every cycle is over items), so
 * `name` is also compared with "-item" added.
 */
function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  const lower = name.toLowerCase();
  for (const k of known) {
    const other = k.toLowerCase();
    const d = Math.min(editDistance(lower, other), editDistance(`${lower}-item`, other));
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** Levenshtein distance (names are short: a row of the table at a time). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = current;
  }
  return previous[b.length]!;
}

function validateRows(parsed: z.output<typeof suiteSchema>): SuiteRow[] {
  const defaults = parsed.defaults ?? {};
  const names = new Map<string, number>();
  return parsed.rows.map((row, index) => {
    const at: Path = ["rows", index];
    const previous = names.get(row.name);
    if (previous !== undefined)
      throw new SuiteError([...at, "name"], `"${row.name}" names rows[${previous}] already`);
    names.set(row.name, index);
    const run = { ...defaults, ...row.run };
    const systemName = String(run.system ?? systemNames[0]);
    let system: SystemDefinition;
    try {
      system = lookupSystem(systemName);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      throw new SuiteError(
        row.run.system !== undefined ? [...at, "run", "system"] : ["defaults", "system"],
        error.message.replace(/^--system: /, ""),
      );
    }
    let args: string[];
    let config: RunConfig;
    try {
      args = argsOf(run, system, [...at, "run"]);
      config = resolveRow(args, [...at, "run"]);
    } catch (error) {
      // An option that came from `defaults` is blamed on its line there.
      const option = error instanceof SuiteError ? error.path[at.length + 1] : undefined;
      if (typeof option === "string" && row.run[option] === undefined && defaults[option] !== undefined)
        throw new SuiteError(["defaults", option], (error as SuiteError).message);
      throw error;
    }
    // What `faultline run --dry-run` refuses, the suite refuses, before any row runs: a builder's
    // ConfigError (a consistency model nobody knows, too few nodes for quorum) made every seed
    // of the row "unknown", and the gate UNKNOWN (exit 2) rather than a bad suite (254).
    let workload: Workload;
    try {
      ({ workload } = prepareRun(config));
    } catch (error) {
      if (error instanceof ConfigError) throw new SuiteError([...at, "run"], error.message);
      throw error;
    }
    if (row.expect.kind === "finds") checkFinds(row.expect, row.seeds, config, workload, at);
    return {
      name: row.name,
      ...(row.claim !== undefined ? { claim: row.claim } : {}),
      run,
      args,
      seeds: row.seeds,
      expect: row.expect,
      ...(row.todo !== undefined ? { todo: row.todo } : {}),
      line: 0,
    };
  });
}

function checkFinds(
  expect: Extract<Expectation, { kind: "finds" }>,
  seeds: readonly number[],
  config: RunConfig,
  workload: Workload,
  at: Path,
): void {
  const known = checkersOf(workload);
  expect.anomalies.forEach((cls, i) => {
    const classes = known.get(cls.checker);
    if (!known.has(cls.checker))
      throw new SuiteError(
        [...at, "expect", "finds", i],
        `no checker "${cls.checker}" runs on the ${config.workload} workload (its checkers: ${[...known.keys()].join(", ")})`,
      );
    // No seed could find a class its checker never reports: the row would fail (or measure 0%)
    // forever, and read as a database that hides its bug.
    if (classes !== undefined && !classes.includes(cls.anomaly)) {
      const slip = closestName(cls.anomaly, classes);
      throw new SuiteError(
        [...at, "expect", "finds", i],
        classes.length === 0
          ? `"${cls.checker}" never reports an anomaly class (it says only why a run could not be judged)`
          : `${cls.checker} never reports "${cls.anomaly}"${slip !== undefined ? ` (did you mean ${cls.checker}:${slip}?)` : ""}; its classes: ${classes.join(", ")}`,
      );
    }
  });
  if (typeof expect.atLeast === "number" && expect.atLeast > seeds.length)
    throw new SuiteError(
      [...at, "expect", "at-least"],
      `${expect.atLeast} seeds cannot find it among ${seeds.length} (seeds ${describeSeeds(seeds)})`,
    );
}

/**
 * Loads the plugin modules the rows name by path (`system: ./my-db.ts`), relative to the working
 * folder as on the command line, so that rows are checked against them like built-ins.
 */
async function loadPlugins(data: z.output<typeof suiteSchema>): Promise<void> {
  const pick = (
    run: Readonly<Record<string, RunOptionValue>> | undefined,
    key: string,
  ): string | undefined => {
    const value = run?.[key];
    return typeof value === "string" && isModulePath(value) ? value : undefined;
  };
  for (const run of [data.defaults, ...data.rows.map((r) => r.run)])
    await loadRunPlugins(pick(run, "system"), pick(run, "workload"));
}

function describeIssue(issue: z.core.$ZodIssue): { path: Path; message: string } {
  const path = issue.path as Path;
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    const allowed = path.length === 0 ? "name, defaults, rows" : "name, claim, run, seeds, expect, todo";
    return { path: [...path, key], message: `unknown field "${key}" (valid: ${allowed})` };
  }
  if (issue.code === "invalid_type" && issue.input === undefined) return { path, message: "missing" };
  return { path, message: issue.message };
}

/** Parses and validates suite text; `file` names it in errors. */
export async function parseSuite(text: string, file: string): Promise<Suite> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const fail = (line: number, what: string): never => {
    throw new UsageError(`${file}:${line}: ${what}`);
  };
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const line = syntax.linePos?.[0]?.line ?? lines.linePos(syntax.pos[0]).line;
    fail(line, `${syntax.code === "DUPLICATE_KEY" ? "" : "YAML syntax error: "}${firstLine(syntax.message)}`);
  }
  // A key that is a list or a map cannot name a field (JavaScript objects turn it into text, with a
  // warning on standard error), and an alias must name an anchor set before it: both are the
  // file's mistakes, said with their line, not the YAML library's exceptions and warnings.
  visit(doc, {
    Pair(_, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        const at = isNode(pair.key) ? pair.key.range?.[0] : undefined;
        fail(
          at === undefined ? 1 : lines.linePos(at).line,
          "a key must be a plain word or number, not a list or a map",
        );
      }
    },
  });
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Unresolved aliases and alias bombs (maxAliasCount) throw here: the line of the first alias
    // that names no anchor, else of the first alias.
    let line: number | undefined;
    let firstAliasLine: number | undefined;
    visit(doc, {
      Alias(_, alias) {
        const at = alias.range?.[0];
        if (at === undefined) return undefined;
        firstAliasLine ??= lines.linePos(at).line;
        if (alias.resolve(doc) !== undefined) return undefined;
        line = lines.linePos(at).line;
        return visit.BREAK;
      },
    });
    fail(
      line ?? firstAliasLine ?? 1,
      `YAML error: ${firstLine(error instanceof Error ? error.message : String(error))}`,
    );
  }
  const parsed = suiteSchema.safeParse(raw);
  if (!parsed.success) {
    // Of every issue, the one earliest in the file: what a reader fixes first.
    const located = parsed.error.issues.map((issue) => {
      const { path, message } = describeIssue(issue);
      return { line: lineOf(doc, lines, path), path, message };
    });
    located.sort((a, b) => a.line - b.line);
    const first = located[0]!;
    const more = located.length > 1 ? ` (and ${located.length - 1} more)` : "";
    fail(first.line, `${showPath(first.path)}: ${first.message}${more}`);
  }
  const data = parsed.data!;
  await loadPlugins(data);
  let rows: SuiteRow[];
  try {
    rows = validateRows(data);
  } catch (error) {
    if (error instanceof SuiteError)
      return fail(lineOf(doc, lines, error.path), `${showPath(error.path)}: ${error.message}`);
    throw error;
  }
  const withLines = rows.map((row, i) => ({ ...row, line: lineOf(doc, lines, ["rows", i]) }));
  const name = data.name ?? baseName(file);
  return { file, name, rows: withLines };
}

/** The largest suite file read: a few thousand rows are some hundred KB. */
export const suiteFileMaxBytes = 16 << 20;

/**
 * Reads and validates a suite file. A missing or unreadable file, or one that is not a regular
 * file within `suiteFileMaxBytes` (before, `faultline gate /dev/zero` read forever, and a pipe
 * waited for a writer), is a UsageError too.
 */
export async function loadSuite(file: string): Promise<Suite> {
  return parseSuite(readInputFile(file, "a suite file", suiteFileMaxBytes), file);
}

function baseName(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  return base.replace(/\.(ya?ml|json)$/i, "").replace(/[^A-Za-z0-9._-]/g, "_") || "suite";
}

function firstLine(text: string): string {
  return (text.split("\n")[0] ?? text).trim();
}

/** "1..3", "1, 4, 9" */
export function describeSeeds(seeds: readonly number[]): string {
  if (seeds.length === 0) return "none";
  const contiguous = seeds.every((s, i) => i === 0 || s === seeds[i - 1]! + 1);
  if (contiguous && seeds.length > 2) return `${seeds[0]}..${seeds[seeds.length - 1]}`;
  return seeds.join(", ");
}
