/**
 * A nemesis package: a nemesis (what to do) and a generator (when to do it), built from the two
 * settings every package reads: the seed and `--nemesis-interval`. `BuildConfig` satisfies
 * `PackageConfig`, so the registry passes the resolved run configuration straight through.
 */
import type { Generator } from "../harness/generator/types.ts";
import type { Nemesis } from "../harness/nemesis.ts";

export interface NemesisPackage {
  readonly nemesis: Nemesis;
  readonly generator: Generator;
}

export interface PackageConfig {
  readonly seed: number;
  /** Mean length of a fault window and of the quiet gap after it, ns. */
  readonly nemesisIntervalNs: number;
  /** `--nemesis-windows`: the window numbers each package applies (absent: every window). */
  readonly nemesisWindows?: Readonly<Record<string, readonly number[]>>;
}
