/** `faultline check` (placeholder until its issue lands). */
import { ExitCode } from "../harness/results.ts";

export async function checkCommand(_args: string[]): Promise<number> {
  process.stderr.write("faultline check: not built yet\n");
  return ExitCode.internal;
}
