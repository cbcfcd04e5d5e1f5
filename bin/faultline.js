#!/usr/bin/env -S node --max-semi-space-size=32
// The installed entry point: loads the TypeScript CLI through tsx, so `npx faultline` works
// straight after `npm ci` with no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
