import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProcessSupervisor } from "./processes.ts";
import { groupMembers, processState, waitUntilGone } from "./procfs.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "faultline-processes-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const fixture = fileURLToPath(new URL("./fixtures/supervised.ts", import.meta.url));
const tsxUrl = import.meta.resolve("tsx");

/** Polls `condition` until it holds (true) or a generous bound passes (false). */
async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

describe("ProcessSupervisor", () => {
  it("logs a program's output, kills its whole group with kill -9 and reports the signal", async () => {
    const supervisor = new ProcessSupervisor();
    try {
      const logFile = join(dir, "nodes", "p.log");
      const managed = supervisor.start({
        name: "p",
        file: "/bin/sh",
        args: ["-c", "echo started; echo oops >&2; sleep 300 & sleep 300"],
        logFile,
      });
      expect(await waitFor(() => groupMembers(managed.pid).length === 3)).toBe(true);
      const members = groupMembers(managed.pid);
      managed.kill();
      expect(await managed.exited).toEqual({ code: null, signal: "SIGKILL" });
      expect(await waitUntilGone(members)).toEqual([]);
      expect(readFileSync(logFile, "utf8")).toBe("started\noops\n");
      expect(managed.running).toBe(false);
    } finally {
      await supervisor.close();
    }
  });

  it("freezes a group with SIGSTOP and thaws it with SIGCONT", async () => {
    const supervisor = new ProcessSupervisor();
    try {
      const managed = supervisor.start({
        name: "p",
        file: process.execPath,
        args: ["-e", "setInterval(() => {}, 1000)"],
        logFile: join(dir, "p.log"),
      });
      managed.pause();
      expect(await waitFor(() => processState(managed.pid) === "T")).toBe(true);
      expect(managed.paused).toBe(true);
      managed.resume();
      expect(await waitFor(() => processState(managed.pid) !== "T")).toBe(true);
      expect(managed.paused).toBe(false);
    } finally {
      await supervisor.close();
    }
  });

  it("exchanges JSON messages with a Node program over IPC", async () => {
    const supervisor = new ProcessSupervisor();
    try {
      const managed = supervisor.start({
        name: "echo",
        file: process.execPath,
        args: ["-e", "process.on('message', (m) => process.send({ echo: m }))"],
        logFile: join(dir, "echo.log"),
        ipc: true,
      });
      const reply = new Promise((resolve) => managed.onMessage(resolve));
      expect(managed.send({ hello: [1, 2] })).toBe(true);
      expect(await reply).toEqual({ echo: { hello: [1, 2] } });
    } finally {
      await supervisor.close();
    }
  });

  it("when the harness dies (the reaper's pipe closes), its groups are killed and the folders it named removed", async () => {
    const supervisor = new ProcessSupervisor();
    const data = join(dir, "member", "data");
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, "wal"), "x".repeat(4096));
    const kept = join(dir, "kept");
    mkdirSync(kept);
    const a = supervisor.start({ name: "a", file: "/bin/sleep", args: ["300"], logFile: join(dir, "a.log") });
    supervisor.removeIfHarnessDies(join(dir, "member"));
    // The harness dying, as the reaper sees it: its end of the pipe closes, no close() ran.
    (supervisor as unknown as { reaper: { stdin: { destroy(): void } } }).reaper.stdin.destroy();
    expect(await waitUntilGone([a.pid])).toEqual([]);
    expect(await waitFor(() => !existsSync(join(dir, "member")))).toBe(true);
    expect(existsSync(kept)).toBe(true);
    expect(existsSync(join(dir, "a.log"))).toBe(true);
    await supervisor.close();
  });

  it("close() leaves the folders named for the harness's death: they are the system's to keep or remove", async () => {
    const supervisor = new ProcessSupervisor();
    const data = join(dir, "member");
    mkdirSync(data);
    const a = supervisor.start({ name: "a", file: "/bin/sleep", args: ["300"], logFile: join(dir, "a.log") });
    supervisor.removeIfHarnessDies(data);
    const reaper = (supervisor as unknown as { reaper: { pid: number } }).reaper;
    await supervisor.close();
    expect(await waitUntilGone([a.pid, reaper.pid])).toEqual([]);
    expect(existsSync(data)).toBe(true);
  });

  it("close() kills every group, a frozen one included", async () => {
    const supervisor = new ProcessSupervisor();
    const a = supervisor.start({ name: "a", file: "/bin/sleep", args: ["300"], logFile: join(dir, "a.log") });
    const b = supervisor.start({ name: "b", file: "/bin/sleep", args: ["300"], logFile: join(dir, "b.log") });
    b.pause();
    await supervisor.close();
    expect(await waitUntilGone([a.pid, b.pid])).toEqual([]);
    expect(supervisor.running()).toEqual([]);
  });

  it("terminate() sends SIGTERM first and waits for the exit", async () => {
    const supervisor = new ProcessSupervisor();
    try {
      const managed = supervisor.start({
        name: "t",
        file: process.execPath,
        args: [
          "-e",
          "process.on('SIGTERM', () => process.exit(7)); console.log('ready'); setInterval(() => {}, 1000)",
        ],
        logFile: join(dir, "t.log"),
      });
      expect(
        await waitFor(
          () => existsSync(join(dir, "t.log")) && readFileSync(join(dir, "t.log"), "utf8") === "ready\n",
        ),
      ).toBe(true);
      expect(await managed.terminate(30_000)).toEqual({ code: 7, signal: null });
    } finally {
      await supervisor.close();
    }
  });

  it.each(["wait", "exit"] as const)("leaves no process behind when the harness %s", async (how) => {
    const harness = execa(process.execPath, ["--import", tsxUrl, fixture, how, dir], {
      reject: false,
      stdin: "ignore",
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      harness.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8");
        if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")));
      });
      harness.once("exit", () => reject(new Error(`fixture exited early: ${out}`)));
    });
    const { groups, members } = JSON.parse(line) as { groups: number[]; members: number[] };
    expect(members.length).toBeGreaterThanOrEqual(3);
    if (how === "wait") {
      expect(processState(groups[0]!)).toBe("T");
      // The harness is killed with SIGKILL and can run no code: the reaper must act.
      harness.kill("SIGKILL");
    }
    await harness;
    expect(await waitUntilGone(members)).toEqual([]);
  });
});
