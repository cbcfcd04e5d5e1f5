/**
 * Escaping for markup. Every value that reaches HTML or XML from a history, a config or a checker
 * goes through one of these, so a hostile value (`<script>…`, `" onload="…`) stays text.
 */

const htmlEntities: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text safe in HTML element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => htmlEntities[c]!);
}

// XML 1.0 forbids most C0 controls even as character references, and lone surrogates.
const xmlForbidden =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text safe in XML content and quoted attributes; characters XML cannot hold become U+FFFD. */
export function escapeXml(text: string): string {
  return escapeHtml(text.replace(xmlForbidden, "\ufffd"));
}
