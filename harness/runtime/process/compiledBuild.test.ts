/**
 * When a compiled build may answer for the sources: never when a source, the zod-bundling step or
 * the installed zod changed after it was built; a test's change leaves it current.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildInputs, compiledBuildIsFresh } from "./compiledBuild.ts";

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A checkout with one source, the build's inputs and a build, every file at `atS` (epoch s). */
function checkout(atS: number): string {
  const root = mkdtempSync(join(tmpdir(), "faultline-compiled-build-"));
  roots.push(root);
  for (const file of ["cli/main.ts", "dist/cli/main.js", "dist/bundle/main.js", ...buildInputs]) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), "");
    utimesSync(join(root, file), atS, atS);
  }
  return root;
}

describe("compiledBuildIsFresh", () => {
  it("a build newer than its sources and inputs is fresh; no build is not", () => {
    const root = checkout(1_000_000);
    expect(compiledBuildIsFresh(root)).toBe(true);
    rmSync(join(root, "dist"), { recursive: true });
    expect(compiledBuildIsFresh(root)).toBe(false);
  });

  it("stays fresh when only a test changed after the build (tests are not built; the bin's rule)", () => {
    // It was stale then: after editing a test, node hosts ran the sources through tsx and
    // cli/package.test.ts compiled a build of its own (about 12 s of CPU).
    const root = checkout(1_000_000);
    for (const test of ["cli/main.test.ts", "reports/view.test.tsx"]) {
      mkdirSync(dirname(join(root, test)), { recursive: true });
      writeFileSync(join(root, test), "");
      utimesSync(join(root, test), 1_000_010, 1_000_010);
    }
    expect(compiledBuildIsFresh(root)).toBe(true);
  });

  it("is stale when only the build's first step (tsc) ran after a source changed: the bundles are not rebuilt", () => {
    // `npm run typecheck` (tsc -b) compiles a changed source into dist/ and leaves dist/bundle/.
    const root = checkout(1_000_000);
    utimesSync(join(root, "cli/main.ts"), 1_000_010, 1_000_010);
    utimesSync(join(root, "dist/cli/main.js"), 1_000_020, 1_000_020);
    expect(compiledBuildIsFresh(root)).toBe(false);
  });

  it.each(["cli/main.ts", ...buildInputs])("is stale once %s changed after the build", (file) => {
    const root = checkout(1_000_000);
    utimesSync(join(root, file), 1_000_010, 1_000_010);
    expect(compiledBuildIsFresh(root)).toBe(false);
  });
});
