// Prettier's options. TypeScript is parsed with Babel's TypeScript parser (babel-ts), not
// typescript-estree (Prettier's `typescript`): the same printer, and the same output on every
// TypeScript file here (all of them formatted both ways at print widths 40, 80, 110 and 200: no
// difference), for 0.80-0.84x the CPU of `prettier --check .` (13.1-13.4 s against 16.1-16.5 s;
// two sets of 5 pairs, load 4-7). A file Babel cannot parse fails the check, with Babel's error;
// tsc still type-checks every file.
export default {
  printWidth: 110,
  overrides: [{ files: ["*.ts", "*.tsx", "*.mts", "*.cts"], options: { parser: "babel-ts" } }],
};
