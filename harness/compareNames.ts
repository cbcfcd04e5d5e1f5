/**
 * Names in `localeCompare`'s order without its price: the first `localeCompare` of a process
 * builds ICU's collator, 10–35 ms on a slow machine, a few per cent of a short run whose reports
 * sort a handful of checker, operation and fault names. Names made only of lowercase ASCII
 * letters, digits and hyphens sort the same by code unit under ICU's root collation (the hyphen
 * before digits before letters; no case or accent to weigh), so two such names are compared
 * directly; any other pair takes `localeCompare`, as before. The result's sign is what matters.
 */
const plainName = /^[a-z0-9-]*$/;

export function compareNames(a: string, b: string): number {
  if (plainName.test(a) && plainName.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return a.localeCompare(b);
}
