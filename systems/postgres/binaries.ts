/**
 * Where PostgreSQL's server programs are. Debian's `postgresql-15` package puts `initdb`,
 * `pg_ctl`, `postgres` and `pg_basebackup` in `/usr/lib/postgresql/15/bin`, which is not on the
 * PATH (only client wrappers are), so we look there first, then on the PATH; `$FAULTLINE_PG_BINDIR`,
 * when set, is the only place looked at. A missing program is not a bug of faultline but of
 * the machine: one line naming the Debian package to install, exit 254 (SystemUnavailableError).
 */
import { accessSync, constants, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { SystemUnavailableError } from "../../harness/system.ts";

export const postgresPrograms = ["initdb", "pg_ctl", "postgres", "pg_basebackup"] as const;
export type PostgresProgram = (typeof postgresPrograms)[number];

export type PostgresBinaries = Readonly<Record<PostgresProgram, string>> & { readonly binDir: string };

/** The PostgreSQL major version the harness is written against (Debian 12's). */
export const expectedMajorVersion = 15;

export const installHint = "install the Debian package postgresql (apt-get install -y postgresql)";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Candidate folders, best first: Debian's versioned folders (15, then newest first), the PATH; or the override alone. */
export function candidateBinDirs(
  env: NodeJS.ProcessEnv = process.env,
  debianRoot = "/usr/lib/postgresql",
): string[] {
  if (env.FAULTLINE_PG_BINDIR !== undefined && env.FAULTLINE_PG_BINDIR !== "")
    return [env.FAULTLINE_PG_BINDIR];
  const dirs: string[] = [];
  let versions: string[] = [];
  try {
    versions = readdirSync(debianRoot).filter((v) => /^\d+$/.test(v));
  } catch {
    versions = [];
  }
  // The expected version first, then any other, newest first.
  versions.sort((a, b) => Number(b) - Number(a));
  versions.sort(
    (a, b) => Number(b === String(expectedMajorVersion)) - Number(a === String(expectedMajorVersion)),
  );
  for (const v of versions) dirs.push(join(debianRoot, v, "bin"));
  for (const d of (env.PATH ?? "").split(delimiter)) if (d !== "") dirs.push(d);
  return dirs;
}

/**
 * The first folder holding every program. Throws SystemUnavailableError naming the package when
 * none does (and, when only some were found, which ones are missing).
 */
export function findPostgresBinaries(dirs: readonly string[] = candidateBinDirs()): PostgresBinaries {
  let bestPartial: { dir: string; missing: string[] } | undefined;
  for (const dir of dirs) {
    const missing = postgresPrograms.filter((p) => !executable(join(dir, p)));
    if (missing.length === 0) {
      const found = Object.fromEntries(postgresPrograms.map((p) => [p, join(dir, p)])) as Record<
        PostgresProgram,
        string
      >;
      return { ...found, binDir: dir };
    }
    if (
      missing.length < postgresPrograms.length &&
      (bestPartial === undefined || missing.length < bestPartial.missing.length)
    )
      bestPartial = { dir, missing };
  }
  const what =
    bestPartial === undefined
      ? `PostgreSQL's server programs (${postgresPrograms.join(", ")}) were not found`
      : `PostgreSQL's ${bestPartial.missing.join(", ")} ${bestPartial.missing.length === 1 ? "is" : "are"} missing from ${bestPartial.dir}`;
  throw new SystemUnavailableError(`--system postgres: ${what}; ${installHint}`);
}
