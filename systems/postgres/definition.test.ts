/**
 * Every `faultline` start loads the registry, so PostgreSQL's definition must stay light: the
 * system itself (node-postgres, execa, the server lifecycle) is loaded only by a postgres run.
 */
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const registry = fileURLToPath(new URL("../../cli/registry.ts", import.meta.url));

// A resolve hook that prints every module URL it resolves, one per line on stderr.
const hooks = `data:text/javascript,${encodeURIComponent(
  'export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write("LOADED " + r.url + "\\n"); return r; }',
)}`;
const registerHooks = `data:text/javascript,${encodeURIComponent(
  `import { register } from "node:module"; register(${JSON.stringify(hooks)});`,
)}`;

describe("the postgres definition", () => {
  it("loading the registry loads neither node-postgres, execa nor the postgres system", async () => {
    const r = await execa(
      process.execPath,
      [
        "--import",
        "tsx",
        "--import",
        registerHooks,
        "--input-type=module",
        "-e",
        `await import(${JSON.stringify(registry)});`,
      ],
      { reject: false },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const loaded = r.stderr.split("\n").filter((l) => l.startsWith("LOADED "));
    expect(loaded.some((l) => l.includes("/systems/postgres/definition.ts"))).toBe(true);
    expect(
      loaded.filter((l) =>
        /node_modules\/(pg|execa)\/|systems\/postgres\/(system|cluster|client|account)\.ts/.test(l),
      ),
    ).toEqual([]);
  });
});
