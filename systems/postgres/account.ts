/**
 * Which OS user the servers run as, and where their data may live.
 *
 * `initdb` and `postgres` refuse to run as root. When the harness is root, every PostgreSQL
 * program runs as the `postgres` user (`runuser -u postgres --`), which owns the data folders.
 * That user must be able to *enter* every parent of a data folder: a store under `/root` (mode
 * 700) is closed to it, and CI's clone may live anywhere. So the data root is probed as that
 * user; when a parent is closed, the data goes to a private folder under the system's temporary
 * folder for the length of the run (linked from the store, removed at its end, by the watchdog if
 * the harness dies), and when even that fails the error says which folder is closed and how to
 * open it. When the harness is not root, programs run as the harness's own user.
 *
 * Server output never needs a path the server user can open: the harness opens
 * `nodes/<node>.log` itself and hands the open file to the programs as their stdout and stderr.
 */
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { execaSync } from "execa";
import { SystemUnavailableError } from "../../harness/system.ts";

export interface ServerAccount {
  /** The user name the servers run as. */
  readonly user: string;
  /** Set when the harness is root and must switch user; undefined when it runs them as itself. */
  readonly switchTo: { readonly uid: number; readonly gid: number } | undefined;
}

/** The command that runs `program args` as the server user. */
export function asServerUser(
  account: ServerAccount,
  program: string,
  args: readonly string[],
): [string, string[]] {
  if (account.switchTo === undefined) return [program, [...args]];
  return ["runuser", ["-u", account.user, "--", program, ...args]];
}

/** Reads a user's uid and gid from /etc/passwd; undefined when there is no such user. */
export function lookupUser(name: string, passwd = "/etc/passwd"): { uid: number; gid: number } | undefined {
  let text: string;
  try {
    text = readFileSync(passwd, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields[0] === name && fields.length >= 4) {
      const uid = Number(fields[2]);
      const gid = Number(fields[3]);
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    }
  }
  return undefined;
}

/** The account servers run as, from the harness's own uid. */
export function serverAccount(): ServerAccount {
  const uid = process.getuid?.();
  if (uid !== 0) return { user: process.env.USER ?? "(this user)", switchTo: undefined };
  const postgres = lookupUser("postgres");
  if (postgres === undefined) {
    throw new SystemUnavailableError(
      "--system postgres: running as root, but there is no postgres user to run the servers as (initdb and postgres refuse root); install the Debian package postgresql (apt-get install -y postgresql), which creates it",
    );
  }
  return { user: "postgres", switchTo: postgres };
}

/** Gives `path` to the server user (when switching user), so it can create and own data there. */
export function giveToServerUser(account: ServerAccount, path: string): void {
  if (account.switchTo !== undefined) chownSync(path, account.switchTo.uid, account.switchTo.gid);
}

/**
 * True when the server user can enter (search) `dir`, path resolution from / included. A switch of
 * user that cannot run at all (no `runuser` on the PATH, no `test` on the server user's) is a
 * SystemUnavailableError saying so: it was taken for a folder the user cannot enter, and the
 * error then blamed `/` (mode 755).
 */
export function serverUserCanEnter(
  account: ServerAccount,
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (account.switchTo === undefined) return true;
  const result = execaSync("runuser", ["-u", account.user, "--", "test", "-x", dir], {
    reject: false,
    env,
    extendEnv: false,
  });
  if (result.exitCode === 0) return true;
  if (result.exitCode === 1) return false;
  const why =
    (result as { code?: unknown }).code === "ENOENT"
      ? `runuser (util-linux) is not on the PATH (${env.PATH ?? "unset"})`
      : `runuser -u ${account.user} -- test -x ${dir} failed (${
          result.exitCode === 127
            ? `no test on the PATH, ${env.PATH ?? "unset"}`
            : `exit code ${String(result.exitCode)}`
        }${typeof result.stderr === "string" && result.stderr.trim() !== "" ? `: ${result.stderr.trim().split("\n")[0]}` : ""})`;
  throw new SystemUnavailableError(
    `--system postgres: running as root, the servers run as the ${account.user} user (initdb and postgres refuse root), but switching to it failed: ${why}`,
  );
}

/** Throws SystemUnavailableError when the harness cannot run programs as the server user. */
export function checkServerUserSwitch(account: ServerAccount, env: NodeJS.ProcessEnv = process.env): void {
  serverUserCanEnter(account, "/", env);
}

/** The first folder on the way from / to `dir` that the server user cannot enter. */
export function firstClosedParent(account: ServerAccount, dir: string): string | undefined {
  const chain: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    chain.unshift(d);
    if (dirname(d) === d) break;
  }
  return chain.find((d) => !serverUserCanEnter(account, d));
}

function describeFolder(dir: string): string {
  try {
    const st = statSync(dir);
    return `${dir} (mode ${(st.mode & 0o777).toString(8).padStart(3, "0")}, owner uid ${st.uid})`;
  } catch {
    return dir;
  }
}

export interface DataRoot {
  /** Where the node data folders are made. */
  readonly dir: string;
  /** True when it is a private temporary folder outside the store (to remove at the end). */
  readonly temporary: boolean;
  /** Why the data is not in the store, when it is not. */
  readonly note?: string;
}

/**
 * The folder node data goes in: `preferred` (inside the run's store) when the server user can
 * enter it, else a fresh private folder under the temporary folder. Throws SystemUnavailableError
 * naming the closed folder when neither works.
 */
export function chooseDataRoot(
  account: ServerAccount,
  preferred: string,
  temporaryParent = tmpdir(),
): DataRoot {
  mkdirSync(preferred, { recursive: true });
  if (account.switchTo === undefined) return { dir: preferred, temporary: false };
  giveToServerUser(account, preferred);
  if (serverUserCanEnter(account, preferred)) return { dir: preferred, temporary: false };
  const closed = firstClosedParent(account, preferred) ?? preferred;
  let fallback: string | undefined;
  try {
    fallback = mkdtempSync(join(temporaryParent, "faultline-postgres-"));
    giveToServerUser(account, fallback);
    if (serverUserCanEnter(account, fallback)) {
      return {
        dir: fallback,
        temporary: true,
        note: `the ${account.user} user cannot enter ${describeFolder(closed)}, so this run's data folders live in ${fallback} (removed when the run ends)`,
      };
    }
  } catch {
    // Fall through to the error below.
  }
  if (fallback !== undefined) rmSync(fallback, { recursive: true, force: true });
  throw new SystemUnavailableError(
    `--system postgres: the ${account.user} user (which runs the servers, as initdb and postgres refuse root) cannot enter ${describeFolder(closed)}, a parent of the store, nor ${fallback ?? temporaryParent}; use --store under a folder it can enter, or let it in (chmod o+x ${closed})`,
  );
}
