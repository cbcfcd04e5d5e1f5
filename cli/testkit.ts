/**
 * For the command tests: a command run in this process with what it writes on standard output and
 * standard error kept (and kept off the test's own output), and its exit code.
 */
import { vi } from "vitest";

export interface CapturedRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command` (e.g. `() => main([...])`), keeping what it writes; the streams are restored after. */
export async function captured(command: () => Promise<number>): Promise<CapturedRun> {
  const out: string[] = [];
  const err: string[] = [];
  const keep = (into: string[]) => (chunk: string | Uint8Array) => (into.push(String(chunk)), true);
  const spies = [
    vi.spyOn(process.stdout, "write").mockImplementation(keep(out)),
    vi.spyOn(process.stderr, "write").mockImplementation(keep(err)),
  ];
  try {
    const code = await command();
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}
