import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SystemUnavailableError } from "../../harness/system.ts";
import { candidateBinDirs, findPostgresBinaries, postgresPrograms } from "./binaries.ts";

const root = mkdtempSync(join(tmpdir(), "faultline-pgbin-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeBinDir(name: string, programs: readonly string[]): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const p of programs) {
    writeFileSync(join(dir, p), "#!/bin/sh\n");
    chmodSync(join(dir, p), 0o755);
  }
  return dir;
}

describe("finding PostgreSQL's programs", () => {
  it("takes the first folder that holds all of them", () => {
    const partial = fakeBinDir("partial", ["initdb", "pg_ctl"]);
    const full = fakeBinDir("full", postgresPrograms);
    const found = findPostgresBinaries([partial, full]);
    expect(found.binDir).toBe(full);
    expect(found.pg_basebackup).toBe(join(full, "pg_basebackup"));
  });

  it("names the Debian package in one line when they are missing, and which ones when some are", () => {
    const none = join(root, "nothing-here");
    const error = (() => {
      try {
        findPostgresBinaries([none]);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SystemUnavailableError);
    expect((error as Error).message).toMatch(
      /install the Debian package postgresql \(apt-get install -y postgresql\)/,
    );
    expect((error as Error).message).not.toMatch(/\n/);
    const partial = fakeBinDir("half", ["initdb", "pg_ctl", "postgres"]);
    expect(() => findPostgresBinaries([partial])).toThrow(/pg_basebackup is missing from/);
  });

  it("looks in Debian's versioned folders (15 first), then the PATH; or only in the override", () => {
    const debian = join(root, "usr-lib-postgresql");
    for (const v of ["13", "15", "16"]) mkdirSync(join(debian, v, "bin"), { recursive: true });
    expect(candidateBinDirs({ PATH: "/a:/b" }, debian)).toEqual([
      join(debian, "15", "bin"),
      join(debian, "16", "bin"),
      join(debian, "13", "bin"),
      "/a",
      "/b",
    ]);
    expect(candidateBinDirs({ FAULTLINE_PG_BINDIR: "/opt/pg", PATH: "/a:/b" }, debian)).toEqual(["/opt/pg"]);
  });
});
