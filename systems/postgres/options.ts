/**
 * PostgreSQL's facts that `--help` and option checking need, apart from the system itself: its
 * definition (definition.ts) is loaded by every `faultline` start, and must not bring node-postgres,
 * execa and the server lifecycle with it (system.ts is loaded only by a postgres run).
 */

export const postgresBugs: Readonly<Record<string, string>> = {
  "no-fencing":
    "the control plane promotes a standby without stopping the old primary: two primaries accept writes (lost and divergent writes)",
};

export const postgresMaxNodes = 5;
