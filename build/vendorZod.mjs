/**
 * The build's second step (after tsc, see package.json's `build`): zod as one file.
 * Usage: `node build/vendorZod.mjs [DIST]` (default: the repository's dist/).
 *
 * zod is ninety-five modules (its classic API re-exports every locale), and Node resolves, reads
 * and compiles each at every start of a command that validates options: about a tenth of a second
 * of CPU, more than anything else such a start does. Here esbuild bundles the part of zod the
 * compiled code calls into dist/vendor/zod.js, and the compiled modules that import "zod" import
 * that file instead. The sources are untouched: tests and tsx use the package itself, and the
 * declaration files keep naming "zod" for its types.
 *
 * What the compiled code calls is read from it: every `z.NAME` of a module that imports `{ z }`
 * from "zod" is bundled, so a new call is bundled without anyone listing it. A module that imports
 * zod another way, or uses `z` other than as `z.NAME`, stops the build with what it found, rather
 * than a vendored zod missing what a module calls.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import ts from "typescript";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The compiled tree: dist/, or the folder named by the one argument (tsc's `--outDir`). */
const dist = resolve(process.argv[2] ?? join(root, "dist"));
const vendored = join(dist, "vendor", "zod.js");
const importLine = 'import { z } from "zod";';

/** Every compiled module under dist/ that imports zod, with its text. */
function zodImporters() {
  const found = [];
  for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".js")) continue;
    const path = join(entry.parentPath, entry.name);
    const text = readFileSync(path, "utf8");
    if (/from\s*["']zod(\/[^"']*)?["']|import\(\s*["']zod/.test(text)) found.push({ path, text });
  }
  return found;
}

function fail(message) {
  process.stderr.write(`build/vendorZod.mjs: ${message}\n`);
  process.exit(1);
}

const importers = zodImporters();
const names = new Set();
for (const { path, text } of importers) {
  const where = relative(root, path);
  const lines = text.split("\n");
  const imports = lines.filter((line) => /["']zod(\/[^"']*)?["']/.test(line));
  if (imports.length !== 1 || imports[0].trim() !== importLine)
    fail(`${where} imports zod otherwise than \`${importLine}\`: ${imports.join(" | ")}`);
  // Every identifier `z` of the module (parsed, so strings, regular expressions and comments are
  // not read as code) other than the import's own must be the object of a property access.
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const visit = (node) => {
    if (ts.isIdentifier(node) && node.text === "z" && !ts.isImportSpecifier(node.parent)) {
      const access = node.parent;
      if (!ts.isPropertyAccessExpression(access) || access.expression !== node) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart());
        fail(`${where}:${line + 1} uses \`z\` other than as z.NAME: ${lines[line].trim()}`);
      }
      names.add(access.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
if (importers.length === 0) fail("no compiled module imports zod: nothing to vendor (is dist/ built?)");

const zod = await import("zod");
for (const name of names) if (!(name in zod.z)) fail(`zod has no z.${name}`);

const entry = [
  'import * as zod from "zod";',
  `export const z = { ${[...names]
    .sort()
    .map((n) => `${JSON.stringify(n)}: zod.${n}`)
    .join(", ")} };`,
].join("\n");
const { version } = JSON.parse(readFileSync(join(root, "node_modules/zod/package.json"), "utf8"));
rmSync(dirname(vendored), { recursive: true, force: true });
mkdirSync(dirname(vendored), { recursive: true });
await build({
  stdin: { contents: entry, resolveDir: root, sourcefile: "zod-entry.js" },
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  outfile: vendored,
  legalComments: "inline",
  banner: {
    js: `// zod ${version} (MIT License, Copyright (c) 2025 Colin McDonnell), bundled by build/vendorZod.mjs.`,
  },
  logLevel: "warning",
});

for (const { path, text } of importers) {
  let specifier = relative(dirname(path), vendored).split("\\").join("/");
  if (!specifier.startsWith(".")) specifier = `./${specifier}`;
  writeFileSync(path, text.replace(importLine, `import { z } from ${JSON.stringify(specifier)};`));
}
process.stdout.write(
  `build/vendorZod.mjs: zod ${version} (${names.size} functions) into ${vendored.startsWith(root) ? relative(root, vendored) : vendored} for ${importers.length} modules\n`,
);
