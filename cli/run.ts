/**
 * `faultline run`: parse and validate the options, resolve every default (the seed included) so
 * the run can be reproduced from one printed command line, execute the test, print the verdict,
 * the store folder and that command. SIGINT/SIGTERM stop the generator; the runner still heals
 * every fault and the recorded history is kept and checked. A second one while the run heals
 * exits at once (one line; the exit hook and the reaper kill every process the run started).
 * Checking and writing the reports hold the event loop, where no handler could run: from there
 * on a signal takes its default action and ends the process at once (nothing is left to stop).
 */
import { constants } from "node:os";
import { ExitCode, exitCodeFor } from "../harness/results.ts";
import { SystemUnavailableError } from "../harness/system.ts";
import type { SystemDefinition } from "../harness/systemDefinition.ts";
import { exitAtOnce, UsageError } from "./main.ts";
import { loadRunPlugins, lookupSystem } from "./plugins.ts";
import { nemeses, systems, workloads } from "./registry.ts";
import { peekOption, resolveRunConfig } from "./runConfig.ts";
import { defaultNemesis, defaultWorkload } from "./runConfigSchema.ts";

export { resolveRunConfig } from "./runConfig.ts";

/** The lines of `--help` for one system's own options. */
function systemOptionLines(definition: SystemDefinition): string[] {
  return Object.entries(definition.options ?? {}).map(([name, option]) => {
    const flag = `  --${name}${option.type === "boolean" ? "" : option.type === "number" ? " N" : " VALUE"}`;
    const values =
      option.choices !== undefined && !option.description.includes(option.choices[0]!)
        ? ` (${option.choices.join(" | ")})`
        : "";
    const repeatable =
      option.type === "list" && !option.description.includes("repeatable") ? " (repeatable)" : "";
    return `${flag.padEnd(25)}${option.description}${repeatable}${values}`;
  });
}

export function runUsage(chosen?: SystemDefinition): string {
  const shown =
    chosen !== undefined && !Object.values(systems).includes(chosen) ? [chosen] : Object.values(systems);
  const systemSections = shown.map((d) => {
    const lines = systemOptionLines(d);
    return `Options of the ${d.name} system${d.description !== undefined ? ` (${d.description})` : ""}:\n${
      lines.length > 0 ? lines.join("\n") : "  none"
    }`;
  });
  return `Usage: faultline run [options]

  --system NAME|PATH     system under test: ${Object.keys(systems).join(", ")} (default ${Object.keys(systems)[0]}),
                         or the path of a plugin module (./my-db.ts)
  --workload NAME|PATH   ${Object.keys(workloads).join(", ")} (default ${defaultWorkload}),
                         or the path of a plugin module (./my-workload.ts)
  --nemesis LIST         none, or a comma-separated list of: ${Object.keys(nemeses).join(", ")}
                         (default ${defaultNemesis})
  --nemesis-interval S   seconds between faults (default 5)
  --nemesis-windows W    apply only these fault windows of the seed's schedule:
                         package:N,… (crash:1,partition:3) or none (faultline shrink sets it)
  --nodes N              number of nodes (default: the system's)
  --concurrency N        client workers (default 10)
  --time-limit S         seconds of test time for the main phase (default 30)
  --rate N               client operations per second over all workers (default 100)
  --keys N               register, append: keys in use at a time; bank: accounts (default 5)
  --model M              the consistency model transactional workloads are checked
                         against (default: the strongest the system promises)
  --seed N               the seed (default: random; printed in the reproduce command)
  --mode sim|process     deterministic simulation (default) or real processes
  --store DIR            where runs are stored (default ./store)
  --name NAME            test name (default from system and workload)
  --quiet                print only the verdict lines
  --dry-run              check the options, build the test and check the store, run nothing;
                         print the command that would run

An option a system does not list below is refused for it. Each option is given once, but for
those marked repeatable (each value once).

${systemSections.join("\n\n")}`;
}

export async function runCommand(args: string[]): Promise<number> {
  await loadRunPlugins(peekOption(args, "system"), peekOption(args, "workload"));
  const config = resolveRunConfig(args);
  if (config === "help") {
    const system = peekOption(args, "system");
    process.stdout.write(runUsage(system !== undefined ? lookupSystem(system) : undefined) + "\n");
    return 0;
  }
  try {
    await lookupSystem(config.system).preflight?.();
  } catch (error) {
    if (error instanceof SystemUnavailableError) throw new UsageError(error.message);
    throw error;
  }
  // Loaded once a run is certain: the reports and the runner cost start-up time that `--help` and
  // a refused option should not pay; the live view (Ink, React) only when it is shown, so a
  // --quiet run (a gate's, a sweep's) does without it.
  const [
    { colorWanted, renderTextReport },
    { scrubControls },
    { checkRun, executeRun, interruptionLine, plainSummary, prepareRun, unwrittenLine },
  ] = await Promise.all([
    import("../reports/text.ts"),
    import("../reports/format.ts"),
    import("./execute.ts"),
  ]);
  // Every part is built before anything is printed or stored, so a configuration a builder
  // refuses is one line and exit 254.
  const prepared = config["dry-run"] ? checkRun(config) : prepareRun(config);
  if (config["dry-run"]) {
    process.stdout.write(
      `faultline run: dry run, nothing was run; the options hold\nrun: ${scrubControls(prepared.command)}\n`,
    );
    return 0;
  }
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      // process.exit runs the exit hooks, which kill every process group the run started.
      process.stderr.write(`faultline run: ${signal} again: exiting at once, nothing checked or reported\n`);
      exitAtOnce(128 + constants.signals[signal]);
    }
    process.stderr.write(
      `\nfaultline run: ${signal}: stopping the generator, healing, keeping what was recorded… ` +
        `(again to exit at once)\n`,
    );
    controller.abort(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const onChecking = async ({ operations, interrupted }: { operations: number; interrupted: boolean }) => {
    // A signal that already arrived is still in the event loop's queue, and removing the last
    // listener would drop it (a second SIGINT sent as the run ended was lost and the run checked
    // and reported, exit 2): the loop first reads it, so that it reaches onSignal and exits at once.
    holdForTests("FAULTLINE_TEST_HOLD_BEFORE_CHECKING_MS");
    await pendingSignalsDelivered();
    // No handler runs while checkers hold the event loop: the default action ends the process at
    // once instead of the signal waiting for the checkers (no process of the run is left by now).
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (interrupted) {
      process.stderr.write(
        `faultline run: checking the ${operations.toLocaleString("en-US")} operations recorded ` +
          `(again to exit at once, unchecked)\n`,
      );
    }
    holdForTests("FAULTLINE_TEST_SLOW_CHECK_MS");
  };
  try {
    if (!config.quiet) {
      process.stdout.write(
        `faultline run: ${config.name}, seed ${config.seed}, ${config.mode}, ${config["time-limit"]} s\n`,
      );
    }
    // Ink is loaded only for the dashboard on a terminal (see reports/live/terminal.ts).
    const live = config.quiet ? undefined : await import("../reports/live/terminal.ts");
    const observer = await live?.openLiveObserver({
      stdout: process.stdout,
      isTTY: process.stdout.isTTY === true,
      ci: live.ciFromEnv(process.env),
    });
    let result;
    try {
      result = await executeRun(config, {
        prepared,
        signal: controller.signal,
        onChecking,
        ...(observer !== undefined ? { observer } : {}),
      });
    } catch (error) {
      // A node that could not start (process mode); checked by name so that this module does not
      // load the process world before a run is certain.
      if (!(error instanceof Error && error.name === "NodeStartError")) throw error;
      result = error;
    } finally {
      await observer?.close();
    }
    if (result instanceof Error) {
      // One line: which node, which log. Every other node is stopped; the history is kept.
      process.stderr.write(`faultline run: ${result.message}\n`);
      return ExitCode.internal;
    }
    const interruption = interruptionLine(result);
    if (interruption !== undefined) process.stdout.write(interruption + "\n");
    if (observer !== undefined && result.reportInput !== undefined) {
      process.stdout.write(renderTextReport(result.reportInput, { color: colorWanted(process.stdout) }));
    } else {
      // --quiet: the verdict per checker, the store folder and the reproduce command only.
      process.stdout.write(plainSummary(config, result.results, result.storeDir, result.reproduceCommand));
    }
    const unwritten = unwrittenLine(result);
    if (unwritten !== undefined) process.stderr.write(`faultline run: ${unwritten}\n`);
    return exitCodeFor(result.results.valid);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * Resolves once the event loop has read every signal that arrived before the call, so that each
 * has reached its listeners: a signal is read in the loop's poll phase, and a single
 * `setImmediate` turn, started from a poll-phase callback (a file or a child process's event), ends
 * in the same iteration's check phase before any poll has run again; the signal was lost when its
 * listener was then removed. Two turns always have one whole poll phase between them.
 */
export async function pendingSignalsDelivered(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * For the harness's own tests: `FAULTLINE_TEST_SLOW_CHECK_MS=N` holds the event loop N ms before
 * checking, as a long checker does, so a test can signal a run while it checks;
 * `FAULTLINE_TEST_HOLD_BEFORE_CHECKING_MS=N` holds it as the run hands over to the checkers,
 * while the signal handlers are still installed, so a test can signal it at that moment.
 */
function holdForTests(variable: string): void {
  const holdMs = Number(process.env[variable] ?? 0);
  if (!(holdMs > 0)) return;
  process.stderr.write(`faultline run: ${variable}: holding the event loop ${holdMs} ms\n`);
  // Blocked, as a synchronous checker blocks it: signal handlers get no turn until it ends. Asleep
  // rather than busy: the 4-s hold burned 4 s of a test run's CPU for nothing.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(holdMs, 600_000));
}
