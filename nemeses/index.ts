/**
 * The nemesis packages `faultline run --nemesis a,b,…` can build, by name. A package is a nemesis
 * (what to do) and a generator (when to do it), built from the resolved run configuration.
 */
import type { Generator } from "../harness/generator/types.ts";
import type { Nemesis } from "../harness/nemesis.ts";
import type { BuildConfig } from "../cli/buildConfig.ts";

export interface NemesisPackage {
  readonly nemesis: Nemesis;
  readonly generator: Generator;
}

export const nemesisRegistry: Readonly<Record<string, (config: BuildConfig) => NemesisPackage>> = {};
