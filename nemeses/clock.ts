/**
 * The clock package: skews the wall clocks of nodes (Jepsen's bump, strobe and reset, plus drift).
 * Each window is one `start-clock` with `{ kind, target }`, for strobe a few `strobe-clock` ticks,
 * then `stop-clock`, which resets every clock the nemesis touched.
 *
 * - bump: each chosen node's wall clock jumps to true time ± 2^k ms (k in 0…16: 1 ms to 65 s).
 * - strobe: each chosen node's clock jumps ± 2^k ms (k in 4…10: 16 ms to 1 s); every tick flips it
 *   between that and true time, so it keeps leaping forwards and back.
 * - drift: each chosen node's clock runs fast or slow by 100 to 100 000 ppm.
 * - reset (`stop-clock`): drift 0, and the wall clock reads true time again.
 *
 * Bookkeeping: a node's wall clock is its monotonic clock plus an offset, and the monotonic clock
 * runs at the drifted rate (runtime/types.ts). So the offset that puts the wall clock `deviationNs`
 * from true time is `deviationNs − skew`, where `skew` is how far drift has carried the monotonic
 * clock; the nemesis integrates every drift it set to know it (it assumes it is the only one to set
 * clocks, and that clocks start true). After a drift the monotonic clock stays ahead or behind, as a
 * real fast crystal's would; a reset corrects the wall clock only, so the node's offset after a reset
 * may be non-zero while its wall clock reads true time.
 *
 * Completions record exactly what was set, per node: `{ kind, target, nodes, deviationsNs,
 * offsetsNs }` for bump, strobe and each tick (deviation = wall − true time just after), `driftPpm`
 * for drift, and `{ nodes, offsetsNs, driftPpm }` for a reset.
 */
import type { Generator } from "../harness/generator/types.ts";
import type { Nemesis, NemesisContext } from "../harness/nemesis.ts";
import type { Random } from "../harness/runtime/random.ts";
import type { Completion, Invocation } from "../harness/system.ts";
import type { NemesisPackage, PackageConfig } from "./package.ts";
import { faultSchedule, firstStartNs, keptWindows } from "./schedule.ts";
import { chooseNodes, isNodeTarget, nodeTargets, type NodeTarget } from "./targets.ts";

export const clockKinds = ["bump", "strobe", "drift"] as const;
export type ClockKind = (typeof clockKinds)[number];
export const clockTargets: readonly NodeTarget[] = ["one", "minority", "majority", "writer", "all"];

const msNs = 1_000_000;
const driftChoicesPpm = [100, 1_000, 10_000, 100_000];
/** Strobe ticks in one window (each flips the strobing clocks). */
export const strobeTicksPerWindow = 8;

interface NodeClock {
  /** How far drift has carried the monotonic clock from true time, as of `sinceNs`. */
  skewNs: number;
  sinceNs: number;
  driftPpm: number;
}

interface Strobe {
  readonly deltasNs: Readonly<Record<string, number>>;
  shifted: boolean;
}

function signed(random: Random, magnitude: number): number {
  return random.bool() ? magnitude : -magnitude;
}

function isKind(x: unknown): x is ClockKind {
  return typeof x === "string" && (clockKinds as readonly string[]).includes(x);
}

export function clockNemesis(): Nemesis {
  /** Every node whose clock was ever set (its skew outlives a reset). */
  const clocks = new Map<string, NodeClock>();
  /** Nodes whose clocks were set since the last reset. */
  const touched = new Set<string>();
  let strobe: Strobe | undefined;

  const clockOf = (node: string): NodeClock => {
    let c = clocks.get(node);
    if (c === undefined) {
      c = { skewNs: 0, sinceNs: 0, driftPpm: 0 };
      clocks.set(node, c);
    }
    return c;
  };
  /** Monotonic − true time for a node now (same arithmetic as the runtime's clock). */
  const skewAt = (c: NodeClock, nowNs: number): number => c.skewNs + ((nowNs - c.sinceNs) * c.driftPpm) / 1e6;

  /** Puts a node's wall clock `deviationNs` from true time; returns the offset set. */
  const setDeviation = (context: NemesisContext, node: string, deviationNs: number): number => {
    const offsetNs = Math.round(deviationNs - skewAt(clockOf(node), context.nowNs));
    context.control.setClock(node, { offsetNs });
    touched.add(node);
    return offsetNs;
  };

  const setDrift = (context: NemesisContext, node: string, driftPpm: number): void => {
    const c = clockOf(node);
    c.skewNs = skewAt(c, context.nowNs);
    c.sinceNs = context.nowNs;
    c.driftPpm = driftPpm;
    context.control.setClock(node, { driftPpm });
    touched.add(node);
  };

  const reset = (context: NemesisContext): Completion => {
    const nodes = [...touched].sort();
    const offsetsNs: Record<string, number> = {};
    for (const node of nodes) {
      if (clockOf(node).driftPpm !== 0) setDrift(context, node, 0);
      offsetsNs[node] = setDeviation(context, node, 0);
    }
    touched.clear();
    strobe = undefined;
    return { type: "info", value: { nodes, offsetsNs, driftPpm: 0 } };
  };

  const start = (invocation: Invocation, context: NemesisContext): Completion => {
    const value = invocation.value as { kind?: unknown; target?: unknown } | null;
    const kind = value?.kind;
    const target = value?.target;
    if (!isKind(kind) || !isNodeTarget(target)) {
      return {
        type: "fail",
        value: invocation.value,
        error: `start-clock needs { kind: ${clockKinds.join(" | ")}, target: ${nodeTargets.join(" | ")} }`,
      };
    }
    const chosen = chooseNodes(target, context.control, context.random);
    if (chosen.nodes.length === 0) {
      return {
        type: "fail",
        value: invocation.value,
        error: `no-target: ${target} of these nodes is nobody`,
      };
    }
    const base = {
      kind,
      target,
      nodes: chosen.nodes,
      ...(chosen.writer !== undefined ? { writer: chosen.writer } : {}),
    };
    const { random } = context;
    if (kind === "drift") {
      const driftPpm: Record<string, number> = {};
      for (const node of chosen.nodes) {
        driftPpm[node] = signed(random, random.pick(driftChoicesPpm));
        setDrift(context, node, driftPpm[node]);
      }
      return { type: "info", value: { ...base, driftPpm } };
    }
    const deviationsNs: Record<string, number> = {};
    const offsetsNs: Record<string, number> = {};
    for (const node of chosen.nodes) {
      const exponent = kind === "bump" ? random.intBetween(0, 16) : random.intBetween(4, 10);
      deviationsNs[node] = signed(random, 2 ** exponent * msNs);
      offsetsNs[node] = setDeviation(context, node, deviationsNs[node]);
    }
    // A strobe replaces any strobe in progress (its clocks stay where they are until the reset).
    if (kind === "strobe") strobe = { deltasNs: deviationsNs, shifted: true };
    return { type: "info", value: { ...base, deviationsNs, offsetsNs } };
  };

  const tick = (invocation: Invocation, context: NemesisContext): Completion => {
    if (strobe === undefined) {
      return { type: "fail", value: invocation.value, error: "no strobe in progress" };
    }
    strobe.shifted = !strobe.shifted;
    const nodes = Object.keys(strobe.deltasNs).sort();
    const deviationsNs: Record<string, number> = {};
    const offsetsNs: Record<string, number> = {};
    for (const node of nodes) {
      deviationsNs[node] = strobe.shifted ? strobe.deltasNs[node]! : 0;
      offsetsNs[node] = setDeviation(context, node, deviationsNs[node]);
    }
    return { type: "info", value: { nodes, deviationsNs, offsetsNs } };
  };

  return {
    name: "clock",
    fs: ["start-clock", "strobe-clock", "stop-clock"],
    async invoke(invocation, context) {
      switch (invocation.f) {
        case "start-clock":
          return start(invocation, context);
        case "strobe-clock":
          return tick(invocation, context);
        case "stop-clock":
          return reset(context);
        default:
          return { type: "fail", value: invocation.value, error: `clock does not handle "${invocation.f}"` };
      }
    },
    healInvocations: () => [{ f: "stop-clock", value: null }],
  };
}

export interface ClockScheduleOptions {
  readonly intervalNs: number;
  readonly firstStartNs: number;
  readonly kinds?: readonly ClockKind[];
  readonly targets?: readonly NodeTarget[];
  readonly maxWindows?: number;
  /** Only these window numbers are applied (see faultSchedule). */
  readonly keep?: readonly number[];
}

export function clockGenerator(options: ClockScheduleOptions): Generator {
  const kinds = options.kinds ?? clockKinds;
  const targets = options.targets ?? clockTargets;
  if (kinds.length === 0 || targets.length === 0)
    throw new RangeError("clockGenerator needs kinds and targets");
  return faultSchedule({
    intervalNs: options.intervalNs,
    firstStartNs: options.firstStartNs,
    plan: (context, windowNs) => {
      const kind = context.random.pick(kinds);
      const target = context.random.pick(targets);
      if (kind !== "strobe") return { start: { f: "start-clock", value: { kind, target } } };
      const periodNs = Math.floor(windowNs / (strobeTicksPerWindow + 1));
      return {
        start: { f: "start-clock", value: { kind, target, periodNs } },
        during: Array.from({ length: strobeTicksPerWindow }, (_, i) => ({
          afterNs: (i + 1) * periodNs,
          spec: { f: "strobe-clock" },
        })),
      };
    },
    stop: { f: "stop-clock" },
    ...(options.maxWindows !== undefined ? { maxWindows: options.maxWindows } : {}),
    ...(options.keep !== undefined ? { keep: options.keep } : {}),
  });
}

export function clockPackage(config: PackageConfig, kinds?: readonly ClockKind[]): NemesisPackage {
  return {
    nemesis: clockNemesis(),
    generator: clockGenerator({
      intervalNs: config.nemesisIntervalNs,
      firstStartNs: firstStartNs(config.seed, "clock", config.nemesisIntervalNs),
      ...keptWindows(config, "clock"),
      ...(kinds !== undefined ? { kinds } : {}),
    }),
  };
}
