/**
 * A synthetic run for the reports' tests and benchmark: a seeded history of register-style client
 * operations from a fixed number of workers, partitions opened and healed by a nemesis at regular
 * intervals (operations invoked during one fail or time out more often), and results with an
 * invalid checker carrying anomalies, an unknown one, and a valid one. `hostile` plants markup in
 * the test name, an operation's value, a nemesis value and an explanation, to test escaping.
 */
import type { Op, Process } from "../harness/history/op.ts";
import { composeResults, type CheckResult } from "../harness/results.ts";
import { SeededRandom } from "../harness/runtime/random.ts";
import type { ReportInput } from "./input.ts";

export interface SyntheticRunOptions {
  /** History entries (invocations plus completions) of client operations, about. */
  readonly ops: number;
  readonly seed?: number;
  readonly concurrency?: number;
  /** A partition opens every this many ns of test time (default 200 ms) and heals after half of it. */
  readonly faultEveryNs?: number;
  /** Anomaly cases listed for G2-item (the count says three times as many). */
  readonly anomalyCases?: number;
  readonly hostile?: boolean;
}

export const hostileMarkup = `<script>document.title="pwned"</script><img src=x onerror="alert(1)">`;
/** NUL, a screen clear, a bell, a C1 CSI and a right-to-left override ("exe.txt" reads "txt.exe"). */
export const hostileControls =
  "nul\u0000 cls\u001b[2J\u001b[3J bell\u0007 csi\u009b2J rlo\u202etxt.exe\u202c";
/** A control or bidirectional character that would act on a terminal or page instead of showing. */
export const rawControls =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** Every hostile value the synthetic run plants, at once. */
const hostileText = hostileMarkup + hostileControls;

export function syntheticRun(options: SyntheticRunOptions): ReportInput {
  const seed = options.seed ?? 1;
  const concurrency = options.concurrency ?? 5;
  const faultEveryNs = options.faultEveryNs ?? 200e6;
  const random = new SeededRandom(seed, "synthetic-run");
  const pairsPerWorker = Math.ceil(options.ops / 2 / concurrency);
  const inFault = (ns: number): boolean => ns % faultEveryNs >= faultEveryNs / 2;

  interface Draft {
    readonly time: number;
    readonly process: Process;
    readonly type: Op["type"];
    readonly f: string;
    readonly value: unknown;
    readonly error?: string;
  }
  const drafts: Draft[] = [];
  let endNs = 0;
  for (let worker = 0; worker < concurrency; worker++) {
    let process: number = worker;
    let timeNs = random.intBetween(0, 1_000_000);
    for (let i = 0; i < pairsPerWorker; i++) {
      const f = random.bool(0.5) ? "read" : "write";
      const faulty = inFault(timeNs);
      const latencyNs = Math.round(random.exponential(faulty ? 20e6 : 2e6)) + 50_000;
      const roll = random.float();
      const type = faulty ? (roll < 0.4 ? "ok" : roll < 0.7 ? "fail" : "info") : roll < 0.97 ? "ok" : "fail";
      const value = f === "write" ? random.int(100) : null;
      const hostile = options.hostile === true && worker === 0 && i === 1;
      drafts.push({ time: timeNs, process, type: "invoke", f, value: hostile ? hostileText : value });
      drafts.push({
        time: timeNs + latencyNs,
        process,
        type,
        f,
        value: hostile ? hostileText : f === "read" && type === "ok" ? random.int(100) : value,
        ...(type === "ok" ? {} : { error: type === "fail" ? "unavailable" : "timeout" }),
      });
      timeNs += latencyNs + random.intBetween(0, 500_000);
      if (type === "info") process += concurrency;
    }
    endNs = Math.max(endNs, timeNs);
  }
  for (let startNs = faultEveryNs / 2; startNs < endNs; startNs += faultEveryNs) {
    const nodes = options.hostile === true ? [["n1", hostileText], ["n3"]] : [["n1"], ["n2", "n3"]];
    const nemesis: Process = "nemesis";
    drafts.push({ time: startNs, process: nemesis, type: "invoke", f: "start-partition", value: "majority" });
    drafts.push({ time: startNs + 1000, process: nemesis, type: "info", f: "start-partition", value: nodes });
    drafts.push({
      time: startNs + faultEveryNs / 2,
      process: nemesis,
      type: "invoke",
      f: "stop-partition",
      value: null,
    });
    drafts.push({
      time: startNs + faultEveryNs / 2 + 1000,
      process: nemesis,
      type: "info",
      f: "stop-partition",
      value: "healed",
    });
  }
  // Stable by time; an invocation and its completion never share a time, so pairs stay in order.
  drafts.sort((a, b) => a.time - b.time);
  const history: Op[] = drafts.map((d, index) => ({ index, ...d }) as Op);

  const listed = options.anomalyCases ?? 3;
  const g2 = Array.from({ length: listed }, (_, i) => ({
    explanation:
      `Let:\n  T1 = {:index ${10 * i}, :type :ok, :value [[:r :x 1] [:w :y ${i}]]}\n` +
      `  T2 = {:index ${10 * i + 4}, :type :ok, :value [[:r :y 0] [:w :x ${i}]]}\n\n` +
      `Then:\n  - T1 < T2, because T1 read key x = 1, and T2 overwrote it.\n` +
      `  - However, T2 < T1, because T2 read key y = 0, and T1 overwrote it: a contradiction!` +
      (options.hostile === true && i === 0 ? `\n  ${hostileText}` : ""),
    cycle: [10 * i, 10 * i + 4],
  }));
  const elle: CheckResult = {
    valid: false,
    reason: "G2-item: anti-dependency cycles",
    anomalies: {
      "G2-item": g2,
      "lost-update": [{ explanation: "key z: two transactions both read 3 and both wrote 4 and 5" }],
    },
    anomalyCounts: { "G2-item": listed * 3, "lost-update": 1 },
  };
  const checkers: Record<string, CheckResult> = {
    elle,
    linearizable: { valid: "unknown", reason: "search budget of 1,000,000 states exhausted at key x" },
    timeline: { valid: true },
  };
  return {
    testName: options.hostile === true ? `register ${hostileText}` : "register",
    seed,
    storeDir: "store/register/20261122T031045.123",
    reproduceCommand: `faultline run --workload register --nemesis partition --seed ${seed}`,
    config: { workload: "register", concurrency, seed, note: options.hostile === true ? hostileText : "" },
    history,
    results: composeResults(checkers),
  };
}
