/**
 * The packet package: degrades the network instead of cutting it (Jepsen's packet package, tc
 * netem): extra latency, loss, duplication, reordering. `start-packet` takes the behaviours to
 * switch on (a random non-empty subset each window) and sets the world's link faults; `stop-packet`
 * clears them. Link faults act on every link at once, between nodes and between clients and nodes
 * (the runtime has no per-link faults), so a completion records the faults set and every node:
 * `{ behaviours, faults, nodes }`, `{ faults: {}, nodes }`.
 */
import type { Generator } from "../harness/generator/types.ts";
import type { Nemesis, NemesisContext } from "../harness/nemesis.ts";
import type { LinkFaults } from "../harness/runtime/types.ts";
import type { Completion, Invocation } from "../harness/system.ts";
import type { NemesisPackage, PackageConfig } from "./package.ts";
import { faultSchedule, firstStartNs, keptWindows } from "./schedule.ts";
import { nodeNames } from "./targets.ts";

export const packetBehaviours = ["latency", "loss", "duplication", "reordering"] as const;
export type PacketBehaviour = (typeof packetBehaviours)[number];

/** How hard each behaviour hits (Jepsen's netem defaults: 50 ms delay, 20% loss and so on). */
export interface PacketSeverity {
  readonly extraLatencyNs: number;
  readonly lossProbability: number;
  readonly duplicateProbability: number;
  readonly reorderProbability: number;
}

export const defaultPacketSeverity: PacketSeverity = {
  extraLatencyNs: 50_000_000,
  lossProbability: 0.2,
  duplicateProbability: 0.2,
  reorderProbability: 0.2,
};

function isBehaviourList(x: unknown): x is PacketBehaviour[] {
  return (
    Array.isArray(x) &&
    x.length > 0 &&
    x.every((b) => typeof b === "string" && (packetBehaviours as readonly string[]).includes(b))
  );
}

export function linkFaultsFor(behaviours: readonly PacketBehaviour[], severity: PacketSeverity): LinkFaults {
  const on = new Set(behaviours);
  return {
    ...(on.has("latency") ? { extraLatencyNs: severity.extraLatencyNs } : {}),
    ...(on.has("loss") ? { lossProbability: severity.lossProbability } : {}),
    ...(on.has("duplication") ? { duplicateProbability: severity.duplicateProbability } : {}),
    ...(on.has("reordering") ? { reorderProbability: severity.reorderProbability } : {}),
  };
}

export function packetNemesis(severity: PacketSeverity = defaultPacketSeverity): Nemesis {
  return {
    name: "packet",
    fs: ["start-packet", "stop-packet"],
    async invoke(invocation: Invocation, context: NemesisContext): Promise<Completion> {
      const nodes = nodeNames(context.control).sort();
      if (invocation.f === "stop-packet") {
        context.control.setLinkFaults({});
        return { type: "info", value: { faults: {}, nodes } };
      }
      if (invocation.f !== "start-packet") {
        return { type: "fail", value: invocation.value, error: `packet does not handle "${invocation.f}"` };
      }
      const behaviours = invocation.value;
      if (!isBehaviourList(behaviours)) {
        return {
          type: "fail",
          value: invocation.value,
          error: `start-packet needs a non-empty list of ${packetBehaviours.join(", ")}`,
        };
      }
      const faults = linkFaultsFor(behaviours, severity);
      context.control.setLinkFaults(faults);
      return { type: "info", value: { behaviours: [...new Set(behaviours)].sort(), faults, nodes } };
    },
    healInvocations: () => [{ f: "stop-packet", value: null }],
  };
}

export interface PacketScheduleOptions {
  readonly intervalNs: number;
  readonly firstStartNs: number;
  /** Behaviours to draw subsets from; default all four. */
  readonly behaviours?: readonly PacketBehaviour[];
  readonly maxWindows?: number;
  /** Only these window numbers are applied (see faultSchedule). */
  readonly keep?: readonly number[];
}

export function packetGenerator(options: PacketScheduleOptions): Generator {
  const pool = options.behaviours ?? packetBehaviours;
  if (pool.length === 0) throw new RangeError("packetGenerator needs at least one behaviour");
  return faultSchedule({
    intervalNs: options.intervalNs,
    firstStartNs: options.firstStartNs,
    plan: (context) => {
      // A random non-empty subset: a random size, then that many from a shuffle, in a fixed order.
      const size = context.random.intBetween(1, pool.length);
      const chosen = new Set(context.random.shuffle(pool).slice(0, size));
      return { start: { f: "start-packet", value: pool.filter((b) => chosen.has(b)) } };
    },
    stop: { f: "stop-packet" },
    ...(options.maxWindows !== undefined ? { maxWindows: options.maxWindows } : {}),
    ...(options.keep !== undefined ? { keep: options.keep } : {}),
  });
}

export function packetPackage(
  config: PackageConfig,
  behaviours?: readonly PacketBehaviour[],
): NemesisPackage {
  return {
    nemesis: packetNemesis(),
    generator: packetGenerator({
      intervalNs: config.nemesisIntervalNs,
      firstStartNs: firstStartNs(config.seed, "packet", config.nemesisIntervalNs),
      ...keptWindows(config, "packet"),
      ...(behaviours !== undefined ? { behaviours } : {}),
    }),
  };
}
