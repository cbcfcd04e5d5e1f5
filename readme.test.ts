/**
 * The README's examples run as written, in a fresh clone: this test takes every `npx faultline`
 * command out of README.md and runs it, in order, so the examples stay true.
 *
 * The rules, for whoever adds an example:
 * - An example is a line of a code block (indented four spaces, or fenced) that starts with
 *   `npx faultline`. In `npm ci && npx faultline run` the part from `npx faultline` on is taken.
 *   Other lines (`npm test`, prose) are not run.
 * - A trailing `# comment` is for the reader and is ignored.
 * - Examples run one after another, through bash (globs such as `*.log` expand), in one working
 *   folder laid out like a fresh clone: every top-level entry of the repository is linked in,
 *   except `store/`, which starts empty, and `../shared` beside it is the repository's `../shared`.
 *   So `store/latest` is the run an earlier example made, and paths read as they do in a clone.
 * - An example must end with a verdict, exit 0, 1 or 2 (any run may find anomalies), and print
 *   nothing that looks like a stack trace.
 * - A command that appears again, word for word with the same exit codes, runs once (at its first
 *   line); the repeat is listed as skipped, naming that line.
 * - A marker in an HTML comment (invisible on GitHub), on the line just before a code block, changes
 *   that whole block:
 *     `<!-- readme-examples: exit 1 -->`       its examples must exit with exactly these codes
 *                                              (`exit 0,1` for several);
 *     `<!-- readme-examples: skip REASON -->`  its examples are not run (one that needs a server
 *                                              package, or runs for minutes); the reason is shown
 *                                              as the skipped test's name, so nothing is silently
 *                                              left out. Put such examples in a block of their own.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = import.meta.dirname;
const bin = join(repo, "bin", "faultline.js");
const stackTrace = /^\s+at .*:\d+:\d+\)?$|node:internal/m;

export interface ReadmeExample {
  /** The command as written in the README, without its comment. */
  readonly command: string;
  /** 1-based line of README.md. */
  readonly line: number;
  /** The exit codes it may end with. */
  readonly exitCodes: readonly number[];
  /** Why it is not run, when its block is marked skip. */
  readonly skip?: string;
}

/** The examples of a README's text, by the rules above. */
export function readmeExamples(markdown: string): ReadmeExample[] {
  const lines = markdown.split("\n");
  const examples: ReadmeExample[] = [];
  let fenced = false;
  let inBlock = false;
  let marker: { exitCodes?: number[]; skip?: string } = {};
  let pending: { exitCodes?: number[]; skip?: string } = {};
  lines.forEach((text, i) => {
    const markerMatch = /^<!--\s*readme-examples:\s*(exit\s+([\d,\s]+)|skip\s*(.*?))\s*-->\s*$/.exec(
      text.trim(),
    );
    if (markerMatch !== null) {
      pending =
        markerMatch[2] !== undefined
          ? { exitCodes: markerMatch[2].split(",").map((c) => Number(c.trim())) }
          : { skip: markerMatch[3]?.trim() || "marked skip" };
      // A marker ends the block before it, even with only blank lines between: it belongs to the next.
      inBlock = false;
      return;
    }
    if (/^\s*```/.test(text)) {
      fenced = !fenced;
      if (fenced) {
        marker = pending;
        pending = {};
      }
      return;
    }
    const indented = !fenced && /^ {4}\S/.test(text);
    if (indented && !inBlock) {
      marker = pending;
      pending = {};
    }
    inBlock = indented || (inBlock && !fenced && text.trim() === "");
    if (!fenced && !indented) {
      if (text.trim() !== "" && !text.trim().startsWith("<!--")) pending = {};
      return;
    }
    const body = text.trim().replace(/^\$\s+/, "");
    const at = body.indexOf("npx faultline");
    if (at !== 0 && !(at > 0 && /&&\s*$/.test(body.slice(0, at)))) return;
    const command = body
      .slice(at)
      .replace(/\s+#.*$/, "")
      .trim();
    examples.push({
      command,
      line: i + 1,
      exitCodes: marker.exitCodes ?? [0, 1, 2],
      ...(marker.skip !== undefined ? { skip: marker.skip } : {}),
    });
  });
  return examples;
}

describe("readmeExamples (the extractor)", () => {
  it("takes npx faultline lines of code blocks, drops comments, obeys markers", () => {
    const markdown = [
      "Text with npx faultline run in prose.",
      "",
      "    npm ci && npx faultline run",
      "    npm test",
      "    npx faultline check a.jsonl   # a comment",
      "",
      "<!-- readme-examples: exit 1 -->",
      "```sh",
      "npx faultline run --bug x",
      "```",
      "",
      "<!-- readme-examples: skip needs PostgreSQL -->",
      "",
      "    npx faultline run --system postgres",
      "",
      "A blank line alone does not end an indented block; prose does.",
      "",
      "    npx faultline report store/latest",
      "",
      "<!-- readme-examples: skip right after a block, blank lines between -->",
      "",
      "    npx faultline run --system postgres --nodes 5",
    ].join("\n");
    expect(readmeExamples(markdown)).toEqual([
      { command: "npx faultline run", line: 3, exitCodes: [0, 1, 2] },
      { command: "npx faultline check a.jsonl", line: 5, exitCodes: [0, 1, 2] },
      { command: "npx faultline run --bug x", line: 9, exitCodes: [1] },
      {
        command: "npx faultline run --system postgres",
        line: 14,
        exitCodes: [0, 1, 2],
        skip: "needs PostgreSQL",
      },
      { command: "npx faultline report store/latest", line: 18, exitCodes: [0, 1, 2] },
      {
        command: "npx faultline run --system postgres --nodes 5",
        line: 22,
        exitCodes: [0, 1, 2],
        skip: "right after a block, blank lines between",
      },
    ]);
  });
});

describe("the README's examples, run as written in a fresh clone", () => {
  const examples = readmeExamples(readFileSync(join(repo, "README.md"), "utf8"));
  let clone: string;

  beforeAll(() => {
    // <tmp>/repo holds links to the repository's top-level entries; <tmp>/shared is ../shared.
    const root = mkdtempSync(join(tmpdir(), "faultline-readme-"));
    clone = join(root, "repo");
    mkdirSync(clone);
    for (const entry of readdirSync(repo)) {
      if (entry === "store" || entry === ".git") continue;
      symlinkSync(join(repo, entry), join(clone, entry));
    }
    const shared = join(dirname(repo), "shared");
    if (existsSync(shared)) symlinkSync(shared, join(root, "shared"));
  });
  afterAll(() => rmSync(dirname(clone), { recursive: true, force: true }));

  it("has examples to run", () => {
    expect(examples.filter((e) => e.skip === undefined).length).toBeGreaterThan(5);
  });

  const firstLineOf = new Map<string, number>();
  for (const example of examples) {
    const name = `README.md:${example.line}: ${example.command}`;
    if (example.skip !== undefined) {
      it.skip(`${name} (skipped: ${example.skip})`, () => undefined);
      continue;
    }
    // The same command with the same exit codes, shown twice (`npm ci && npx faultline run` and
    // `npx faultline run`), is one example: it runs once, at its first line.
    const key = `${example.command}\n${example.exitCodes.join(",")}`;
    const first = firstLineOf.get(key);
    if (first !== undefined) {
      it.skip(`${name} (skipped: the same command as README.md:${first}, run there)`, () => undefined);
      continue;
    }
    firstLineOf.set(key, example.line);
    it(name, { timeout: 300_000 }, async () => {
      // The bin itself, as npx starts it: through its first line, whose Node flags a user's run
      // has (`node bin/faultline.js` would leave them out: 0.83x this file's CPU with them).
      const script = example.command.replace(/^npx faultline\b/, JSON.stringify(bin));
      const r = await execa("bash", ["-c", script], {
        cwd: clone,
        reject: false,
        env: { CI: "true" },
        timeout: 300_000,
      });
      const output = `${r.stdout}\n${r.stderr}`;
      expect(example.exitCodes, `exit ${r.exitCode}\n${output.slice(-3000)}`).toContain(r.exitCode);
      expect(output).not.toMatch(stackTrace);
    });
  }
});
