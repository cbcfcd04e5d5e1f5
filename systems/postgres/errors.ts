/**
 * What an error from PostgreSQL (or from the connection to it) says about a transaction: `fail`
 * when it certainly did not commit, `info` when it may have. Jepsen's rules for SQL databases:
 *
 * - a serialization failure (SQLSTATE 40001) or a deadlock (40P01) aborts the transaction: `fail`;
 * - a write on a read-only server (25006, a standby) did nothing: `fail`;
 * - any other error the server reports with severity ERROR aborts the transaction: `fail` (at
 *   COMMIT too: PostgreSQL reports ERROR at COMMIT only for a commit it refused);
 * - a connection that breaks (a reset, a timeout, the server's FATAL on shutdown) before COMMIT was
 *   sent cannot have committed (the server rolls back a transaction whose session ends): `fail`;
 *   once COMMIT was sent (or an autocommit statement, which commits itself), the answer is lost
 *   and the commit may have happened: `info`. A FATAL while COMMIT waits for synchronous
 *   replication is such a case: the transaction is already committed locally.
 */
export interface ErrorOutcome {
  readonly type: "fail" | "info";
  /** A short name for the history: `serialization-failure`, `connection-lost`, … */
  readonly error: string;
  /** The connection is unusable afterwards and must be replaced. */
  readonly connectionLost: boolean;
}

interface ErrorFacts {
  readonly code?: unknown;
  readonly severity?: unknown;
  readonly message?: unknown;
}

const short = (message: unknown): string =>
  (typeof message === "string" ? message : String(message)).split("\n")[0]!.slice(0, 200);

/**
 * Classifies `error`, thrown while running a transaction whose COMMIT (or autocommit statement)
 * had (`commitSent`) or had not been sent.
 */
export function classifyError(error: unknown, commitSent: boolean): ErrorOutcome {
  const facts: ErrorFacts = typeof error === "object" && error !== null ? (error as ErrorFacts) : {};
  const code = typeof facts.code === "string" ? facts.code : undefined;
  const severity = typeof facts.severity === "string" ? facts.severity : undefined;
  const message = short(facts.message ?? error);
  // A server-reported error carries a five-character SQLSTATE and a severity.
  const fromServer = code !== undefined && /^[0-9A-Z]{5}$/.test(code) && severity !== undefined;
  if (fromServer) {
    const fatal = severity === "FATAL" || severity === "PANIC";
    if (code === "40001")
      return { type: "fail", error: `serialization-failure: ${message}`, connectionLost: fatal };
    if (code === "40P01") return { type: "fail", error: `deadlock: ${message}`, connectionLost: fatal };
    if (code === "25006") return { type: "fail", error: `read-only: ${message}`, connectionLost: fatal };
    if (!fatal) return { type: "fail", error: `${code}: ${message}`, connectionLost: false };
    // FATAL: the server ends the session.
    return commitSent
      ? { type: "info", error: `connection-lost (${code}): ${message}`, connectionLost: true }
      : { type: "fail", error: `connection-lost-before-commit (${code}): ${message}`, connectionLost: true };
  }
  return commitSent
    ? { type: "info", error: `connection-lost: ${message}`, connectionLost: true }
    : { type: "fail", error: `connection-lost-before-commit: ${message}`, connectionLost: true };
}
