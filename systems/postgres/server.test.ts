/**
 * One real PostgreSQL server through its lifecycle: start, a committed write, kill -9 of the
 * postmaster and its processes (all gone, by pid), restart with the write still there,
 * SIGSTOP (no answer) and SIGCONT (answers again), and the end (nothing left, by pid).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryOnce } from "./cluster.ts";
import { childrenOf, waitUntilGone } from "../../harness/runtime/process/procfs.ts";
import { alive, startTestServer, type TestServer } from "./testkit.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.cleanup();
});

const at = () => ({ host: "127.0.0.1", port: t.server.port });

describe("a PostgreSQL server", () => {
  it("keeps a committed write through kill -9 of its process group, and restarts with pg_ctl", async () => {
    await queryOnce(at(), "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)", 10_000);
    const pid = t.server.pid!;
    const group = [pid, ...childrenOf(pid)];
    expect(group.length).toBeGreaterThan(1); // the postmaster and its background processes
    t.server.kill("test crash");
    expect(await waitUntilGone(group, 10_000)).toEqual([]);
    expect(alive(group)).toEqual([]);
    await t.server.start();
    expect(t.server.pid).not.toBe(pid);
    const rows = await queryOnce(at(), "SELECT v FROM kept", 10_000);
    expect(rows).toEqual([{ v: 42 }]);
  });

  it("answers nothing while SIGSTOPped, not even on a connection opened before, and again after SIGCONT", async () => {
    const before = new pg.Client({
      host: "127.0.0.1",
      port: t.server.port,
      user: "postgres",
      database: "postgres",
    });
    await before.connect();
    t.server.pause();
    const stuck = before.query("SELECT 2 AS two");
    const answered = await Promise.race([
      stuck.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 500)),
    ]);
    expect(answered).toBe(false);
    expect(t.server.isPaused()).toBe(true);
    await expect(queryOnce(at(), "SELECT 1 AS one", 500)).rejects.toThrow();
    t.server.resume();
    expect(await queryOnce(at(), "SELECT 1 AS one", 10_000)).toEqual([{ one: 1 }]);
    expect((await stuck).rows).toEqual([{ two: 2 }]);
    await before.end();
  });

  it("leaves no process behind when destroyed", async () => {
    const group = [t.server.pid!, ...childrenOf(t.server.pid!)];
    await t.server.destroy(true);
    expect(await waitUntilGone(group, 10_000)).toEqual([]);
    expect(t.server.hasData()).toBe(false);
    expect(t.lines.some((l) => /kill -9 of postmaster \d+ and its \d+ processes/.test(l))).toBe(true);
  });
});
