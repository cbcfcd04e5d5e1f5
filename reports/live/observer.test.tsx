import { describe, expect, it } from "vitest";
import { composeResults } from "../../harness/results.ts";
import { FakeStdout } from "./fakeStream.ts";
import { progressAt, startInfo } from "./fixtures.ts";
import { createLiveObserver } from "./observer.tsx";

describe("createLiveObserver on a terminal", () => {
  it("draws the Ink dashboard and leaves the verdict on screen when closed", async () => {
    const stdout = new FakeStdout(true);
    const observer = createLiveObserver({ stdout: stdout.asWriteStream(), isTTY: true, ci: false });
    observer.onStart?.(startInfo);
    observer.onProgress?.(progressAt(6e9, 1000));
    observer.onEnd?.(composeResults({ elle: { valid: true } }), progressAt(30e9, 5000, "checking"));
    await observer.close();
    await observer.close(); // idempotent
    const text = stdout.text;
    expect(text).toContain("bank-async");
    expect(text).toContain("Faults now:");
    expect(text).toContain("Verdict: VALID");
    expect(text).toMatch(/✓ elle\s+valid/);
  });
});

/** Escape sequences that clear the screen or the scrollback (ED 2, ED 3, RIS). */
// eslint-disable-next-line no-control-regex
const clears = /\u001b\[[23]J|\u001bc/;

describe("createLiveObserver on a terminal too small for the dashboard", () => {
  const runThrough = async (stdout: FakeStdout, between?: () => void) => {
    const observer = createLiveObserver({ stdout: stdout.asWriteStream(), isTTY: true, ci: false });
    observer.onStart?.(startInfo);
    observer.onProgress?.(progressAt(2e9, 300));
    between?.();
    observer.onProgress?.(progressAt(6e9, 1000, "healing"));
    observer.onEnd?.(composeResults({ elle: { valid: true } }), progressAt(30e9, 5000, "checking"));
    await observer.close();
    return stdout.text;
  };

  it("prints plain lines on a 12-line terminal and never clears the screen or its scrollback", async () => {
    const stdout = new FakeStdout(true);
    stdout.rows = 12;
    const text = await runThrough(stdout);
    expect(text).not.toMatch(clears);
    expect(text).toContain("faultline: bank-async seed 42 (sim)");
    expect(text).toMatch(/^\[real [^\]]+\] healing: test 6\.00 s/m);
    expect(text).toContain("Verdict: VALID");
  });

  it("prints plain lines on a terminal that reports no size (0×0), no escape codes at all", async () => {
    const stdout = new FakeStdout(true);
    stdout.rows = 0;
    stdout.columns = 0;
    const text = await runThrough(stdout);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/\u001b/);
    expect(text.split("\n")[0]).toMatch(/^faultline: bank-async seed 42 \(sim\), time limit 30\.00 s/);
    expect(text).toContain("Verdict: VALID");
  });

  it("falls back to plain lines when the terminal shrinks under the dashboard, without clearing", async () => {
    const stdout = new FakeStdout(true);
    const text = await runThrough(stdout, () => {
      stdout.rows = 12;
      stdout.emit("resize");
    });
    expect(text).toContain("Faults now:"); // the dashboard was drawn while it fitted
    expect(text).not.toMatch(clears);
    expect(text).toMatch(/^\[real [^\]]+\] healing: test 6\.00 s/m);
    expect(text).toContain("Verdict: VALID");
  });
});
