/**
 * What a command loads before its work: a start loads only the modules the command uses, since
 * every module costs start-up time (Ink and React about half a second of CPU, zod a tenth). The
 * installed bin runs in a child process whose module loads are recorded by a loader hook, and the
 * test names what must not be among them: Ink where no terminal draws (output piped, as in CI and
 * gate rows), execa where no process is started, zod and the systems under test where nothing is
 * run, node:crypto where no seed is drawn. The bin runs the bundled build (dist/bundle/, build/bundleCli.mjs): a file loaded from it
 * stands for the compiled modules it holds, as dist/bundle/modules.json lists them.
 *
 * The build is always one of the current sources (fixtures/currentBuild.ts): the repository's
 * dist/ when fresh, else one compiled for this test. Before, with dist/ older than a source the bin
 * ran the sources through tsx, and the test measured tsx (which loads node:crypto): it failed on a
 * developer's checkout for want of `npm run build`, and would have passed a build it never ran.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rootWithCurrentBuild } from "./fixtures/currentBuild.ts";

const kvFile = fileURLToPath(new URL("../../shared/corpus/porcupine/kv/c01-ok.txt", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "faultline-startup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hooks = join(dir, "hooks.mjs");
const register = join(dir, "register.mjs");
writeFileSync(
  hooks,
  `import { appendFileSync } from "node:fs";
export async function load(url, context, nextLoad) {
  appendFileSync(process.env.FAULTLINE_TEST_LOADED, url + "\\n");
  return nextLoad(url, context);
}
`,
);
writeFileSync(
  register,
  `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
);

/** Where the bin and the build it runs are (see the module header). */
let root = "";
let bin = "";
let bundle = "";
/** The compiled modules each file of dist/bundle/ holds (paths relative to dist/). */
let bundled: Record<string, string[]> = {};
beforeAll(async () => {
  root = await rootWithCurrentBuild(dir);
  bin = join(root, "bin/faultline.js");
  bundle = pathToFileURL(join(root, "dist/bundle/")).href;
  const bundleList = join(root, "dist/bundle/modules.json");
  bundled = existsSync(bundleList)
    ? (JSON.parse(readFileSync(bundleList, "utf8")) as Record<string, string[]>)
    : {};
});

/** A loaded URL as the modules it stands for: a bundled file's compiled modules, else itself. */
function modulesOf(url: string): string[] {
  const held = url.startsWith(bundle) ? bundled[url.slice(bundle.length)] : undefined;
  return held === undefined ? [url] : held.map((path) => pathToFileURL(join(root, "dist", path)).href);
}

/** Runs the bin with its output piped; the URLs of the modules it loaded, and its exit code. */
async function modulesLoadedBy(
  name: string,
  args: readonly string[],
): Promise<{ urls: string[]; code: number }> {
  const loaded = join(dir, `${name}.txt`);
  writeFileSync(loaded, "");
  const r = await execa(bin, args, {
    cwd: dir,
    reject: false,
    env: { NODE_OPTIONS: `--import=${pathToFileURL(register).href}`, FAULTLINE_TEST_LOADED: loaded, CI: "" },
  });
  const urls = readFileSync(loaded, "utf8").split("\n").filter(Boolean).flatMap(modulesOf);
  return { urls, code: r.exitCode ?? -1 };
}

const fromPackage = (urls: readonly string[], pkg: string): string[] =>
  urls.filter((u) => u.includes(`/node_modules/${pkg}/`));

describe("start-up loads only what the command uses", () => {
  it("a run whose output is piped loads no Ink and no React", async () => {
    const { urls, code } = await modulesLoadedBy("run", [
      "run",
      "--system",
      "memory",
      "--time-limit",
      "1",
      "--seed",
      "1",
      "--store",
      join(dir, "store"),
    ]);
    expect(code).toBe(0);
    expect(urls.some((u) => u.includes("/cli/run."))).toBe(true); // the hook saw the command's modules
    expect(fromPackage(urls, "ink")).toEqual([]);
    expect(fromPackage(urls, "react")).toEqual([]);
    // node:crypto draws a seed only for a run that names none (some twenty modules of Node's own).
    expect(urls.filter((u) => u === "node:crypto")).toEqual([]);
    expect(urls).toContain("node:fs"); // the hook saw Node's own modules too
    // The build answered, not the sources through tsx (the bin's way with a stale dist/).
    expect(fromPackage(urls, "tsx")).toEqual([]);
    expect(urls.some((u) => u.startsWith(bundle))).toBe(false); // every bundled file was mapped
    expect(urls.some((u) => u.endsWith("/dist/cli/run.js"))).toBe(true);
  });

  it("gate --help loads no Ink and no execa (it starts no worker)", async () => {
    const { urls, code } = await modulesLoadedBy("gate", ["gate", "--help"]);
    expect(code).toBe(0);
    expect(urls.some((u) => u.includes("/cli/gate."))).toBe(true);
    expect(fromPackage(urls, "ink")).toEqual([]);
    expect(fromPackage(urls, "execa")).toEqual([]);
  });

  it("check loads no Ink, no zod and no system", async () => {
    const { urls, code } = await modulesLoadedBy("check", ["check", kvFile]);
    expect(code).toBe(0);
    expect(urls.some((u) => u.includes("/checkers/linearizable/"))).toBe(true);
    expect(fromPackage(urls, "ink")).toEqual([]);
    expect(fromPackage(urls, "zod")).toEqual([]);
    expect(urls.filter((u) => u.includes("/vendor/zod."))).toEqual([]); // the build's bundled zod
    expect(urls.filter((u) => /\/(dist\/)?systems\//.test(u) && !u.includes("/node_modules/"))).toEqual([]);
  });
});
