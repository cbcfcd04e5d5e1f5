import { afterEach, describe, expect, it, vi } from "vitest";
import { composeResults } from "../../harness/results.ts";
import { FakeStdout } from "./fakeStream.ts";
import { progressAt, startInfo } from "./fixtures.ts";
import { ciFromEnv, createLiveObserver } from "./observer.tsx";

// eslint-disable-next-line no-control-regex
const escapeCodes = /\u001b/;

describe("plain progress (CI=true or piped)", () => {
  const stdin = process.stdin as NodeJS.ReadStream & { setRawMode?: (mode: boolean) => unknown };
  const originalSetRawMode = stdin.setRawMode;
  afterEach(() => {
    stdin.setRawMode = originalSetRawMode;
  });

  it("under CI=true prints plain lines at a low rate, never touching stdin", async () => {
    const setRawMode = vi.fn();
    stdin.setRawMode = setRawMode;
    const stdinListeners = process.stdin.listenerCount("data") + process.stdin.listenerCount("readable");
    const stdout = new FakeStdout(true);
    const observer = createLiveObserver({
      stdout: stdout.asWriteStream(),
      isTTY: true,
      ci: ciFromEnv({ CI: "true" }),
    });
    observer.onStart?.(startInfo);
    // 30 s of real time, a progress report every 250 ms: 121 reports.
    for (let ms = 0; ms <= 30_000; ms += 250) observer.onProgress?.(progressAt(ms * 1e6, ms));
    observer.onProgress?.(progressAt(30e9, 30_100, "checking"));
    observer.onEnd?.(
      composeResults({ bank: { valid: false, anomalies: { "wrong-total": [{ explanation: "x" }] } } }),
      progressAt(30e9, 30_500, "checking"),
    );
    await observer.close();

    const lines = stdout.text.trimEnd().split("\n");
    expect(stdout.text).not.toMatch(escapeCodes);
    expect(lines[0]).toBe(
      "faultline: bank-async seed 42 (sim), time limit 30.00 s, store store/bank-async/20261122T031045.123",
    );
    // Periodic lines at 0, 10, 20 and 30 s, one on the phase change, one at the end.
    const progressLines = lines.filter((l) => l.startsWith("[real "));
    expect(progressLines).toHaveLength(6);
    expect(progressLines[1]).toBe(
      "[real 10.00 s] running: test 10.00 s / 30.00 s (33%)  1,235 ops/s  ok 1,149 fail 30 info 13" +
        "  nodes 1/3 up [n1 up writer epoch 3 cut off from n2,n3; n2 crashed standby epoch 2 clock +5.00 ms;" +
        " n3 paused standby clock -2.00 s cut off from n1]  faults: partition n1 | n2 n3; n2 crashed; n3 paused",
    );
    expect(progressLines[4]).toContain("checking: test 30.00 s / 30.00 s (100%)");
    // The first line, at test time 0: no rate yet (before, "1,235 ops/s" over no time at all).
    expect(progressLines[0]).toContain("running: test 0 ns / 30.00 s (0%)  — ops/s  ok 1,149");
    expect(lines).toContain("Verdict: INVALID (anomalies found)");
    expect(lines.some((l) => /✗ bank\s+invalid\s+wrong-total ×1/.test(l))).toBe(true);
    expect(setRawMode).not.toHaveBeenCalled();
    expect(process.stdin.listenerCount("data") + process.stdin.listenerCount("readable")).toBe(
      stdinListeners,
    );
  });

  it("is chosen for piped output even without CI, and honours a custom interval", () => {
    const stdout = new FakeStdout(false);
    const observer = createLiveObserver({
      stdout: stdout.asWriteStream(),
      isTTY: false,
      ci: false,
      plainIntervalMs: 1000,
    });
    observer.onStart?.(startInfo);
    for (let ms = 0; ms <= 3000; ms += 100) observer.onProgress?.(progressAt(ms * 1e6, ms));
    expect(stdout.text).not.toMatch(escapeCodes);
    expect(stdout.text.split("\n").filter((l) => l.startsWith("[real "))).toHaveLength(4);
  });

  it("never throws into the runner, even when the stream does", () => {
    const broken = {
      write: () => {
        throw new Error("EPIPE");
      },
    } as unknown as NodeJS.WriteStream;
    const observer = createLiveObserver({ stdout: broken, isTTY: false, ci: true });
    expect(() => {
      observer.onStart?.(startInfo);
      observer.onProgress?.(progressAt(1, 1));
      observer.onEnd?.(undefined, progressAt(1, 1));
    }).not.toThrow();
  });

  it("reads CI from the environment as is-in-ci does", () => {
    expect(ciFromEnv({ CI: "true" })).toBe(true);
    expect(ciFromEnv({ CI: "1" })).toBe(true);
    expect(ciFromEnv({ CI: "false" })).toBe(false);
    expect(ciFromEnv({ CI: "0" })).toBe(false);
    expect(ciFromEnv({})).toBe(false);
  });
});
