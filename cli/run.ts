/**
 * `faultline run`: parse and validate the options, resolve every default (the seed included) so
 * the run can be reproduced from one printed command line, execute the test, print the verdict,
 * the store folder and that command. SIGINT/SIGTERM stop the generator; the runner still heals
 * every fault and the recorded history is kept and checked.
 */
import { randomInt } from "node:crypto";
import { exitCodeFor } from "../harness/results.ts";
import { ciFromEnv, colorWanted, createLiveObserver, renderTextReport } from "../reports/index.ts";
import { UsageError } from "./main.ts";
import { parseCommandLine, validateOptions } from "./options.ts";
import { bugNames, defaultNodesOf, nemeses, systems, workloads } from "./registry.ts";
import {
  defaultNemesis,
  defaultWorkload,
  runConfigSchema,
  runOptionSpec,
  type RunConfig,
} from "./runConfig.ts";
import { executeRun, plainSummary } from "./execute.ts";

export const runUsage = `Usage: faultline run [options]

  --system NAME          system under test: ${Object.keys(systems).join(", ")} (default ${Object.keys(systems)[0]})
  --workload NAME        ${Object.keys(workloads).join(", ")} (default ${defaultWorkload})
  --nemesis LIST         none, or a comma-separated list of: ${Object.keys(nemeses).join(", ")}
                         (default ${defaultNemesis})
  --nemesis-interval S   seconds between faults (default 5)
  --nodes N              number of nodes (default: the system's)
  --concurrency N        client workers (default 10)
  --time-limit S         seconds of test time for the main phase (default 30)
  --rate N               client operations per second over all workers (default 100)
  --replication MODE     engine: sync | async | quorum (default quorum)
  --isolation LEVEL      engine: read-committed | snapshot | serializable (default serializable)
  --read-from WHERE      engine: writer | replicas (default writer)
  --leases               engine: the writer serves reads under a lease
  --model M              the consistency model transactional workloads are checked
                         against (default: what --isolation promises)
  --bug NAME             switch on a deliberate fault (repeatable): ${bugNames.join(", ")}
  --seed N               the seed (default: random; printed in the reproduce command)
  --mode sim|process     deterministic simulation (default) or real processes
  --store DIR            where runs are stored (default ./store)
  --name NAME            test name (default from system and workload)
  --quiet                print only the verdict lines`;

export function resolveRunConfig(args: string[]): RunConfig | "help" {
  const { values } = parseCommandLine("run", args, runOptionSpec, false);
  if (values.help === true) return "help";
  const parsed = validateOptions(runConfigSchema, values);
  const system = systems[parsed.system];
  if (system === undefined) throw new UsageError(`--system: no system named "${parsed.system}"`);
  for (const bug of parsed.bug) {
    if (system.bugs[bug] === undefined) {
      const known = Object.keys(system.bugs);
      throw new UsageError(
        `--bug: the ${parsed.system} system has no bug "${bug}"` +
          (known.length > 0 ? ` (valid choices: ${known.join(", ")})` : " (it has no bug knobs)"),
      );
    }
  }
  const refused = system.refuse?.({ isolation: parsed.isolation, readFrom: parsed["read-from"] });
  if (refused !== undefined) throw new UsageError(refused);
  const seed = parsed.seed ?? randomInt(0, 2 ** 31);
  const nodes = parsed.nodes ?? defaultNodesOf(system, parsed.replication);
  const name =
    parsed.name ??
    [
      parsed.system,
      parsed.workload,
      ...(parsed.system === "engine" ? [parsed.replication, parsed.isolation] : []),
      ...parsed.nemesis,
    ].join("-");
  return { ...parsed, seed, nodes, name };
}

export async function runCommand(args: string[]): Promise<number> {
  const config = resolveRunConfig(args);
  if (config === "help") {
    process.stdout.write(runUsage + "\n");
    return 0;
  }
  if (config.mode === "process") {
    throw new UsageError("--mode process (real OS processes) is not built yet; use --mode sim");
  }
  const controller = new AbortController();
  const onSignal = (signal: string) => {
    if (controller.signal.aborted) return;
    process.stderr.write(
      `\nfaultline run: ${signal}: stopping the generator, healing, keeping what was recorded…\n`,
    );
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    if (!config.quiet) {
      process.stdout.write(
        `faultline run: ${config.name}, seed ${config.seed}, ${config.mode}, ${config["time-limit"]} s\n`,
      );
    }
    const observer = config.quiet
      ? undefined
      : createLiveObserver({
          stdout: process.stdout,
          isTTY: process.stdout.isTTY === true,
          ci: ciFromEnv(process.env),
        });
    let result;
    try {
      result = await executeRun(config, {
        signal: controller.signal,
        ...(observer !== undefined ? { observer } : {}),
      });
    } finally {
      await observer?.close();
    }
    if (result.aborted)
      process.stdout.write(`interrupted: ${result.history.length} operations recorded and checked\n`);
    if (observer !== undefined && result.reportInput !== undefined) {
      process.stdout.write(renderTextReport(result.reportInput, { color: colorWanted(process.stdout) }));
    } else {
      // --quiet: the verdict per checker, the store folder and the reproduce command only.
      process.stdout.write(plainSummary(config, result.results, result.storeDir, result.reproduceCommand));
    }
    return exitCodeFor(result.results.valid);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
