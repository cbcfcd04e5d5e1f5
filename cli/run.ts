/** `faultline run` (placeholder until its issue lands). */
import { ExitCode } from "../harness/results.ts";

export async function runCommand(_args: string[]): Promise<number> {
  process.stderr.write("faultline run: not built yet\n");
  return ExitCode.internal;
}
