/**
 * The package a user installs: `npm pack` gives a tarball that installs into an empty project and
 * works there. The test packs the compiled build (the one in dist/ when it is fresh, else one
 * compiled for the test), installs the tarball into a fresh temporary project (from the npm cache
 * where it can, the registry otherwise), then type-checks and runs a TypeScript program that
 * writes, reads and checks a history through the API, runs the `faultline` bin, and runs a plugin
 * system written against the package's types, loaded by path.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { compileBuildInto, repositoryBuildIsFresh } from "./fixtures/currentBuild.ts";

const repoRoot = new URL("..", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "faultline-package-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const versionOf = (pkg: string): string =>
  (
    JSON.parse(readFileSync(join(repoRoot, "node_modules", pkg, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;

/** Packs the package from a staging copy (so the test never rebuilds the repository's own dist/). */
async function pack(): Promise<{ tarball: string; files: string[] }> {
  const staging = join(work, "staging");
  mkdirSync(join(staging, "bin"), { recursive: true });
  for (const file of ["package.json", "README.md", "bin/faultline.js"])
    cpSync(join(repoRoot, file), join(staging, file));
  if (repositoryBuildIsFresh()) cpSync(join(repoRoot, "dist"), join(staging, "dist"), { recursive: true });
  else await compileBuildInto(join(staging, "dist"));
  const { stdout } = await execa("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
    cwd: staging,
  });
  const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  return { tarball: join(work, info!.filename), files: info!.files.map((f) => f.path) };
}

const consumerProgram = `import { checkHistory, HistoryWriter, readHistoryFile, type Op, type Results } from "faultline";

const ops: Op[] = [
  { index: 0, time: 0, process: 0, type: "invoke", f: "write", value: 1 },
  { index: 1, time: 10, process: 0, type: "ok", f: "write", value: 1 },
  { index: 2, time: 20, process: 1, type: "invoke", f: "read", value: null },
  { index: 3, time: 30, process: 1, type: "ok", f: "read", value: process.argv[2] === "stale" ? null : 1 },
];
const writer = HistoryWriter.open("history.jsonl");
for (const op of ops) writer.append(op);
writer.close();
const { ops: read } = await readHistoryFile("history.jsonl");
const results: Results = await checkHistory(read, { model: "cas-register" });
console.log("verdict", JSON.stringify(results.valid));
`;

const consumerPlugin = `import { defineSystem, worldNodeControl, type Completion, type Invocation } from "faultline";

/** A register kept in the harness's process: every operation atomic. */
export default defineSystem({
  name: "consumer-register",
  defaultNodes: 1,
  workloads: ["register"],
  build: () => {
    const registers = new Map<unknown, unknown>();
    return {
      name: "consumer-register",
      nodeNames: ["n1"],
      setup: async (world) => world.startNode("n1", () => undefined),
      openClient: async () => ({
        invoke: async ({ f, value }: Invocation): Promise<Completion> => {
          const [key, arg] = value as [unknown, unknown];
          const current = registers.has(key) ? registers.get(key) : null;
          if (f === "read") return { type: "ok", value: [key, current] };
          if (f === "write") {
            registers.set(key, arg);
            return { type: "ok", value };
          }
          const [from, to] = arg as [unknown, unknown];
          if (current !== from) return { type: "fail", value, error: "cas-mismatch" };
          registers.set(key, to);
          return { type: "ok", value };
        },
        close: async () => undefined,
      }),
      control: (world) => worldNodeControl(world, ["n1"]),
      teardown: async () => undefined,
    };
  },
});
`;

describe("the package", () => {
  it("packs without tests or benches, installs into an empty project, and works there: API, bin, plugin", async () => {
    const { tarball, files } = await pack();
    expect(files).toContain("bin/faultline.js");
    expect(files).toContain("dist/cli/api.js");
    expect(files).toContain("dist/cli/api.d.ts");
    expect(files).toContain("dist/vendor/zod.js"); // the compiled modules import zod from there
    expect(files).toContain("dist/bundle/main.js"); // what the bin runs
    expect(files).toContain("dist/bundle/api.js"); // what "faultline" imports
    expect(
      files.filter((f) => /\.test\.|\/fixtures?[/.]|testkit|testHistory|^bench\/|\.ts$(?<!\.d\.ts$)/.test(f)),
    ).toEqual([]);

    const consumer = join(work, "consumer");
    mkdirSync(consumer);
    writeFileSync(
      join(consumer, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
    writeFileSync(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          outDir: "out",
          types: ["node"],
          // The package's declarations, and those of the packages they import, are checked (a
          // declaration naming a package the user does not get fails here); TypeScript's own lib
          // files are not: they say nothing about faultline, and were a sixth of the check's CPU.
          // The declarations name no npm package's types now (zod's and execa's were 128 of the
          // check's 339 files and half its CPU: cli/runConfigSchema.ts, ManagedSubprocess).
          skipLibCheck: false,
          skipDefaultLibCheck: true,
        },
        include: ["check.ts"],
      }),
    );
    writeFileSync(join(consumer, "check.ts"), consumerProgram);
    writeFileSync(join(consumer, "my-db.ts"), consumerPlugin);
    await execa(
      "npm",
      [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        tarball,
        `typescript@${versionOf("typescript")}`,
        `@types/node@${versionOf("@types/node")}`,
      ],
      { cwd: consumer },
    );

    // A TypeScript program against the package's declarations, compiled with strict checking by the
    // TypeScript installed beside it (started directly: npx would only find the same file).
    const tsc = await execa(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "."], {
      cwd: consumer,
      reject: false,
    });
    expect(tsc.exitCode, tsc.stdout + tsc.stderr).toBe(0);
    const valid = await execa("node", ["out/check.js"], { cwd: consumer });
    expect(valid.stdout).toBe("verdict true");
    const stale = await execa("node", ["out/check.js", "stale"], { cwd: consumer });
    expect(stale.stdout).toBe("verdict false");

    // The bin, on the history the program wrote (through npx, as the README has it) and on a short
    // run. After the first, the bin is started by the link npm installed, which is the file npx
    // finds there: each npx start cost a third of a second of CPU, finding it again.
    const check = await execa("npx", ["faultline", "check", "history.jsonl", "--model", "cas-register"], {
      cwd: consumer,
      reject: false,
    });
    expect(check.exitCode, check.stderr).toBe(1); // the last history written was the stale one
    expect(check.stdout).toMatch(/^INVALID +history\.jsonl/);
    const installedBin = join(consumer, "node_modules", ".bin", "faultline");
    const run = await execa(
      installedBin,
      [
        "run",
        "--system",
        "./my-db.ts",
        "--workload",
        "register",
        "--time-limit",
        "2",
        "--seed",
        "3",
        "--quiet",
      ],
      { cwd: consumer, reject: false, env: { CI: "true" } },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^consumer-register-register-partition-crash: valid/m);
    expect(run.stdout).toContain("reproduce: npx faultline run --system ./my-db.ts --workload register");

    // The same plugin in a CommonJS package (npm init's default: no "type": "module"): tsx loads a
    // .ts file there as CommonJS, which cannot load faultline; the error said only "No "exports"
    // main defined in .../unicorn-magic/package.json". It now says what to do, and doing it works.
    const commonJs = join(consumer, "commonjs");
    mkdirSync(commonJs);
    writeFileSync(join(commonJs, "package.json"), JSON.stringify({ name: "commonjs", private: true }));
    writeFileSync(join(commonJs, "my-db.ts"), consumerPlugin);
    writeFileSync(join(commonJs, "my-db.mts"), consumerPlugin);
    const runIn = (plugin: string) =>
      execa(
        installedBin,
        ["run", "--system", plugin, "--workload", "register", "--time-limit", "1", "--quiet"],
        {
          cwd: commonJs,
          reject: false,
          env: { CI: "true" },
        },
      );
    const refused = await runIn("./my-db.ts");
    expect(refused.exitCode).toBe(254);
    expect(refused.stderr).toContain(
      'a .ts file of a package without "type": "module" in its package.json loads as CommonJS: name it .mts, or add "type": "module"',
    );
    const renamed = await runIn("./my-db.mts");
    expect(renamed.exitCode, renamed.stderr).toBe(0);
  }, 300_000);
});
