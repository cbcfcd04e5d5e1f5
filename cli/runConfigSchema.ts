/**
 * The rules of `faultline run`'s common options, as a zod schema: each option's type, bounds and
 * default (runConfig.ts resolves a run with it; suite files and stored runs check a value against
 * one option's rule). A module of its own so that the package's declarations name no zod type:
 * the API's types reach runConfig.ts (`RunConfig`), not this, so a user's type check of faultline
 * never loads zod's declarations (cli/package.test.ts checks them all, with skipLibCheck off).
 */
import { z } from "zod";
import { decimalNumber, wholeNumber } from "./options.ts";
import { nemesisNames, systemNames, workloadNames } from "./registry.ts";

const positiveInt = (what: string, max: number) => wholeNumber(what, { min: 1, max });

/**
 * The least `--time-limit`: a millisecond. Less was taken down to 1e-300 s, which is no time in
 * the simulation's nanoseconds (the run checked nothing and the reproduce command said 1e-300).
 */
export const timeLimitMinS = 0.001;

/**
 * The least `--rate`: an operation every 1,000 s. Below about 1e-299 the mean gap between
 * operations (1e9 / rate ns) is Infinity, and the workload's generator refused it with a stack
 * trace (an internal error, exit 255) after the options were taken.
 */
export const rateMinPerS = 0.001;

/**
 * The least `--nemesis-interval`: faults closer than this would leave the system no time to do
 * anything between them, and a run of any length would be made of nothing but faults.
 */
export const nemesisIntervalMinS = 0.01;

/**
 * What `faultline run` with no options runs: the first system of the registry (the replicated
 * engine), quorum replication, serializable, list append checked by Elle, under partitions and
 * crashes, for 30 simulated seconds. A correct engine passes it in a few seconds of real time.
 */
export const defaultWorkload = workloadNames.includes("append") ? "append" : workloadNames[0];
export const defaultNemesis =
  nemesisNames.includes("partition") && nemesisNames.includes("crash") ? "partition,crash" : "none";

/**
 * A name that becomes one folder under the store (a test's, a gate's): "." and ".." name none of
 * their own. Before, `--name ..` (or a suite row or suite named so) put its run folders beside the
 * store, outside it, and "." put them among the store's test folders.
 */
export function namesAFolderOfItsOwn(name: string): boolean {
  return name !== "." && name !== "..";
}
export const notAFolderOfItsOwn = `"." and ".." are no folder of their own under the store; use another name`;

/** The common options, validated; `system` and `workload` are names or plugin paths. */
export const runConfigSchema = z
  .object({
    system: z.string().min(1).default(systemNames[0]!),
    workload: z.string().min(1).default(defaultWorkload),
    nemesis: z
      .string()
      .default(defaultNemesis)
      .refine((s) => s.trim() !== "", { error: 'is empty; write "none" to run without faults' })
      .transform((s) => (s === "none" ? [] : s.split(",").map((x) => x.trim())))
      .pipe(
        z.array(
          z.enum(nemesisNames, {
            error: `expected "none" or a comma-separated list of: ${nemesisNames.join(", ")}`,
          }),
        ),
      )
      .refine((list) => new Set(list).size === list.length, { error: "names a package twice" })
      .refine((list) => !list.includes("all") || list.length === 1, {
        error: '"all" already holds every package; give it alone',
      }),
    "nemesis-interval": decimalNumber("a number of seconds", { min: nemesisIntervalMinS, max: 3600 }).default(
      5,
    ),
    "nemesis-windows": z.string().min(1).optional(),
    nodes: positiveInt("a node count", 64).optional(),
    keys: positiveInt("a key count", 100_000).optional(),
    concurrency: positiveInt("a worker count", 1024).default(10),
    "time-limit": decimalNumber("a number of seconds", { min: timeLimitMinS, max: 86_400 }).default(30),
    rate: decimalNumber("operations per second", { min: rateMinPerS, max: 1e6 }).default(100),
    seed: wholeNumber("a seed", { min: 0, max: Number.MAX_SAFE_INTEGER }).optional(),
    mode: z.enum(["sim", "process"]).optional(),
    store: z.string().min(1).default("store"),
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, { error: "may hold only letters, digits, '.', '_' and '-'" })
      .refine(namesAFolderOfItsOwn, { error: notAFolderOfItsOwn })
      .optional(),
    model: z.string().min(1).optional(),
    quiet: z.boolean().default(false),
    "dry-run": z.boolean().default(false),
  })
  .strict();
