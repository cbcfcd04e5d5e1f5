/**
 * The nemesis interface. A nemesis turns nemesis operations ("start-partition", "crash",
 * "bump-clock", …) into faults, acting only through `NodeControl`, never on a concrete system.
 * Its completion value records what it did and to which nodes, so the history alone tells when
 * each fault was active. `heal` undoes everything it may have done; the runner calls it in the
 * final phase so the workload's final reads run on a healed system.
 */
import type { Random } from "./runtime/random.ts";
import type { Completion, Invocation, NodeControl } from "./system.ts";

export interface NemesisContext {
  readonly control: NodeControl;
  readonly random: Random;
  /** True time since the test started, ns. */
  readonly nowNs: number;
}

export interface Nemesis {
  readonly name: string;
  /** The `f`s this nemesis handles. */
  readonly fs: readonly string[];
  invoke(invocation: Invocation, context: NemesisContext): Promise<Completion>;
  /** The invocations that undo every fault this nemesis may have caused (run in the final phase). */
  healInvocations(): Invocation[];
}

/** Composes nemeses: each `f` goes to the nemesis that handles it. */
export function composeNemeses(nemeses: readonly Nemesis[]): Nemesis {
  const byF = new Map<string, Nemesis>();
  for (const n of nemeses) {
    for (const f of n.fs) {
      if (byF.has(f)) throw new Error(`nemeses ${byF.get(f)!.name} and ${n.name} both handle "${f}"`);
      byF.set(f, n);
    }
  }
  return {
    name: nemeses.map((n) => n.name).join("+") || "none",
    fs: [...byF.keys()],
    async invoke(invocation, context) {
      const n = byF.get(invocation.f);
      if (n === undefined)
        return { type: "fail", value: invocation.value, error: `no nemesis handles "${invocation.f}"` };
      return n.invoke(invocation, context);
    },
    healInvocations: () => nemeses.flatMap((n) => n.healInvocations()),
  };
}
