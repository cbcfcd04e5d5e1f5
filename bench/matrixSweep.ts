/**
 * One sweep of the in-tree matrix as a nightly job runs it: `faultline sweep suites/matrix.yaml`
 * over the rows a filter matches, then `faultline sweep report`, both through the installed bin,
 * answering the merged report and the sweep's wall time. Shared by the benches that measure
 * detection rates and false alarms.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { matrixSuitePath } from "../cli/expectations.ts";
import type { SweepReport } from "../reports/suite/model.ts";

const bin = fileURLToPath(new URL("../bin/faultline.js", import.meta.url));

export async function sweepMatrix(
  scratch: string,
  name: string,
  filter: string,
  seeds: number,
  jobs: string,
): Promise<{ report: SweepReport; wallS: number }> {
  const out = join(scratch, name);
  const started = performance.now();
  const swept = await execa(
    process.execPath,
    [bin, "sweep", matrixSuitePath, "--seeds", `1..${seeds}`, "--filter", filter].concat([
      "--out",
      out,
      "--keep",
      "none",
      "--jobs",
      jobs,
    ]),
    { env: { CI: "true" }, reject: false, all: true },
  );
  if (swept.exitCode !== 0)
    throw new Error(`the sweep exited ${swept.exitCode}:\n${(swept.all ?? "").slice(-3000)}`);
  const wallS = (performance.now() - started) / 1000;
  const reportDir = join(scratch, `${name}-report`);
  await execa(process.execPath, [bin, "sweep", "report", out, "--out", reportDir], { reject: false });
  const report = JSON.parse(readFileSync(join(reportDir, "report.json"), "utf8")) as SweepReport;
  return { report, wallS };
}
