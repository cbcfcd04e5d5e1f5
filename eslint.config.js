// Lint rules. Beyond the recommended sets, one rule carries design weight: code that must be
// deterministic (the engine, the simulated runtime, generators, checkers) may not reach for the
// wall clock, Math.random, timers, the file system or the network; it gets them from its runtime.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const nondeterministicGlobals = [
  { name: "setTimeout", message: "Use the runtime's clock (rt.clock.sleep / setTimer)." },
  { name: "setInterval", message: "Use the runtime's clock." },
  { name: "setImmediate", message: "Use the runtime's task spawning." },
  { name: "Date", message: "Use the runtime's clock." },
  { name: "performance", message: "Use the runtime's clock." },
];
const nondeterministicImports = {
  paths: [
    "fs",
    "node:fs",
    "fs/promises",
    "node:fs/promises",
    "net",
    "node:net",
    "dgram",
    "node:dgram",
    "child_process",
    "node:child_process",
    "timers",
    "node:timers",
    "crypto",
    "node:crypto",
  ].map((name) => ({
    name,
    message: "Deterministic code takes disk, network and randomness only from its runtime.",
  })),
};

export default tseslint.config(
  { ignores: ["node_modules/**", "store/**", "dist/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    files: [
      "systems/engine/**/*.ts",
      "harness/runtime/sim/**/*.ts",
      "harness/generator/**/*.ts",
      "checkers/**/*.ts",
      "nemeses/**/*.ts",
      "systems/memory/**/*.ts",
    ],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-globals": ["error", ...nondeterministicGlobals],
      "no-restricted-imports": ["error", nondeterministicImports],
      "no-restricted-properties": [
        "error",
        { object: "Math", property: "random", message: "Use the runtime's seeded random source." },
        { object: "Date", property: "now", message: "Use the runtime's clock." },
        { object: "process", property: "hrtime", message: "Use the runtime's clock." },
      ],
    },
  },
);
