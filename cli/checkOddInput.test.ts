/**
 * `faultline check` on odd input, as a property: small histories of every shape the checkers
 * read (append and rw-register transactions, bank transfers and Jepsen reads, sets, registers,
 * counters, long-fork), written as JSONL or as Jepsen's JSON, each with one value somewhere replaced by anything JSON can hold or text
 * JSON.parse reads oddly (1e400, integers beyond 2^53, -0, values nested thousands deep), checked
 * as inferred and as each workload and model. Whatever the input, the answer is a verdict (0, 1,
 * 2) or bad input named (254): never an internal error (255), which is what a CI gate cannot act
 * on. Hand-written cases of each defect these runs found are beside their checkers.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../harness/testkit.ts";
import { checkFile, parseCheckArgs } from "./check.ts";

const scratch = scratchFolders("odd-input");

type Row = readonly [process: number, type: string, f: string, value: unknown];

/** Small well-formed histories of each shape: [rows, the flags that check them as their own]. */
const bases: readonly (readonly [readonly Row[], readonly string[]])[] = [
  [
    [
      [0, "invoke", "txn", [["append", "x", 1]]],
      [0, "ok", "txn", [["append", "x", 1]]],
      [
        1,
        "invoke",
        "txn",
        [
          ["r", "x", null],
          ["append", "y", 2],
        ],
      ],
      [
        1,
        "ok",
        "txn",
        [
          ["r", "x", [1]],
          ["append", "y", 2],
        ],
      ],
    ],
    ["--workload", "append"],
  ],
  [
    [
      [0, "invoke", "txn", [["w", "x", 1]]],
      [0, "ok", "txn", [["w", "x", 1]]],
      [
        1,
        "invoke",
        "txn",
        [
          ["r", "x", null],
          ["w", "y", 2],
        ],
      ],
      [
        1,
        "ok",
        "txn",
        [
          ["r", "x", 1],
          ["w", "y", 2],
        ],
      ],
    ],
    ["--workload", "rw-register"],
  ],
  [
    [
      [0, "invoke", "read", null],
      [0, "ok", "read", { "0": 10, "1": 10 }],
      [1, "invoke", "transfer", { from: 0, to: 1, amount: 5 }],
      [1, "ok", "transfer", { from: 0, to: 1, amount: 5 }],
      [0, "invoke", "read", null],
      [0, "ok", "read", { "0": 5, "1": 15 }],
    ],
    ["--workload", "bank"],
  ],
  [
    [
      [0, "invoke", "add", 1],
      [0, "ok", "add", 1],
      [1, "invoke", "read", null],
      [1, "ok", "read", [1]],
    ],
    ["--workload", "set"],
  ],
  [
    [
      [0, "invoke", "write", [1, 5]],
      [0, "ok", "write", [1, 5]],
      [1, "invoke", "cas", [1, [5, 6]]],
      [1, "ok", "cas", [1, [5, 6]]],
      [0, "invoke", "read", [1, null]],
      [0, "ok", "read", [1, 6]],
    ],
    ["--workload", "register"],
  ],
  [
    [
      [0, "invoke", "add", 2],
      [0, "ok", "add", 2],
      [1, "invoke", "read", null],
      [1, "ok", "read", 2],
    ],
    ["--workload", "counter"],
  ],
  [
    [
      [0, "invoke", "txn", [["w", 0, 1]]],
      [0, "ok", "txn", [["w", 0, 1]]],
      [
        1,
        "invoke",
        "txn",
        [
          ["r", 0, null],
          ["r", 1, null],
        ],
      ],
      [
        1,
        "ok",
        "txn",
        [
          ["r", 0, 1],
          ["r", 1, null],
        ],
      ],
      [
        2,
        "invoke",
        "txn",
        [
          ["r", 1, null],
          ["r", 0, null],
        ],
      ],
      [
        2,
        "ok",
        "txn",
        [
          ["r", 1, null],
          ["r", 0, 1],
        ],
      ],
    ],
    ["--workload", "long-fork"],
  ],
];

/** Every way of checking a history: inferred, as each workload, as each linearizability model. */
const checkedAs: readonly (readonly string[])[] = [
  [],
  ...["append", "rw-register", "bank", "set", "write-skew", "register", "long-fork", "counter"].map((w) => [
    "--workload",
    w,
  ]),
  ...["register", "cas-register", "multi-register", "kv", "set", "mutex", "counter", "fifo-queue"].map(
    (m) => ["--model", m],
  ),
];

/** Text JSON.parse reads oddly, put in place of a marker after the line is written. */
const rawTexts = [
  "1e400",
  "-1e400",
  "99999999999999999999",
  "-9007199254740993",
  "-0",
  "1.5e-400",
  "0.1",
  "[".repeat(100_000) + "]".repeat(100_000),
  '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000),
];
const rawMarker = (i: number): string => `\u0001raw${i}\u0001`;

const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, "", "__proto__", "constructor", [], {}, [[]], [["r", "x", null]], { balance: "10" }),
  fc.integer({ min: 0, max: rawTexts.length - 1 }).map(rawMarker),
);

/** `value` with the thing at a path chosen by `choices` replaced by `odd`. */
function replaceSomewhere(value: unknown, choices: readonly number[], odd: unknown, depth = 0): unknown {
  const choice = choices[depth];
  if (choice === undefined || value === null || typeof value !== "object") return odd;
  if (Array.isArray(value)) {
    if (value.length === 0 || choice % 5 === 0) return odd;
    const i = choice % value.length;
    return value.map((v, j) => (j === i ? replaceSomewhere(v, choices, odd, depth + 1) : v));
  }
  const keys = Object.keys(value);
  if (keys.length === 0 || choice % 5 === 0) return odd;
  const k = keys[choice % keys.length]!;
  return { ...value, [k]: replaceSomewhere((value as Record<string, unknown>)[k], choices, odd, depth + 1) };
}

describe("check on odd input", () => {
  it("answers a verdict or names the bad input, never an internal error", async () => {
    const dir = scratch();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: bases.length - 1 }),
        fc.nat(),
        fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        oddValue,
        fc.constantFrom(...checkedAs, "own" as const),
        fc.boolean(),
        async (base, line, path, wholeOp, odd, as, jepsenJson) => {
          const [rows, own] = bases[base]!;
          const at = line % rows.length;
          const ops: unknown[] = rows.map(([process, type, f, value], index) => ({
            index,
            time: index * 1000,
            process,
            type,
            f,
            value,
          }));
          // Mostly the value; sometimes any field of the operation itself.
          ops[at] = wholeOp
            ? replaceSomewhere(ops[at], path, odd)
            : {
                ...(ops[at] as object),
                value: replaceSomewhere((ops[at] as { value: unknown }).value, path, odd),
              };
          // As faultline's JSONL, or as Jepsen's JSON (one array of op maps, no index: another reader).
          const lines = jepsenJson
            ? ops.map((op) => {
                if (op === null || typeof op !== "object" || Array.isArray(op)) return JSON.stringify(op);
                const { index: _index, ...rest } = op as Record<string, unknown>;
                return JSON.stringify(rest);
              })
            : ops.map((op) => JSON.stringify(op));
          let text = jepsenJson ? `[${lines.join(",\n")}]\n` : lines.join("\n") + "\n";
          rawTexts.forEach((raw, i) => (text = text.replaceAll(JSON.stringify(rawMarker(i)), raw)));
          const file = join(dir, `h${runs++}.${jepsenJson ? "json" : "jsonl"}`);
          writeFileSync(file, text);
          const options = await parseCheckArgs([file, ...(as === "own" ? own : as), "--quiet"]);
          const outcome = await checkFile(file, options);
          expect([0, 1, 2, 254], `${outcome.line}\n${text}`).toContain(outcome.exitCode);
        },
      ),
      { numRuns: 300 },
    );
  });
});
