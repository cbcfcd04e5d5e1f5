/**
 * The nemesis packages `faultline run --nemesis a,b,…` can build, by name. A package is a nemesis
 * (what to do) and a generator (when to do it), built from the resolved run configuration (the
 * seed and `--nemesis-interval`). `all` is every package at once, composed as the CLI composes a
 * list (its nemeses by `f`, its generators with `any`), so `--nemesis all` cannot be combined with
 * a package it already holds.
 */
import { any } from "../harness/generator/index.ts";
import { composeNemeses } from "../harness/nemesis.ts";
import type { BuildConfig } from "../harness/testConfig.ts";
import { clockPackage } from "./clock.ts";
import { crashPackage } from "./crash.ts";
import { crashLoopPackage } from "./crashLoop.ts";
import { diskPackage } from "./disk.ts";
import type { NemesisPackage, PackageConfig } from "./package.ts";
import { packetPackage } from "./packet.ts";
import { partitionPackage } from "./partition.ts";
import { pausePackage } from "./pause.ts";
import { skewedWriterPackage } from "./skewedWriter.ts";
import { storageCutPackage } from "./storageCut.ts";

export type { NemesisPackage, PackageConfig } from "./package.ts";

const packages = {
  partition: (c: PackageConfig) => partitionPackage(c),
  crash: (c: PackageConfig) => crashPackage(c),
  pause: (c: PackageConfig) => pausePackage(c),
  clock: (c: PackageConfig) => clockPackage(c),
  packet: (c: PackageConfig) => packetPackage(c),
};

/** The packages a `--nemesis` list composes, `all` expanded into its own. */
export function expandNemesisPackages(names: readonly string[]): string[] {
  return names.flatMap((n) => (n === "all" ? Object.keys(packages) : [n]));
}

export function allPackage(config: PackageConfig): NemesisPackage {
  const parts = Object.values(packages).map((build) => build(config));
  return {
    nemesis: { ...composeNemeses(parts.map((p) => p.nemesis)), name: "all" },
    generator: any(...parts.map((p) => p.generator)),
  };
}

/**
 * Targeted packages: each a narrow schedule aimed at one weak spot of a replicated writer, not
 * random background faults, so they are named on their own and not part of `all`.
 * `partition-writer` cuts the writer off from every other node in every window (partition.ts).
 * `disk` (fsync errors, a full disk, rot at rest, each on one node; disk.ts) is named on its own
 * too, and so is each kind of its faults: `disk-fsync`, `disk-full`, `disk-rot`.
 */
const targeted = {
  disk: (c: PackageConfig) => diskPackage(c),
  "disk-fsync": (c: PackageConfig) =>
    diskPackage(c, "disk-fsync", ["fsync-eio", "fsync-eio-always", "fsync-eio-pages"]),
  "disk-full": (c: PackageConfig) => diskPackage(c, "disk-full", ["disk-full"]),
  "disk-rot": (c: PackageConfig) => diskPackage(c, "disk-rot", ["corrupt-page", "corrupt-log"]),
  "partition-writer": (c: PackageConfig) => partitionPackage(c, ["writer"], "partition-writer"),
  "storage-cut": (c: PackageConfig) => storageCutPackage(c),
  "skewed-writer": (c: PackageConfig) => skewedWriterPackage(c),
  "crash-loop": (c: PackageConfig) => crashLoopPackage(c),
};

export const nemesisRegistry: Readonly<Record<string, (config: BuildConfig) => NemesisPackage>> = {
  ...packages,
  all: allPackage,
  ...targeted,
};
