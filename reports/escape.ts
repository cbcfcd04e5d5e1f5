/**
 * Escaping for markup. Every value that reaches HTML or XML from a history, a config or a checker
 * goes through one of these, so a hostile value (`<script>…`, `" onload="…`) stays text, and
 * control and bidirectional characters (NUL, ESC, U+202E, …) are shown as escapes (`\x00`,
 * `\u202e`) as in the terminal: they can neither break the page nor turn its text around.
 */
import { scrubControls } from "./format.ts";

const htmlEntities: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text safe in HTML element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return scrubControls(text).replace(/[&<>"']/g, (c) => htmlEntities[c]!);
}

// XML 1.0 cannot hold these even as character references: U+FFFE, U+FFFF and lone surrogates
// (the controls it forbids are already shown as escapes by escapeHtml).
const xmlForbidden = /[\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text safe in XML content and quoted attributes; characters XML cannot hold become U+FFFD. */
export function escapeXml(text: string): string {
  return escapeHtml(text).replace(xmlForbidden, "\ufffd");
}
