/**
 * An explicit choice of fault windows, as `--nemesis-windows` writes it: `crash:1,partition:3`
 * applies only the first window of the crash package and the third of the partition package;
 * `none` applies none. Each package's schedule numbers its windows in the order it draws them and
 * leaves the others out of its timeline (nemeses/schedule.ts), so the kept ones come one after
 * another from the start. This is how `faultline shrink` cuts a failing run down to the one or two
 * faults that matter, and the printed command (seed and selection) reproduces the result.
 */

/** Kept window numbers (1-based) by package name. A package absent from it keeps no window. */
export type WindowSelection = Readonly<Record<string, readonly number[]>>;

/** Most windows one package may be given (a bound on the selection and on skipping). */
export const windowsPerPackageMax = 10_000;

/**
 * Parses `none` or `package:N,package:M,…` (N ≥ 1); an error message for anything else. Package
 * names are checked against `packages` (the nemesis packages of the run, `all` expanded).
 */
export function parseWindowSelection(text: string, packages: readonly string[]): WindowSelection | string {
  const trimmed = text.trim();
  if (trimmed === "none") return {};
  const selection: Record<string, number[]> = {};
  for (const item of trimmed.split(",")) {
    const m = /^([a-z][a-z-]*):(\d+)$/.exec(item.trim());
    if (m === null)
      return `expected "none" or a list of package:N (such as crash:1,partition:3), got "${item.trim()}"`;
    const name = m[1]!;
    const n = Number(m[2]);
    if (!packages.includes(name))
      return `no ${name} windows in this run (its nemesis packages: ${packages.length > 0 ? packages.join(", ") : "none"})`;
    if (!(n >= 1 && n <= windowsPerPackageMax))
      return `window numbers run from 1 to ${windowsPerPackageMax}, got ${n}`;
    (selection[name] ??= []).push(n);
  }
  for (const [name, list] of Object.entries(selection)) {
    if (new Set(list).size !== list.length)
      return `${name} window ${list.find((n, i) => list.indexOf(n) !== i)} is listed twice`;
    list.sort((a, b) => a - b);
  }
  return selection;
}

/** The canonical text of a selection: packages by name, windows ascending (`none` when empty). */
export function formatWindowSelection(selection: WindowSelection): string {
  const items = Object.keys(selection)
    .sort()
    .flatMap((name) => [...selection[name]!].sort((a, b) => a - b).map((n) => `${name}:${n}`));
  return items.length === 0 ? "none" : items.join(",");
}
