/**
 * Scratch folders for tests, each removed when the suite that made it ends. A test file calls
 * `scratchFolders("name")` once (at its top level, or in a describe) and gets a function that makes
 * a fresh `faultline-name-…` folder under the temporary folder each time it is called; an afterAll
 * of that file (or describe) removes every folder it made. The run's own check
 * (vitest.tmpdir.ts) fails the run if anything is left in the temporary folder.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/** Makes `faultline-<prefix>-…` folders, removed after the calling file's (or describe's) tests. */
export function scratchFolders(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const folder of made.splice(0)) rmSync(folder, { recursive: true, force: true, maxRetries: 5 });
  });
  return () => {
    const folder = mkdtempSync(join(tmpdir(), `faultline-${prefix}-`));
    made.push(folder);
    return folder;
  };
}
