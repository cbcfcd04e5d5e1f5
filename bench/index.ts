/**
 * `npm run bench`: runs every `bench/*.bench.ts` module in name order (or only those whose name
 * contains one of the arguments) and lets each print its own figures. Each module exports
 * `run(): Promise<void>`. Benchmarks print figures; they never fail on a time threshold.
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

for (const file of files) {
  console.log(`\n## ${file.replace(/\.bench\.ts$/, "")}\n`);
  const module = (await import(pathToFileURL(join(here, file)).href)) as { run: () => Promise<void> };
  await module.run();
}
