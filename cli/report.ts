/** `faultline report` (placeholder until its issue lands). */
import { ExitCode } from "../harness/results.ts";

export async function reportCommand(_args: string[]): Promise<number> {
  process.stderr.write("faultline report: not built yet\n");
  return ExitCode.internal;
}
