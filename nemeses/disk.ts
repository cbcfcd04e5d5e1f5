/**
 * The disk package: faults of one node's storage at a time (DESIGN.md's disk nemesis). Each window
 * opens with `start-disk FAULT` (`start-disk-fsync` etc. for the packages of one kind) on a node that keeps data on disk (never the control plane):
 *
 * - `fsync-eio`: its next fsync fails with EIO, and the writes that fsync covered are gone;
 * - `fsync-eio-always`: every fsync fails so, until the window closes;
 * - `fsync-eio-pages`: every fsync of its page file fails so (a bad region under the data file,
 *   PostgreSQL's "fsyncgate"), until the window closes;
 * - `disk-full`: every write that needs space fails with ENOSPC, until the window closes;
 * - `corrupt-page` / `corrupt-log`: a byte of one of its pages / log records is flipped at rest.
 *
 * `stop-disk` heals the node, and after a fault whose damage shows only when the node reads its
 * disk afresh (a lost fsync, rot at rest) it power-cycles it (crash, restart), so that recovery
 * meets the damage. A full disk is not power-cycled: the node must recover by itself when space
 * returns. Completions record the fault, the node, the file and byte for rot, and the nodes healed
 * and restarted; the world writes each fault, and each I/O error it causes, in the node's log.
 */
import type { Generator } from "../harness/generator/types.ts";
import type { Nemesis, NemesisContext } from "../harness/nemesis.ts";
import type { DiskFaults } from "../harness/runtime/types.ts";
import type { Completion, DiskData, Invocation, NodeControl } from "../harness/system.ts";
import type { NemesisPackage, PackageConfig } from "./package.ts";
import { firstStartNs, keptWindows, pickingSchedule } from "./schedule.ts";

export const diskFaults = [
  "fsync-eio",
  "fsync-eio-always",
  "fsync-eio-pages",
  "disk-full",
  "corrupt-page",
  "corrupt-log",
] as const;
export type DiskFault = (typeof diskFaults)[number];

function isDiskFault(x: unknown): x is DiskFault {
  return typeof x === "string" && (diskFaults as readonly string[]).includes(x);
}

const faultSettings: Partial<Record<DiskFault, DiskFaults>> = {
  "fsync-eio": { fsyncFails: "once" },
  "fsync-eio-always": { fsyncFails: "always" },
  "disk-full": { full: true },
};

const rotted: Partial<Record<DiskFault, DiskData>> = { "corrupt-page": "page", "corrupt-log": "log" };

/** Nodes a disk fault may hit: every node but the control plane. */
function diskNodes(control: NodeControl): string[] {
  return control
    .nodes()
    .filter((n) => n.role !== "control")
    .map((n) => n.name);
}

/** The disk nemesis under a package name (`disk`, `disk-fsync`, …): its ops are `start-NAME` and `stop-NAME`. */
export function diskNemesis(name = "disk"): Nemesis {
  /** Faulted nodes not yet healed, and whether each must be power-cycled when healed. */
  const faulted = new Map<string, boolean>();
  const start = `start-${name}`;
  const stop = `stop-${name}`;
  return {
    name,
    fs: [start, stop],
    async invoke(invocation: Invocation, context: NemesisContext): Promise<Completion> {
      const { control } = context;
      if (invocation.f === stop) {
        const nodes = [...faulted.keys()].sort();
        const restarted = nodes.filter((n) => faulted.get(n) === true);
        for (const node of nodes) control.setDiskFaults?.(node, {});
        for (const node of restarted) control.crash(node);
        for (const node of restarted) control.restart(node);
        faulted.clear();
        return { type: "info", value: { nodes, restarted } };
      }
      const fault = invocation.value;
      if (invocation.f !== start || !isDiskFault(fault)) {
        return {
          type: "fail",
          value: invocation.value,
          error: `${name} handles ${start} (one of ${diskFaults.join(", ")}) and ${stop}`,
        };
      }
      const candidates = diskNodes(control).filter((n) => !faulted.has(n));
      if (candidates.length === 0)
        return { type: "fail", value: fault, error: "no-target: no node keeps a disk" };
      const node = context.random.pick(candidates);
      let settings = faultSettings[fault];
      if (fault === "fsync-eio-pages") {
        const file = control.diskFileOf?.(node, "page");
        if (file === undefined)
          return { type: "fail", value: fault, error: `no-target: ${node} keeps no pages on disk` };
        settings = { fsyncFails: "always", fsyncFailsFiles: [file] };
      }
      if (settings !== undefined) {
        if (control.setDiskFaults === undefined) {
          return { type: "fail", value: fault, error: "unsupported: this system has no disk faults" };
        }
        control.setDiskFaults(node, settings);
        faulted.set(node, fault !== "disk-full");
        const files = settings.fsyncFailsFiles;
        return {
          type: "info",
          value: files === undefined ? { fault, node } : { fault, node, file: files[0] },
        };
      }
      const what = rotted[fault]!;
      if (control.corruptAtRest === undefined) {
        return { type: "fail", value: fault, error: "unsupported: this system cannot rot its disks" };
      }
      const at = control.corruptAtRest(node, what);
      if (at === undefined)
        return { type: "fail", value: fault, error: `no-target: ${node} keeps no ${what} on disk` };
      faulted.set(node, true);
      return { type: "info", value: { fault, node, file: at.file, offsetBytes: at.offsetBytes } };
    },
    healInvocations: () => [{ f: stop, value: null }],
  };
}

export function diskGenerator(options: {
  /** The package name its ops carry (default `disk`). */
  readonly name?: string;
  readonly intervalNs: number;
  readonly firstStartNs: number;
  readonly faults?: readonly DiskFault[];
  readonly maxWindows?: number;
  /** Only these windows (1-based, `--nemesis-windows`). */
  readonly keep?: readonly number[];
}): Generator {
  const { name = "disk", faults = diskFaults, ...schedule } = options;
  return pickingSchedule({ name, choices: faults, choiceName: "fault", ...schedule });
}

/** A disk package named `name` (its ops and its `--nemesis-windows` key), drawing from `faults`. */
export function diskPackage(
  config: PackageConfig,
  name = "disk",
  faults?: readonly DiskFault[],
): NemesisPackage {
  return {
    nemesis: diskNemesis(name),
    generator: diskGenerator({
      name,
      intervalNs: config.nemesisIntervalNs,
      firstStartNs: firstStartNs(config.seed, "disk", config.nemesisIntervalNs),
      ...keptWindows(config, name),
      ...(faults !== undefined ? { faults } : {}),
    }),
  };
}
