/**
 * junit.xml for CI systems: one test suite per run, one test case per checker. An invalid checker
 * carries a <failure> whose message is its anomaly summary ("G2-item ×3") and whose body lists the
 * first cases' explanations; an unknown verdict is an <error> (the gate could not decide, which
 * must not pass silently); a valid one passes. Properties carry the seed and the command that
 * reproduces the run. Everything from the results is XML-escaped.
 */
import type { CheckResult } from "../harness/results.ts";
import {
  anomalyClasses,
  anomalySummary,
  explanationOf,
  interruptionText,
  orderedCheckers,
} from "./document.ts";
import { escapeXml } from "./escape.ts";
import { formatCount, truncate } from "./format.ts";
import type { ReportInput } from "./input.ts";

/** Cases per anomaly class in a failure's body, and the longest explanation kept there. */
const casesPerClass = 3;
const explanationMaxChars = 4000;

function failureBody(result: CheckResult): string {
  const parts: string[] = [];
  if (typeof result.reason === "string") parts.push(result.reason);
  for (const cls of anomalyClasses(result)) {
    parts.push(`${cls.name} (${formatCount(cls.count)})`);
    cls.cases.slice(0, casesPerClass).forEach((c, i) => {
      parts.push(`  case ${i + 1}:`);
      const text = truncate(explanationOf(c), explanationMaxChars, "results.json");
      parts.push(...text.split("\n").map((row) => `    ${row}`));
    });
  }
  return parts.join("\n");
}

function lastTimeS(input: ReportInput): number {
  let max = 0;
  for (const op of input.history) if (op.time > max) max = op.time;
  return max / 1e9;
}

export function renderJunit(input: ReportInput): string {
  const x = escapeXml;
  const checkers = orderedCheckers(input.results);
  const failures = checkers.filter(([, r]) => r.valid === false).length;
  const errors = checkers.filter(([, r]) => r.valid === "unknown").length;
  const suiteName = `faultline.${input.testName}`;
  const cases = checkers.map(([name, result]) => {
    const open = `    <testcase classname="${x(suiteName)}" name="${x(name)}" time="0">`;
    if (result.valid === true) return `${open}</testcase>`;
    const summary = anomalySummary(result);
    const reason = typeof result.reason === "string" ? result.reason : "";
    const message = truncate([summary, reason].filter((s) => s !== "").join("; "), 1000, "results.json");
    const tag = result.valid === false ? "failure" : "error";
    const type = result.valid === false ? "invalid" : "unknown";
    return `${open}\n      <${tag} message="${x(message || type)}" type="${type}">${x(failureBody(result))}</${tag}>\n    </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="faultline" tests="${checkers.length}" failures="${failures}" errors="${errors}">
  <testsuite name="${x(suiteName)}" tests="${checkers.length}" failures="${failures}" errors="${errors}" skipped="0" time="${lastTimeS(input).toFixed(3)}">
    <properties>
      <property name="seed" value="${x(String(input.seed))}"/>
      <property name="store" value="${x(input.storeDir)}"/>
      <property name="reproduce" value="${x(input.reproduceCommand)}"/>${
        interruptionText(input.results) === undefined
          ? ""
          : `\n      <property name="interrupted" value="${x(interruptionText(input.results)!)}"/>`
      }
    </properties>
${cases.join("\n")}
  </testsuite>
</testsuites>
`;
}
