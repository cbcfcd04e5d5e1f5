/**
 * The storage-cut package: the writer loses the network to its storage tier and crashes around
 * the time that happens. Random partitions and random crashes rarely line up this way, yet it is
 * the schedule under which a replicated log's durability bookkeeping is tested hardest: records
 * the writer shipped into the cut exist on the writer (and maybe its read replicas) but on no
 * storage replica, and a crash at the wrong moment leaves recovery only the storage tier to go by.
 * Real systems meet it as a storage-network (VLAN, security group, NIC) failure on the writer's
 * host, followed by the writer dying, or as a flapping link whose reconnection the writer does
 * not survive.
 *
 * The *storage tier* is every node whose role is `storage` (Aurora's storage replicas) or, on a
 * system without any, every `standby`; nodes of other roles (read replicas, the control plane) are
 * never cut by the `storage` variant. The writer is `control.writer()` when the window opens; a
 * system that names none gets no fault (`fail`, no-target). Each window is one variant:
 *
 * - `storage`: cut the writer off from its storage tier (both directions); it still reaches its
 *   read replicas and the control plane, so it keeps running transactions, shipping them to the
 *   replicas, and nobody fails it over. `crash-writer` kills it partway through the window, still
 *   cut; the cut and the crash stay until the window closes.
 * - `flap`: isolate the writer from every node for a moment (5–40 ms), then `reconnect-storage`
 *   heals its storage links only (its links to other nodes come back at the window's end: links
 *   heal one by one), and `crash-writer` kills it 1–30 ms later, while it catches up. The ranges
 *   are short on purpose: a short flap leaves clients with free workers whose new commits go out
 *   as soon as the link is back, and the crash lands before the writer has noticed what it shipped
 *   into the cut and resent it (writers resend after some timeout; tens of ms is typical).
 *
 * `stop-storage-cut` restarts the writer it crashed and heals the network. Clients are never cut.
 * Completions record what was done: `{ variant, writer, cut, grudge }`, `{ reconnected, grudge }`,
 * `{ nodes: [writer] }`, `{ restarted, healed }`. The package sets the whole grudge (the world's
 * grudge is not cumulative), so composed with `partition` a start of either replaces the other's.
 */
import type { Generator } from "../harness/generator/types.ts";
import type { GenContext } from "../harness/generator/index.ts";
import type { Nemesis, NemesisContext } from "../harness/nemesis.ts";
import type { Completion, Invocation, NodeControl } from "../harness/system.ts";
import type { NemesisPackage, PackageConfig } from "./package.ts";
import { faultSchedule, firstStartNs, keptWindows, type WindowPlan } from "./schedule.ts";
import { grudgeToMap, normalise, type GrudgeRecord } from "./shapes.ts";
import { nodeNames } from "./targets.ts";

export const storageCutVariants = ["storage", "flap"] as const;
export type StorageCutVariant = (typeof storageCutVariants)[number];

const msNs = 1_000_000;

/**
 * The timing of a window, as ranges the generator draws from uniformly (ns after the window opens
 * or after the previous step). Exported so tests and the report can state them.
 */
export const storageCutTiming = {
  /** `storage`: the crash comes this fraction of the window after the cut (reads need time to see it). */
  storageCrashFraction: { min: 0.3, max: 0.8 },
  /** `flap`: how long the writer is isolated from everyone before its storage links come back. */
  flapIsolatedNs: { min: 5 * msNs, max: 40 * msNs },
  /** `flap`: how long after the storage links come back the writer crashes. */
  flapCrashAfterNs: { min: 1 * msNs, max: 30 * msNs },
} as const;

export interface StorageCutDone {
  readonly variant: StorageCutVariant;
  readonly writer: string;
  /** The nodes the writer was cut from (sorted). */
  readonly cut: string[];
  readonly grudge: GrudgeRecord;
}

function isVariant(x: unknown): x is StorageCutVariant {
  return typeof x === "string" && (storageCutVariants as readonly string[]).includes(x);
}

/** The writer's storage tier: role `storage`, or `standby` when the system has no storage role. */
export function storageTier(control: NodeControl, writer: string): string[] {
  const nodes = control.nodes().filter((n) => n.name !== writer);
  const storage = nodes.filter((n) => n.role === "storage");
  const tier = storage.length > 0 ? storage : nodes.filter((n) => n.role === "standby");
  return tier.map((n) => n.name).sort();
}

/** The writer drops everything from `others` and every one of `others` drops the writer. */
export function isolationGrudge(writer: string, others: readonly string[]): GrudgeRecord {
  const grudge: Record<string, string[]> = {};
  if (others.length === 0) return {};
  grudge[writer] = [...others];
  for (const node of others) grudge[node] = [writer];
  return normalise(grudge);
}

const fail = (invocation: Invocation, error: string): Completion => ({
  type: "fail",
  value: invocation.value,
  error,
});

export function storageCutNemesis(): Nemesis {
  /** The window in force: who the writer is, whom it is cut from now, whether it was crashed. */
  let active: { writer: string; variant: StorageCutVariant; cut: string[]; tier: string[] } | undefined;
  let crashed: string[] = [];
  /** Every node some grudge of this nemesis named since the last heal (for the heal's record). */
  let touched = new Set<string>();

  const start = (invocation: Invocation, context: NemesisContext): Completion => {
    const variant = invocation.value;
    if (!isVariant(variant)) {
      return fail(
        invocation,
        `start-storage-cut needs one of ${storageCutVariants.join(", ")}, got ${JSON.stringify(variant)}`,
      );
    }
    const { control } = context;
    const writer = control.writer()?.node;
    if (writer === undefined || !nodeNames(control).includes(writer)) {
      return fail(invocation, "no-target: the system names no writer now");
    }
    const tier = storageTier(control, writer);
    if (tier.length === 0) return fail(invocation, `no-target: ${writer} has no storage or standby nodes`);
    const cut = variant === "storage" ? tier : nodeNames(control).filter((n) => n !== writer);
    const grudge = isolationGrudge(writer, cut);
    control.setGrudge(grudgeToMap(grudge));
    active = { writer, variant, cut: cut.slice().sort(), tier };
    for (const n of [writer, ...cut]) touched.add(n);
    const done: StorageCutDone = { variant, writer, cut: active.cut, grudge };
    return { type: "info", value: done };
  };

  return {
    name: "storage-cut",
    fs: ["start-storage-cut", "reconnect-storage", "crash-writer", "stop-storage-cut"],
    async invoke(invocation: Invocation, context: NemesisContext): Promise<Completion> {
      const { control } = context;
      switch (invocation.f) {
        case "start-storage-cut":
          if (active !== undefined) return fail(invocation, `a window on ${active.writer} is in force`);
          return start(invocation, context);
        case "reconnect-storage": {
          if (active === undefined) return fail(invocation, "no-target: no storage cut in force");
          const tier = new Set(active.tier);
          const reconnected = active.cut.filter((n) => tier.has(n));
          active = { ...active, cut: active.cut.filter((n) => !tier.has(n)) };
          const grudge = isolationGrudge(active.writer, active.cut);
          control.setGrudge(grudgeToMap(grudge));
          return { type: "info", value: { reconnected, grudge } };
        }
        case "crash-writer": {
          if (active === undefined) return fail(invocation, "no-target: no storage cut in force");
          if (crashed.includes(active.writer)) return fail(invocation, `${active.writer} is already down`);
          control.crash(active.writer);
          crashed.push(active.writer);
          return { type: "info", value: { nodes: [active.writer] } };
        }
        case "stop-storage-cut": {
          const restarted = crashed.slice().sort();
          for (const node of restarted) control.restart(node);
          control.heal();
          const healed = [...touched].sort();
          crashed = [];
          touched = new Set();
          active = undefined;
          return { type: "info", value: { restarted, healed } };
        }
        default:
          return fail(invocation, `storage-cut does not handle "${invocation.f}"`);
      }
    },
    healInvocations: () => [{ f: "stop-storage-cut", value: null }],
  };
}

/** A whole number of ns drawn uniformly from [min, max]. */
function drawNs(context: GenContext, range: { readonly min: number; readonly max: number }): number {
  return Math.floor(range.min + (range.max - range.min) * context.random.float());
}

/** One window's plan: the variant's start and its timed reconnect and crash. */
export function planStorageCut(
  variant: StorageCutVariant,
  context: GenContext,
  windowNs: number,
): WindowPlan {
  const start = { f: "start-storage-cut", value: variant };
  const t = storageCutTiming;
  if (variant === "storage") {
    const fraction =
      t.storageCrashFraction.min +
      (t.storageCrashFraction.max - t.storageCrashFraction.min) * context.random.float();
    return {
      start,
      during: [{ afterNs: Math.max(1, Math.floor(windowNs * fraction)), spec: { f: "crash-writer" } }],
    };
  }
  const isolatedNs = drawNs(context, t.flapIsolatedNs);
  const crashNs = isolatedNs + drawNs(context, t.flapCrashAfterNs);
  return {
    start,
    during: [
      { afterNs: isolatedNs, spec: { f: "reconnect-storage" } },
      { afterNs: crashNs, spec: { f: "crash-writer" } },
    ],
  };
}

export interface StorageCutScheduleOptions {
  readonly intervalNs: number;
  readonly firstStartNs: number;
  /** Variants to draw from, one per window; default both. */
  readonly variants?: readonly StorageCutVariant[];
  readonly maxWindows?: number;
  /** Only these window numbers are applied (see faultSchedule). */
  readonly keep?: readonly number[];
}

export function storageCutGenerator(options: StorageCutScheduleOptions): Generator {
  const variants = options.variants ?? storageCutVariants;
  if (variants.length === 0) throw new RangeError("storageCutGenerator needs at least one variant");
  return faultSchedule({
    intervalNs: options.intervalNs,
    firstStartNs: options.firstStartNs,
    plan: (context, windowNs) => planStorageCut(context.random.pick(variants), context, windowNs),
    stop: { f: "stop-storage-cut" },
    ...(options.maxWindows !== undefined ? { maxWindows: options.maxWindows } : {}),
    ...(options.keep !== undefined ? { keep: options.keep } : {}),
  });
}

export function storageCutPackage(
  config: PackageConfig,
  variants?: readonly StorageCutVariant[],
): NemesisPackage {
  return {
    nemesis: storageCutNemesis(),
    generator: storageCutGenerator({
      intervalNs: config.nemesisIntervalNs,
      firstStartNs: firstStartNs(config.seed, "storage-cut", config.nemesisIntervalNs),
      ...keptWindows(config, "storage-cut"),
      ...(variants !== undefined ? { variants } : {}),
    }),
  };
}
