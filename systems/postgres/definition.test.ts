/**
 * Every `faultline` start loads the registry, so PostgreSQL's definition must stay light: the
 * system itself (node-postgres, execa, the server lifecycle) is loaded only by a postgres run.
 */
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { postgresDefinition } from "./definition.ts";

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

describe("what a postgres run refuses before it starts", () => {
  const config = (nodes: number | undefined, replication: string, bugs: readonly string[]) =>
    ({ nodes, replication, bugs, isolation: "serializable", systemOptions: {} }) as unknown as Parameters<
      NonNullable<typeof postgresDefinition.refuse>
    >[0];
  const refuse = (c: ReturnType<typeof config>) => postgresDefinition.refuse!(c);

  it("one node with sync replication or no-fencing: it has no standby, so the run would test neither", () => {
    expect(refuse(config(1, "sync", []))).toMatch(
      /^--replication sync needs a standby to wait for: --nodes 2 or more/,
    );
    expect(refuse(config(1, "async", ["no-fencing"]))).toMatch(
      /^--bug no-fencing needs a standby to promote/,
    );
    expect(refuse(config(1, "async", []))).toBeUndefined();
    expect(refuse(config(2, "sync", ["no-fencing"]))).toBeUndefined();
    expect(refuse(config(undefined, "sync", ["no-fencing"]))).toBeUndefined(); // the default is 3 nodes
  });
});
