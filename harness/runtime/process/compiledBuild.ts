/**
 * The compiled build beside the sources: when the harness runs from its TypeScript sources (tests,
 * a checkout whose build is stale) a node host would compile every module through tsx at every
 * start, a quarter second of CPU per node and restart. When dist/ was built after every source
 * last changed (as after `npm ci`, which builds it), the same code is there compiled, and a node
 * can run it instead. The rule is the bin's (bin/faultline.js): a build older than any source is
 * never used, so a stale build never answers for new code.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The repository's root, seen from this module's place in harness/runtime/process/. */
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
/** The folders the build compiles (tsconfig.build.json's `include`). */
export const sourceFolders = ["cli", "harness", "checkers", "systems", "nemeses", "workloads", "reports"];

/**
 * Inputs of the build besides the sources: its zod-bundling and CLI-bundling steps, and the zod it
 * bundles into dist/vendor/ (a `npm install zod@X` changes what a new build would hold; an install
 * gives the package's files the install's time).
 */
export const buildInputs = ["build/vendorZod.mjs", "build/bundleCli.mjs", "node_modules/zod/package.json"];

/**
 * True when `root`/dist was built after every TypeScript file of the source folders but the tests
 * (which the build leaves out: editing one leaves the build current, as for the bin), and every
 * other input of the build (`buildInputs`), last changed. The build's time is that of its last
 * step's output, dist/bundle/main.js (what the bin runs, and the bin's own rule): `npm run
 * typecheck` compiles changed sources into dist/ by the build's first step alone (tsc -b,
 * tsconfig.typecheck.json), which leaves the bundles as stale as they were.
 */
export function compiledBuildIsFresh(root: string = repoRoot): boolean {
  const bundle = join(root, "dist", "bundle", "main.js");
  if (!existsSync(bundle)) return false;
  const builtMs = statSync(bundle).mtimeMs;
  const inputChanged = buildInputs.some((input) => {
    const path = join(root, input);
    return existsSync(path) && statSync(path).mtimeMs > builtMs;
  });
  if (inputChanged) return false;
  return sourceFolders.every((folder) => {
    const dir = join(root, folder);
    if (!existsSync(dir)) return true;
    return readdirSync(dir, { recursive: true })
      .map(String)
      .filter((file) => /\.tsx?$/.test(file) && !/\.test\.tsx?$/.test(file))
      .every((file) => statSync(join(dir, file)).mtimeMs <= builtMs);
  });
}

let freshHere: boolean | undefined;

/**
 * The compiled twin (dist/…/x.js) of a source module of this repository (…/x.ts), when the build
 * is fresh (checked once per process) and has it; else undefined (a plugin of the user's, a test
 * fixture the build leaves out, a module that already is compiled).
 */
export function compiledTwin(moduleUrl: string): string | undefined {
  if (!moduleUrl.startsWith("file:")) return undefined;
  const path = fileURLToPath(moduleUrl);
  const inRepo = relative(repoRoot, path);
  if (!/\.ts$/.test(path) || inRepo.startsWith("..") || !sourceFolders.includes(inRepo.split(sep)[0]!))
    return undefined;
  const twin = join(repoRoot, "dist", inRepo.replace(/\.ts$/, ".js"));
  if (!existsSync(twin)) return undefined;
  freshHere ??= compiledBuildIsFresh();
  return freshHere ? pathToFileURL(twin).href : undefined;
}
