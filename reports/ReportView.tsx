/**
 * The report document (`document.ts`) as Ink elements: the same lines and tones the text renderer
 * prints, in colour, for the dashboard's closing screen and anyone embedding a report in an Ink UI.
 */
import { Box, Text } from "ink";
import type { Line, Tone } from "./document.ts";
import { scrubControls } from "./format.ts";

const colors: Readonly<Record<Tone, { color?: string; bold?: boolean; dimColor?: boolean }>> = {
  plain: {},
  ok: { color: "green" },
  fail: { color: "red", bold: true },
  unknown: { color: "yellow" },
  heading: { bold: true },
  dim: { dimColor: true },
  accent: { color: "cyan" },
};

export function ReportView({ lines }: { readonly lines: readonly Line[] }) {
  return (
    <Box flexDirection="column">
      {lines.map((line, i) => (
        <Text key={i}>
          {line.length === 0
            ? " "
            : line.map((span, j) => (
                <Text key={j} {...colors[span.tone ?? "plain"]}>
                  {scrubControls(span.text)}
                </Text>
              ))}
        </Text>
      ))}
    </Box>
  );
}
