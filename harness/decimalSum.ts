/**
 * Sums of decimal numbers as a person would add them. Doubles add 0.1 and 0.2 to
 * 0.30000000000000004, so a checker that sums balances read from a database (a `NUMERIC` of
 * money, say) would see a read of 0.1 and 0.2 disagree with one of 0.3: a false alarm. Each number
 * is taken at its shortest decimal form (the one JSON and `String` write, so what the history
 * says), the sum is made exactly on integers scaled by a power of ten, and the result is the double
 * nearest it: reads whose balances add up to the same decimal give the same double.
 *
 * Integers, the common case, are summed as doubles while the sum stays within the exact range.
 */

const decimalForm = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;

/** `n` as digits × 10^-scale (scale ≥ 0), from its shortest decimal form; undefined for ±Infinity or NaN. */
function scaled(n: number): { digits: bigint; scale: number } | undefined {
  const m = decimalForm.exec(String(n));
  if (m === null) return undefined;
  const [, sign = "", whole = "", fraction = "", exponent = "0"] = m;
  let scale = fraction.length - Number(exponent);
  let digits = BigInt(sign + whole + fraction);
  if (scale < 0) {
    digits *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { digits, scale };
}

/** The sum of `values` as exact decimals, as the double nearest it (see the module header). */
export function decimalSum(values: readonly number[]): number {
  let plain = 0;
  let allIntegers = true;
  for (const v of values) {
    plain += v;
    if (!Number.isSafeInteger(v)) allIntegers = false;
  }
  if (allIntegers && Number.isSafeInteger(plain)) return plain;
  const parts: { digits: bigint; scale: number }[] = [];
  let scale = 0;
  for (const v of values) {
    const part = scaled(v);
    if (part === undefined) return plain; // an infinity or NaN: no decimal sum to make
    parts.push(part);
    if (part.scale > scale) scale = part.scale;
  }
  let total = 0n;
  for (const part of parts) total += part.digits * 10n ** BigInt(scale - part.scale);
  const negative = total < 0n;
  const text = (negative ? -total : total).toString().padStart(scale + 1, "0");
  const decimal =
    scale === 0 ? text : `${text.slice(0, text.length - scale)}.${text.slice(text.length - scale)}`;
  return Number((negative ? "-" : "") + decimal);
}

/** How many decimal places the shortest decimal form of `n` has (0 for an integer; 0 for ±Infinity or NaN). */
export function decimalPlaces(n: number): number {
  return Number.isInteger(n) ? 0 : (scaled(n)?.scale ?? 0);
}
