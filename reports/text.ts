/**
 * The terminal report as text: report.txt (no colour codes) and what `faultline report` and the
 * end of `faultline run` print (ANSI colour only when the stream is a TTY and NO_COLOR is unset).
 * Text from the history is scrubbed of control characters either way.
 */
import { buildReportDocument, type Line, type Tone } from "./document.ts";
import { scrubControls } from "./format.ts";
import type { ReportInput, RunAnalysis } from "./input.ts";

export interface TextOptions {
  /** Emit ANSI colour codes. Default false (report.txt). */
  readonly color?: boolean;
}

const ansi: Readonly<Record<Tone, string>> = {
  plain: "",
  ok: "\u001b[32m",
  fail: "\u001b[31;1m",
  unknown: "\u001b[33m",
  heading: "\u001b[1m",
  dim: "\u001b[2m",
  accent: "\u001b[36m",
};
const reset = "\u001b[0m";

export function renderLines(lines: readonly Line[], options: TextOptions = {}): string {
  const out: string[] = [];
  for (const line of lines) {
    let text = "";
    for (const span of line) {
      const body = scrubControls(span.text);
      const code = options.color === true ? ansi[span.tone ?? "plain"] : "";
      text += code === "" || body === "" ? body : `${code}${body}${reset}`;
    }
    out.push(text.trimEnd());
  }
  return out.join("\n") + "\n";
}

export function renderTextReport(
  input: ReportInput,
  options: TextOptions = {},
  analysis?: RunAnalysis,
): string {
  return renderLines(buildReportDocument(input, analysis), options);
}

/** Whether to colour output for a stream: a TTY, and NO_COLOR unset (https://no-color.org). */
export function colorWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const noColor = env["NO_COLOR"];
  return stream.isTTY === true && (noColor === undefined || noColor === "");
}
