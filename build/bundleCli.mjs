/**
 * The build's third step (after tsc and build/vendorZod.mjs, see package.json's `build`): the
 * compiled CLI and the package's API as a few bundled files in dist/bundle/.
 * Usage: `node build/bundleCli.mjs [DIST]` (default: the repository's dist/).
 *
 * Node resolves, reads and compiles every module of a command's import graph at its start, and
 * each costs a fraction of a millisecond: `faultline check` of an append history loads about thirty
 * of the compiled modules, kv and etcd checks about as many. Here esbuild bundles dist/cli/main.js
 * (what bin/faultline.js runs) and dist/cli/api.js (the package's `import … from "faultline"`)
 * with code splitting: each command's modules (the targets of main.js's dynamic imports, and theirs)
 * become one chunk, the modules commands share become shared chunks, so a command still loads only
 * what it uses, in a handful of files. The gate's and the sweep's worker process (dist/cli/suite/
 * worker.js, cli/suite/pool.ts) is a third entry: a worker starts for every few seeds of a gate.
 * The entries are one build, so a plugin that imports the API shares every module (its classes,
 * its registries) with the CLI or the worker that loaded it. Packages in node_modules stay imports
 * (they load as before, from the same place).
 *
 * A compiled module that finds files next to itself through `import.meta.url` (a worker's entry,
 * a node host's, the repository's root, tsx's location) would find them next to its chunk instead:
 * each `import.meta.url` is rewritten to the URL the module had in dist/, made from the chunk's own
 * URL and the module's path relative to dist/bundle/ (every chunk sits at its top level), so the
 * build can be moved or packed like the rest of dist/.
 *
 * dist/bundle/modules.json lists each output file's modules (paths relative to dist/), for tests
 * that ask which modules a command loaded. Nothing is minified, so an internal error's stack trace
 * names the functions it did (esbuild renames a top-level name only where two modules' clash:
 * `step2`). Names are not pinned (`keepNames`): nothing reads a function's or class's `name`
 * (errors set theirs), and pinning them defines a property on every function and class.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The compiled tree: dist/, or the folder named by the one argument. */
const dist = resolve(process.argv[2] ?? join(root, "dist"));
const outdir = join(dist, "bundle");
const posix = (path) => path.split("\\").join("/");

/** Rewrites each compiled module's `import.meta.url` to the URL it had in dist/ (see above). */
const moduleUrls = {
  name: "module-urls",
  setup(builder) {
    builder.onLoad({ filter: /\.js$/ }, (args) => {
      const text = readFileSync(args.path, "utf8");
      if (!text.includes("import.meta.url") || !args.path.startsWith(dist)) return undefined;
      const fromChunk = JSON.stringify(posix(relative(outdir, args.path)));
      return {
        contents: text.replaceAll("import.meta.url", `new URL(${fromChunk}, import.meta.url).href`),
        loader: "js",
      };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: {
    main: join(dist, "cli/main.js"),
    api: join(dist, "cli/api.js"),
    worker: join(dist, "cli/suite/worker.js"),
  },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  legalComments: "inline",
  chunkNames: "[name]-[hash]",
  metafile: true,
  plugins: [moduleUrls],
  logLevel: "warning",
});

const modules = {};
for (const [output, { inputs }] of Object.entries(metafile.outputs))
  modules[posix(relative(outdir, resolve(root, output)))] = Object.keys(inputs)
    .map((input) => posix(relative(dist, resolve(root, input))))
    .sort();
writeFileSync(join(outdir, "modules.json"), `${JSON.stringify(modules, null, 1)}\n`);
process.stdout.write(
  `build/bundleCli.mjs: ${Object.values(modules).flat().length} modules into ${Object.keys(modules).length} files in ${posix(relative(root, outdir)) || outdir}\n`,
);
