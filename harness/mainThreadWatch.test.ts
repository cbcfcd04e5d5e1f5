/**
 * Which held loops are Node loading modules (harness/mainThreadWatch.ts `isLoadingModules`): the
 * stacks below were seen when a TypeScript plugin or model was compiled on the main thread (Node 22
 * and later) and stopped as stuck; the others are code that loops. The whole watch, run as a user
 * runs the bin, is in cli/stuckPlugin.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isLoadingModules } from "./mainThreadWatch.ts";

describe("isLoadingModules", () => {
  it.each([
    [
      "Node's module resolution, under tsx's hooks",
      [
        "validateResolve (node:internal/modules/customization_hooks:220:25)",
        "nextStep (node:internal/modules/customization_hooks:194:14)",
        "resolveWithHooks (node:internal/modules/customization_hooks:417:10)",
      ],
    ],
    [
      "esbuild compiling for tsx, waiting on its service",
      [
        "Atomics.wait (<anonymous>)",
        "runCallSync (/w/node_modules/esbuild/lib/main.js:2434:26)",
        "Object.transformSync (/w/node_modules/esbuild/lib/main.js:2451:14)",
      ],
    ],
    [
      "tsx setting itself up, in Node's own code",
      [
        "serializeUUID (node:internal/crypto/random:424:23)",
        "Object.randomUUID (node:internal/crypto/random:476:54)",
        "tsImport (file:///w/node_modules/tsx/dist/esm/api/index.mjs:2:794)",
      ],
    ],
    ["tsx mapping sources", ["encode (file:///w/node_modules/tsx/dist/index-DE3OBZuV.mjs:13:11803)"]],
  ])("%s is loading", (_, frames) => {
    expect(isLoadingModules(frames)).toBe(true);
  });

  it.each([
    [
      "a plugin client's loop",
      [
        "spinForGood (/w/cli/fixtures/plugins/flaky-register.ts:40:9)",
        "step (file:///w/dist/bundle/chunk-A.js:1:1)",
      ],
    ],
    [
      "a module's top level that loops",
      [
        "file:///w/cli/fixtures/plugins/loops-on-load.mjs:2:3",
        "ModuleJob.run (node:internal/modules/esm/module_job:271:25)",
      ],
    ],
    [
      "a loop reading files in a model",
      [
        "readFileSync (node:fs:441:20)",
        "step (/tmp/model.ts:4:7)",
        "Module._compile (node:internal/modules/cjs/loader:1968:14)",
      ],
    ],
    ["faultline's own code", ["runSimulation (file:///w/dist/bundle/chunk-B.js:9:9)"]],
    ["no frames at all", []],
  ])("%s is not", (_, frames) => {
    expect(isLoadingModules(frames)).toBe(false);
  });

  it("property: code of the module's own before the loader's frames is never loading", () => {
    const nodeFrame = fc.constantFrom(
      "Atomics.wait (<anonymous>)",
      "readFileSync (node:fs:441:20)",
      "Array.push (<anonymous>)",
    );
    const loaderFrame = fc.constantFrom(
      "resolveWithHooks (node:internal/modules/customization_hooks:417:10)",
      "runCallSync (/w/node_modules/esbuild/lib/main.js:2434:26)",
      "load (file:///w/node_modules/tsx/dist/esm/index.mjs:2:1)",
    );
    const ownFrame = fc
      .tuple(
        fc.constantFrom("step", "loop", "<anonymous>"),
        fc.constantFrom("/home/u/plugin.ts", "file:///p/model.mjs", "/w/dist/bundle/chunk-C.js"),
      )
      .map(([name, file]) => `${name} (${file}:3:5)`);
    fc.assert(
      fc.property(
        fc.array(nodeFrame, { maxLength: 4 }),
        ownFrame,
        fc.array(fc.oneof(loaderFrame, nodeFrame, ownFrame), { maxLength: 6 }),
        (inner, own, outer) => {
          expect(isLoadingModules([...inner, own, ...outer])).toBe(false);
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.array(nodeFrame, { maxLength: 4 }),
        loaderFrame,
        fc.array(fc.oneof(loaderFrame, nodeFrame, ownFrame), { maxLength: 6 }),
        (inner, loader, outer) => {
          expect(isLoadingModules([...inner, loader, ...outer])).toBe(true);
        },
      ),
    );
  });
});
