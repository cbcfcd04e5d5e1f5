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
